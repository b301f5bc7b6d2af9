"""Set-based evaluation of many people: the SQL twin of `service.evaluate_person`.

Which tiers each person meets, and when they completed them, is one aggregate
query over the evidence (requirement rows are expanded into a small literal
table: one row per acceptable level and form). Python then only walks the
per-person results to decide awards and renewals with the same lifecycle rules,
and writes certifications, history, events and status rows in bulk. A property
test proves the SQL and the pure rules agree.
"""

from __future__ import annotations

import json
import operator
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from app.certification import rules, service
from app.certification.models import (
    Certification,
    CertificationEvent,
    CertificationEventKind,
    CertificationKind,
    CertificationState,
    PersonStatus,
)
from app.core import audit, clock, outbox
from app.core.db import UTCDateTime, insert_rows, one_of
from app.evidence.models import Evidence
from app.org.models import Person, PersonRole


@dataclass(frozen=True)
class TierCompletion:
    met: bool
    completed_at: datetime | None
    earliest_at: datetime | None = None  # the oldest evidence it is met with (TierResult's)


@dataclass
class BulkResult:
    evaluated: int = 0
    changed: int = 0
    awarded: int = 0
    renewed: int = 0
    person_ids_changed: list[uuid.UUID] = field(default_factory=list)


def _literal_table(
    name: str,
    columns: Sequence[tuple[str, Any]],
    rows: Iterable[tuple],
    *,
    dialect: str,
    few_people: bool = False,
) -> Any:
    """A small literal table. PostgreSQL gets a VALUES list, which its planner sizes right
    (a hash join against the evidence); SQLite, which has no column aliases on VALUES, gets
    a UNION ALL of SELECTs. On PostgreSQL values are cast so NULLs have types too.

    few_people (evaluating given people, e.g. an LMS batch): on PostgreSQL one array
    parameter per column, unnested. A VALUES list cannot be cached by SQLAlchemy, and
    compiling the completion query was a third of a single statement's cost; for a few
    people the join order does not matter (their evidence is read by index)."""
    rows = list(rows)
    if dialect == "postgresql" and rows and few_people:
        arrays = [
            sa.bindparam(None, [row[i] for row in rows], type_=ARRAY(type_))
            for i, (_, type_) in enumerate(columns)
        ]
        unnested = (
            sa.func.unnest(*arrays)
            .table_valued(*[sa.column(col, type_) for col, type_ in columns])
            .render_derived(name=f"{name}_a")
        )
        return sa.select(*[unnested.c[col].label(col) for col, _ in columns]).cte(name)
    if dialect == "sqlite" and rows and few_people:
        return _json_table(name, columns, rows)
    if dialect == "postgresql" and rows:
        table = sa.values(*[sa.column(col, type_) for col, type_ in columns], name=f"{name}_v")
        table = table.data(rows)
        return sa.select(*[sa.cast(table.c[col], type_).label(col) for col, type_ in columns]).cte(
            name
        )

    def select_of(row: tuple | None) -> sa.Select[Any]:
        # No CAST on SQLite: CAST(... AS DATETIME) would give the text NUMERIC affinity.
        return sa.select(
            *[
                sa.literal(None if row is None else row[i], type_).label(col)
                for i, (col, type_) in enumerate(columns)
            ]
        )

    selects = [select_of(row) for row in rows] or [select_of(None).where(sa.false())]
    return sa.union_all(*selects).cte(name)


_SQLITE = sqlite_dialect.dialect()


def _json_table(name: str, columns: Sequence[tuple[str, Any]], rows: list[tuple]) -> Any:
    """SQLite's counterpart of the unnested arrays: the rows as one JSON parameter read with
    json_each, so the SQL text is the same for every batch and SQLAlchemy compiles it once.
    A UNION ALL of literal SELECTs (one per acceptable level and form) took ~100 ms to build
    and compile for a model of 16 competencies, on every evaluation of an LMS batch. Values
    go into the JSON as the column types would bind them, so comparisons with stored
    columns (text datetimes, hex UUIDs) behave as with bound parameters."""
    # The dialect's processors (what a bound parameter gets): the generic type's public
    # bind_processor leaves UUIDs as objects, which JSON cannot carry.
    processors = [type_._cached_bind_processor(_SQLITE) for _, type_ in columns]
    encoded = [
        [
            value if process is None or value is None else process(value)
            for value, process in zip(row, processors, strict=True)
        ]
        for row in rows
    ]
    each = sa.func.json_each(sa.bindparam(f"{name}_json", json.dumps(encoded))).table_valued(
        "value"
    )
    return sa.select(
        *[
            sa.type_coerce(sa.func.json_extract(each.c.value, f"$[{i}]"), type_).label(col)
            for i, (col, type_) in enumerate(columns)
        ]
    ).cte(name)


def requirement_rows(
    requirements: dict[str, list[rules.Requirement]],
    *,
    level_keys: dict[int, str],
    oldest_by_group: dict[str, datetime],
) -> list[tuple]:
    """(group, competency, level key, form, min score, oldest allowed) per acceptable combination."""
    rows = []
    for group, reqs in requirements.items():
        for r in reqs:
            for rank, level_key in level_keys.items():
                if rank < r.min_level:
                    continue
                for form in sorted(r.accepted_forms):
                    rows.append(
                        (
                            group,
                            r.competency_key,
                            level_key,
                            form,
                            r.min_score,
                            oldest_by_group[group],
                        )
                    )
    return rows


REQUIREMENT_COLUMNS = [
    ("grp", sa.String()),
    ("competency_key", sa.String()),
    ("level_key", sa.String()),
    ("form", sa.String()),
    ("min_score", sa.Float()),
    ("oldest_at", UTCDateTime()),
]


def best_evidence(
    requirements: dict[str, list[rules.Requirement]],
    *,
    level_keys: dict[int, str],
    oldest_by_group: dict[str, datetime],
    now: datetime,
    person_ids: Sequence[uuid.UUID] | None,
    dialect: str = "sqlite",
) -> Any:
    """Per person, group and competency: the time of the latest evidence that satisfies the
    group's requirement for it (rows only where some evidence does)."""
    req = _literal_table(
        "req",
        REQUIREMENT_COLUMNS,
        requirement_rows(requirements, level_keys=level_keys, oldest_by_group=oldest_by_group),
        dialect=dialect,
        few_people=person_ids is not None,
    )
    best = (
        _satisfying(
            sa.select(
                col(Evidence.person_id),
                req.c.grp,
                col(Evidence.competency_key),
                sa.func.max(Evidence.occurred_at).label("satisfied_at"),
            ),
            req,
            now=now,
            person_ids=person_ids,
            dialect=dialect,
        )
        .group_by(col(Evidence.person_id), req.c.grp, col(Evidence.competency_key))
        .subquery("best")
    )
    return best


def _satisfying(
    query: sa.Select[Any],
    req: Any,
    *,
    now: datetime,
    person_ids: Sequence[uuid.UUID] | None,
    dialect: str,
) -> sa.Select[Any]:
    """`query` over evidence rows joined to the requirement rows each satisfies (as
    rules.best_for does: unvoided, passed, not in the future, young enough, scored enough)."""
    conditions = [
        Evidence.voided_at.is_(None),  # type: ignore[union-attr]
        Evidence.passed.is_(True),  # type: ignore[attr-defined]
        Evidence.occurred_at <= now,
        Evidence.occurred_at >= req.c.oldest_at,
        sa.or_(req.c.min_score.is_(None), Evidence.score_scaled >= req.c.min_score),
    ]
    if person_ids is not None:
        conditions.append(one_of(Evidence.person_id, person_ids, dialect=dialect))
    return query.join(
        req,
        sa.and_(
            Evidence.competency_key == req.c.competency_key,
            Evidence.level_key == req.c.level_key,
            Evidence.assessment_form == req.c.form,
        ),
    ).where(*conditions)


def evidence_behind(
    session: Session,
    *,
    ctx: service.ModelContext,
    awards: Sequence[tuple[uuid.UUID, str, str]],
    now: datetime,
) -> dict[tuple[uuid.UUID, str], list[str]]:
    """Per (person, tier) awarded: the ids of the evidence the award rests on, the freshest
    satisfying record per requirement (as the one-person path records them). `awards`:
    (person id, tier key, path), path "full" or "refresher". Read only for the people
    awarded, so an evaluation that awards nothing pays nothing."""
    if not awards:
        return {}
    requirements: dict[str, list[rules.Requirement]] = {}
    oldest: dict[str, datetime] = {}
    for _, tier_key, path in awards:
        group = f"{path}:{tier_key}"
        requirements[group] = (
            ctx.refresher_requirements[tier_key]
            if path == "refresher"
            else ctx.tier_requirements[tier_key]
        )
        oldest[group] = datetime.combine(
            rules.add_months(now.date(), -ctx.validity_months(tier_key)), now.timetz()
        )
    dialect = _dialect(session)
    req = _literal_table(
        "req",
        REQUIREMENT_COLUMNS,
        requirement_rows(
            requirements,
            level_keys={rank: key for key, rank in ctx.level_rank.items()},
            oldest_by_group=oldest,
        ),
        dialect=dialect,
        few_people=True,
    )
    people = sorted({person_id for person_id, _, _ in awards})
    freshest = sa.func.row_number().over(
        partition_by=(col(Evidence.person_id), req.c.grp, col(Evidence.competency_key)),
        order_by=(col(Evidence.occurred_at).desc(), col(Evidence.id).desc()),
    )
    ranked = _satisfying(
        sa.select(col(Evidence.person_id), req.c.grp, col(Evidence.id), freshest.label("rank")),
        req,
        now=now,
        person_ids=people,
        dialect=dialect,
    ).subquery("ranked")
    found: dict[tuple[uuid.UUID, str], set[str]] = {}
    for person_id, group, evidence_id in session.execute(
        sa.select(ranked.c.person_id, ranked.c.grp, ranked.c.id).where(ranked.c.rank == 1)
    ):
        found.setdefault((person_id, group), set()).add(str(evidence_id))
    return {
        (person_id, tier_key): sorted(found.get((person_id, f"{path}:{tier_key}"), ()))
        for person_id, tier_key, path in awards
    }


def completion_query(
    requirements: dict[str, list[rules.Requirement]],
    *,
    level_keys: dict[int, str],
    oldest_by_group: dict[str, datetime],
    now: datetime,
    person_ids: Sequence[uuid.UUID] | None,
    dialect: str = "sqlite",
) -> sa.Select[Any]:
    """Per person and group (a tier, or a role's extras): requirements met and the latest
    satisfying evidence time of each; the group is met when every requirement is."""
    best = best_evidence(
        requirements,
        level_keys=level_keys,
        oldest_by_group=oldest_by_group,
        now=now,
        person_ids=person_ids,
        dialect=dialect,
    )
    return sa.select(
        best.c.person_id,
        best.c.grp,
        sa.func.count().label("met"),
        sa.func.max(best.c.satisfied_at).label("completed_at"),
        sa.func.min(best.c.satisfied_at).label("earliest_at"),
    ).group_by(best.c.person_id, best.c.grp)


def tier_completions(
    session: Session,
    *,
    ctx: service.ModelContext,
    now: datetime,
    person_ids: Sequence[uuid.UUID] | None = None,
) -> tuple[dict[uuid.UUID, dict[str, TierCompletion]], set[uuid.UUID]]:
    """Which tiers each person meets now and when; and who has met any requirement at all."""
    level_keys = {rank: key for key, rank in ctx.level_rank.items()}
    oldest = {
        tier.key: datetime.combine(
            rules.add_months(now.date(), -(tier.validity_months or 24)), now.timetz()
        )
        for tier in ctx.tiers
    }
    counts = {key: len(reqs) for key, reqs in ctx.tier_requirements.items()}
    query = completion_query(
        ctx.tier_requirements,
        level_keys=level_keys,
        oldest_by_group=oldest,
        now=now,
        person_ids=person_ids,
        dialect=_dialect(session),
    )
    # One row per person: per tier, when it was completed (NULL when not met). Pivoting in
    # SQL keeps the rows sent to Python to one per person with any progress.
    per_group = query.subquery("per_group")
    tiers = [tier.key for tier in ctx.tiers]
    met_tiers = [key for key in tiers if counts.get(key)]

    def when_met(key: str, column: Any) -> Any:
        return sa.func.max(
            sa.case(
                (sa.and_(per_group.c.grp == key, per_group.c.met == counts[key]), column),
                else_=None,
            )
        )

    pivot = sa.select(
        per_group.c.person_id,
        *[when_met(key, per_group.c.completed_at) for key in met_tiers],
        *[when_met(key, per_group.c.earliest_at) for key in met_tiers],
    ).group_by(per_group.c.person_id)
    completions: dict[uuid.UUID, dict[str, TierCompletion]] = {}
    progress: set[uuid.UUID] = set()
    for person_id, *times in session.execute(pivot).all():
        progress.add(person_id)
        completed, earliest = times[: len(met_tiers)], times[len(met_tiers) :]
        met = {
            key: TierCompletion(True, at, first)
            for key, at, first in zip(met_tiers, completed, earliest, strict=True)
            if at is not None
        }
        if met:
            completions[person_id] = met
    return completions, progress


def refresher_completions(
    session: Session,
    *,
    ctx: service.ModelContext,
    now: datetime,
    person_ids: Sequence[uuid.UUID] | None = None,
) -> dict[uuid.UUID, dict[tuple[str, date], datetime]]:
    """Per person, tier and window opening: when they met the tier's refresher path inside the window of
    the active diploma they hold for it (only people inside such a window are read).

    A requirement is met inside the window exactly when its latest satisfying evidence is
    from the window, so the per-competency maxima of `best_evidence` are compared with the
    window's opening date, as rules.evaluate_in_window does."""
    if not ctx.refresher_requirements:
        return {}
    today = now.date()
    level_keys = {rank: key for key, rank in ctx.level_rank.items()}
    oldest = {
        key: datetime.combine(rules.add_months(today, -ctx.validity_months(key)), now.timetz())
        for key in ctx.refresher_requirements
    }
    best = best_evidence(
        ctx.refresher_requirements,
        level_keys=level_keys,
        oldest_by_group=oldest,
        now=now,
        person_ids=person_ids,
        dialect=_dialect(session),
    )
    window = sa.select(
        col(Certification.person_id),
        col(Certification.tier_key),
        col(Certification.window_opens_on),
    ).where(
        col(Certification.state) == CertificationState.active,
        col(Certification.tier_key).in_(list(ctx.refresher_requirements)),
        col(Certification.window_opens_on) <= today,
        col(Certification.grace_until) >= today,
    )
    if person_ids is not None:
        window = window.where(
            one_of(Certification.person_id, person_ids, dialect=_dialect(session))
        )
    window_cte = window.cte("in_window")
    statement = sa.select(
        best.c.person_id,
        best.c.grp,
        best.c.satisfied_at,
        window_cte.c.window_opens_on,
    ).join(
        window_cte,
        sa.and_(window_cte.c.person_id == best.c.person_id, window_cte.c.tier_key == best.c.grp),
    )
    in_window: dict[tuple[uuid.UUID, str, date], list[datetime]] = defaultdict(list)
    for person_id, tier_key, satisfied_at, opens_on in session.execute(statement).all():
        if satisfied_at.date() >= opens_on:
            in_window[(person_id, tier_key, opens_on)].append(satisfied_at)
    completed: dict[uuid.UUID, dict[tuple[str, date], datetime]] = defaultdict(dict)
    for (person_id, tier_key, opens_on), times in in_window.items():
        if len(times) == len(ctx.refresher_requirements[tier_key]):
            completed[person_id][(tier_key, opens_on)] = max(times)
    return completed


def _required_by_person(
    session: Session,
    *,
    ctx: service.ModelContext,
    today: date,
    now: datetime,
    person_ids: Sequence[uuid.UUID] | None,
) -> tuple[dict[uuid.UUID, tuple[str | None, date | None]], dict[uuid.UUID, bool]]:
    """Required tier and due date per active person, and whether their roles' extra
    competencies are met (one query for roles, one aggregate for the extras)."""
    tier_of_role: dict[uuid.UUID, str] = {}
    extras_of_role: dict[str, list[rules.Requirement]] = {}
    for role_id, requirement in ctx.role_requirements.items():
        if requirement.get("tier") in ctx.tier_rank:
            tier_of_role[role_id] = requirement["tier"]
        extras = [
            service._requirement(
                c["competency"],
                c["min_level"],
                c["accepted_forms"],
                c.get("min_score"),
                ctx.level_rank,
            )
            for c in requirement.get("competencies", [])
            if any(not str(source).startswith("tier:") for source in c["sources"])
        ]
        if extras:
            extras_of_role[str(role_id)] = extras
    required: dict[uuid.UUID, tuple[str | None, date | None]] = {}
    tier_by_rank = {rank: key for key, rank in ctx.tier_rank.items()}
    current_role = sa.and_(
        col(Person.active).is_(True),
        sa.or_(col(PersonRole.end_date).is_(None), col(PersonRole.end_date) >= today),
    )
    if person_ids is not None:
        current_role = sa.and_(
            current_role, one_of(PersonRole.person_id, person_ids, dialect=_dialect(session))
        )
    if tier_of_role:
        # Per person in SQL: the highest tier their current roles need, and the latest start
        # of a role needing it (the due date counts from there, else from the hire date).
        role_rank = _literal_table(
            "role_rank",
            [("role_id", sa.Uuid()), ("tier_rank", sa.Integer())],
            [(role_id, ctx.tier_rank[tier]) for role_id, tier in tier_of_role.items()],
            dialect=_dialect(session),
            few_people=person_ids is not None,
        )
        ranked = (
            sa.select(
                col(PersonRole.person_id),
                col(PersonRole.role_id),
                role_rank.c.tier_rank,
                col(PersonRole.start_date),
            )
            .join(Person, col(Person.id) == col(PersonRole.person_id))
            .join(role_rank, role_rank.c.role_id == PersonRole.role_id)
            .where(current_role)
            .cte("ranked")
        )
        top = (
            sa.select(ranked.c.person_id, sa.func.max(ranked.c.tier_rank).label("tier_rank"))
            .group_by(ranked.c.person_id)
            .cte("top")
        )
        # The roles needing that tier, each with its own due period (service._required).
        statement = (
            sa.select(
                top.c.person_id,
                top.c.tier_rank,
                ranked.c.role_id,
                ranked.c.start_date,
                col(Person.employment_start_date),
            )
            .join(
                ranked,
                sa.and_(
                    ranked.c.person_id == top.c.person_id, ranked.c.tier_rank == top.c.tier_rank
                ),
            )
            .join(Person, col(Person.id) == top.c.person_id)
        )
        for person_id, rank, role_id, start_date, employment_start in session.execute(
            statement
        ).all():
            due = service.due_on(
                start_date or employment_start, ctx.role_requirements[role_id].get("due_days")
            )
            known = required.get(person_id)
            if known is None:
                required[person_id] = (tier_by_rank[rank], due)
            elif due and (known[1] is None or due > known[1]):
                required[person_id] = (known[0], due)
    roles_of: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if extras_of_role:
        extra_roles = [uuid.UUID(role_id) for role_id in extras_of_role]
        statement = (
            sa.select(col(PersonRole.person_id), col(PersonRole.role_id))
            .join(Person, col(Person.id) == col(PersonRole.person_id))
            .where(current_role, col(PersonRole.role_id).in_(extra_roles))
        )
        for person_id, role_id in session.execute(statement).all():
            roles_of[person_id].append(role_id)
    extras_met: dict[uuid.UUID, bool] = {}
    if extras_of_role:
        level_keys = {rank: key for key, rank in ctx.level_rank.items()}
        oldest = {
            group: datetime.combine(
                rules.add_months(today, -service._max_validity(ctx)), now.timetz()
            )
            for group in extras_of_role
        }
        met_by: dict[tuple[uuid.UUID, str], int] = {}
        query = completion_query(
            extras_of_role,
            level_keys=level_keys,
            oldest_by_group=oldest,
            now=now,
            person_ids=person_ids,
            dialect=_dialect(session),
        )
        for person_id, group, met, _completed, _earliest in session.execute(query).all():
            met_by[(person_id, group)] = met
        for person_id, role_ids in roles_of.items():
            extras_met[person_id] = all(
                met_by.get((person_id, str(role_id)), 0) == len(extras_of_role[str(role_id)])
                for role_id in role_ids
                if str(role_id) in extras_of_role
            )
    return required, extras_met


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _dialect_insert(session: Session) -> Any:
    if _dialect(session) == "postgresql":
        return postgresql_insert
    return sqlite_insert


def lock_people(session: Session, person_ids: Sequence[uuid.UUID]) -> list[Any] | None:
    """Serialise concurrent evaluations of the same people (two LMS batches for one person):
    row locks on their person rows, taken in id order so two batches cannot deadlock.
    FOR NO KEY UPDATE, not FOR UPDATE: the batch's own evidence and statement rows already
    hold FOR KEY SHARE on these rows (foreign-key checks), which FOR UPDATE would wait on
    across two batches, each for the other. SQLite needs none: its write lock already
    serialises writers. Returns the locked people's (id, employee number, active), which
    the evaluation needs anyway (one round trip less per LMS batch); None when nothing was
    locked."""
    if _dialect(session) != "postgresql" or not person_ids:
        return None
    return list(
        session.execute(
            sa.select(col(Person.id), col(Person.employee_number), col(Person.active))
            .where(one_of(Person.id, sorted(set(person_ids)), dialect="postgresql"))
            .order_by(col(Person.id))
            .with_for_update(key_share=True)
        ).all()
    )


def evaluate_everyone(
    session: Session,
    *,
    ctx: service.ModelContext,
    person_ids: Sequence[uuid.UUID] | None = None,
    actor: str | None = None,
) -> BulkResult:
    """Evaluate everyone (or these people) in a few set-based queries and bulk writes."""
    locked = lock_people(session, person_ids) if person_ids is not None else None
    now = clock.now()
    today = now.date()
    result = BulkResult()
    completions, progress = tier_completions(session, ctx=ctx, now=now, person_ids=person_ids)
    refreshed = refresher_completions(session, ctx=ctx, now=now, person_ids=person_ids)
    required, extras_met = _required_by_person(
        session, ctx=ctx, today=today, now=now, person_ids=person_ids
    )
    if locked is None:
        people_query = sa.select(col(Person.id), col(Person.employee_number), col(Person.active))
        if person_ids is not None:
            people_query = people_query.where(
                one_of(Person.id, person_ids, dialect=_dialect(session))
            )
        locked = list(session.execute(people_query).all())
    people = {row[0]: (row[1], row[2]) for row in locked}
    certifications = _certifications_by_person(session, person_ids)
    revoked = _revocations(session, person_ids)
    statuses = {s.person_id: s for s in _statuses(session, person_ids)}

    new_certifications: list[dict[str, Any]] = []
    paths: list[str] = []  # per new certification: the tier's "full" or "refresher" path
    superseded: list[dict[str, Any]] = []
    status_after: dict[uuid.UUID, dict[str, Any]] = {}  # for the payload of award events
    for person_id, (employee_number, active) in people.items():
        met = {k: v for k, v in completions.get(person_id, {}).items() if v.met}
        held = certifications.get(person_id, [])
        decision, path = None, "full"
        if met and active:
            best_tier = max(met, key=lambda key: ctx.tier_rank[key])
            decision = _decide(
                ctx, best_tier, met[best_tier], held, revoked.get(person_id, {}), now
            )
        if decision is None and active and person_id in refreshed:
            path = "refresher"
            decision = _decide_refresher(
                ctx, refreshed[person_id], held, revoked.get(person_id, {}), now
            )
        if decision is not None:
            row, renews = decision
            row["person_id"] = person_id
            new_certifications.append(row)
            paths.append(path)
            held = [*held, _CertView.from_row(row)]
            if renews is not None:
                superseded.append({"id": renews.id})
                held = [c for c in held if c.id != renews.id]
                result.renewed += 1
            else:
                result.awarded += 1
        required_tier, due = required.get(person_id, (None, None)) if active else (None, None)
        new_status = _status_values(
            ctx,
            person_id=person_id,
            held=held,
            today=today,
            required_tier=required_tier,
            due=due,
            extras_met=extras_met.get(person_id, True),
            any_progress=person_id in progress,
            now=now,
        )
        old = statuses.get(person_id)
        if old is None or _differs(old, new_status):
            result.changed += 1
            result.person_ids_changed.append(person_id)
            before = service.derive(old, today) if old else None
            # The values read as attributes: building an ORM PersonStatus for it was ~30%
            # of a drain that awards (a new person's first diploma).
            after = service.derive(SimpleNamespace(**new_status), today)
            status_after[person_id] = {
                key: after[key] for key in ("status", "compliant", "required_tier")
            }
            new_status["version"] = (old.version if old else 0) + 1
            _upsert_status(session, new_status, exists=old is not None)
            if before is None or before["compliant"] != after["compliant"]:
                outbox.emit(
                    session,
                    event_type="person.compliance_changed",
                    ordering_key=str(person_id),
                    data={
                        "person_id": str(person_id),
                        "employee_number": employee_number,
                        **{k: service._jsonable(v) for k, v in after.items()},
                    },
                )
        result.evaluated += 1
    behind = evidence_behind(
        session,
        ctx=ctx,
        awards=[
            (row["person_id"], row["tier_key"], path)
            for row, path in zip(new_certifications, paths, strict=True)
        ],
        now=now,
    )
    for row in new_certifications:
        row["evidence_ids"] = behind[(row["person_id"], row["tier_key"])]
        row["awarded_by"] = actor
    _write_certifications(
        session, ctx, new_certifications, superseded, people, now, actor, status_after
    )
    return result


@dataclass(frozen=True)
class _CertView:
    id: uuid.UUID
    tier_key: str
    tier_rank: int
    state: str
    valid_until: date
    window_opens_on: date
    grace_until: date

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> _CertView:
        return cls(
            row["id"],
            row["tier_key"],
            row["tier_rank"],
            str(row["state"]),
            row["valid_until"],
            row["window_opens_on"],
            row["grace_until"],
        )


_HELD_STATES = (CertificationState.active.value, CertificationState.suspended.value)


def _certifications_by_person(
    session: Session, person_ids: Sequence[uuid.UUID] | None
) -> dict[uuid.UUID, list[_CertView]]:
    statement = sa.select(
        col(Certification.person_id),
        col(Certification.id),
        col(Certification.tier_key),
        col(Certification.tier_rank),
        col(Certification.state),
        col(Certification.valid_until),
        col(Certification.window_opens_on),
        col(Certification.grace_until),
    ).where(col(Certification.state).in_(_HELD_STATES))
    if person_ids is not None:
        statement = statement.where(
            one_of(Certification.person_id, person_ids, dialect=_dialect(session))
        )
    held: dict[uuid.UUID, list[_CertView]] = defaultdict(list)
    for person_id, *values in session.execute(statement).all():
        held[person_id].append(
            _CertView(
                values[0], values[1], values[2], str(values[3]), values[4], values[5], values[6]
            )
        )
    return held


def _revocations(
    session: Session, person_ids: Sequence[uuid.UUID] | None
) -> dict[uuid.UUID, dict[str, datetime]]:
    statement = (
        sa.select(
            col(Certification.person_id),
            col(Certification.tier_key),
            sa.func.max(Certification.state_changed_at),
        )
        .where(col(Certification.state) == CertificationState.revoked)
        .group_by(col(Certification.person_id), col(Certification.tier_key))
    )
    if person_ids is not None:
        statement = statement.where(
            one_of(Certification.person_id, person_ids, dialect=_dialect(session))
        )
    revoked: dict[uuid.UUID, dict[str, datetime]] = defaultdict(dict)
    for person_id, tier_key, at in session.execute(statement).all():
        revoked[person_id][tier_key] = at
    return revoked


def _statuses(session: Session, person_ids: Sequence[uuid.UUID] | None) -> Sequence[Any]:
    # Plain rows, not ORM objects: they are updated in bulk below, which would leave
    # loaded objects stale in this session.
    statement = sa.select(*PersonStatus.__table__.columns)  # type: ignore[attr-defined]
    if person_ids is not None:
        statement = statement.where(
            one_of(PersonStatus.person_id, person_ids, dialect=_dialect(session))
        )
    return session.execute(statement).all()


def _decide(
    ctx: service.ModelContext,
    tier_key: str,
    completion: TierCompletion,
    held: list[_CertView],
    revoked_at: dict[str, datetime],
    now: datetime,
) -> tuple[dict[str, Any], _CertView | None] | None:
    """The same award and renewal rules as service._award_or_renew, on plain rows."""
    assert completion.completed_at is not None
    today = now.date()
    completed_on = completion.completed_at.date()
    lifecycle = ctx.lifecycle(tier_key)
    rank = ctx.tier_rank[tier_key]
    if any(c.tier_rank > rank and c.state == "active" and today <= c.grace_until for c in held):
        return None
    if tier_key in revoked_at and completion.completed_at < revoked_at[tier_key]:
        return None
    same = [c for c in held if c.tier_key == tier_key]
    if not same:
        until = rules.valid_until_for_award(lifecycle, completed_on=completed_on)
        return _new_row(ctx, tier_key, completed_on, until, now), None
    current = max(same, key=lambda c: c.valid_until)
    if current.state == "suspended":
        return None
    if today > current.grace_until:
        if completed_on <= current.grace_until:
            return None
        until = rules.valid_until_for_award(lifecycle, completed_on=completed_on)
        return _new_row(ctx, tier_key, completed_on, until, now, renews=current), current
    earliest = completion.earliest_at
    if (
        today >= current.window_opens_on
        and earliest is not None
        and earliest.date() >= current.window_opens_on
    ):
        until = rules.valid_until_for_renewal(
            lifecycle, previous_valid_until=current.valid_until, completed_on=completed_on
        )
        return _new_row(ctx, tier_key, completed_on, until, now, renews=current), current
    return None


def _decide_refresher(
    ctx: service.ModelContext,
    completed: dict[tuple[str, date], datetime],
    held: list[_CertView],
    revoked_at: dict[str, datetime],
    now: datetime,
) -> tuple[dict[str, Any], _CertView | None] | None:
    """The same refresher renewal as service._renew_by_refresher, on plain rows."""
    for current, _requirements in service.refresher_due(ctx, held, now.date()):
        completed_at = completed.get((current.tier_key, current.window_opens_on))
        if completed_at is None:
            continue
        if current.tier_key in revoked_at and completed_at < revoked_at[current.tier_key]:
            continue
        completed_on = completed_at.date()
        until = rules.valid_until_for_renewal(
            ctx.lifecycle(current.tier_key),
            previous_valid_until=current.valid_until,
            completed_on=completed_on,
        )
        return _new_row(ctx, current.tier_key, completed_on, until, now, renews=current), current
    return None


def _new_row(
    ctx: service.ModelContext,
    tier_key: str,
    completed_on: date,
    valid_until: date,
    now: datetime,
    renews: _CertView | None = None,
) -> dict[str, Any]:
    lifecycle = ctx.lifecycle(tier_key)
    return {
        "id": uuid.uuid4(),
        "tier_key": tier_key,
        "tier_rank": ctx.tier_rank[tier_key],
        "model_version_id": ctx.version.id,
        "kind": CertificationKind.evidence.value,
        "state": CertificationState.active.value,
        "awarded_at": now,
        "completed_on": completed_on,
        "valid_from": completed_on if renews is None else min(completed_on, renews.valid_until),
        "valid_until": valid_until,
        "window_opens_on": rules.window_opens_on(lifecycle, valid_until),
        "grace_until": valid_until + timedelta(days=lifecycle.grace_days),
        "renews_id": renews.id if renews else None,
        "evidence_ids": [],
        "event": (
            CertificationEventKind.renewed
            if renews and today_in_window(renews, now)
            else CertificationEventKind.awarded
        ).value,
    }


def today_in_window(certification: _CertView, now: datetime) -> bool:
    return now.date() <= certification.grace_until


def _status_values(
    ctx: service.ModelContext,
    *,
    person_id: uuid.UUID,
    held: list[_CertView],
    today: date,
    required_tier: str | None,
    due: date | None,
    extras_met: bool,
    any_progress: bool,
    now: datetime,
) -> dict[str, Any]:
    chosen = service.pick_held(held, today)
    return {
        "person_id": person_id,
        "required_tier_key": required_tier,
        "required_tier_rank": ctx.tier_rank.get(required_tier) if required_tier else None,
        "due_date": due,
        "held_tier_key": chosen.tier_key if chosen else None,
        "held_tier_rank": chosen.tier_rank if chosen else None,
        "certification_id": chosen.id if chosen else None,
        "valid_until": chosen.valid_until if chosen else None,
        "window_opens_on": chosen.window_opens_on if chosen else None,
        "grace_until": chosen.grace_until if chosen else None,
        "suspended": bool(chosen and chosen.state == "suspended"),
        "extras_met": extras_met,
        "any_progress": any_progress,
        "model_version_id": ctx.version.id,
        "evaluated_at": now,
    }


_COMPARED = (
    "required_tier_key",
    "due_date",
    "held_tier_key",
    "certification_id",
    "valid_until",
    "suspended",
    "extras_met",
    "any_progress",
    "model_version_id",
)


_old_values = operator.attrgetter(*_COMPARED)
_new_values = operator.itemgetter(*_COMPARED)


def _differs(old: Any, new: dict[str, Any]) -> bool:
    return bool(_old_values(old) != _new_values(new))


def _upsert_status(session: Session, values: dict[str, Any], *, exists: bool) -> None:
    pending = session.info.setdefault("bulk_status", {"insert": [], "update": []})
    pending["update" if exists else "insert"].append(values)


def _write_certifications(
    session: Session,
    ctx: service.ModelContext,
    rows: list[dict[str, Any]],
    superseded: list[dict[str, Any]],
    people: dict[uuid.UUID, tuple[str, bool]],
    now: datetime,
    actor: str | None,
    status_after: dict[uuid.UUID, dict[str, Any]],
) -> None:
    if superseded:
        session.execute(
            sa.update(Certification)
            .where(Certification.id.in_([s["id"] for s in superseded]))  # type: ignore[attr-defined]
            .values(
                state=CertificationState.superseded.value,
                state_changed_at=now,
                state_reason="superseded by a renewal",
            )
        )
    if rows:
        events = [row.pop("event") for row in rows]
        # COPY on PostgreSQL, which needs every column: an ORM bulk insert of the diplomas
        # and their events was ~12% of an LMS batch's time while it awarded its people.
        # What an award leaves empty (later state changes, a document) is NULL.
        table = Certification.__table__  # type: ignore[attr-defined]
        for row in rows:
            for column in table.columns:
                row.setdefault(column.key, None)
        insert_rows(session, table, rows)
        insert_rows(
            session,
            CertificationEvent.__table__,  # type: ignore[attr-defined]
            [
                {
                    "id": uuid.uuid4(),
                    "certification_id": row["id"],
                    "person_id": row["person_id"],
                    "kind": event,
                    "occurred_at": now,
                    "actor": actor,
                    "reason": None,
                    "valid_until": row["valid_until"],
                }
                for row, event in zip(rows, events, strict=True)
            ],
        )
        for row, event in zip(rows, events, strict=True):
            audit.record(
                session,
                entity_type="certification",
                entity_id=row["id"],
                action=event,
                after={k: v for k, v in row.items() if k != "id"},
            )
            employee_number = people[row["person_id"]][0]
            outbox.emit(
                session,
                event_type=f"certification.{event}",
                ordering_key=str(row["person_id"]),
                data={
                    **status_after.get(row["person_id"], {}),
                    "person_id": str(row["person_id"]),
                    "employee_number": employee_number,
                    "certification_id": str(row["id"]),
                    "tier": row["tier_key"],
                    "kind": row["kind"],
                    "state": row["state"],
                    "awarded_at": now.isoformat(),
                    "valid_until": row["valid_until"].isoformat(),
                    "model_version_id": str(ctx.version.id),
                    "model_version": ctx.version.number,
                    "credential_url": f"/certifications/{row['id']}/credential",
                },
            )
    pending = session.info.pop("bulk_status", None)
    if pending:
        if pending["insert"]:
            # Another transaction may have created the row since it was read: then update it.
            insert = _dialect_insert(session)(PersonStatus)
            columns = [c for c in pending["insert"][0] if c != "person_id"]
            session.execute(
                insert.on_conflict_do_update(
                    index_elements=["person_id"],
                    set_={column: insert.excluded[column] for column in columns},
                ),
                pending["insert"],
            )
        if pending["update"]:
            session.execute(sa.update(PersonStatus), pending["update"])
