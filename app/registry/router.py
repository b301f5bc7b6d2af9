"""HTTP for the AI-use register: AI systems, processes, role links, role risk, intake, overview."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from sqlmodel import Session

from app.auth.dependencies import CurrentIdentity, require
from app.core.csv_response import csv_response, json_or_csv_responses, wants_csv
from app.core.errors import problem_responses
from app.core.etag import check_if_match, set_etag
from app.core.idempotency import idempotency_key
from app.core.pagination import Page, PageParams, page_params
from app.core.routing import api_router, get_session
from app.registry import intake, queries, service
from app.registry.models import AIRiskClass, DeploymentStatus, ImpactLevel, IntakeStatus
from app.registry.schemas import (
    AISystemCreate,
    AISystemPublic,
    AISystemUpdate,
    CriticalProcesses,
    IntakeCreate,
    IntakePublic,
    IntakeTriage,
    ProcessCreate,
    ProcessPublic,
    ProcessUpdate,
    RiskOverrideCreate,
    RiskOverridePublic,
    RoleExposure,
    RoleLinkCreate,
    RoleLinkPublic,
    RoleLinkUpdate,
    RoleRiskPublic,
)

SessionDep = Annotated[Session, Depends(get_session)]
PageDep = Annotated[PageParams, Depends(page_params)]

router = api_router(prefix="/registry", tags=["registry"])


# --- AI systems ---------------------------------------------------------------------------


@router.get(
    "/ai-systems",
    summary="List AI systems",
    response_model=Page[AISystemPublic],
    dependencies=[require("registry:read")],
    responses=problem_responses(400, 401, 403),
)
def list_ai_systems(
    session: SessionDep,
    page: PageDep,
    risk_class: AIRiskClass | None = None,
    deployment_status: DeploymentStatus | None = None,
) -> Any:
    """AI systems with their overseers and Art. 26 flags, filtered by risk class or status."""
    items, next_cursor = service.list_ai_systems(
        session, page=page, risk_class=risk_class, deployment_status=deployment_status
    )
    return {"items": items, "next_cursor": next_cursor}


@router.post(
    "/ai-systems",
    summary="Register an AI system",
    status_code=201,
    response_model=AISystemPublic,
    dependencies=[require("registry:write"), Depends(idempotency_key)],
    responses=problem_responses(401, 403, 409, 415),
)
def create_ai_system(session: SessionDep, data: AISystemCreate, response: Response) -> Any:
    """Names are unique; overseers are roles and/or people (AI Act Art. 26(2))."""
    view = service.create_ai_system(session, data=data)
    set_etag(response, view.version)
    return view


@router.get(
    "/ai-systems/{system_id}",
    summary="Get an AI system",
    response_model=AISystemPublic,
    dependencies=[require("registry:read")],
    responses=problem_responses(401, 403, 404),
)
def get_ai_system(session: SessionDep, system_id: uuid.UUID, response: Response) -> Any:
    """One AI system with its overseers and flags."""
    system = service.get_ai_system(session, system_id=system_id)
    set_etag(response, system.version)
    return service.ai_system_view(session, system)


@router.patch(
    "/ai-systems/{system_id}",
    summary="Change an AI system",
    response_model=AISystemPublic,
    dependencies=[require("registry:write")],
    responses=problem_responses(401, 403, 404, 409, 412, 415),
)
def update_ai_system(
    request: Request,
    session: SessionDep,
    system_id: uuid.UUID,
    data: AISystemUpdate,
    response: Response,
) -> Any:
    """Only the fields sent change; overseer lists sent replace the current ones."""
    system = service.get_ai_system(session, system_id=system_id)
    check_if_match(request, system.version)
    view = service.update_ai_system(session, system=system, data=data)
    set_etag(response, view.version)
    return view


# --- processes ----------------------------------------------------------------------------


@router.get(
    "/processes",
    summary="List processes",
    response_model=Page[ProcessPublic],
    dependencies=[require("registry:read")],
    responses=problem_responses(400, 401, 403),
)
def list_processes(
    session: SessionDep, page: PageDep, impact_level: ImpactLevel | None = None
) -> Any:
    """Work processes with their impact and the AI systems used in them."""
    items, next_cursor = service.list_processes(session, page=page, impact_level=impact_level)
    return {"items": items, "next_cursor": next_cursor}


@router.post(
    "/processes",
    summary="Register a process",
    status_code=201,
    response_model=ProcessPublic,
    dependencies=[require("registry:write"), Depends(idempotency_key)],
    responses=problem_responses(401, 403, 409, 415),
)
def create_process(session: SessionDep, data: ProcessCreate, response: Response) -> Any:
    """Names are unique; `ai_system_ids` are the AI systems used in the process."""
    view = service.create_process(session, data=data)
    set_etag(response, view.version)
    return view


@router.get(
    "/processes/{process_id}",
    summary="Get a process",
    response_model=ProcessPublic,
    dependencies=[require("registry:read")],
    responses=problem_responses(401, 403, 404),
)
def get_process(session: SessionDep, process_id: uuid.UUID, response: Response) -> Any:
    """One process with the AI systems used in it."""
    process = service.get_process(session, process_id=process_id)
    set_etag(response, process.version)
    return service.process_views(session, [process])[0]


@router.patch(
    "/processes/{process_id}",
    summary="Change a process",
    response_model=ProcessPublic,
    dependencies=[require("registry:write")],
    responses=problem_responses(401, 403, 404, 409, 412, 415),
)
def update_process(
    request: Request,
    session: SessionDep,
    process_id: uuid.UUID,
    data: ProcessUpdate,
    response: Response,
) -> Any:
    """Only the fields sent change; `ai_system_ids` sent replaces the current set."""
    process = service.get_process(session, process_id=process_id)
    check_if_match(request, process.version)
    view = service.update_process(session, process=process, data=data)
    set_etag(response, view.version)
    return view


# --- role-process links -------------------------------------------------------------------


@router.get(
    "/role-links",
    summary="List role-process links",
    response_model=Page[RoleLinkPublic],
    dependencies=[require("registry:read")],
    responses=problem_responses(400, 401, 403),
)
def list_role_links(
    session: SessionDep,
    page: PageDep,
    role_id: uuid.UUID | None = None,
    process_id: uuid.UUID | None = None,
) -> Any:
    """Which roles work with AI in which processes, filtered by role or process."""
    items, next_cursor = service.list_role_links(
        session, page=page, role_id=role_id, process_id=process_id
    )
    return {"items": items, "next_cursor": next_cursor}


@router.post(
    "/role-links",
    summary="Link a role to a process",
    status_code=201,
    response_model=RoleLinkPublic,
    dependencies=[require("registry:write"), Depends(idempotency_key)],
    responses=problem_responses(401, 403, 409, 415),
)
def create_role_link(session: SessionDep, data: RoleLinkCreate) -> Any:
    """One link per role, process and kind of involvement; planned links need a date."""
    return service.create_role_link(session, data=data)


@router.patch(
    "/role-links/{link_id}",
    summary="Change a role-process link",
    response_model=RoleLinkPublic,
    dependencies=[require("registry:write")],
    responses=problem_responses(401, 403, 404, 412, 415),
)
def update_role_link(
    request: Request,
    session: SessionDep,
    link_id: uuid.UUID,
    data: RoleLinkUpdate,
    response: Response,
) -> Any:
    """Change the state (current or planned) and the planned-from date."""
    link = service.get_role_link(session, link_id=link_id)
    check_if_match(request, link.version)
    link = service.update_role_link(session, link=link, data=data)
    set_etag(response, link.version)
    return link


@router.delete(
    "/role-links/{link_id}",
    summary="Remove a role-process link",
    status_code=204,
    response_class=Response,
    dependencies=[require("registry:write")],
    responses=problem_responses(401, 403, 404, 412),
)
def delete_role_link(request: Request, session: SessionDep, link_id: uuid.UUID) -> Response:
    """The role no longer works with AI in this process in this way."""
    link = service.get_role_link(session, link_id=link_id)
    check_if_match(request, link.version)
    service.delete_role_link(session, link=link)
    return Response(status_code=204)


# --- role risk ----------------------------------------------------------------------------


@router.get(
    "/roles/{role_id}/exposure",
    summary="A role's AI exposure and risk class",
    response_model=RoleExposure,
    dependencies=[require("registry:read")],
    responses={**json_or_csv_responses(), **problem_responses(401, 403, 404)},
)
def role_exposure(request: Request, session: SessionDep, role_id: uuid.UUID) -> Any:
    """Every process and AI system the role touches, its derived class and why; JSON or CSV."""
    exposure = queries.role_exposure(session, role_id=role_id)
    if wants_csv(request):
        return csv_response(
            queries.exposure_rows(exposure),
            columns=queries.EXPOSURE_COLUMNS,
            filename=f"role-exposure-{exposure.role_key}.csv",
        )
    return exposure


@router.post(
    "/roles/{role_id}/risk-overrides",
    summary="Override a role's risk class",
    status_code=201,
    response_model=RoleRiskPublic,
    dependencies=[require("registry:write")],
    responses=problem_responses(401, 403, 404, 409, 415),
)
def override_role_risk(
    session: SessionDep, role_id: uuid.UUID, data: RiskOverrideCreate, identity: CurrentIdentity
) -> Any:
    """IT/security sets the class with a reason (null withdraws it); earlier overrides are kept."""
    return service.add_risk_override(
        session, role_id=role_id, data=data, decided_by=identity.client_id
    )


@router.get(
    "/roles/{role_id}/risk-overrides",
    summary="History of a role's risk overrides",
    response_model=list[RiskOverridePublic],
    dependencies=[require("registry:read")],
    responses=problem_responses(401, 403, 404),
)
def list_role_risk_overrides(session: SessionDep, role_id: uuid.UUID) -> Any:
    """Newest first; the first one is the current override (a null class means withdrawn)."""
    return service.list_risk_overrides(session, role_id=role_id)


# --- the overview -------------------------------------------------------------------------


@router.get(
    "/critical-processes",
    summary="Critical processes with their AI systems and roles",
    response_model=CriticalProcesses,
    dependencies=[require("registry:read")],
    responses={**json_or_csv_responses(), **problem_responses(401, 403)},
)
def critical_processes(request: Request, session: SessionDep) -> Any:
    """Processes by impact and AI risk class, with roles, active people and Art. 26 flags."""
    overview = queries.critical_processes(session)
    if wants_csv(request):
        return csv_response(
            queries.critical_process_rows(overview),
            columns=queries.CRITICAL_PROCESS_COLUMNS,
            filename="critical-processes.csv",
        )
    return overview


# --- intake -------------------------------------------------------------------------------


@router.post(
    "/intake",
    summary="Declare an AI tool in use",
    status_code=201,
    response_model=IntakePublic,
    dependencies=[require("intake:write"), Depends(idempotency_key)],
    responses=problem_responses(401, 403, 409, 415),
)
def declare_tool(session: SessionDep, data: IntakeCreate) -> Any:
    """An employee or manager declares a tool they use; IT/security triages it later."""
    return intake.declare_tool(session, data=data)


@router.get(
    "/intake",
    summary="List tool-use declarations",
    response_model=Page[IntakePublic],
    dependencies=[require("registry:read")],
    responses=problem_responses(400, 401, 403),
)
def list_intake(
    session: SessionDep, page: PageDep, status: Annotated[IntakeStatus | None, Query()] = None
) -> Any:
    """Declarations, filtered by triage status (new ones are the shadow-AI queue)."""
    items, next_cursor = intake.list_intake(session, page=page, status=status)
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/intake/{declaration_id}",
    summary="Get a tool-use declaration",
    response_model=IntakePublic,
    dependencies=[require("registry:read")],
    responses=problem_responses(401, 403, 404),
)
def get_intake(session: SessionDep, declaration_id: uuid.UUID) -> Any:
    """One declaration with its triage outcome."""
    return intake.get_intake(session, declaration_id=declaration_id)


@router.post(
    "/intake/{declaration_id}/triage",
    summary="Triage a tool-use declaration",
    response_model=IntakePublic,
    dependencies=[require("registry:write")],
    responses=problem_responses(401, 403, 404, 409, 415),
)
def triage_intake(
    session: SessionDep, declaration_id: uuid.UUID, data: IntakeTriage, identity: CurrentIdentity
) -> Any:
    """Link to an existing AI system, register a new one from the declaration, or reject it."""
    declaration = intake.get_intake(session, declaration_id=declaration_id)
    return intake.triage_intake(
        session, declaration=declaration, data=data, triaged_by=identity.client_id
    )
