"""Coverage, expiry, team, works council and board reports: SQL aggregation over
`person_status` with the status expressions of app.certification.queries.

Each report is a plain function returning a pydantic model; app.reports.rows flattens
it for CSV. Status is derived from the stored dates with `today = as_of`.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.certification import queries
from app.certification import service as certification_service
from app.certification.models import PersonStatus
from app.core.errors import NotFound
from app.org.models import JobFamily, Location, OrgUnit, Person, PersonRole, Role
from app.registry import service as registry_service
from app.reports import scope
from app.reports.schemas import (
    AggregateGroupBy,
    AggregateRow,
    BoardReport,
    CoverageGroup,
    CoverageReport,
    ExpiringPerson,
    ExpiringReport,
    Figures,
    Filters,
    GroupBy,
    HighRiskRole,
    MissingCompetency,
    OversightSummary,
    TeamMember,
    TeamReport,
    WorksCouncilReport,
)
from app.reports.scope import MEASURES, ReportFilters, count_if, percent, status_measures

TOP_MISSING = 3
MINIMAL = "minimal"  # the risk class of a role the register says nothing about


def _filters(filters: ReportFilters) -> Filters:
    return Filters(**filters.echo())


def _membership(
    session: Session, group_by: GroupBy | AggregateGroupBy, filters: ReportFilters
) -> sa.Subquery:
    """(person_id, key): which group each person of the population is in, once per group."""
    conditions = scope.person_conditions(filters)
    person_id: Any = col(Person.id).label("person_id")
    if group_by == GroupBy.org_unit:
        return (
            sa.select(person_id, col(Person.org_unit_id).label("key")).where(*conditions).subquery()
        )
    if group_by == GroupBy.location:
        return (
            sa.select(person_id, col(Person.location_id).label("key")).where(*conditions).subquery()
        )
    with_roles = (
        sa.select(person_id)
        .join(PersonRole, col(PersonRole.person_id) == col(Person.id))
        .where(*conditions, scope.current_role(filters.today))
    )
    if group_by == GroupBy.role:
        key: Any = col(PersonRole.role_id)
    elif group_by == GroupBy.job_family:
        with_roles = with_roles.join(Role, col(Role.id) == col(PersonRole.role_id))
        key = col(Role.job_family_id)
    else:  # risk_class: the register's effective class of each role, mapped in SQL
        classes = registry_service.all_role_risk_classes(session)
        key = (
            sa.case(
                *((col(PersonRole.role_id) == role_id, c) for role_id, c in classes.items()),
                else_="minimal",
            )
            if classes
            else sa.literal("minimal")
        )
    return with_roles.add_columns(key.label("key")).distinct().subquery()


def _labels(
    session: Session, group_by: GroupBy | AggregateGroupBy, ids: list[Any]
) -> dict[Any, tuple[str, str]]:
    """(key, name) of each group id."""
    ids = [i for i in ids if i is not None]
    if group_by == GroupBy.risk_class:
        return {i: (i, i) for i in ids}
    if not ids:
        return {}
    table, key = {
        GroupBy.org_unit: (OrgUnit, OrgUnit.external_id),
        GroupBy.location: (Location, Location.external_id),
        GroupBy.role: (Role, Role.key),
        GroupBy.job_family: (JobFamily, JobFamily.key),
    }[GroupBy(group_by)]
    rows = session.execute(
        sa.select(table.id, key, table.name).where(col(table.id).in_(ids))  # type: ignore[attr-defined, call-overload]
    ).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def _figures(row: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: int(getattr(row, name) or 0) for name in MEASURES}
    values["compliant_pct"] = percent(values["compliant"], values["in_scope"])
    return values


def _aggregate(membership: sa.Subquery, filters: ReportFilters) -> sa.Select[Any]:
    return (
        sa.select(membership.c.key, *status_measures(filters.today))
        .select_from(membership)
        .outerjoin(PersonStatus, col(PersonStatus.person_id) == membership.c.person_id)
        .group_by(membership.c.key)
    )


def _top(counts: dict[str, int]) -> list[MissingCompetency]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_MISSING]
    return [MissingCompetency(competency=c, people=n) for c, n in ranked]


def _group_of(role_id: Any, groups: dict[uuid.UUID, Any], default: Any) -> Any:
    """The group (job family or risk class) of the role `role_id`, mapped in SQL from
    `groups` (role -> group, read up front): one IN list per group other than `default`,
    `default` for every other role. An IN list per group, not a comparison per role: a CASE
    with a WHEN per role of the register (25 roles) cost SQLite 50-80 ms at 120,000
    assignments."""
    by_group: dict[Any, list[uuid.UUID]] = {}
    for role, group in groups.items():
        if group != default:
            by_group.setdefault(group, []).append(role)
    if not by_group:
        return sa.literal(default)
    return sa.case(
        *((role_id.in_(sorted(roles)), group) for group, roles in sorted(by_group.items())),
        else_=sa.literal(default),
    )


def _role_group_map(session: Session, group_by: GroupBy) -> tuple[dict[uuid.UUID, Any], Any]:
    """(role -> group, the group of a role not in the map) for grouping by job family or
    risk class: the job family of each role, or the register's effective class of each role
    (MINIMAL when the register says nothing about it)."""
    if group_by == GroupBy.job_family:
        rows = session.execute(sa.select(col(Role.id), col(Role.job_family_id))).all()
        return {role_id: family for role_id, family in rows}, None
    return registry_service.all_role_risk_classes(session), MINIMAL


def _role_groups(
    filters: ReportFilters, group_by: GroupBy, groups: tuple[dict[uuid.UUID, Any], Any] | None
) -> sa.Subquery:
    """(person_id, key) for the groupings through current role assignments, once per person
    and group: by role (`groups` None) keyed by role; by job family or risk class (`groups`
    maps each role to its group) an assignment counts only when the person holds no current
    (filtered) role with a smaller id in the same group. A role or job family filter also
    narrows the assignments grouped, so only the filtered roles' groups are shown.

    By job family the key is the role through which the person counts in the family, and
    the caller adds the roles up per family (_roll_up): no assignment needs its family then,
    which is compared only in the NOT EXISTS and only against the person's earlier
    assignments (the people with two roles). Joining role for the family of every one of
    120,000 assignments, and again for the earlier ones, cost SQLite about 40 ms of the
    report at 100,000 people. By risk class the key stays the class: there are a few, most
    often one ("minimal"), and SQLite groups rows of one key much faster than rows of 25.

    The NOT EXISTS reads the person's own assignments through the primary key; it replaces a
    GROUP BY (person, group) over every assignment before the join, which cost SQLite a sort
    of all of them and the join an automatic index over the per-person rows."""

    def conditions(assignment: Any) -> list[Any]:
        """The assignments of `assignment` grouped: current on the report date, filtered."""
        found = [scope.current_role(filters.today, assignment)]
        if filters.role_id is not None:
            found.append(col(assignment.role_id) == filters.role_id)
        if filters.job_family_id is not None:
            family_roles = sa.select(col(Role.id)).where(
                col(Role.job_family_id) == filters.job_family_id
            )
            found.append(col(assignment.role_id).in_(family_roles))
        return found

    where = conditions(PersonRole)
    key: Any = col(PersonRole.role_id)
    if groups is not None:
        mapping, default = groups
        earlier = aliased(PersonRole, name="earlier")
        where.append(
            ~sa.select(col(earlier.role_id))
            .where(
                col(earlier.person_id) == col(PersonRole.person_id),
                col(earlier.role_id) < col(PersonRole.role_id),
                *conditions(earlier),
                _group_of(col(earlier.role_id), mapping, default).is_not_distinct_from(
                    _group_of(col(PersonRole.role_id), mapping, default)
                ),
            )
            .exists()
        )
        if group_by == GroupBy.risk_class:
            key = _group_of(col(PersonRole.role_id), mapping, default)
    return (
        sa.select(col(PersonRole.person_id).label("person_id"), key.label("key"))
        .where(*where)
        .subquery("membership")
    )


def _summed(
    rows: Any,
    columns: list[Any],
    group_by: GroupBy | None,
    membership: sa.Subquery | None,
    by: tuple[str, ...] = (),
) -> sa.Select[Any]:
    """The sums `columns` over the per-person rows `rows`, per group (by their column of the
    grouping, or through `membership`) or in total when `group_by` is None, and per value of
    their columns named in `by`."""
    also = [rows.c[name] for name in by]
    if group_by is None:
        return sa.select(sa.null().label("key"), *also, *columns).select_from(rows).group_by(*also)
    if membership is None:
        key = rows.c[f"{group_by}_id"]
        return sa.select(key.label("key"), *also, *columns).select_from(rows).group_by(key, *also)
    return (
        sa.select(membership.c.key, *also, *columns)
        .select_from(rows)
        .join(membership, membership.c.person_id == rows.c.person_id)
        .group_by(membership.c.key, *also)
    )


def _coverage_statement(
    session: Session,
    group_by: GroupBy,
    filters: ReportFilters,
    groups: tuple[dict[uuid.UUID, Any], Any] | None = None,
) -> tuple[sa.Select[Any], scope.RequirementFlags | None, list[str]]:
    """One statement for the whole report. A CTE holds one row per person of the population;
    the groups sum those rows. For the groupings through roles a second SELECT of the same
    statement (UNION ALL) sums them once per person for the total, as a person may hold roles
    in several groups. By job family the rows are per role, each person counted through one
    role per family (`groups`: see _role_groups), for the caller to add up per family.

    By org unit each person's row holds the status_flags of their status (each expression
    evaluated once per person) and one GROUP BY sums them. Every other grouping has a few
    groups with many people each: there a person's row holds only their status class
    (queries.status_classes: a few cheap CASEs), the people are counted per group and class,
    and the status expressions run once per class of a group on its stand-in values. That
    saves most of the per-person work (and, through roles, summing a dozen columns per
    assignment), but adds a second GROUP BY over the (group, class) rows: with 2,000 org
    units of 50 people there are nearly as many of those as people, and the report took
    606 ms on SQLite instead of 521 (PostgreSQL 468 instead of 345).

    The competencies satisfied (the requirement flags of the non-compliant people in scope, a
    few thousand) are summed per group too, each database the way it does cheaply. PostgreSQL
    hash-joins them into the per-person rows and sums them with the rest. SQLite would
    look them up in a b-tree for every person (60 ms at 100,000 people): it reads them from
    the per-person rows flagged non-compliant instead (see scope.requirement_flags), sums
    them per group apart and joins those sums to the figures of the same group."""
    today = filters.today
    context = certification_service.load_context(session)
    tiers = sorted(tier.key for tier in context.tiers) if context else []
    classes = (
        None
        if group_by == GroupBy.org_unit
        else queries.status_classes(today, tiers, scope.CLASS_COLUMNS)
    )
    membership = (
        None
        if group_by in (GroupBy.org_unit, GroupBy.location)
        else _role_groups(filters, group_by, groups)
    )
    # The grouping column by org unit or location (through roles the groups come from
    # `membership`): each column less in the per-person rows is one less to write and read.
    keys = (f"{group_by}_id",) if membership is None else ()
    rows = (
        sa.select(
            col(Person.id).label("person_id"),
            *(getattr(Person, key).label(key) for key in keys),
            *scope.person_columns(today, classes, tiers),
        )
        .outerjoin(PersonStatus, col(PersonStatus.person_id) == col(Person.id))
        .where(*scope.person_conditions(filters))
    )
    postgresql = session.connection().dialect.name == "postgresql"
    flags = None
    if postgresql:
        flags = scope.requirement_flags(session, filters=filters, today=today, context=context)
        if flags is not None:
            found = flags.flags
            rows = rows.add_columns(
                *(
                    sa.func.coalesce(found.c[f"s{i}"], 0).label(f"s{i}")
                    for i in range(len(flags.competencies))
                )
            ).outerjoin(found, found.c.person_id == col(Person.id))
        people = rows.cte("report_people")
    else:
        people = scope.materialized(rows.cte("report_people"), session)
        flags = scope.requirement_flags(
            session, filters=filters, today=today, people=people, keys=keys, context=context
        )
    # PostgreSQL: the satisfied competencies are in the per-person rows, summed with the rest.
    joined = [f"sat{i}" for i in range(len(flags.competencies) if postgresql and flags else 0)]
    # SQLite: computed once for the groups and, through roles, the total.
    satisfied = (
        scope.materialized(sa.select(flags.flags).cte("satisfied"), session)
        if flags and not postgresql
        else None
    )

    def figures(total: bool) -> sa.Select[Any]:
        grouping = None if total else group_by
        is_total = sa.literal(int(total)).label("is_total")
        if classes is None:
            return _summed(
                people,
                [
                    is_total,
                    *scope.flag_sums(people, tiers),
                    *(scope.satisfied_columns(people, flags) if joined and flags else ()),
                ],
                grouping,
                membership,
            )
        counted = [sa.func.count().label("people")]
        if joined and flags:
            counted += scope.satisfied_columns(people, flags)
        per_class = _summed(people, counted, grouping, membership, by=("class",)).subquery()
        stand_ins = sa.select(
            per_class.c.key,
            per_class.c.people,
            *(per_class.c[name] for name in joined),
            *classes.decoded(per_class.c["class"]),
        ).subquery("stand_ins")
        flagged = sa.select(
            stand_ins.c.key,
            stand_ins.c.people,
            *(stand_ins.c[name] for name in joined),
            *scope.status_flags(today, stand_ins.c, tiers),
        ).subquery("class_flags")
        return sa.select(
            # A NULL of its own: PostgreSQL types a NULL selected through a subquery as
            # text, which the UNION with the groups' keys (uuid) refuses.
            sa.null().label("key") if total else flagged.c.key,
            is_total,
            *scope.flag_sums(flagged, tiers, people=flagged.c.people),
            *(sa.func.sum(flagged.c[name]).label(name) for name in joined),
        ).group_by(*(() if total else (flagged.c.key,)))

    def part(total: bool) -> sa.Select[Any]:
        if satisfied is None or flags is None:
            return figures(total)
        group = figures(total).subquery()
        counts = _summed(
            satisfied,
            scope.satisfied_columns(satisfied, flags),
            None if total else group_by,
            membership,
        ).subquery()
        same_group = sa.true() if total else counts.c.key.is_not_distinct_from(group.c.key)
        return sa.select(group, *(c for c in counts.c if c.name != "key")).select_from(
            group.outerjoin(counts, same_group)
        )

    if membership is None:
        return part(total=False), flags, tiers
    return sa.union_all(part(total=False), part(total=True)), flags, tiers  # type: ignore[return-value]


def _coverage_values(
    row: Any, flags: scope.RequirementFlags | None, tiers: list[str]
) -> dict[str, Any]:
    values: dict[str, Any] = {name: int(getattr(row, name) or 0) for name in MEASURES}
    values["required_tiers"] = {
        tier: int(getattr(row, f"rt{i}") or 0)
        for i, tier in enumerate(tiers)
        if getattr(row, f"rt{i}")
    }
    missing: dict[str, int] = {}
    if flags is not None:
        for i, tier in enumerate(tiers):
            for competency in flags.required.get(tier, []):
                missing[competency] = missing.get(competency, 0) + int(getattr(row, f"nc{i}") or 0)
        for i, competency in enumerate(flags.competencies):
            if competency in missing:
                missing[competency] -= int(getattr(row, f"sat{i}") or 0)
    values["missing"] = missing
    return values


def _coverage_group(values: dict[str, Any], **label: Any) -> CoverageGroup:
    figures = {name: values[name] for name in MEASURES}
    return CoverageGroup(
        **label,
        **figures,
        compliant_pct=percent(figures["compliant"], figures["in_scope"]),
        required_tiers=values["required_tiers"],
        top_missing=_top({c: n for c, n in values["missing"].items() if n > 0}),
    )


def coverage(session: Session, *, filters: ReportFilters, group_by: GroupBy) -> CoverageReport:
    """People in scope, required tier, certified, expiring, expired and compliant per group,
    and the competencies most often missing: one statement (see _coverage_statement)."""
    role_groups = (
        _role_group_map(session, group_by)
        if group_by in (GroupBy.job_family, GroupBy.risk_class)
        else None
    )
    statement, flags, tiers = _coverage_statement(session, group_by, filters, role_groups)
    if session.connection().dialect.name == "postgresql":
        # The planner cannot see that the CTEs hold one row per person and overestimates the
        # joins by orders of magnitude; above jit_above_cost it then spends seconds compiling
        # a statement that runs in a fraction of that. With the default work_mem (4 MB) it
        # also sorts the 120,000 (person, role) rows of the role groupings on disk instead of
        # hashing them in memory (about 6 MB). Both for this transaction only.
        session.execute(sa.text("SET LOCAL jit = off"))
        session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    grouped, total_values = [], None
    for row in session.execute(statement).all():
        if row.is_total:
            total_values = _coverage_values(row, flags, tiers)
        else:
            grouped.append((row.key, _coverage_values(row, flags, tiers)))
    if total_values is None:
        # By org unit or location each person is in exactly one group: the groups add up.
        total_values = _sum_values([values for _key, values in grouped])
    if group_by == GroupBy.job_family and role_groups is not None:
        grouped = _roll_up(grouped, role_groups)
    labels = _labels(session, group_by, [key for key, _values in grouped])
    groups = []
    for group_key, values in grouped:
        key, name = labels.get(group_key, (None, None))
        groups.append(
            _coverage_group(
                values,
                key=key,
                name=name,
                id=group_key if isinstance(group_key, uuid.UUID) else None,
            )
        )
    groups.sort(key=lambda g: (g.key is None, g.key or ""))
    total = _coverage_group(total_values, key="total", name="Total")
    return CoverageReport(group_by=group_by, filters=_filters(filters), total=total, groups=groups)


def _roll_up(
    by_role: list[tuple[Any, dict[str, Any]]], groups: tuple[dict[uuid.UUID, Any], Any]
) -> list[tuple[Any, dict[str, Any]]]:
    """The figures per role of _role_groups added up per job family. Each person counts
    through one role per family there, so the roles of a family add up."""
    mapping, default = groups
    per_group: dict[Any, list[dict[str, Any]]] = {}
    for role_id, values in by_role:
        per_group.setdefault(mapping.get(role_id, default), []).append(values)
    return [(group, _sum_values(rows)) for group, rows in per_group.items()]


def _sum_values(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = dict.fromkeys(MEASURES, 0)
    total["required_tiers"], total["missing"] = {}, {}
    for values in rows:
        for name in MEASURES:
            total[name] += values[name]
        for part in ("required_tiers", "missing"):
            for key, count in values[part].items():
                total[part][key] = total[part].get(key, 0) + count
    return total


def figures(session: Session, *, filters: ReportFilters) -> Figures:
    """The coverage figures of the whole population of the filters."""
    everyone = scope.population(filters).add_columns(sa.literal("*").label("key")).subquery()
    row = session.execute(_aggregate(everyone, filters)).one_or_none()
    return Figures(
        **(_figures(row) if row else {**dict.fromkeys(MEASURES, 0), "compliant_pct": None})
    )


def expiring(session: Session, *, filters: ReportFilters, days: int) -> ExpiringReport:
    """People whose valid diploma expires within `days` (also those in their grace period)."""
    today = filters.today
    manager = aliased(Person)
    statement = (
        sa.select(
            Person,
            col(OrgUnit.external_id),
            col(manager.employee_number),
            PersonStatus,
            queries.status_expr(today).label("status"),
            sa.case((queries.compliant_expr(today), True), else_=False).label("compliant"),
        )
        .join(PersonStatus, col(PersonStatus.person_id) == col(Person.id))
        .outerjoin(OrgUnit, col(OrgUnit.id) == col(Person.org_unit_id))
        .outerjoin(manager, col(manager.id) == col(Person.manager_id))
        .where(*scope.person_conditions(filters), queries.expires_within_expr(today, days))
        .order_by(col(PersonStatus.valid_until), col(Person.employee_number))
    )
    people = [
        ExpiringPerson(
            person_id=person.id,
            employee_number=person.employee_number,
            name=_name(person),
            email=person.email,
            org_unit=unit,
            manager_employee_number=manager_number,
            tier=status.held_tier_key,
            status=state,
            valid_until=status.valid_until,
            grace_until=status.grace_until,
            days_left=(status.valid_until - today).days,
            required_tier=status.required_tier_key,
            compliant=bool(compliant),
        )
        for person, unit, manager_number, status, state, compliant in session.execute(
            statement
        ).all()
    ]
    return ExpiringReport(days=days, filters=_filters(filters), count=len(people), people=people)


def _name(person: Person) -> str:
    return person.display_name or f"{person.given_name} {person.family_name}"


# --- line managers ---------------------------------------------------------------------------


def team(
    session: Session,
    *,
    manager_id: uuid.UUID,
    filters: ReportFilters,
    viewer_id: uuid.UUID | None = None,
) -> TeamReport:
    """A manager's direct and indirect reports with status and gaps.

    With `viewer_id` (a manager's own client) the manager must be the viewer or in the
    viewer's tree; anyone else is a 404 so the existence of people outside it does not leak.
    Filters only narrow inside the tree: it is one more condition on the same query.
    """
    if viewer_id is not None and manager_id != viewer_id:
        if not scope.in_tree(session, manager_id=viewer_id, person_id=manager_id):
            raise NotFound(f"No person {manager_id} in your team.")
    elif session.get(Person, manager_id) is None:
        raise NotFound(f"No person {manager_id}.")
    filters = ReportFilters(**{**filters.echo(), "as_of": filters.as_of, "manager_id": manager_id})
    today = filters.today
    statement = (
        sa.select(
            Person,
            col(OrgUnit.external_id),
            PersonStatus,
            queries.status_expr(today).label("status"),
            sa.case((queries.compliant_expr(today), True), else_=False).label("compliant"),
            sa.case((queries.overdue_expr(today), True), else_=False).label("overdue"),
        )
        .outerjoin(PersonStatus, col(PersonStatus.person_id) == col(Person.id))
        .outerjoin(OrgUnit, col(OrgUnit.id) == col(Person.org_unit_id))
        .where(*scope.person_conditions(filters))
        .order_by(col(Person.family_name), col(Person.given_name), col(Person.employee_number))
    )
    rows = session.execute(statement).all()
    missing_by_person = scope.missing_by_person(
        session, people=scope.population(filters), today=today
    )
    people = []
    for person, unit, status, state, compliant, overdue in rows:
        people.append(
            TeamMember(
                person_id=person.id,
                employee_number=person.employee_number,
                name=_name(person),
                manager_id=person.manager_id,
                org_unit=unit,
                status=state,
                tier=status.held_tier_key if status else None,
                valid_until=status.valid_until if status else None,
                required_tier=status.required_tier_key if status else None,
                due_date=status.due_date if status else None,
                compliant=bool(compliant) if status else False,
                overdue=bool(overdue),
                extras_met=status.extras_met if status else True,
                missing=missing_by_person.get(person.id, []),
            )
        )
    return TeamReport(
        manager_id=manager_id,
        filters=_filters(filters),
        summary=figures(session, filters=filters),
        people=people,
    )


# --- works council -----------------------------------------------------------------------------

AGGREGATE_FIELDS = (
    "people",
    "in_scope",
    "certified",
    "compliant",
    "compliant_pct",
    "expiring_90",
    "expired",
    "overdue",
)


def suppress(rows: list[dict[str, Any]], *, total_people: int, k: int) -> None:
    """Mark rows to hide: groups below `k` people, plus complementary suppression.

    The rows partition the total, so the hidden rows add up to total minus the visible rows.
    That sum gives away a hidden row when only one row is hidden, and a small group when the
    hidden rows together have fewer than `k` people: then the smallest visible row is hidden
    too, until neither holds (or every row is hidden).
    """
    for row in rows:
        if row["people"] < k:
            row["suppression"] = "small-group"
    hidden = [row for row in rows if row.get("suppression")]
    if not hidden or total_people < k:
        return
    while True:
        hidden = [row for row in rows if row.get("suppression")]
        visible = sorted(
            (row for row in rows if not row.get("suppression")),
            key=lambda row: (row["people"], row["key"] or ""),
        )
        if not visible or (len(hidden) > 1 and sum(r["people"] for r in hidden) >= k):
            return
        visible[0]["suppression"] = "complementary"


def _aggregate_row(values: dict[str, Any], *, hide: bool, reason: str | None) -> AggregateRow:
    shown = {name: (None if hide else values[name]) for name in AGGREGATE_FIELDS}
    return AggregateRow(
        key=values["key"], name=values["name"], suppressed=hide, suppression=reason, **shown
    )


def works_council(
    session: Session, *, filters: ReportFilters, group_by: AggregateGroupBy, min_group_size: int
) -> WorksCouncilReport:
    """Coverage aggregates for the works council: no group smaller than `min_group_size` can
    be read from the report, directly or by subtracting other rows from the total."""
    membership = _membership(session, group_by, filters)
    grouped = session.execute(_aggregate(membership, filters)).all()
    labels = _labels(session, group_by, [row.key for row in grouped])
    rows = []
    for row in grouped:
        key, name = labels.get(row.key, (None, "(none)"))
        rows.append({"key": key, "name": name, **_figures(row)})
    rows.sort(key=lambda r: (r["key"] is None, r["key"] or ""))
    total = figures(session, filters=filters).model_dump()
    suppress(rows, total_people=total["people"], k=min_group_size)
    total_hidden = total["people"] < min_group_size
    return WorksCouncilReport(
        group_by=group_by,
        min_group_size=min_group_size,
        filters=_filters(filters),
        total=_aggregate_row(
            {**total, "key": "total", "name": "Total"},
            hide=total_hidden,
            reason="small-group" if total_hidden else None,
        ),
        groups=[
            _aggregate_row(
                r,
                hide=total_hidden or bool(r.get("suppression")),
                reason=r.get("suppression") or ("small-group" if total_hidden else None),
            )
            for r in rows
        ],
    )


# --- board -------------------------------------------------------------------------------------


def board(session: Session, *, filters: ReportFilters, oversight: OversightSummary) -> BoardReport:
    """The one-page summary: headline compliance, what slips, high-risk roles, Art. 26."""
    today = filters.today
    totals = figures(session, filters=filters)
    classes = registry_service.all_role_risk_classes(session)
    high_ids = [role_id for role_id, c in classes.items() if c == "high"]
    roles: list[HighRiskRole] = []
    high_pct: float | None = None
    if high_ids:
        conditions = [
            *scope.person_conditions(filters),
            scope.current_role(today),
            col(PersonRole.role_id).in_(high_ids),
        ]
        figure = scope.figure_conditions(today, PersonStatus)
        scoped, compliant = figure["in_scope"], figure["compliant"]
        members = (
            sa.select(col(Person.id).label("person_id"), col(PersonRole.role_id).label("role_id"))
            .join(PersonRole, col(PersonRole.person_id) == col(Person.id))
            .where(*conditions)
            .distinct()
            .subquery()
        )
        per_role = session.execute(
            sa.select(members.c.role_id, count_if(scoped), count_if(compliant))
            .outerjoin(PersonStatus, col(PersonStatus.person_id) == members.c.person_id)
            .group_by(members.c.role_id)
        ).all()
        names = {
            r.id: r
            for r in session.execute(sa.select(Role).where(col(Role.id).in_(high_ids))).scalars()
        }
        for role_id, in_scope, ok in per_role:
            role = names[role_id]
            roles.append(
                HighRiskRole(
                    role_id=role_id,
                    key=role.key,
                    name=role.name,
                    in_scope=int(in_scope),
                    compliant=int(ok),
                    compliant_pct=percent(int(ok), int(in_scope)),
                )
            )
        roles.sort(key=lambda r: (r.compliant_pct if r.compliant_pct is not None else 101, r.key))
        people = sa.select(members.c.person_id).distinct().subquery()
        in_scope_all, ok_all = session.execute(
            sa.select(count_if(scoped), count_if(compliant))
            .select_from(people)
            .outerjoin(PersonStatus, col(PersonStatus.person_id) == people.c.person_id)
        ).one()
        high_pct = percent(int(ok_all or 0), int(in_scope_all or 0))
    return BoardReport(
        as_of=today,
        filters=_filters(filters),
        headline_compliant_pct=totals.compliant_pct,
        in_scope=totals.in_scope,
        certified=totals.certified,
        compliant=totals.compliant,
        overdue=totals.overdue,
        expiring_30=totals.expiring_30,
        expiring_90=totals.expiring_90,
        expired=totals.expired,
        high_risk_roles=roles,
        high_risk_roles_compliant_pct=high_pct,
        oversight=oversight,
        trend=[],
    )
