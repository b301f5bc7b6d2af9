"""Use cases of the AI-use register: AI systems, processes, role-process links and role risk.

The public interface for other packages (the competency model) is `role_risk_class`,
`role_involvements`, `all_role_risk_classes` and `overseer_role_ids_of_high_risk_systems`.
How a role's risk class is derived is documented in app.registry.rules. IT/security may
override the class with a reason: overrides are append-only rows in role_risk_override, the
latest one counts, and a row with a null class withdraws it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from app.core import audit, clock
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import PageParams, paginate
from app.org.models import OrgUnit, Person, Role
from app.registry.models import (
    AIRiskClass,
    AISystem,
    AISystemOverseer,
    DeploymentStatus,
    ImpactLevel,
    LinkState,
    Process,
    ProcessAISystem,
    RoleProcessLink,
    RoleRiskOverride,
)
from app.registry.rules import (
    AI_CLASS_RANK,
    IMPACT_RANK,
    ROLE_CLASS_BY_RANK,
    RoleRisk,
    role_risk_from_rows,
    system_flags,
)
from app.registry.schemas import (
    AISystemCreate,
    AISystemPublic,
    AISystemUpdate,
    ProcessCreate,
    ProcessPublic,
    ProcessUpdate,
    RiskOverrideCreate,
    RoleLinkCreate,
    RoleLinkPublic,
    RoleLinkUpdate,
)


def today() -> date:
    return clock.now().date()


# --- reference checks ---------------------------------------------------------------------


def _missing_ids(
    session: Session, model: type[SQLModel], ids: Iterable[uuid.UUID]
) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    id_column = model.id  # type: ignore[attr-defined]
    found = set(session.scalars(sa.select(id_column).where(id_column.in_(wanted))).all())
    return [value for value in wanted if value not in found]


def check_references(session: Session, checks: list[tuple[str, type[SQLModel], Any]]) -> None:
    """Raise one 422 naming every field that refers to something that does not exist."""
    errors = []
    for field_name, model, value in checks:
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for missing in _missing_ids(session, model, values):
            index = f"/{values.index(missing)}" if isinstance(value, list) else ""
            errors.append(
                {
                    "pointer": f"#/{field_name.replace('.', '/')}{index}",
                    "location": "body",
                    "field": field_name,
                    "message": f"no {model.__tablename__} with id {missing}",
                    "type": "unknown_reference",
                }
            )
    if errors:
        raise Unprocessable(
            "The request refers to records that do not exist.",
            slug="unknown-reference",
            errors=errors,
        )


def _check_unique_name(
    session: Session, model: type[SQLModel], name: str, exclude: uuid.UUID | None = None
) -> None:
    statement = sa.select(model.id).where(model.name == name)  # type: ignore[attr-defined]
    if exclude is not None:
        statement = statement.where(model.id != exclude)  # type: ignore[attr-defined]
    if session.scalars(statement).first() is not None:
        raise Conflict(
            f"A {model.__tablename__} named {name!r} already exists.", slug="duplicate-name"
        )


# --- AI systems ---------------------------------------------------------------------------


def ai_system_views(session: Session, systems: list[AISystem]) -> list[AISystemPublic]:
    """Public views with overseers, use and flags, in two queries for the whole list."""
    ids = [system.id for system in systems]
    overseers: dict[uuid.UUID, list[AISystemOverseer]] = {}
    used: set[uuid.UUID] = set()
    if ids:
        for row in session.exec(
            select(AISystemOverseer).where(col(AISystemOverseer.ai_system_id).in_(ids))
        ).all():
            overseers.setdefault(row.ai_system_id, []).append(row)
        used = set(
            session.scalars(
                sa.select(col(ProcessAISystem.ai_system_id))
                .where(col(ProcessAISystem.ai_system_id).in_(ids))
                .distinct()
            ).all()
        )
    on = today()
    views = []
    for system in systems:
        rows = overseers.get(system.id, [])
        view = AISystemPublic.model_validate(system)
        view.overseer_role_ids = sorted(r.role_id for r in rows if r.role_id)
        view.overseer_person_ids = sorted(r.person_id for r in rows if r.person_id)
        view.in_use = system.id in used
        view.flags = system_flags(system, overseer_count=len(rows), in_use=view.in_use, on=on)
        views.append(view)
    return views


def ai_system_view(session: Session, system: AISystem) -> AISystemPublic:
    return ai_system_views(session, [system])[0]


def list_ai_systems(
    session: Session,
    *,
    page: PageParams,
    risk_class: AIRiskClass | None = None,
    deployment_status: DeploymentStatus | None = None,
) -> tuple[list[AISystemPublic], str | None]:
    statement = select(AISystem)
    if risk_class is not None:
        statement = statement.where(AISystem.risk_class == risk_class)
    if deployment_status is not None:
        statement = statement.where(AISystem.deployment_status == deployment_status)
    items, next_cursor = paginate(
        session,
        statement,
        id_column=AISystem.id,
        params=page,
        updated_at_column=AISystem.updated_at,
    )
    return ai_system_views(session, items), next_cursor


def get_ai_system(session: Session, *, system_id: uuid.UUID) -> AISystem:
    system = session.get(AISystem, system_id)
    if system is None:
        raise NotFound(f"No AI system {system_id}.")
    return system


def _check_system_references(
    session: Session, data: AISystemCreate | AISystemUpdate, prefix: str = ""
) -> None:
    check_references(
        session,
        [
            (prefix + "owner_org_unit_id", OrgUnit, data.owner_org_unit_id),
            (prefix + "overseer_role_ids", Role, data.overseer_role_ids),
            (prefix + "overseer_person_ids", Person, data.overseer_person_ids),
        ],
    )


def _replace_overseers(
    session: Session,
    *,
    system_id: uuid.UUID,
    role_ids: list[uuid.UUID] | None,
    person_ids: list[uuid.UUID] | None,
) -> None:
    if role_ids is not None:
        session.execute(
            sa.delete(AISystemOverseer).where(
                col(AISystemOverseer.ai_system_id) == system_id,
                col(AISystemOverseer.role_id).is_not(None),
            )
        )
        session.add_all(AISystemOverseer(ai_system_id=system_id, role_id=r) for r in role_ids)
    if person_ids is not None:
        session.execute(
            sa.delete(AISystemOverseer).where(
                col(AISystemOverseer.ai_system_id) == system_id,
                col(AISystemOverseer.person_id).is_not(None),
            )
        )
        session.add_all(AISystemOverseer(ai_system_id=system_id, person_id=p) for p in person_ids)
    session.flush()


def create_ai_system(session: Session, *, data: AISystemCreate, prefix: str = "") -> AISystemPublic:
    _check_system_references(session, data, prefix)
    _check_unique_name(session, AISystem, data.name)
    system = AISystem.model_validate(
        data.model_dump(exclude={"overseer_role_ids", "overseer_person_ids"})
    )
    session.add(system)
    session.flush()
    _replace_overseers(
        session,
        system_id=system.id,
        role_ids=data.overseer_role_ids,
        person_ids=data.overseer_person_ids,
    )
    view = ai_system_view(session, system)
    audit.record(
        session,
        entity_type="ai_system",
        entity_id=system.id,
        action="create",
        after=view.model_dump(mode="json"),
    )
    return view


def update_ai_system(session: Session, *, system: AISystem, data: AISystemUpdate) -> AISystemPublic:
    _check_system_references(session, data)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        _check_unique_name(session, AISystem, changes["name"], exclude=system.id)
    before = ai_system_view(session, system).model_dump(mode="json")
    for key, value in changes.items():
        if key not in {"overseer_role_ids", "overseer_person_ids"}:
            setattr(system, key, value)
    system.version += 1
    system.updated_at = clock.now()
    session.add(system)
    _replace_overseers(
        session,
        system_id=system.id,
        role_ids=changes.get("overseer_role_ids"),
        person_ids=changes.get("overseer_person_ids"),
    )
    view = ai_system_view(session, system)
    audit.record(
        session,
        entity_type="ai_system",
        entity_id=system.id,
        action="update",
        before=before,
        after=view.model_dump(mode="json"),
    )
    return view


def overseer_role_ids_of_high_risk_systems(session: Session) -> set[uuid.UUID]:
    """Roles assigned to human oversight (Art. 26(2)) of any high-risk AI system."""
    statement = (
        sa.select(col(AISystemOverseer.role_id))
        .join(AISystem, col(AISystem.id) == col(AISystemOverseer.ai_system_id))
        .where(
            col(AISystem.risk_class) == AIRiskClass.high, col(AISystemOverseer.role_id).is_not(None)
        )
        .distinct()
    )
    return {role_id for role_id in session.scalars(statement).all() if role_id is not None}


# --- processes ----------------------------------------------------------------------------


def process_views(session: Session, processes: list[Process]) -> list[ProcessPublic]:
    ids = [process.id for process in processes]
    systems: dict[uuid.UUID, list[uuid.UUID]] = {}
    if ids:
        for process_id, system_id in session.execute(
            sa.select(col(ProcessAISystem.process_id), col(ProcessAISystem.ai_system_id)).where(
                col(ProcessAISystem.process_id).in_(ids)
            )
        ).all():
            systems.setdefault(process_id, []).append(system_id)
    views = []
    for process in processes:
        view = ProcessPublic.model_validate(process)
        view.ai_system_ids = sorted(systems.get(process.id, []))
        views.append(view)
    return views


def list_processes(
    session: Session, *, page: PageParams, impact_level: ImpactLevel | None = None
) -> tuple[list[ProcessPublic], str | None]:
    statement = select(Process)
    if impact_level is not None:
        statement = statement.where(Process.impact_level == impact_level)
    items, next_cursor = paginate(
        session, statement, id_column=Process.id, params=page, updated_at_column=Process.updated_at
    )
    return process_views(session, items), next_cursor


def get_process(session: Session, *, process_id: uuid.UUID) -> Process:
    process = session.get(Process, process_id)
    if process is None:
        raise NotFound(f"No process {process_id}.")
    return process


def _replace_process_systems(
    session: Session, *, process_id: uuid.UUID, system_ids: list[uuid.UUID] | None
) -> None:
    if system_ids is None:
        return
    session.execute(sa.delete(ProcessAISystem).where(col(ProcessAISystem.process_id) == process_id))
    session.add_all(ProcessAISystem(process_id=process_id, ai_system_id=s) for s in system_ids)
    session.flush()


def create_process(session: Session, *, data: ProcessCreate) -> ProcessPublic:
    check_references(
        session,
        [
            ("owner_org_unit_id", OrgUnit, data.owner_org_unit_id),
            ("ai_system_ids", AISystem, data.ai_system_ids),
        ],
    )
    _check_unique_name(session, Process, data.name)
    process = Process.model_validate(data.model_dump(exclude={"ai_system_ids"}))
    session.add(process)
    session.flush()
    _replace_process_systems(session, process_id=process.id, system_ids=data.ai_system_ids)
    view = process_views(session, [process])[0]
    audit.record(
        session,
        entity_type="process",
        entity_id=process.id,
        action="create",
        after=view.model_dump(mode="json"),
    )
    return view


def update_process(session: Session, *, process: Process, data: ProcessUpdate) -> ProcessPublic:
    check_references(
        session,
        [
            ("owner_org_unit_id", OrgUnit, data.owner_org_unit_id),
            ("ai_system_ids", AISystem, data.ai_system_ids),
        ],
    )
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        _check_unique_name(session, Process, changes["name"], exclude=process.id)
    before = process_views(session, [process])[0].model_dump(mode="json")
    for key, value in changes.items():
        if key != "ai_system_ids":
            setattr(process, key, value)
    process.version += 1
    process.updated_at = clock.now()
    session.add(process)
    _replace_process_systems(
        session,
        process_id=process.id,
        system_ids=data.ai_system_ids if "ai_system_ids" in changes else None,
    )
    view = process_views(session, [process])[0]
    audit.record(
        session,
        entity_type="process",
        entity_id=process.id,
        action="update",
        before=before,
        after=view.model_dump(mode="json"),
    )
    return view


# --- role-process links -------------------------------------------------------------------


def _check_link_state(state: LinkState, planned_from_date: date | None) -> None:
    if state == LinkState.planned and planned_from_date is None:
        raise Unprocessable(
            "A planned link needs planned_from_date.",
            errors=[
                {
                    "pointer": "#/planned_from_date",
                    "location": "body",
                    "field": "planned_from_date",
                    "message": "required when state is planned",
                    "type": "missing",
                }
            ],
        )
    if state == LinkState.current and planned_from_date is not None:
        raise Unprocessable(
            "A current link has no planned_from_date.",
            errors=[
                {
                    "pointer": "#/planned_from_date",
                    "location": "body",
                    "field": "planned_from_date",
                    "message": "only allowed when state is planned",
                    "type": "not_allowed",
                }
            ],
        )


def list_role_links(
    session: Session,
    *,
    page: PageParams,
    role_id: uuid.UUID | None = None,
    process_id: uuid.UUID | None = None,
) -> tuple[list[RoleProcessLink], str | None]:
    statement = select(RoleProcessLink)
    if role_id is not None:
        statement = statement.where(RoleProcessLink.role_id == role_id)
    if process_id is not None:
        statement = statement.where(RoleProcessLink.process_id == process_id)
    return paginate(
        session,
        statement,
        id_column=RoleProcessLink.id,
        params=page,
        updated_at_column=RoleProcessLink.updated_at,
    )


def get_role_link(session: Session, *, link_id: uuid.UUID) -> RoleProcessLink:
    link = session.get(RoleProcessLink, link_id)
    if link is None:
        raise NotFound(f"No role-process link {link_id}.")
    return link


def create_role_link(session: Session, *, data: RoleLinkCreate) -> RoleProcessLink:
    check_references(
        session, [("role_id", Role, data.role_id), ("process_id", Process, data.process_id)]
    )
    _check_link_state(data.state, data.planned_from_date)
    duplicate = session.exec(
        select(RoleProcessLink.id).where(
            RoleProcessLink.role_id == data.role_id,
            RoleProcessLink.process_id == data.process_id,
            RoleProcessLink.involvement == data.involvement,
        )
    ).first()
    if duplicate is not None:
        raise Conflict(
            "This role already has this involvement in this process; change that link instead.",
            slug="duplicate-link",
            existing_id=str(duplicate),
        )
    link = RoleProcessLink.model_validate(data.model_dump())
    session.add(link)
    session.flush()
    audit.record(
        session,
        entity_type="role_process_link",
        entity_id=link.id,
        action="create",
        after=RoleLinkPublic.model_validate(link).model_dump(mode="json"),
    )
    return link


def update_role_link(
    session: Session, *, link: RoleProcessLink, data: RoleLinkUpdate
) -> RoleProcessLink:
    changes = data.model_dump(exclude_unset=True)
    state = changes.get("state") or link.state
    planned = changes.get("planned_from_date", link.planned_from_date)
    if state == LinkState.current and "planned_from_date" not in changes:
        planned = None  # a planned link that became current drops its plan date
    _check_link_state(state, planned)
    before = RoleLinkPublic.model_validate(link).model_dump(mode="json")
    link.state = state
    link.planned_from_date = planned
    link.version += 1
    link.updated_at = clock.now()
    session.add(link)
    session.flush()
    audit.record(
        session,
        entity_type="role_process_link",
        entity_id=link.id,
        action="update",
        before=before,
        after=RoleLinkPublic.model_validate(link).model_dump(mode="json"),
    )
    return link


def delete_role_link(session: Session, *, link: RoleProcessLink) -> None:
    before = RoleLinkPublic.model_validate(link).model_dump(mode="json")
    session.delete(link)
    session.flush()
    audit.record(
        session, entity_type="role_process_link", entity_id=link.id, action="delete", before=before
    )


# --- role risk ----------------------------------------------------------------------------


@dataclass
class RoleInvolvement:
    """One link of a role to a process, with the AI systems used in that process."""

    process_id: uuid.UUID
    involvement: str
    state: str
    planned_from_date: date | None
    ai_system_ids: list[uuid.UUID]


def get_role(session: Session, *, role_id: uuid.UUID) -> Role:
    role = session.get(Role, role_id)
    if role is None:
        raise NotFound(f"No role {role_id}.")
    return role


def role_involvements(session: Session, *, role_id: uuid.UUID) -> list[RoleInvolvement]:
    """Every link of a role with the AI systems used in the linked process."""
    links = session.exec(select(RoleProcessLink).where(RoleProcessLink.role_id == role_id)).all()
    process_ids = list({link.process_id for link in links})
    systems: dict[uuid.UUID, list[uuid.UUID]] = {}
    if process_ids:
        for process_id, system_id in session.execute(
            sa.select(col(ProcessAISystem.process_id), col(ProcessAISystem.ai_system_id)).where(
                col(ProcessAISystem.process_id).in_(process_ids)
            )
        ).all():
            systems.setdefault(process_id, []).append(system_id)
    return [
        RoleInvolvement(
            process_id=link.process_id,
            involvement=str(link.involvement),
            state=str(link.state),
            planned_from_date=link.planned_from_date,
            ai_system_ids=sorted(systems.get(link.process_id, [])),
        )
        for link in sorted(links, key=lambda item: (str(item.process_id), str(item.involvement)))
    ]


def current_override(session: Session, *, role_id: uuid.UUID) -> RoleRiskOverride | None:
    """The latest override row of a role (its class may be null: withdrawn)."""
    return session.exec(
        select(RoleRiskOverride)
        .where(RoleRiskOverride.role_id == role_id)
        .order_by(col(RoleRiskOverride.id).desc())
        .limit(1)
    ).first()


def role_link_rows(
    session: Session, *, role_id: uuid.UUID
) -> list[tuple[RoleProcessLink, Process, AISystem | None]]:
    """A role's links with their process and each AI system in it (None when it has none)."""
    statement = (
        select(RoleProcessLink, Process, AISystem)
        .join(Process, col(Process.id) == col(RoleProcessLink.process_id))
        .outerjoin(ProcessAISystem, col(ProcessAISystem.process_id) == col(Process.id))
        .outerjoin(AISystem, col(AISystem.id) == col(ProcessAISystem.ai_system_id))
        .where(RoleProcessLink.role_id == role_id)
        .order_by(col(Process.name), col(RoleProcessLink.involvement), col(AISystem.name))
    )
    return [tuple(row) for row in session.exec(statement).all()]  # type: ignore[misc]


def role_risk_class(session: Session, *, role_id: uuid.UUID) -> RoleRisk:
    """A role's derived, overriding and effective risk class, with the reasons."""
    get_role(session, role_id=role_id)
    rows = [
        (process, str(link.state), link.planned_from_date, system)
        for link, process, system in role_link_rows(session, role_id=role_id)
    ]
    return role_risk_from_rows(role_id, rows, current_override(session, role_id=role_id))


def all_role_risk_classes(session: Session) -> dict[uuid.UUID, str]:
    """The effective risk class of every role, in one set-based query."""
    result: dict[uuid.UUID, str] = {}
    for role_id, impact, system, override_class in session.execute(
        _all_role_risk_statement()
    ).all():
        rank = max(impact or 1, system or 1)
        result[role_id] = str(override_class or ROLE_CLASS_BY_RANK[rank])
    return result


@functools.cache
def _all_role_risk_statement() -> sa.Select[Any]:
    """Built once: it has no parameters, and building it cost ~5 ms, paid on every LMS batch
    (evaluation reads every role's requirement)."""
    impact_rank = sa.case(
        *((col(Process.impact_level) == level, rank) for level, rank in IMPACT_RANK.items()),
        else_=1,
    )
    system_rank = sa.case(
        *((col(AISystem.risk_class) == risk, rank) for risk, rank in AI_CLASS_RANK.items()), else_=1
    )
    derived = (
        sa.select(
            col(RoleProcessLink.role_id).label("role_id"),
            sa.func.max(impact_rank).label("impact_rank"),
            sa.func.max(system_rank).label("system_rank"),
        )
        .join(Process, col(Process.id) == col(RoleProcessLink.process_id))
        .outerjoin(ProcessAISystem, col(ProcessAISystem.process_id) == col(Process.id))
        .outerjoin(AISystem, col(AISystem.id) == col(ProcessAISystem.ai_system_id))
        .group_by(col(RoleProcessLink.role_id))
        .subquery()
    )
    latest = (
        sa.select(
            col(RoleRiskOverride.role_id).label("role_id"),
            col(RoleRiskOverride.override_class).label("override_class"),
            sa.func.row_number()
            .over(
                partition_by=col(RoleRiskOverride.role_id),
                order_by=col(RoleRiskOverride.id).desc(),
            )
            .label("position"),
        )
    ).subquery()
    return (
        sa.select(
            col(Role.id), derived.c.impact_rank, derived.c.system_rank, latest.c.override_class
        )
        .outerjoin(derived, derived.c.role_id == col(Role.id))
        .outerjoin(latest, sa.and_(latest.c.role_id == col(Role.id), latest.c.position == 1))
    )


def add_risk_override(
    session: Session, *, role_id: uuid.UUID, data: RiskOverrideCreate, decided_by: str | None
) -> RoleRisk:
    """Record IT/security's override (or its withdrawal); earlier rows stay as history."""
    get_role(session, role_id=role_id)
    before = current_override(session, role_id=role_id)
    if data.risk_class is None and (before is None or before.override_class is None):
        raise Conflict("The role has no override to withdraw.", slug="no-override")
    row = RoleRiskOverride(
        role_id=role_id,
        override_class=data.risk_class,
        reason=data.reason,
        decided_by=decided_by,
        decided_at=clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        entity_type="role_risk_override",
        entity_id=role_id,
        action="override" if data.risk_class is not None else "withdraw_override",
        before={"override_class": before.override_class if before else None},
        after={"override_class": data.risk_class, "reason": data.reason, "override_id": row.id},
    )
    return role_risk_class(session, role_id=role_id)


def list_risk_overrides(session: Session, *, role_id: uuid.UUID) -> list[RoleRiskOverride]:
    get_role(session, role_id=role_id)
    return list(
        session.exec(
            select(RoleRiskOverride)
            .where(RoleRiskOverride.role_id == role_id)
            .order_by(col(RoleRiskOverride.id).desc())
        ).all()
    )
