"""Benchmark: re-evaluate 100,000 people against 20 requirements over 1,000,000 evidence rows,
statuses written back, on PostgreSQL, next to one hand-written
INSERT ... SELECT ... GROUP BY ... ON CONFLICT statement doing the tier arithmetic alone.

    .venv/bin/python bench/bench_bulk_evaluation.py [--people 100000] [--evidence 1000000]

Prints seconds for: the reference statement; the first evaluation (awards every diploma:
certifications, history, events and audit entries written); a re-evaluation with nothing
changed; and the peak memory of this process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import create_database, drop_database  # noqa: E402

COMPETENCIES = [f"c{n:02d}" for n in range(1, 21)]
FORMS = ["knowledge_test", "practical_assessment", "portfolio"]


def _t(text: str) -> dict[str, str]:
    return {"en": text, "nl": text}


def model_content() -> dict:
    def req(key: str, level: str) -> dict:
        forms = ["knowledge_test"] if int(key[1:]) % 2 else ["practical_assessment", "portfolio"]
        return {"competency": key, "min_level": level, "accepted_forms": forms}

    return {
        "domains": [{"key": "knowledge", "title": _t("Knowledge")}],
        "levels": [{"key": k, "title": _t(k)} for k in ("basic", "advanced", "expert")],
        "competencies": [{"key": k, "domain": "knowledge", "title": _t(k)} for k in COMPETENCIES],
        "tiers": [
            {
                "key": "basic",
                "title": _t("Basic"),
                "validity_months": 24,
                "requirements": [req(k, "basic") for k in COMPETENCIES[:8]],
            },
            {
                "key": "advanced",
                "title": _t("Advanced"),
                "validity_months": 24,
                "requirements": [req(k, "advanced") for k in COMPETENCIES[:14]],
            },
            {
                "key": "expert",
                "title": _t("Expert"),
                "validity_months": 24,
                "requirements": [req(k, "advanced") for k in COMPETENCIES],
            },
        ],
        "role_tiers": [{"role": "bench-role", "tier": "advanced", "reason": "benchmark"}],
    }


def populate(url: str, people: int, evidence: int) -> None:
    from app.competencies import service as competency_service
    from app.competencies.schemas import ModelCreate
    from app.core.db import create_db_engine, make_session_factory, unit_of_work
    from app.org.models import Role

    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        role = Role(key="bench-role", name="Bench role")
        session.add(role)
        session.flush()
        model, version = competency_service.create_model(
            session, data=ModelCreate(key="bench", name="Bench", content=model_content())
        )
        competency_service.publish(session, version=version)
        role_id = role.id
    per_person = evidence // people
    with engine.begin() as connection:
        connection.execute(
            sa.text("""
            INSERT INTO person (id, created_at, updated_at, version, employee_number, given_name,
                                family_name, active, employment_start_date)
            SELECT gen_random_uuid(), now(), now(), 1, 'B' || lpad(n::text, 6, '0'), 'Bench',
                   'Person ' || n, true, DATE '2025-01-01'
            FROM generate_series(1, :people) AS n"""),
            {"people": people},
        )
        connection.execute(
            sa.text("""
            INSERT INTO person_role (person_id, role_id, start_date)
            SELECT id, :role_id, DATE '2025-01-01' FROM person"""),
            {"role_id": role_id},
        )
        # Each person gets `per_person` pieces of evidence for the first competencies in the
        # right forms, at various levels, dates (a few too old) and outcomes (some failed), so
        # most people meet the basic tier and the tier arithmetic has real work to do.
        connection.execute(
            sa.text("""
            INSERT INTO evidence (id, person_id, competency_key, level_key, assessment_form,
                                  source, passed, score_scaled, occurred_at, recorded_at)
            SELECT gen_random_uuid(), p.id, 'c' || lpad(g.k::text, 2, '0'),
                   (ARRAY['basic','advanced','expert'])[1 + abs(hashtext(g.k || p.id::text)) % 3],
                   CASE WHEN g.k % 2 = 1 THEN 'knowledge_test'
                        ELSE (ARRAY['practical_assessment','portfolio'])
                             [1 + abs(hashtext(p.id::text || g.k)) % 2] END,
                   'import', (abs(hashtext(g.k || 'p' || p.id::text)) % 20) <> 0,
                   (abs(hashtext(g.k || 's' || p.id::text)) % 100) / 100.0,
                   now() - make_interval(days => abs(hashtext(g.k || 'd' || p.id::text)) % 760),
                   now()
            FROM person p CROSS JOIN generate_series(1, :per_person) AS g(k)"""),
            {"per_person": per_person},
        )
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()


def reference(url: str) -> float:
    """The tier arithmetic in one hand-written statement (what the service must be near)."""
    from app.core.db import create_db_engine

    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("""
            CREATE TEMP TABLE req (tier text, competency_key text, level_key text, form text,
                                   oldest timestamptz) ON COMMIT DROP""")
        )
        rows = []
        content = model_content()
        for tier in content["tiers"]:
            for requirement in tier["requirements"]:
                levels = ["basic", "advanced", "expert"]
                for level in levels[levels.index(requirement["min_level"]) :]:
                    for form in requirement["accepted_forms"]:
                        rows.append(
                            {
                                "tier": tier["key"],
                                "c": requirement["competency"],
                                "l": level,
                                "f": form,
                            }
                        )
        connection.execute(
            sa.text("INSERT INTO req VALUES (:tier, :c, :l, :f, now() - interval '24 months')"),
            rows,
        )
        connection.execute(
            sa.text("""
            CREATE TEMP TABLE bench_status (person_id uuid, tier text, met int,
                                            completed_at timestamptz,
                                            PRIMARY KEY (person_id, tier)) ON COMMIT DROP""")
        )
        started = time.perf_counter()
        connection.execute(
            sa.text("""
            INSERT INTO bench_status (person_id, tier, met, completed_at)
            SELECT person_id, tier, count(*), max(satisfied_at) FROM (
                SELECT e.person_id, r.tier, e.competency_key, max(e.occurred_at) AS satisfied_at
                FROM evidence e JOIN req r ON e.competency_key = r.competency_key
                     AND e.level_key = r.level_key AND e.assessment_form = r.form
                WHERE e.voided_at IS NULL AND e.passed AND e.occurred_at >= r.oldest
                GROUP BY e.person_id, r.tier, e.competency_key) best
            GROUP BY person_id, tier
            ON CONFLICT (person_id, tier) DO UPDATE
                SET met = excluded.met, completed_at = excluded.completed_at""")
        )
        elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def evaluate(url: str) -> tuple[float, dict]:
    from app.certification import bulk, service
    from app.core.db import create_db_engine, make_session_factory, unit_of_work

    factory = make_session_factory(create_db_engine(url))
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        ctx = service.require_context(session)
        result = bulk.evaluate_everyone(session, ctx=ctx, actor="bench")
    return time.perf_counter() - started, {
        "evaluated": result.evaluated,
        "changed": result.changed,
        "awarded": result.awarded,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--evidence", type=int, default=1_000_000)
    args = parser.parse_args()
    url = create_database("postgresql")
    try:
        started = time.perf_counter()
        populate(url, args.people, args.evidence)
        print(
            f"populated {args.people} people, {args.evidence} evidence rows "
            f"in {time.perf_counter() - started:.1f} s"
        )
        reference_seconds = reference(url)
        print(f"hand-written INSERT..SELECT..GROUP BY..ON CONFLICT   {reference_seconds:6.2f} s")
        first, counts = evaluate(url)
        print(f"first evaluation (awards written)                  {first:6.2f} s  {counts}")
        again, counts = evaluate(url)
        print(f"re-evaluation (nothing changed)                    {again:6.2f} s  {counts}")
        print(
            f"ratio re-evaluation / reference                    {again / reference_seconds:6.2f}"
        )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process                        {peak_mb:6.0f} MB")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
