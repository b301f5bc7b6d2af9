"""HR integration endpoints: mapping rules, the unmapped report, HR sources, signed HR events
and an on-demand pull sync."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated

import httpx
from fastapi import Depends, Header, Query, Request, Response
from sqlmodel import Session

from app.auth.dependencies import require
from app.core.errors import AppError, problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.core.routing import api_router, get_session, locks_late
from app.integrations.hris import events, pull, service
from app.integrations.hris.models import MappingKind
from app.integrations.hris.schemas import (
    EventAck,
    MappingIn,
    MappingPublic,
    SourceIn,
    SourcePublic,
    SyncReport,
    UnmappedPublic,
)

router = api_router(prefix="/integrations/hris", tags=["hris"])
SessionDep = Annotated[Session, Depends(get_session)]
PageDep = Annotated[PageParams, Depends(page_params)]
WRITE = [require("hris:write")]


@router.get(
    "/mappings",
    summary="List HR mappings",
    response_model=Page[MappingPublic],
    dependencies=WRITE,
    responses=problem_responses(400, 401, 403),
)
def list_mappings(
    session: SessionDep, page: PageDep, kind: MappingKind | None = None
) -> Page[MappingPublic]:
    """Rules from HR values (department, job code, job title, location) to aidiploma keys."""
    rows, cursor = service.list_mappings(session, page=page, kind=kind)
    return Page(
        items=[MappingPublic.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=cursor,
    )


@router.put(
    "/mappings",
    summary="Create or change an HR mapping",
    response_model=MappingPublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403),
)
def put_mapping(session: SessionDep, data: MappingIn) -> MappingPublic:
    """Map one HR value of a kind to a key; it leaves the unmapped report."""
    return MappingPublic.model_validate(
        service.put_mapping(session, data=data), from_attributes=True
    )


@router.delete(
    "/mappings/{mapping_id}",
    status_code=204,
    summary="Delete an HR mapping",
    response_class=Response,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404),
)
def delete_mapping(session: SessionDep, mapping_id: uuid.UUID) -> Response:
    """Remove a mapping rule; people keep what it gave them until HR sends them again."""
    service.delete_mapping(session, mapping_id=mapping_id)
    return Response(status_code=204)


@router.get(
    "/unmapped",
    summary="HR values nothing maps",
    response_model=Page[UnmappedPublic],
    dependencies=WRITE,
    responses=problem_responses(400, 401, 403),
)
def list_unmapped(
    session: SessionDep, page: PageDep, kind: MappingKind | None = None
) -> Page[UnmappedPublic]:
    """HR values that no rule and no key matched, with how often and who last had them."""
    rows, cursor = service.list_unmapped(session, page=page, kind=kind)
    return Page(
        items=[UnmappedPublic.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=cursor,
    )


@router.get(
    "/sources",
    summary="List HR sources",
    response_model=list[SourcePublic],
    dependencies=WRITE,
    responses=problem_responses(401, 403),
)
def list_sources(session: SessionDep) -> list[SourcePublic]:
    """HR systems that push events or are pulled (secrets are never shown)."""
    return [
        SourcePublic.model_validate(service.source_view(s)) for s in service.list_sources(session)
    ]


@router.put(
    "/sources",
    summary="Create or replace an HR source",
    response_model=SourcePublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 422),
)
def put_source(request: Request, session: SessionDep, data: SourceIn) -> SourcePublic:
    """An HR source by name: event secret, JSON paths of person fields, pull settings."""
    source = service.put_source(
        session, data=data, allow_private=request.app.state.settings.hris_allow_private
    )
    return SourcePublic.model_validate(service.source_view(source))


@router.post(
    "/events",
    summary="Receive an HR event",
    response_model=EventAck,
    dependencies=WRITE,
    responses=problem_responses(400, 401, 403, 404, 409),
)
async def receive_event(
    request: Request,
    session: SessionDep,
    source: Annotated[str, Query(max_length=100, description="name of the HR source")],
    webhook_id: Annotated[str | None, Header()] = None,
    webhook_timestamp: Annotated[str | None, Header()] = None,
    webhook_signature: Annotated[str | None, Header()] = None,
) -> EventAck:
    """Employee created, changed or terminated, signed per Standard Webhooks; idempotent on the
    event id; acknowledged after the change is committed."""
    body = await request.body()
    row = service.get_source(session, name=source)
    ack = events.receive(
        session, source=row, body=body, msg_id=webhook_id,
        timestamp=webhook_timestamp, signature=webhook_signature,
    )  # fmt: skip
    return EventAck.model_validate(ack)


def hr_http_client() -> Iterator[httpx.Client]:
    """The HTTP client a pull reads the HR system with (tests override this dependency)."""
    with httpx.Client(timeout=pull.TIMEOUT) as client:
        yield client


@router.post(
    "/sources/{name}/sync",
    summary="Pull-sync an HR source now",
    response_model=SyncReport,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 502),
)
@locks_late
def sync_source(
    request: Request,
    session: SessionDep,
    client: Annotated[httpx.Client, Depends(hr_http_client)],
    name: str,
) -> SyncReport:
    """Read the source's whole listing, then upsert it (as `aidiploma sync hris`): the
    write starts only once the HR system has answered every page."""
    try:
        return pull.sync(
            session,
            source=service.get_source(session, name=name),
            client=client,
            allow_private=request.app.state.settings.hris_allow_private,
        )
    except pull.SyncFailed as exc:
        error = AppError(
            f"{exc} Nothing was changed.", slug="hr-sync-failed", title="HR sync failed"
        )
        error.status = 502
        raise error from None
