"""Use cases of programmes and their phases (steps 3 and 4 of the AI diploma): create and
change them, with scope keys, training offer and status validated.

Status rule: planned -> running -> completed, forward only; completed is final (a completed
phase is a record and is not edited). Running before start_date or completed before end_date
needs a status_reason (the explicit override), which is kept on the phase and in the audit trail.
The scope rule (who is in a phase) is in app.rollout.queries.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.competencies import service as competency_service
from app.core import audit, clock
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import PageParams, paginate
from app.org.models import JobFamily, Location, OrgUnit, Role
from app.rollout import queries
from app.rollout.models import (
    Phase,
    PhaseScope,
    PhaseStatus,
    Programme,
)
from app.rollout.schemas import (
    AssessmentWindow,
    PhaseCreate,
    PhasePublic,
    PhaseUpdate,
    ProgrammeCreate,
    ProgrammePublic,
    ProgrammeUpdate,
    ScopeIn,
    ScopePublic,
)

STATUS_ORDER = {PhaseStatus.planned: 0, PhaseStatus.running: 1, PhaseStatus.completed: 2}
# (schema field, scope column, table, key column) for each scope dimension.
_SCOPE_TARGETS: tuple[tuple[str, str, Any, Any], ...] = (
    ("org_units", "org_unit_id", OrgUnit, OrgUnit.external_id),
    ("locations", "location_id", Location, Location.external_id),
    ("job_families", "job_family_id", JobFamily, JobFamily.key),
    ("roles", "role_id", Role, Role.key),
)


def _fields(row: Any, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A row's column values as stored (model_dump warns on enum columns read back as str)."""
    return {name: getattr(row, name) for name in type(row).model_fields if name not in exclude}


def _bump(session: Session, row: Any) -> None:
    row.updated_at = clock.now()
    row.version += 1
    session.add(row)
    session.flush()


# Programmes


def get_programme(session: Session, *, programme_id: uuid.UUID) -> Programme:
    programme = session.get(Programme, programme_id)
    if programme is None:
        raise NotFound(f"No programme {programme_id}.")
    return programme


def list_programmes(session: Session, *, page: PageParams) -> tuple[list[Programme], str | None]:
    return paginate(
        session,
        sa.select(Programme),
        id_column=Programme.id,
        params=page,
        updated_at_column=Programme.updated_at,
    )


def programme_views(session: Session, programmes: Sequence[Programme]) -> list[ProgrammePublic]:
    """Programmes with their phases (two queries for the phases and their scopes, not per row)."""
    ids = [p.id for p in programmes]
    phases = (
        list(
            session.exec(
                select(Phase)
                .where(col(Phase.programme_id).in_(ids))
                .order_by(col(Phase.start_date), col(Phase.name))
            ).all()
        )
        if ids
        else []
    )
    by_programme: dict[uuid.UUID, list[PhasePublic]] = defaultdict(list)
    for view in phase_views(session, phases):
        by_programme[view.programme_id].append(view)
    return [
        ProgrammePublic(**_fields(programme), phases=by_programme.get(programme.id, []))
        for programme in programmes
    ]


def _check_model_version(session: Session, version_id: uuid.UUID | None) -> None:
    if version_id is not None:
        try:
            competency_service.get_version_by_id(session, version_id=version_id)
        except NotFound as exc:
            raise Unprocessable(f"No competency model version {version_id}.") from exc


def _check_name_free(session: Session, name: str, programme_id: uuid.UUID | None = None) -> None:
    clash = session.exec(select(Programme.id).where(Programme.name == name)).first()
    if clash is not None and clash != programme_id:
        raise Conflict(f"A programme named {name!r} exists.")


def create_programme(session: Session, *, data: ProgrammeCreate) -> Programme:
    _check_model_version(session, data.model_version_id)
    _check_name_free(session, data.name)
    programme = Programme.model_validate(data)
    session.add(programme)
    session.flush()
    audit.record(
        session,
        entity_type="programme",
        entity_id=programme.id,
        action="create",
        after=_fields(programme),
    )
    return programme


def update_programme(session: Session, *, programme: Programme, data: ProgrammeUpdate) -> Programme:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is None and "name" in changes:
        raise Unprocessable("name cannot be null.")
    if "model_version_id" in changes:
        _check_model_version(session, changes["model_version_id"])
    if "name" in changes:
        _check_name_free(session, changes["name"], programme.id)
    before = _fields(programme)
    for name, value in changes.items():
        setattr(programme, name, value)
    if _fields(programme) != before:
        _bump(session, programme)
        audit.record(
            session,
            entity_type="programme",
            entity_id=programme.id,
            action="update",
            before=before,
            after=_fields(programme),
        )
    return programme


# Phases


def get_phase(session: Session, *, programme_id: uuid.UUID, phase_id: uuid.UUID) -> Phase:
    phase = session.get(Phase, phase_id)
    if phase is None or phase.programme_id != programme_id:
        raise NotFound(f"No phase {phase_id} in programme {programme_id}.")
    return phase


def phase_views(session: Session, phases: Sequence[Phase]) -> list[PhasePublic]:
    scopes = _scope_keys(session, [phase.id for phase in phases])
    empty: dict[str, list[str]] = {name: [] for name, *_ in _SCOPE_TARGETS}
    return [
        PhasePublic(
            **_fields(phase, exclude=frozenset({"assessment_windows"})),
            assessment_windows=[AssessmentWindow(**w) for w in phase.assessment_windows],
            scope=ScopePublic(**scopes.get(phase.id, empty)),
        )
        for phase in phases
    ]


def _scope_keys(
    session: Session, phase_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, list[str]]]:
    """The scope of each phase as HR keys: one query per dimension, not per phase."""
    result: dict[uuid.UUID, dict[str, list[str]]] = {
        phase_id: {name: [] for name, *_ in _SCOPE_TARGETS} for phase_id in phase_ids
    }
    if not phase_ids:
        return result
    for name, column, table, key_column in _SCOPE_TARGETS:
        rows = session.execute(
            sa.select(col(PhaseScope.phase_id), key_column)
            .join(table, getattr(PhaseScope, column) == table.id)
            .where(col(PhaseScope.phase_id).in_(phase_ids))
            .order_by(key_column)
        ).all()
        for phase_id, key in rows:
            result[phase_id][name].append(key)
    return result


def _resolve_scope(session: Session, scope: ScopeIn) -> list[dict[str, uuid.UUID]]:
    """Scope keys to ids; every unknown key is reported at once (422), nothing is written."""
    entries: list[dict[str, uuid.UUID]] = []
    problems: list[dict[str, Any]] = []
    for name, column, table, key_column in _SCOPE_TARGETS:
        keys = list(dict.fromkeys(getattr(scope, name)))
        if not keys:
            continue
        found = dict(
            session.execute(sa.select(key_column, table.id).where(key_column.in_(keys))).all()
        )
        for index, key in enumerate(keys):
            if key in found:
                entries.append({column: found[key]})
            else:
                problems.append(
                    {
                        "pointer": f"#/scope/{name}/{index}",
                        "location": "body",
                        "field": f"scope.{name}.{index}",
                        "message": f"unknown {name.rstrip('s').replace('_', ' ')} {key!r}",
                        "type": "unknown_key",
                    }
                )
    if problems:
        raise Unprocessable(
            "; ".join(p["message"] for p in problems), slug="unknown-scope-key", errors=problems
        )
    return entries


def _check_training_offer(session: Session, programme: Programme, offer: list[str]) -> list[str]:
    offer = list(dict.fromkeys(offer))
    if not offer:
        return offer
    mappings = queries.activity_mappings(session, programme)
    if mappings is None:
        raise Unprocessable(
            "There is no published competency model, so there are no activities to offer.",
            slug="unknown-activity",
        )
    known = {mapping.activity_id for mapping in mappings}
    problems = [
        {
            "pointer": f"#/training_offer/{index}",
            "location": "body",
            "field": f"training_offer.{index}",
            "message": f"activity {activity!r} is not in the model's activity mappings",
            "type": "unknown_activity",
        }
        for index, activity in enumerate(offer)
        if activity not in known
    ]
    if problems:
        raise Unprocessable(
            "; ".join(p["message"] for p in problems), slug="unknown-activity", errors=problems
        )
    return offer


def _check_status(
    current: PhaseStatus,
    new: PhaseStatus,
    *,
    start_date: date,
    end_date: date,
    reason: str | None,
    today: date,
) -> None:
    if STATUS_ORDER[new] < STATUS_ORDER[current]:
        raise Unprocessable(
            f"A phase's status only moves forward (planned, running, completed); it is {current}.",
            slug="status-transition",
        )
    if new == current:
        return
    if new == PhaseStatus.running and today < start_date and not reason:
        raise Unprocessable(
            f"The phase starts on {start_date}; give a status_reason to start it early.",
            slug="status-transition",
        )
    if new == PhaseStatus.completed and today < end_date and not reason:
        raise Unprocessable(
            f"The phase ends on {end_date}; give a status_reason to complete it early.",
            slug="status-transition",
        )


def _phase_audit(phase: Phase, scope: list[dict[str, uuid.UUID]] | None) -> dict[str, Any]:
    data = _fields(phase)
    if scope is not None:
        data["scope"] = [{k: str(v) for k, v in entry.items()} for entry in scope]
    return data


def _write_scope(session: Session, phase: Phase, scope: list[dict[str, uuid.UUID]]) -> None:
    session.execute(sa.delete(PhaseScope).where(col(PhaseScope.phase_id) == phase.id))
    session.add_all(PhaseScope(phase_id=phase.id, **entry) for entry in scope)
    session.flush()


def _check_phase_name_free(session: Session, programme: Programme, name: str) -> None:
    clash = session.exec(
        select(Phase.id).where(Phase.programme_id == programme.id, Phase.name == name)
    ).first()
    if clash is not None:
        raise Conflict(f"The programme has a phase named {name!r}.")


def create_phase(
    session: Session, *, programme: Programme, data: PhaseCreate, today: date
) -> Phase:
    scope = _resolve_scope(session, data.scope)
    offer = _check_training_offer(session, programme, data.training_offer)
    status = data.status or PhaseStatus.planned
    _check_status(
        PhaseStatus.planned,
        status,
        start_date=data.start_date,
        end_date=data.end_date,
        reason=data.status_reason,
        today=today,
    )
    _check_phase_name_free(session, programme, data.name)
    phase = Phase(
        programme_id=programme.id,
        name=data.name,
        kind=data.kind,
        status=status,
        status_reason=data.status_reason,
        start_date=data.start_date,
        end_date=data.end_date,
        training_offer=offer,
        assessment_windows=[w.model_dump(mode="json") for w in data.assessment_windows],
    )
    session.add(phase)
    session.flush()
    _write_scope(session, phase, scope)
    audit.record(
        session,
        entity_type="programme_phase",
        entity_id=phase.id,
        action="create",
        after=_phase_audit(phase, scope),
    )
    return phase


def update_phase(
    session: Session, *, programme: Programme, phase: Phase, data: PhaseUpdate, today: date
) -> Phase:
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        return phase
    if phase.status == PhaseStatus.completed:
        raise Unprocessable(
            "A completed phase is a record and is not changed.", slug="phase-closed"
        )
    for name in ("name", "kind", "start_date", "end_date", "status", "scope"):
        if name in changes and changes[name] is None:
            raise Unprocessable(f"{name} cannot be null.")
    start = changes.get("start_date", phase.start_date)
    end = changes.get("end_date", phase.end_date)
    if end < start:
        raise Unprocessable("end_date is before start_date.", slug="dates-out-of-order")
    scope = _resolve_scope(session, data.scope) if data.scope is not None else None
    offer = (
        _check_training_offer(session, programme, data.training_offer)
        if data.training_offer is not None
        else None
    )
    new_status = changes.get("status", phase.status)
    _check_status(
        phase.status,
        new_status,
        start_date=start,
        end_date=end,
        reason=changes.get("status_reason"),
        today=today,
    )
    if "name" in changes and changes["name"] != phase.name:
        _check_phase_name_free(session, programme, changes["name"])
    before = _phase_audit(phase, _scope_ids(session, phase) if scope is not None else None)
    for name in ("name", "kind", "start_date", "end_date", "status", "status_reason"):
        if name in changes:
            setattr(phase, name, changes[name])
    if offer is not None:
        phase.training_offer = offer
    if data.assessment_windows is not None:
        phase.assessment_windows = [w.model_dump(mode="json") for w in data.assessment_windows]
    if scope is not None:
        _write_scope(session, phase, scope)
    after = _phase_audit(phase, scope)
    if after != before:
        _bump(session, phase)
        audit.record(
            session,
            entity_type="programme_phase",
            entity_id=phase.id,
            action="update",
            before=before,
            after=_phase_audit(phase, scope),
        )
    return phase


def _scope_ids(session: Session, phase: Phase) -> list[dict[str, uuid.UUID]]:
    rows = session.exec(select(PhaseScope).where(PhaseScope.phase_id == phase.id)).all()
    return [
        {column: getattr(row, column)}
        for row in rows
        for _, column, *_ in _SCOPE_TARGETS
        if getattr(row, column) is not None
    ]
