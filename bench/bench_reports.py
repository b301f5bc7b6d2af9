"""Benchmark: the coverage report over 100,000 people in 200 org units and 25 roles.

Creates a throwaway PostgreSQL database and a SQLite file, migrates both, publishes a
three-tier competency model, and bulk-inserts (multi-row INSERTs in batches, no ORM
objects) org units, roles, people, role assignments, person_status rows with a mix of
statuses, and evidence for part of the people. Then it times, in the same run:

- `app.reports.service.coverage` (the service call, i.e. server time without HTTP) for
  every group_by, and `GET /reports/coverage` in-process through the ASGI app;
- a hand-written GROUP BY over person JOIN person_status (the reference figure).

    .venv/bin/python bench/bench_reports.py [--people 100000] [--units 200] [--roles 25]
        [--repeat 5] [--backends sqlite,postgresql]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--keep]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
TIERS = [("basic", 1), ("advanced", 2), ("expert", 3)]
BATCH = 5000


def _t(text: str) -> dict[str, str]:
    return {"en": text, "nl": text}


def model_content(role_keys: list[str]) -> dict[str, Any]:
    competencies = [f"c{i}" for i in range(8)]
    requirements = {
        "basic": competencies[:3],
        "advanced": competencies[:6],
        "expert": competencies,
    }
    return {
        "domains": [{"key": "general", "title": _t("General")}],
        "levels": [{"key": k, "title": _t(k)} for k, _ in TIERS],
        "competencies": [
            {"key": c, "domain": "general", "title": _t(c.upper())} for c in competencies
        ],
        "tiers": [
            {
                "key": key,
                "title": _t(key),
                "validity_months": 24,
                "recertification_window_days": 90,
                "grace_period_days": 30,
                "requirements": [
                    {
                        "competency": c,
                        "min_level": key,
                        "accepted_forms": ["knowledge_test"]
                        if key == "basic"
                        else ["knowledge_test", "practical_assessment"],
                        "min_score": 60,
                    }
                    for c in requirements[key]
                ],
            }
            for key, _ in TIERS
        ],
        "role_tiers": [
            {"role": key, "tier": TIERS[i % 3][0], "reason": "bench"}
            for i, key in enumerate(role_keys)
        ],
    }


def _create_pg(admin_url: str) -> str:
    name = f"aidiploma_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_pg(admin_url: str, url: str) -> None:
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _insert(connection: sa.Connection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> int:
    """Multi-row INSERT statements of BATCH rows."""
    count, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            connection.execute(sa.insert(table), batch)
            count, batch = count + len(batch), []
    if batch:
        connection.execute(sa.insert(table), batch)
        count += len(batch)
    return count


def _stamp() -> dict[str, Any]:
    return {"created_at": NOW, "updated_at": NOW, "version": 1}


def generate(engine: sa.Engine, *, people: int, units: int, roles: int, seed: int = 7) -> None:
    from app.certification.models import PersonStatus
    from app.competencies import service as competency_service
    from app.competencies.schemas import ModelCreate
    from app.core.db import make_session_factory, unit_of_work
    from app.evidence.models import Evidence
    from app.org.models import JobFamily, Location, OrgUnit, Person, PersonRole, Role

    rng = random.Random(seed)
    tables = {
        m.__name__: m.__table__  # type: ignore[attr-defined]
        for m in (JobFamily, Location, OrgUnit, Person, PersonRole, Role, PersonStatus, Evidence)
    }
    families = [
        {"id": uuid.uuid4(), "key": f"fam-{i}", "name": f"Family {i}", **_stamp()} for i in range(5)
    ]
    role_rows = [
        {
            "id": uuid.uuid4(),
            "key": f"role-{i:02d}",
            "name": f"Role {i}",
            "job_family_id": families[i % 5]["id"],
            "active": True,
            **_stamp(),
        }
        for i in range(roles)
    ]
    locations = [
        {"id": uuid.uuid4(), "external_id": f"loc-{i}", "name": f"Location {i}", **_stamp()}
        for i in range(3)
    ]
    root = {"id": uuid.uuid4(), "external_id": "root", "name": "Root", "kind": "business_unit"}
    departments = [
        {
            "id": uuid.uuid4(),
            "external_id": f"dep-{i}",
            "name": f"Dept {i}",
            "kind": "department",
            "parent_id": root["id"],
        }
        for i in range(10)
    ]
    teams = [
        {
            "id": uuid.uuid4(),
            "external_id": f"team-{i:03d}",
            "name": f"Team {i}",
            "kind": "team",
            "parent_id": departments[i % 10]["id"],
        }
        for i in range(units - 11)
    ]
    unit_rows = [{"parent_id": None, **root}, *departments, *teams]
    with engine.begin() as connection:
        _insert(connection, tables["JobFamily"], families)
        _insert(connection, tables["Role"], role_rows)
        _insert(connection, tables["Location"], locations)
        _insert(
            connection, tables["OrgUnit"], ({**u, "active": True, **_stamp()} for u in unit_rows)
        )

    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        data = ModelCreate.model_validate(
            {
                "key": "bench",
                "name": "Bench",
                "content": model_content([r["key"] for r in role_rows]),
            }
        )
        _model, version = competency_service.create_model(session, data=data)
        competency_service.publish(session, version=version)

    person_ids = [uuid.uuid4() for _ in range(people)]
    person_unit = [rng.choice(teams)["id"] for _ in range(people)]
    person_role = [rng.randrange(roles) for _ in range(people)]

    def persons() -> Iterable[dict[str, Any]]:
        for i, pid in enumerate(person_ids):
            yield {
                "id": pid,
                "employee_number": f"B{i:07d}",
                "given_name": "Anna",
                "family_name": f"Test{i}",
                "org_unit_id": person_unit[i],
                "location_id": locations[i % 3]["id"],
                "active": True,
                **_stamp(),
            }

    def assignments() -> Iterable[dict[str, Any]]:
        for i, pid in enumerate(person_ids):
            yield {
                "person_id": pid,
                "role_id": role_rows[person_role[i]]["id"],
                "start_date": date(2025, 1, 1),
            }
            if i % 5 == 0:  # a fifth hold a second role
                second = (person_role[i] + 7) % roles
                yield {
                    "person_id": pid,
                    "role_id": role_rows[second]["id"],
                    "start_date": date(2025, 1, 1),
                }

    def statuses() -> Iterable[dict[str, Any]]:
        for i, pid in enumerate(person_ids):
            tier, rank = TIERS[person_role[i] % 3]
            kind = rng.random()
            row: dict[str, Any] = {
                "person_id": pid,
                "required_tier_key": tier,
                "required_tier_rank": rank,
                "suspended": False,
                "extras_met": True,
                "any_progress": kind < 0.9,
                "evaluated_at": NOW,
                "version": 1,
                "due_date": TODAY + timedelta(days=rng.randint(-120, 120)),
                **dict.fromkeys(
                    (
                        "held_tier_key",
                        "held_tier_rank",
                        "valid_until",
                        "window_opens_on",
                        "grace_until",
                    )
                ),
            }
            if kind < 0.75:  # holds a diploma: certified, expiring or expired
                valid_until = TODAY + timedelta(days=rng.randint(-60, 700))
                held = tier if kind < 0.65 else TIERS[max(rank - 2, 0)][0]
                row.update(
                    held_tier_key=held,
                    held_tier_rank=dict(TIERS)[held],
                    valid_until=valid_until,
                    window_opens_on=valid_until - timedelta(days=90),
                    grace_until=valid_until + timedelta(days=30),
                )
            yield row

    def evidence() -> Iterable[dict[str, Any]]:
        for i, pid in enumerate(person_ids):
            if i % 2:
                continue
            for c in range(rng.randint(1, 4)):
                yield {
                    "id": uuid.uuid4(),
                    "person_id": pid,
                    "competency_key": f"c{c}",
                    "level_key": rng.choice(TIERS)[0],
                    "assessment_form": "knowledge_test",
                    "source": "import",
                    "source_ref": f"bench-{i}-{c}",
                    "score_scaled": rng.random(),
                    "passed": True,
                    "occurred_at": NOW - timedelta(days=rng.randint(1, 900)),
                    "recorded_at": NOW,
                }

    with engine.begin() as connection:
        _insert(connection, tables["Person"], persons())
        _insert(connection, tables["PersonRole"], assignments())
        _insert(connection, tables["PersonStatus"], statuses())
        _insert(connection, tables["Evidence"], evidence())
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))


def _time(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(median, best) seconds over `repeat` runs, after one warm-up run."""
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), min(runs)


HAND_WRITTEN = """
SELECT p.org_unit_id,
       count(*),
       sum(CASE WHEN s.required_tier_key IS NOT NULL THEN 1 ELSE 0 END),
       sum(CASE WHEN s.suspended = false AND s.valid_until IS NOT NULL
                 AND s.grace_until >= :today AND s.held_tier_rank >= s.required_tier_rank
                 AND s.extras_met = true THEN 1 ELSE 0 END),
       sum(CASE WHEN s.grace_until < :today THEN 1 ELSE 0 END)
FROM person p LEFT JOIN person_status s ON s.person_id = p.id
WHERE p.active = true
GROUP BY p.org_unit_id
"""


def measure(url: str, *, repeat: int) -> list[tuple[str, float, float]]:
    from fastapi.testclient import TestClient

    from app.auth import service as auth_service
    from app.auth.models import ApiClient
    from app.core import clock
    from app.core.config import Settings
    from app.core.db import create_db_engine, make_session_factory, unit_of_work
    from app.core.keys import SigningKey
    from app.main import create_app
    from app.reports import service
    from app.reports.schemas import GroupBy
    from app.reports.scope import ReportFilters

    clock.set_clock(lambda: NOW)
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    results = []
    session = factory()
    try:
        for group_by in GroupBy:
            median, best = _time(
                lambda g=group_by: service.coverage(session, filters=ReportFilters(), group_by=g),
                repeat,
            )
            results.append((f"coverage service, group_by={group_by}", median, best))
        median, best = _time(
            lambda: session.execute(sa.text(HAND_WRITTEN), {"today": TODAY}).all(), repeat
        )
        results.append(("hand-written GROUP BY over person_status", median, best))
    finally:
        session.close()

    key = SigningKey.generate()
    app = create_app(
        Settings(
            database_url=url,
            embedded_worker=False,
            auto_migrate=False,
            log_json=False,
            log_level="WARNING",
        ),
        engine=engine,
        signing_key=key,
    )
    with unit_of_work(factory) as setup:
        client_row = ApiClient(
            client_id="cl_bench", name="bench", scopes=["reports:read"], secret_hash="x"
        )
        setup.add(client_row)
        setup.flush()
        token = auth_service.issue_token(
            client=client_row, scopes=client_row.scopes, key=key, settings=app.state.settings
        )["access_token"]
    with TestClient(app) as http:
        headers = {"Authorization": f"Bearer {token}"}
        for group_by in ("org_unit", "role"):

            def call(g: str = group_by) -> None:
                response = http.get(f"/reports/coverage?group_by={g}", headers=headers)
                assert response.status_code == 200, response.text

            median, best = _time(call, repeat)
            results.append(
                (f"GET /reports/coverage?group_by={group_by} (in-process HTTP)", median, best)
            )
    engine.dispose()
    clock.set_clock(None)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--roles", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from app.core import migrations
    from app.core.db import create_db_engine

    for backend in args.backends.split(","):
        if backend == "sqlite":
            url = f"sqlite:///{tempfile.mkdtemp(prefix='aidiploma-bench-')}/bench.db"
        else:
            url = _create_pg(args.pg_url)
        try:
            started = time.perf_counter()
            migrations.upgrade(url)
            engine = create_db_engine(url)
            generate(engine, people=args.people, units=args.units, roles=args.roles)
            engine.dispose()
            print(
                f"\n{backend}: generated {args.people} people, {args.units} org units, "
                f"{args.roles} roles in {time.perf_counter() - started:.1f} s"
            )
            for name, median, best in measure(url, repeat=args.repeat):
                print(f"  {name:<70} median {median * 1000:7.0f} ms   best {best * 1000:7.0f} ms")
        finally:
            if backend == "postgresql" and not args.keep:
                _drop_pg(args.pg_url, url)


if __name__ == "__main__":
    main()
