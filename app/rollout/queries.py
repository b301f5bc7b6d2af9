"""Read SQL of the rollout: the people in a phase's scope and a phase's progress, set-based.

Scope rule: a person is in a phase's scope when active and matching every scoped dimension
(AND across dimensions, OR within one). The dimensions are the org unit (a scoped unit or any
unit below it), the location, and the function: a current role that is a scoped role or in a
scoped job family (roles and job families together are one dimension, so "job family
sociaal-domein plus the role beleidsadviseur" means either). An empty scope is everyone active.
Nobody is copied into a phase: the scope is evaluated at read time, so HR changes flow in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.certification import queries as cert_queries
from app.certification import service as certification_service
from app.certification.models import PersonStatus
from app.competencies import service as competency_service
from app.competencies.models import ASSESSMENT_FORMS, ActivityMatch, AssessmentForm
from app.competencies.schemas import ActivityMappingContent
from app.core import clock
from app.core.pagination import PageParams, paginate
from app.evidence.models import Evidence
from app.org.models import Location, OrgUnit, Person, PersonRole, Role
from app.rollout.models import Phase, PhaseScope, Programme
from app.rollout.schemas import (
    OrgUnitProgress,
    PersonInScope,
    PhaseProgress,
    ProgressCounts,
    Timeline,
)


def activity_mappings(
    session: Session, programme: Programme
) -> list[ActivityMappingContent] | None:
    """The mappings of the programme's model version, or of the current published version."""
    if programme.model_version_id is not None:
        version = competency_service.get_version_by_id(
            session, version_id=programme.model_version_id
        )
        return list(competency_service.version_content(session, version=version).activity_mappings)
    ctx = certification_service.load_context(session)
    return None if ctx is None else list(ctx.content.activity_mappings)


# Derived scope


def scope_condition(session: Session, phase: Phase, today: date) -> sa.ColumnElement[bool]:
    """The SQL condition on `person` for "in this phase's scope today" (see the module rule).

    The few scope rows are read first; the people are never loaded: the condition runs in the
    database, with a recursive CTE for the org unit subtrees.
    """
    rows = session.exec(select(PhaseScope).where(PhaseScope.phase_id == phase.id)).all()
    units = [r.org_unit_id for r in rows if r.org_unit_id is not None]
    locations = [r.location_id for r in rows if r.location_id is not None]
    families = [r.job_family_id for r in rows if r.job_family_id is not None]
    roles = [r.role_id for r in rows if r.role_id is not None]
    conditions: list[sa.ColumnElement[bool]] = [col(Person.active).is_(True)]
    if units:
        unit = OrgUnit.__table__  # type: ignore[attr-defined]
        tree = (
            sa.select(unit.c.id)
            .where(unit.c.id.in_(units))
            .cte(f"scope_tree_{phase.id.hex[:8]}", recursive=True)
        )
        tree = tree.union(sa.select(unit.c.id).join(tree, unit.c.parent_id == tree.c.id))
        conditions.append(col(Person.org_unit_id).in_(sa.select(tree.c.id)))
    if locations:
        conditions.append(col(Person.location_id).in_(locations))
    if families or roles:
        function = []
        if roles:
            function.append(col(Role.id).in_(roles))
        if families:
            function.append(col(Role.job_family_id).in_(families))
        conditions.append(
            sa.exists()
            .where(
                col(PersonRole.person_id) == col(Person.id),
                col(PersonRole.role_id) == col(Role.id),
                sa.or_(col(PersonRole.end_date).is_(None), col(PersonRole.end_date) >= today),
                sa.or_(*function),
            )
            .correlate(Person)
        )
    return sa.and_(*conditions)


def list_people_in_scope(
    session: Session, *, phase: Phase, page: PageParams
) -> tuple[list[PersonInScope], str | None]:
    today = clock.now().date()
    people, cursor = paginate(
        session,
        sa.select(Person).where(scope_condition(session, phase, today)),
        id_column=Person.id,
        params=page,
    )
    units = _keys(session, OrgUnit, OrgUnit.external_id, {p.org_unit_id for p in people})
    places = _keys(session, Location, Location.external_id, {p.location_id for p in people})
    return [
        PersonInScope(
            id=p.id,
            employee_number=p.employee_number,
            display_name=p.display_name or f"{p.given_name} {p.family_name}",
            org_unit=units.get(p.org_unit_id),
            location=places.get(p.location_id),
        )
        for p in people
    ], cursor


def _keys(session: Session, table: Any, key_column: Any, ids: set[Any]) -> dict[Any, str]:
    ids.discard(None)
    if not ids:
        return {}
    return dict(session.execute(sa.select(table.id, key_column).where(table.id.in_(ids))).all())


# Progress


def _since(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def phase_progress(session: Session, *, phase: Phase, programme: Programme) -> PhaseProgress:
    """In scope, started, trained, assessed, certified and compliant per org unit: one GROUP BY."""
    today = clock.now().date()
    scoped = (
        sa.select(col(Person.id).label("person_id"), col(Person.org_unit_id).label("org_unit_id"))
        .where(scope_condition(session, phase, today))
        .subquery("scoped")
    )
    since = _since(phase.start_date)

    def evidence(*extra: Any) -> sa.Exists:
        return (
            sa.exists()
            .where(
                col(Evidence.person_id) == scoped.c.person_id,
                col(Evidence.voided_at).is_(None),
                col(Evidence.occurred_at) >= since,
                *extra,
            )
            .correlate(scoped)
        )

    training: list[Any] = [col(Evidence.assessment_form) == AssessmentForm.course_completion.value]
    exact, prefixes = _offer_matchers(session, programme, phase.training_offer)
    if exact:
        training.append(col(Evidence.activity_id).in_(exact))
    training.extend(col(Evidence.activity_id).startswith(p, autoescape=True) for p in prefixes)

    def flag(condition: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    unit = OrgUnit.__table__  # type: ignore[attr-defined]
    statement = (
        sa.select(
            scoped.c.org_unit_id,
            unit.c.external_id,
            unit.c.name,
            sa.func.count().label("in_scope"),
            flag(evidence()).label("started"),
            flag(evidence(sa.or_(*training))).label("trained"),
            flag(
                evidence(col(Evidence.assessment_form).in_([f.value for f in ASSESSMENT_FORMS]))
            ).label("assessed"),
            flag(cert_queries.valid_expr(today)).label("certified"),
            flag(cert_queries.compliant_expr(today)).label("compliant"),
        )
        .select_from(
            scoped.outerjoin(
                PersonStatus, col(PersonStatus.person_id) == scoped.c.person_id
            ).outerjoin(unit, unit.c.id == scoped.c.org_unit_id)
        )
        .group_by(scoped.c.org_unit_id, unit.c.external_id, unit.c.name)
        .order_by(unit.c.external_id)
    )
    rows = session.execute(statement).mappings().all()
    fields = ("in_scope", "started", "trained", "assessed", "certified", "compliant")
    per_unit = [
        OrgUnitProgress(
            org_unit_id=row["org_unit_id"],
            org_unit=row["external_id"],
            org_unit_name=row["name"],
            **{name: int(row[name]) for name in fields},
        )
        for row in rows
    ]
    totals = ProgressCounts(**{name: sum(getattr(u, name) for u in per_unit) for name in fields})
    return PhaseProgress(
        phase_id=phase.id,
        status=phase.status,
        totals=totals,
        timeline=_timeline(phase, totals, today),
        org_units=per_unit,
    )


def _offer_matchers(
    session: Session, programme: Programme, offer: list[str]
) -> tuple[list[str], list[str]]:
    """Offer entries that are prefix mappings in the model match every activity below them."""
    if not offer:
        return [], []
    mappings = activity_mappings(session, programme) or []
    prefixes = {m.activity_id for m in mappings if m.match == ActivityMatch.prefix}
    return [a for a in offer if a not in prefixes], [a for a in offer if a in prefixes]


def _timeline(phase: Phase, totals: ProgressCounts, today: date) -> Timeline:
    """A simple linear expectation: by day d of n, d/n of the people in scope certified."""
    days_total = max((phase.end_date - phase.start_date).days, 1)
    days_elapsed = min(max((today - phase.start_date).days, 0), days_total)
    expected = round(100.0 * days_elapsed / days_total, 1)
    certified_pct = (
        round(100.0 * totals.certified / totals.in_scope, 1) if totals.in_scope else None
    )
    return Timeline(
        start_date=phase.start_date,
        end_date=phase.end_date,
        as_of=today,
        days_total=days_total,
        days_elapsed=days_elapsed,
        days_left=max((phase.end_date - today).days, 0),
        certified_pct=certified_pct,
        expected_certified_pct=expected,
        on_track=None if certified_pct is None else certified_pct >= expected,
    )
