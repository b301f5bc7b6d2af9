"""HTTP for pilots and phased rollout: programmes, phases, people in scope, progress, feedback."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlmodel import Session

from app.auth.dependencies import require
from app.core import clock
from app.core.config import Settings
from app.core.errors import problem_responses
from app.core.etag import check_if_match, set_etag
from app.core.idempotency import idempotency_key
from app.core.pagination import Page, PageParams, page_params
from app.core.routing import api_router, get_session
from app.rollout import feedback, queries, service
from app.rollout.models import Phase, Programme
from app.rollout.schemas import (
    FeedbackCreate,
    FeedbackPublic,
    FeedbackSummary,
    PersonInScope,
    PhaseCreate,
    PhaseProgress,
    PhasePublic,
    PhaseUpdate,
    ProgrammeCreate,
    ProgrammePublic,
    ProgrammeUpdate,
)

SessionDep = Annotated[Session, Depends(get_session)]
PageDep = Annotated[PageParams, Depends(page_params)]
READ = [require("rollout:read")]
WRITE = [require("rollout:write")]
CREATE = [require("rollout:write"), Depends(idempotency_key)]

router = api_router(prefix="/programmes", tags=["rollout"])


def valid_programme(session: SessionDep, programme_id: uuid.UUID) -> Programme:
    """Path loader: the programme or 404."""
    return service.get_programme(session, programme_id=programme_id)


def valid_phase(session: SessionDep, programme_id: uuid.UUID, phase_id: uuid.UUID) -> Phase:
    """Path loader: the phase of the programme or 404."""
    return service.get_phase(session, programme_id=programme_id, phase_id=phase_id)


ValidProgramme = Annotated[Programme, Depends(valid_programme)]
ValidPhase = Annotated[Phase, Depends(valid_phase)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _programme(session: Session, response: Response, programme: Programme) -> ProgrammePublic:
    set_etag(response, programme.version)
    return service.programme_views(session, [programme])[0]


def _phase(session: Session, response: Response, phase: Phase) -> PhasePublic:
    set_etag(response, phase.version)
    return service.phase_views(session, [phase])[0]


@router.get(
    "",
    summary="List programmes",
    response_model=Page[ProgrammePublic],
    dependencies=READ,
    responses=problem_responses(400, 401, 403),
)
def list_programmes(session: SessionDep, page: PageDep) -> Any:
    """Programmes in id order, each with its phases."""
    items, next_cursor = service.list_programmes(session, page=page)
    return {"items": service.programme_views(session, items), "next_cursor": next_cursor}


@router.post(
    "",
    summary="Create a programme",
    status_code=201,
    response_model=ProgrammePublic,
    dependencies=CREATE,
    responses=problem_responses(400, 401, 403, 409, 415),
)
def create_programme(session: SessionDep, data: ProgrammeCreate, response: Response) -> Any:
    """A programme (e.g. the AI diploma of one organisation); add its pilot and waves as phases."""
    return _programme(session, response, service.create_programme(session, data=data))


@router.get(
    "/{programme_id}",
    summary="Get a programme",
    response_model=ProgrammePublic,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_programme(session: SessionDep, programme: ValidProgramme, response: Response) -> Any:
    """The programme with its phases in date order."""
    return _programme(session, response, programme)


@router.patch(
    "/{programme_id}",
    summary="Change a programme",
    response_model=ProgrammePublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 409, 412, 415),
)
def update_programme(
    request: Request,
    session: SessionDep,
    programme: ValidProgramme,
    data: ProgrammeUpdate,
    response: Response,
) -> Any:
    """Name, description or model version; If-Match guards against lost updates."""
    check_if_match(request, programme.version)
    updated = service.update_programme(session, programme=programme, data=data)
    return _programme(session, response, updated)


@router.post(
    "/{programme_id}/phases",
    summary="Add a pilot or rollout phase",
    status_code=201,
    response_model=PhasePublic,
    dependencies=CREATE,
    responses=problem_responses(400, 401, 403, 404, 409, 415),
)
def create_phase(
    session: SessionDep, programme: ValidProgramme, data: PhaseCreate, response: Response
) -> Any:
    """Scope by HR keys, dates, training offer from the model's activity mappings, windows."""
    phase = service.create_phase(session, programme=programme, data=data, today=clock.now().date())
    return _phase(session, response, phase)


@router.get(
    "/{programme_id}/phases/{phase_id}",
    summary="Get a phase",
    response_model=PhasePublic,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_phase(session: SessionDep, phase: ValidPhase, response: Response) -> Any:
    """One phase with its scope, training offer and assessment windows."""
    return _phase(session, response, phase)


@router.patch(
    "/{programme_id}/phases/{phase_id}",
    summary="Change a phase or its status",
    response_model=PhasePublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 409, 412, 415),
)
def update_phase(
    request: Request,
    session: SessionDep,
    programme: ValidProgramme,
    phase: ValidPhase,
    data: PhaseUpdate,
    response: Response,
) -> Any:
    """Status moves forward only; early start or completion needs a status_reason."""
    check_if_match(request, phase.version)
    updated = service.update_phase(
        session, programme=programme, phase=phase, data=data, today=clock.now().date()
    )
    return _phase(session, response, updated)


@router.get(
    "/{programme_id}/phases/{phase_id}/people",
    summary="List the people in a phase's scope",
    response_model=Page[PersonInScope],
    dependencies=READ,
    responses=problem_responses(400, 401, 403, 404),
)
def list_people_in_scope(session: SessionDep, phase: ValidPhase, page: PageDep) -> Any:
    """Derived from the scope today, so HR changes show at once."""
    items, next_cursor = queries.list_people_in_scope(session, phase=phase, page=page)
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/{programme_id}/phases/{phase_id}/progress",
    summary="Get a phase's progress",
    response_model=PhaseProgress,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_progress(session: SessionDep, programme: ValidProgramme, phase: ValidPhase) -> Any:
    """In scope, started, trained, assessed, certified, compliant per org unit, against the end."""
    return queries.phase_progress(session, phase=phase, programme=programme)


@router.post(
    "/{programme_id}/phases/{phase_id}/feedback",
    summary="Record feedback on a phase",
    status_code=201,
    response_model=FeedbackPublic,
    dependencies=CREATE,
    responses=problem_responses(400, 401, 403, 404, 409, 415),
)
def record_feedback(session: SessionDep, phase: ValidPhase, data: FeedbackCreate) -> Any:
    """Ratings 1-5 and free text from an employee, manager, HR or auditor; identity optional."""
    return feedback.record_feedback(session, phase=phase, data=data)


@router.get(
    "/{programme_id}/phases/{phase_id}/feedback/summary",
    summary="Get the feedback summary of a phase",
    response_model=FeedbackSummary,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_feedback_summary(
    session: SessionDep,
    phase: ValidPhase,
    settings: Annotated[Settings, Depends(_settings)],
) -> Any:
    """Per respondent group; free text only for groups of at least the minimum group size."""
    return feedback.feedback_summary(session, phase=phase, min_group_size=settings.min_group_size)
