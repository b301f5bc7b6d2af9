"""Tool-use intake: employees and managers declare AI tools they use that may not be in the
register; IT/security triages each into an existing system, a new system, or rejects it, so
shadow AI becomes visible.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from app.core import audit, clock
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import PageParams, paginate
from app.org.models import Person
from app.registry import service
from app.registry.models import AISystem, IntakeDeclaration, IntakeStatus, Process
from app.registry.schemas import IntakeCreate, IntakePublic, IntakeTriage


def declare_tool(session: Session, *, data: IntakeCreate) -> IntakeDeclaration:
    service.check_references(
        session, [("process_id", Process, data.process_id), ("person_id", Person, data.person_id)]
    )
    declaration = IntakeDeclaration.model_validate(data.model_dump())
    session.add(declaration)
    session.flush()
    audit.record(
        session,
        entity_type="intake_declaration",
        entity_id=declaration.id,
        action="create",
        after=IntakePublic.model_validate(declaration).model_dump(mode="json"),
    )
    return declaration


def list_intake(
    session: Session, *, page: PageParams, status: IntakeStatus | None = None
) -> tuple[list[IntakeDeclaration], str | None]:
    statement = select(IntakeDeclaration)
    if status is not None:
        statement = statement.where(IntakeDeclaration.status == status)
    return paginate(
        session,
        statement,
        id_column=IntakeDeclaration.id,
        params=page,
        updated_at_column=IntakeDeclaration.updated_at,
    )


def get_intake(session: Session, *, declaration_id: uuid.UUID) -> IntakeDeclaration:
    declaration = session.get(IntakeDeclaration, declaration_id)
    if declaration is None:
        raise NotFound(f"No intake declaration {declaration_id}.")
    return declaration


def _field_problem(field_name: str, message: str) -> Unprocessable:
    return Unprocessable(
        message,
        errors=[
            {
                "pointer": f"#/{field_name}",
                "location": "body",
                "field": field_name,
                "message": message,
                "type": "triage_rule",
            }
        ],
    )


def triage_intake(
    session: Session, *, declaration: IntakeDeclaration, data: IntakeTriage, triaged_by: str | None
) -> IntakeDeclaration:
    """Decide a new declaration: an existing system, a new system, or rejected."""
    if declaration.status != IntakeStatus.new:
        raise Conflict(
            f"This declaration was already triaged ({declaration.status}).", slug="already-triaged"
        )
    if data.decision == IntakeStatus.new:
        raise _field_problem("decision", "decision must be existing_system, new_system or rejected")
    before = IntakePublic.model_validate(declaration).model_dump(mode="json")
    if data.decision == IntakeStatus.existing_system:
        if data.ai_system_id is None or data.new_system is not None:
            raise _field_problem(
                "ai_system_id", "existing_system needs ai_system_id and no new_system"
            )
        service.check_references(session, [("ai_system_id", AISystem, data.ai_system_id)])
        declaration.ai_system_id = data.ai_system_id
    elif data.decision == IntakeStatus.new_system:
        if data.new_system is None or data.ai_system_id is not None:
            raise _field_problem("new_system", "new_system needs new_system and no ai_system_id")
        declaration.ai_system_id = service.create_ai_system(
            session, data=data.new_system, prefix="new_system."
        ).id
    elif data.ai_system_id is not None or data.new_system is not None:
        raise _field_problem("decision", "a rejected declaration names no AI system")
    declaration.status = data.decision
    declaration.triage_note = data.note
    declaration.triaged_by = triaged_by
    declaration.triaged_at = clock.now()
    declaration.version += 1
    declaration.updated_at = clock.now()
    session.add(declaration)
    session.flush()
    audit.record(
        session,
        entity_type="intake_declaration",
        entity_id=declaration.id,
        action="triage",
        before=before,
        after=IntakePublic.model_validate(declaration).model_dump(mode="json"),
    )
    return declaration
