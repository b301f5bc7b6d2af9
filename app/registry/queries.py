"""Read models of the register: the critical-processes overview and one role's exposure.

People are counted in SQL (COUNT DISTINCT with GROUP BY over person_role joined to person):
a person counts when active and their role assignment is current on the day counted
(start_date null or on/before it, end_date null or on/after it).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.org.models import OrgUnit, Person, PersonRole, Role
from app.registry import rules, service
from app.registry.models import (
    AIRiskClass,
    AISystem,
    AISystemOverseer,
    ImpactLevel,
    Process,
    ProcessAISystem,
    RoleProcessLink,
)
from app.registry.schemas import (
    CriticalProcess,
    CriticalProcesses,
    ExposureProcess,
    ExposureSystem,
    LinkInvolvement,
    OrgUnitCount,
    OverviewRole,
    OverviewSystem,
    PeopleCount,
    RoleExposure,
    RoleRiskPublic,
)

# Order of the overview: impact first, then the riskiest AI system in the process.
OVERVIEW_AI_RANK = {
    AIRiskClass.minimal: 1,
    AIRiskClass.limited: 2,
    AIRiskClass.general_purpose: 3,
    AIRiskClass.high: 4,
    AIRiskClass.prohibited: 5,
}


def _current_assignment(on: date) -> Any:
    return sa.and_(
        col(Person.active).is_(True),
        sa.or_(col(PersonRole.start_date).is_(None), col(PersonRole.start_date) <= on),
        sa.or_(col(PersonRole.end_date).is_(None), col(PersonRole.end_date) >= on),
    )


def active_people_per_role(session: Session, *, on: date) -> dict[uuid.UUID, int]:
    statement = (
        sa.select(col(PersonRole.role_id), sa.func.count(sa.distinct(col(Person.id))))
        .join(Person, col(Person.id) == col(PersonRole.person_id))
        .where(_current_assignment(on))
        .group_by(col(PersonRole.role_id))
    )
    return {role_id: count for role_id, count in session.execute(statement).all()}


def _people_per_process(
    session: Session, *, on: date
) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, list[OrgUnitCount]]]:
    base = (
        sa.select(col(RoleProcessLink.process_id))
        .join(PersonRole, col(PersonRole.role_id) == col(RoleProcessLink.role_id))
        .join(Person, col(Person.id) == col(PersonRole.person_id))
        .where(_current_assignment(on))
    )
    totals = {
        process_id: count
        for process_id, count in session.execute(
            base.add_columns(sa.func.count(sa.distinct(col(Person.id)))).group_by(
                col(RoleProcessLink.process_id)
            )
        ).all()
    }
    per_unit_statement = (
        base.add_columns(
            col(Person.org_unit_id),
            col(OrgUnit.external_id),
            col(OrgUnit.name),
            sa.func.count(sa.distinct(col(Person.id))),
        )
        .outerjoin(OrgUnit, col(OrgUnit.id) == col(Person.org_unit_id))
        .group_by(
            col(RoleProcessLink.process_id),
            col(Person.org_unit_id),
            col(OrgUnit.external_id),
            col(OrgUnit.name),
        )
    )
    per_unit: dict[uuid.UUID, list[OrgUnitCount]] = {}
    for process_id, unit_id, external_id, name, count in session.execute(per_unit_statement).all():
        per_unit.setdefault(process_id, []).append(
            OrgUnitCount(
                org_unit_id=unit_id,
                org_unit_external_id=external_id,
                org_unit_name=name,
                count=count,
            )
        )
    for counts in per_unit.values():
        counts.sort(key=lambda item: (-item.count, item.org_unit_external_id or ""))
    return totals, per_unit


def critical_processes(session: Session, *, on: date | None = None) -> CriticalProcesses:
    """Processes by risk, each with its AI systems, involved roles and active people."""
    on = on or service.today()
    processes = session.exec(select(Process)).all()
    system_rows = session.execute(
        sa.select(col(ProcessAISystem.process_id), AISystem)
        .join(AISystem, col(AISystem.id) == col(ProcessAISystem.ai_system_id))
        .order_by(col(AISystem.name))
    ).all()
    overseer_counts: dict[uuid.UUID, int] = dict(
        session.execute(
            sa.select(col(AISystemOverseer.ai_system_id), sa.func.count()).group_by(
                col(AISystemOverseer.ai_system_id)
            )
        ).all()
    )
    systems: dict[uuid.UUID, list[OverviewSystem]] = {}
    for process_id, system in system_rows:
        systems.setdefault(process_id, []).append(
            OverviewSystem(
                id=system.id,
                name=system.name,
                risk_class=system.risk_class,
                deployment_status=system.deployment_status,
                flags=rules.system_flags(
                    system, overseer_count=overseer_counts.get(system.id, 0), in_use=True, on=on
                ),
            )
        )
    link_rows = session.execute(
        sa.select(RoleProcessLink, Role)
        .join(Role, col(Role.id) == col(RoleProcessLink.role_id))
        .order_by(col(Role.name), col(RoleProcessLink.involvement))
    ).all()
    per_role = active_people_per_role(session, on=on)
    roles: dict[uuid.UUID, dict[uuid.UUID, OverviewRole]] = {}
    for link, role in link_rows:
        entry = roles.setdefault(link.process_id, {}).setdefault(
            role.id,
            OverviewRole(
                role_id=role.id,
                role_key=role.key,
                role_name=role.name,
                involvements=[],
                active_people=per_role.get(role.id, 0),
            ),
        )
        entry.involvements.append(
            LinkInvolvement(
                involvement=link.involvement,
                state=link.state,
                planned_from_date=link.planned_from_date,
            )
        )
    totals, per_unit = _people_per_process(session, on=on)
    items = []
    for process in processes:
        process_systems = systems.get(process.id, [])
        highest = max(
            (s.risk_class for s in process_systems), key=lambda r: OVERVIEW_AI_RANK[r], default=None
        )
        items.append(
            CriticalProcess(
                id=process.id,
                name=process.name,
                owner_org_unit_id=process.owner_org_unit_id,
                impact_level=process.impact_level,
                impact_types=process.impact_types,
                risk_register_ref=process.risk_register_ref,
                highest_ai_risk_class=highest,
                ai_systems=process_systems,
                roles=list(roles.get(process.id, {}).values()),
                active_people=PeopleCount(
                    total=totals.get(process.id, 0), per_org_unit=per_unit.get(process.id, [])
                ),
                flags=sorted({flag for s in process_systems for flag in s.flags}),
            )
        )
    items.sort(
        key=lambda item: (
            -rules.IMPACT_RANK[ImpactLevel(item.impact_level)],
            -(OVERVIEW_AI_RANK[item.highest_ai_risk_class] if item.highest_ai_risk_class else 0),
            item.name,
        )
    )
    return CriticalProcesses(items=items, as_of_date=on)


def role_exposure(session: Session, *, role_id: uuid.UUID) -> RoleExposure:
    """Every process and AI system a role touches, and its risk class with the reasons."""
    role = service.get_role(session, role_id=role_id)
    rows = service.role_link_rows(session, role_id=role_id)
    risk = rules.role_risk_from_rows(
        role_id,
        [
            (process, str(link.state), link.planned_from_date, system)
            for link, process, system in rows
        ],
        service.current_override(session, role_id=role_id),
    )
    processes: dict[uuid.UUID, ExposureProcess] = {}
    all_systems: dict[uuid.UUID, ExposureSystem] = {}
    for link, process, system in rows:
        entry = processes.setdefault(
            link.id,
            ExposureProcess(
                id=process.id,
                name=process.name,
                impact_level=process.impact_level,
                impact_types=process.impact_types,
                risk_register_ref=process.risk_register_ref,
                involvement=link.involvement,
                state=link.state,
                planned_from_date=link.planned_from_date,
                ai_systems=[],
            ),
        )
        if system is not None:
            view = ExposureSystem(
                id=system.id,
                name=system.name,
                risk_class=system.risk_class,
                deployment_status=system.deployment_status,
            )
            entry.ai_systems.append(view)
            all_systems[system.id] = view
    return RoleExposure(
        role_id=role.id,
        role_key=role.key,
        role_name=role.name,
        risk=RoleRiskPublic(**risk.__dict__),
        processes=list(processes.values()),
        ai_systems=sorted(all_systems.values(), key=lambda s: s.name),
    )


# --- CSV shapes ---------------------------------------------------------------------------

CRITICAL_PROCESS_COLUMNS = [
    "process_id",
    "process_name",
    "impact_level",
    "impact_types",
    "risk_register_ref",
    "highest_ai_risk_class",
    "ai_systems",
    "flags",
    "process_active_people",
    "role_key",
    "role_name",
    "involvements",
    "role_active_people",
]


def critical_process_rows(overview: CriticalProcesses) -> list[dict[str, Any]]:
    """One row per process and involved role (a process without roles gets one row)."""
    rows = []
    for item in overview.items:
        common = {
            "process_id": item.id,
            "process_name": item.name,
            "impact_level": item.impact_level,
            "impact_types": "; ".join(item.impact_types),
            "risk_register_ref": item.risk_register_ref or "",
            "highest_ai_risk_class": item.highest_ai_risk_class or "",
            "ai_systems": "; ".join(f"{s.name} ({s.risk_class})" for s in item.ai_systems),
            "flags": "; ".join(item.flags),
            "process_active_people": item.active_people.total,
        }
        roles: list[OverviewRole | None] = list(item.roles) or [None]
        for role in roles:
            rows.append(
                {
                    **common,
                    "role_key": role.role_key if role else "",
                    "role_name": role.role_name if role else "",
                    "involvements": "; ".join(
                        i.involvement
                        + (f" (planned from {i.planned_from_date})" if i.planned_from_date else "")
                        for i in role.involvements
                    )
                    if role
                    else "",
                    "role_active_people": role.active_people if role else "",
                }
            )
    return rows


EXPOSURE_COLUMNS = [
    "role_key",
    "derived_class",
    "override_class",
    "effective_class",
    "process_name",
    "impact_level",
    "involvement",
    "state",
    "planned_from_date",
    "ai_systems",
    "reasons",
]


def exposure_rows(exposure: RoleExposure) -> list[dict[str, Any]]:
    """One row per link of the role (a role without links gets one row with its class)."""
    common = {
        "role_key": exposure.role_key,
        "derived_class": exposure.risk.derived_class,
        "override_class": exposure.risk.override_class or "",
        "effective_class": exposure.risk.effective_class,
        "reasons": " | ".join(exposure.risk.reasons),
    }
    rows = [
        {
            **common,
            "process_name": p.name,
            "impact_level": p.impact_level,
            "involvement": p.involvement,
            "state": p.state,
            "planned_from_date": p.planned_from_date or "",
            "ai_systems": "; ".join(f"{s.name} ({s.risk_class})" for s in p.ai_systems),
        }
        for p in exposure.processes
    ]
    return rows or [common]
