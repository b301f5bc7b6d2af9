"""HTTP for the reporting rhythm: daily snapshots (read only), report schedules per audience
(reports:manage to change them) and their published editions (read only)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from sqlmodel import Session

from app.auth.dependencies import require
from app.core.errors import problem_responses
from app.core.etag import check_if_match, set_etag
from app.core.idempotency import idempotency_key
from app.core.pagination import Page, PageParams, page_params
from app.core.routing import api_router, get_session
from app.reports import schedules, snapshots
from app.reports.models import ReportSchedule, ScheduledReport
from app.reports.rhythm_schemas import (
    EditionPublic,
    EditionSummary,
    ScheduleCreate,
    SchedulePublic,
    ScheduleUpdate,
    SnapshotList,
    SnapshotPublic,
)

SessionDep = Annotated[Session, Depends(get_session)]
PageDep = Annotated[PageParams, Depends(page_params)]
READ = [require("reports:read")]
MANAGE = [require("reports:manage")]

router = api_router(prefix="/reports", tags=["reports"])


def valid_schedule(session: SessionDep, schedule_id: uuid.UUID) -> ReportSchedule:
    """Path loader: the report schedule or 404."""
    return schedules.get_schedule(session, schedule_id=schedule_id)


ValidSchedule = Annotated[ReportSchedule, Depends(valid_schedule)]


def _schedule(response: Response, schedule: ReportSchedule) -> SchedulePublic:
    set_etag(response, schedule.version)
    return SchedulePublic.model_validate(schedule)


@router.get(
    "/snapshots",
    summary="Coverage snapshots",
    response_model=SnapshotList,
    dependencies=READ,
    responses=problem_responses(401, 403, 422),
)
def list_snapshots(
    session: SessionDep,
    from_date: Annotated[date | None, Query(alias="from", description="First day.")] = None,
    to_date: Annotated[date | None, Query(alias="to", description="Last day.")] = None,
) -> Any:
    """The daily coverage figures between two days, oldest first (immutable history)."""
    rows = snapshots.list_snapshots(session, from_date=from_date, to_date=to_date)
    return {
        "items": [
            SnapshotPublic(
                **snapshots.headline(row), id=row.id, taken_at=row.taken_at, groups=row.groups
            )
            for row in rows
        ]
    }


@router.get(
    "/schedules",
    summary="List report schedules",
    response_model=Page[SchedulePublic],
    dependencies=READ,
    responses=problem_responses(400, 401, 403),
)
def list_schedules(session: SessionDep, page: PageDep) -> Any:
    """Report schedules per audience, in id order."""
    items, next_cursor = schedules.list_schedules(session, page=page)
    return {"items": items, "next_cursor": next_cursor}


@router.post(
    "/schedules",
    summary="Create a report schedule",
    status_code=201,
    response_model=SchedulePublic,
    dependencies=[*MANAGE, Depends(idempotency_key)],
    responses=problem_responses(400, 401, 403, 404, 409, 415, 422),
)
def create_schedule(session: SessionDep, data: ScheduleCreate, response: Response) -> Any:
    """A report for an audience on a cadence; its first due date is today or later."""
    return _schedule(response, schedules.create_schedule(session, data=data))


@router.get(
    "/schedules/{schedule_id}",
    summary="Get a report schedule",
    response_model=SchedulePublic,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_schedule(schedule: ValidSchedule, response: Response) -> Any:
    """The schedule with its next due date and last published date."""
    return _schedule(response, schedule)


@router.patch(
    "/schedules/{schedule_id}",
    summary="Change a report schedule",
    response_model=SchedulePublic,
    dependencies=MANAGE,
    responses=problem_responses(401, 403, 404, 409, 412, 415, 422),
)
def update_schedule(
    request: Request,
    session: SessionDep,
    schedule: ValidSchedule,
    data: ScheduleUpdate,
    response: Response,
) -> Any:
    """Change name, audience, filters, cadence, day or active; editions already published stay."""
    check_if_match(request, schedule.version)
    return _schedule(response, schedules.update_schedule(session, schedule=schedule, data=data))


@router.delete(
    "/schedules/{schedule_id}",
    summary="Delete a report schedule",
    status_code=204,
    dependencies=MANAGE,
    responses=problem_responses(401, 403, 404, 409, 412),
)
def delete_schedule(request: Request, session: SessionDep, schedule: ValidSchedule) -> Response:
    """Only a schedule that never published; otherwise deactivate it (editions are kept)."""
    check_if_match(request, schedule.version)
    schedules.delete_schedule(session, schedule=schedule)
    return Response(status_code=204)


@router.get(
    "/editions",
    summary="List published report editions",
    response_model=Page[EditionSummary],
    dependencies=READ,
    responses=problem_responses(400, 401, 403),
)
def list_editions(
    session: SessionDep,
    page: PageDep,
    schedule_id: uuid.UUID | None = None,
    report: ScheduledReport | None = None,
) -> Any:
    """Published editions (without their content), in id order."""
    items, next_cursor = schedules.list_editions(
        session, page=page, schedule_id=schedule_id, report=report
    )
    return {"items": [schedules.edition_summary(e) for e in items], "next_cursor": next_cursor}


@router.get(
    "/editions/{edition_id}",
    summary="Get a published report edition",
    response_model=EditionPublic,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_edition(session: SessionDep, edition_id: uuid.UUID) -> Any:
    """The report exactly as published on its date, with its SHA-256; never changed."""
    return schedules.edition_public(schedules.get_edition(session, edition_id=edition_id))
