"""Reports for risk & compliance and auditors: process risk (residual risk per process),
AI Act Art. 26 oversight, and the Art. 4 evidence dossier (ISO/IEC 42001 7.2).

People are counted and their status derived in SQL; Python only shapes the few
rows per process or AI system.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from app.certification import queries
from app.certification import service as certification_service
from app.certification.models import (
    Certification,
    CertificationEvent,
    CertificationEventKind,
    CertificationKind,
    PersonStatus,
)
from app.competencies import requirements as requirement_service
from app.competencies.models import DerivationKind
from app.core import clock
from app.core.db import UTCDateTime
from app.core.keys import SigningKey
from app.evidence.models import Evidence
from app.org.models import OrgUnit, Person, PersonRole, Role
from app.registry.models import (
    AIRiskClass,
    AISystem,
    AISystemOverseer,
    DeploymentStatus,
    LinkState,
    Process,
    ProcessAISystem,
    RoleProcessLink,
)
from app.reports import scope
from app.reports.schemas import (
    DossierDocument,
    Filters,
    Overseer,
    OversightReport,
    OversightSummary,
    OversightSystem,
    ProcessRiskReport,
    ProcessRiskRow,
    ProcessRole,
    ProcessSystem,
    SignedDossier,
)
from app.reports.scope import ReportFilters, count_if, percent

IMPACT_ORDER = {"high": 0, "medium": 1, "low": 2}


def _name(person: Person) -> str:
    return person.display_name or f"{person.given_name} {person.family_name}"


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


# --- process risk -------------------------------------------------------------------------------


def process_risk(session: Session, *, filters: ReportFilters) -> ProcessRiskReport:
    """Per process: its risk-register reference, AI systems, roles, the people currently in
    those roles and the share of them compliant. The least compliant high-impact process first."""
    today = filters.today
    processes = session.execute(sa.select(Process)).scalars().all()
    systems: dict[uuid.UUID, list[ProcessSystem]] = defaultdict(list)
    for process_id, system in session.execute(
        sa.select(col(ProcessAISystem.process_id), AISystem)
        .join(AISystem, col(AISystem.id) == col(ProcessAISystem.ai_system_id))
        .order_by(col(AISystem.name))
    ).all():
        systems[process_id].append(
            ProcessSystem(
                id=system.id,
                name=system.name,
                risk_class=str(system.risk_class),
                deployment_status=str(system.deployment_status),
            )
        )
    roles: dict[uuid.UUID, list[ProcessRole]] = defaultdict(list)
    for link, role in session.execute(
        sa.select(RoleProcessLink, Role)
        .join(Role, col(Role.id) == col(RoleProcessLink.role_id))
        .order_by(col(Role.key), col(RoleProcessLink.involvement))
    ).all():
        roles[link.process_id].append(
            ProcessRole(
                id=role.id,
                key=role.key,
                name=role.name,
                involvement=str(link.involvement),
                state=str(link.state),
            )
        )
    members = (
        sa.select(
            col(RoleProcessLink.process_id).label("process_id"),
            col(Person.id).label("person_id"),
        )
        .join(PersonRole, col(PersonRole.role_id) == col(RoleProcessLink.role_id))
        .join(Person, col(Person.id) == col(PersonRole.person_id))
        .where(
            col(RoleProcessLink.state) == LinkState.current,
            scope.current_role(today),
            *scope.person_conditions(filters),
        )
        .distinct()
        .subquery()
    )
    figure = scope.figure_conditions(today, PersonStatus)
    counts = {
        row.process_id: row
        for row in session.execute(
            sa.select(
                members.c.process_id,
                sa.func.count().label("people"),
                *(
                    count_if(figure[name]).label(name)
                    for name in ("in_scope", "compliant", "overdue", "expired")
                ),
            )
            .outerjoin(PersonStatus, col(PersonStatus.person_id) == members.c.person_id)
            .group_by(members.c.process_id)
        ).all()
    }
    rows = []
    for process in processes:
        c = counts.get(process.id)
        in_scope = int(c.in_scope) if c else 0
        compliant = int(c.compliant) if c else 0
        rows.append(
            ProcessRiskRow(
                process_id=process.id,
                name=process.name,
                risk_register_ref=process.risk_register_ref,
                impact_level=str(process.impact_level),
                impact_types=list(process.impact_types or []),
                ai_systems=systems.get(process.id, []),
                roles=roles.get(process.id, []),
                people=int(c.people) if c else 0,
                in_scope=in_scope,
                compliant=compliant,
                compliant_pct=percent(compliant, in_scope),
                non_compliant=in_scope - compliant,
                overdue=int(c.overdue) if c else 0,
                expired=int(c.expired) if c else 0,
            )
        )
    rows.sort(
        key=lambda r: (
            IMPACT_ORDER.get(r.impact_level, 3),
            r.compliant_pct if r.compliant_pct is not None else 101.0,
            r.name,
        )
    )
    return ProcessRiskReport(filters=Filters(**filters.echo()), processes=rows)


# --- Art. 26 oversight --------------------------------------------------------------------------


def _oversight_tier(session: Session) -> tuple[str | None, dict[str, int]]:
    ctx = certification_service.load_context(session)
    if ctx is None:
        return None, {}
    tiers = [
        rule.tier
        for rule in ctx.content.derivation_rules
        if rule.kind == DerivationKind.high_risk_overseer and rule.tier in ctx.tier_rank
    ]
    best = max(tiers, key=lambda key: ctx.tier_rank[key], default=None)
    return best, ctx.tier_rank


def oversight(session: Session, *, as_of: date | None = None) -> OversightReport:
    """Each high-risk AI system (Art. 26(2)): its overseers, by role or by name, and whether each
    holds the required tier; systems whose workers were not informed (Art. 26(7))."""
    today = as_of or clock.now().date()
    oversight_tier, tier_rank = _oversight_tier(session)
    systems = (
        session.execute(
            sa.select(AISystem)
            .where(col(AISystem.risk_class) == AIRiskClass.high)
            .order_by(col(AISystem.name))
        )
        .scalars()
        .all()
    )
    ids = [s.id for s in systems]
    status_cols = (
        PersonStatus,
        queries.status_expr(today).label("status"),
        sa.case((queries.valid_expr(today), True), else_=False).label("valid"),
    )
    by_role = session.execute(
        sa.select(col(AISystemOverseer.ai_system_id), col(Role.key), Person, *status_cols)
        .join(Role, col(Role.id) == col(AISystemOverseer.role_id))
        .join(PersonRole, col(PersonRole.role_id) == col(Role.id))
        .join(Person, col(Person.id) == col(PersonRole.person_id))
        .outerjoin(PersonStatus, col(PersonStatus.person_id) == col(Person.id))
        .where(
            col(AISystemOverseer.ai_system_id).in_(ids),
            col(Person.active).is_(True),
            scope.current_role(today),
        )
    ).all()
    by_person = session.execute(
        sa.select(col(AISystemOverseer.ai_system_id), sa.literal("person"), Person, *status_cols)
        .join(Person, col(Person.id) == col(AISystemOverseer.person_id))
        .outerjoin(PersonStatus, col(PersonStatus.person_id) == col(Person.id))
        .where(col(AISystemOverseer.ai_system_id).in_(ids))
    ).all()
    overseer_roles = session.execute(
        sa.select(col(AISystemOverseer.ai_system_id), col(Role.key))
        .join(Role, col(Role.id) == col(AISystemOverseer.role_id))
        .where(col(AISystemOverseer.ai_system_id).in_(ids))
    ).all()
    people: dict[uuid.UUID, list[Overseer]] = defaultdict(list)
    for system_id, via, person, status, state, valid in [*by_role, *by_person]:
        required = oversight_tier or (status.required_tier_key if status else None)
        needed = tier_rank.get(required or "", 0)
        held = (status.held_tier_rank or 0) if status else 0
        holds = bool(valid) and (held >= needed if required else True)
        if any(o.person_id == person.id for o in people[system_id]):
            continue  # a person who oversees both by name and by role is listed once
        people[system_id].append(
            Overseer(
                person_id=person.id,
                employee_number=person.employee_number,
                name=_name(person),
                via=via,
                status=state,
                tier=status.held_tier_key if status else None,
                valid_until=status.valid_until if status else None,
                required_tier=required,
                holds_required_tier=holds,
            )
        )
    rows = []
    for system in systems:
        listed = sorted(people.get(system.id, []), key=lambda o: o.employee_number)
        staffed_roles = {o.via for o in listed}
        empty_roles = sorted(
            {key for sid, key in overseer_roles if sid == system.id} - staffed_roles
        )
        qualified = sum(1 for o in listed if o.holds_required_tier)
        issues = []
        if not listed:
            issues.append("no-overseer")
        elif not qualified:
            issues.append("no-qualified-overseer")
        if system.workers_informed_date is None or system.workers_informed_date > today:
            issues.append("workers-not-informed")
        rows.append(
            OversightSystem(
                ai_system_id=system.id,
                name=system.name,
                deployment_status=str(system.deployment_status),
                workers_informed_date=system.workers_informed_date,
                overseers=listed,
                overseer_roles_without_people=empty_roles,
                qualified_overseers=qualified,
                issues=issues,
            )
        )
    return OversightReport(
        as_of=today,
        oversight_tier=oversight_tier,
        systems=rows,
        systems_without_informed_workers=[
            r.name for r in rows if "workers-not-informed" in r.issues
        ],
        systems_without_qualified_overseer=[r.name for r in rows if r.qualified_overseers == 0],
    )


def oversight_summary(report: OversightReport) -> OversightSummary:
    return OversightSummary(
        high_risk_systems=len(report.systems),
        systems_without_overseers=sum(1 for s in report.systems if not s.overseers),
        overseers=sum(len(s.overseers) for s in report.systems),
        overseers_qualified=sum(s.qualified_overseers for s in report.systems),
        systems_without_informed_workers=len(report.systems_without_informed_workers),
    )


# --- Art. 4 evidence dossier --------------------------------------------------------------------


def _register(session: Session) -> dict[str, Any]:
    systems = session.execute(sa.select(AISystem).order_by(col(AISystem.name))).scalars().all()
    processes = session.execute(sa.select(Process).order_by(col(Process.name))).scalars().all()
    return {
        "ai_systems": [
            {
                "id": str(s.id),
                "name": s.name,
                "risk_class": str(s.risk_class),
                "deployment_status": str(s.deployment_status),
                "conditions": s.conditions,
                "last_review_date": s.last_review_date,
                "workers_informed_date": s.workers_informed_date,
            }
            for s in systems
        ],
        "processes": [
            {
                "id": str(p.id),
                "name": p.name,
                "risk_register_ref": p.risk_register_ref,
                "impact_level": str(p.impact_level),
                "impact_types": list(p.impact_types or []),
            }
            for p in processes
        ],
    }


def _measures(session: Session, people: sa.Select[Any], until: datetime) -> dict[str, Any]:
    """Training and assessments delivered: evidence counts with first and last dates."""
    ids = people.subquery("dossier_people")
    when = sa.literal(until, UTCDateTime())
    base = (
        sa.select()
        .select_from(Evidence)
        .join(ids, ids.c.person_id == col(Evidence.person_id))
        .where(col(Evidence.voided_at).is_(None), col(Evidence.occurred_at) <= when)
    )

    def grouped(column: Any) -> list[dict[str, Any]]:
        statement = base.add_columns(
            column,
            sa.func.count(),
            sa.func.count(sa.distinct(col(Evidence.person_id))),
            count_if(col(Evidence.passed).is_(True)),
            sa.func.min(col(Evidence.occurred_at)),
            sa.func.max(col(Evidence.occurred_at)),
        ).group_by(column)
        return [
            {
                "key": key,
                "records": int(n),
                "people": int(p),
                "passed": int(ok),
                "first_at": first,
                "last_at": last,
            }
            for key, n, p, ok, first, last in session.execute(statement).all()
        ]

    awards = session.execute(
        sa.select(
            col(CertificationEvent.kind),
            sa.func.count(),
            sa.func.min(col(CertificationEvent.occurred_at)),
            sa.func.max(col(CertificationEvent.occurred_at)),
        )
        .join(ids, ids.c.person_id == col(CertificationEvent.person_id))
        .where(
            col(CertificationEvent.kind).in_(
                [CertificationEventKind.awarded, CertificationEventKind.renewed]
            ),
            col(CertificationEvent.occurred_at) <= when,
        )
        .group_by(col(CertificationEvent.kind))
    ).all()
    return {
        "by_assessment_form": grouped(col(Evidence.assessment_form)),
        "by_activity": [a for a in grouped(col(Evidence.activity_id)) if a["key"] is not None],
        "diplomas": [
            {"kind": str(kind), "count": int(n), "first_at": first, "last_at": last}
            for kind, n, first, last in awards
        ],
    }


def _people(session: Session, filters: ReportFilters, until: datetime) -> list[dict[str, Any]]:
    today = filters.today
    evidence = (
        sa.select(
            col(Evidence.person_id).label("person_id"),
            sa.func.count().label("records"),
            sa.func.max(col(Evidence.occurred_at)).label("last_at"),
        )
        .where(
            col(Evidence.voided_at).is_(None),
            col(Evidence.occurred_at) <= sa.literal(until, UTCDateTime()),
        )
        .group_by(col(Evidence.person_id))
        .subquery()
    )
    rows = session.execute(
        sa.select(
            Person,
            col(OrgUnit.external_id),
            PersonStatus,
            queries.status_expr(today).label("status"),
            sa.case((queries.compliant_expr(today), True), else_=False).label("compliant"),
            evidence.c.records,
            evidence.c.last_at,
        )
        .outerjoin(OrgUnit, col(OrgUnit.id) == col(Person.org_unit_id))
        .outerjoin(PersonStatus, col(PersonStatus.person_id) == col(Person.id))
        .outerjoin(evidence, evidence.c.person_id == col(Person.id))
        .where(*scope.person_conditions(filters))
        .order_by(col(Person.employee_number))
    ).all()
    return [
        {
            "person_id": str(person.id),
            "employee_number": person.employee_number,
            "name": _name(person),
            "org_unit": unit,
            "required_tier": status.required_tier_key if status else None,
            "tier": status.held_tier_key if status else None,
            "status": state,
            "valid_until": status.valid_until if status else None,
            "compliant": bool(compliant) if status else False,
            "evidence_records": int(records or 0),
            "last_evidence_at": last_at,
        }
        for person, unit, status, state, compliant, records, last_at in rows
    ]


def _exceptions(session: Session, filters: ReportFilters) -> dict[str, Any]:
    """Overdue people with what they miss and the training offer for it; alternative awards."""
    today = filters.today
    ctx = certification_service.load_context(session)
    offer: dict[str, list[str]] = defaultdict(list)
    if ctx is not None:
        for mapping in ctx.content.activity_mappings:
            offer[mapping.competency].append(mapping.activity_id)
    overdue_people = (
        scope.population(filters)
        .join(PersonStatus, col(PersonStatus.person_id) == col(Person.id))
        .where(queries.overdue_expr(today))
    )
    missing = scope.missing_by_person(session, people=overdue_people, today=today)
    overdue = [
        {
            "person_id": str(person.id),
            "employee_number": person.employee_number,
            "name": _name(person),
            "required_tier": status.required_tier_key,
            "due_date": status.due_date,
            "missing": missing.get(person.id, []),
            "extras_met": status.extras_met,
            "remediation": [
                {"competency": c, "activities": sorted(offer.get(c, []))}
                for c in missing.get(person.id, [])
            ],
        }
        for person, status in session.execute(
            sa.select(Person, PersonStatus)
            .join(PersonStatus, col(PersonStatus.person_id) == col(Person.id))
            .where(*scope.person_conditions(filters), queries.overdue_expr(today))
            .order_by(col(PersonStatus.due_date), col(Person.employee_number))
        ).all()
    ]
    alternative = [
        {
            "certification_id": str(c.id),
            "employee_number": person.employee_number,
            "name": _name(person),
            "tier": c.tier_key,
            "state": str(c.state),
            "awarded_at": c.awarded_at,
            "awarded_by": c.awarded_by,
            "valid_until": c.valid_until,
            "document_ref": c.document_ref,
        }
        for c, person in session.execute(
            sa.select(Certification, Person)
            .join(Person, col(Person.id) == col(Certification.person_id))
            .where(
                col(Certification.kind) == CertificationKind.alternative,
                col(Certification.awarded_at) <= sa.literal(_end_of(today), UTCDateTime()),
                *scope.person_conditions(filters),
            )
            .order_by(col(Certification.awarded_at))
        ).all()
    ]
    return {"overdue": overdue, "alternative_awards": alternative}


def _systems_in_use(session: Session, filters: ReportFilters) -> list[dict[str, Any]]:
    """Per AI system not prohibited: the roles operating it (via processes) and their people."""
    today = filters.today
    systems = (
        session.execute(
            sa.select(AISystem)
            .where(col(AISystem.deployment_status) != DeploymentStatus.prohibited)
            .order_by(col(AISystem.name))
        )
        .scalars()
        .all()
    )
    links = session.execute(
        sa.select(
            col(ProcessAISystem.ai_system_id), col(Role.key), col(RoleProcessLink.involvement)
        )
        .join(RoleProcessLink, col(RoleProcessLink.process_id) == col(ProcessAISystem.process_id))
        .join(Role, col(Role.id) == col(RoleProcessLink.role_id))
        .where(col(RoleProcessLink.state) == LinkState.current)
        .distinct()
    ).all()
    people = session.execute(
        sa.select(
            col(ProcessAISystem.ai_system_id),
            col(Person.employee_number),
            col(Person.given_name),
            col(Person.family_name),
            col(Person.display_name),
            queries.status_expr(today).label("status"),
            sa.case((queries.compliant_expr(today), True), else_=False).label("compliant"),
            col(PersonStatus.held_tier_key),
        )
        .join(RoleProcessLink, col(RoleProcessLink.process_id) == col(ProcessAISystem.process_id))
        .join(PersonRole, col(PersonRole.role_id) == col(RoleProcessLink.role_id))
        .join(Person, col(Person.id) == col(PersonRole.person_id))
        .outerjoin(PersonStatus, col(PersonStatus.person_id) == col(Person.id))
        .where(
            col(RoleProcessLink.state) == LinkState.current,
            scope.current_role(today),
            *scope.person_conditions(filters),
        )
        .distinct()
        .order_by(col(Person.employee_number))
    ).all()
    roles: dict[uuid.UUID, list[dict[str, str]]] = defaultdict(list)
    for system_id, key, involvement in links:
        roles[system_id].append({"role": key, "involvement": str(involvement)})
    operators: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for system_id, number, given, family, display, state, compliant, tier in people:
        operators[system_id].append(
            {
                "employee_number": number,
                "name": display or f"{given} {family}",
                "status": state,
                "tier": tier,
                "compliant": bool(compliant) if tier is not None or state else False,
            }
        )
    return [
        {
            "ai_system_id": str(s.id),
            "name": s.name,
            "risk_class": str(s.risk_class),
            "deployment_status": str(s.deployment_status),
            "roles": sorted(roles.get(s.id, []), key=lambda r: (r["role"], r["involvement"])),
            "people": operators.get(s.id, []),
            "people_compliant": sum(1 for p in operators.get(s.id, []) if p["compliant"]),
        }
        for s in systems
    ]


def _cadence(session: Session) -> dict[str, Any]:
    ctx = certification_service.load_context(session)
    systems = session.execute(
        sa.select(col(AISystem.name), col(AISystem.last_review_date)).order_by(col(AISystem.name))
    ).all()
    return {
        "model_version": ctx.version.number if ctx else None,
        "model_published_at": ctx.version.published_at if ctx else None,
        "tiers": [
            {
                "tier": t.key,
                "validity_months": t.validity_months,
                "recertification_window_days": t.recertification_window_days,
                "grace_period_days": t.grace_period_days,
                "due_days": t.due_days,
                "renewal_basis": t.renewal_basis,
                "renewal_fixed_date": t.renewal_fixed_date,
                "refresher_competencies": [r.competency for r in t.refresher_requirements],
            }
            for t in (ctx.tiers if ctx else [])
        ],
        "register_reviews": [{"ai_system": n, "last_review_date": d} for n, d in systems],
    }


def dossier(session: Session, *, filters: ReportFilters) -> DossierDocument:
    """The Art. 4 AI-literacy evidence dossier as of a date, for an auditor."""
    today = filters.today
    until = _end_of(today)
    ctx = certification_service.load_context(session)
    matrix = (
        requirement_service.matrix(
            session, model_id=ctx.version.model_id, number=ctx.version.number
        )
        if ctx
        else None
    )
    return DossierDocument(
        title="AI literacy evidence (EU AI Act Art. 4; ISO/IEC 42001 7.2)",
        as_of=today,
        generated_at=clock.now(),
        filters=Filters(**filters.echo()),
        scope=_register(session),
        role_matrix=matrix,
        measures=_measures(session, scope.population(filters), until),
        people=_people(session, filters, until),
        exceptions=_exceptions(session, filters),
        review_cadence=_cadence(session),
        ai_systems_in_use=_systems_in_use(session, filters),
    )


def sign_dossier(document: DossierDocument, *, key: SigningKey, issuer: str) -> SignedDossier:
    """A JWS (RS256) over the dossier's JSON, verifiable with the service's JWKS."""
    claims = {
        **document.model_dump(mode="json"),
        "iss": issuer,
        "iat": int(document.generated_at.timestamp()),
    }
    token = key.sign(claims, headers={"typ": "JWT", "cty": "art4-dossier+json"})
    return SignedDossier(kid=key.kid, jws=token, dossier=document)
