"""Report schedules per audience and the editions they publish (the reporting rhythm of
step 5: board monthly, risk & compliance and the works council quarterly, ...).

On its due date a schedule publishes an edition: the report JSON generated as of that
date, stored with its SHA-256 and never changed, announced by a `report.published` event
with the edition's link. Only the latest missed date is published after an outage, once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.certification.rules import add_months
from app.core import audit, clock, outbox
from app.core.config import Settings
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import PageParams, paginate
from app.reports import compliance, effectiveness, scope, service, snapshots
from app.reports.models import Cadence, ReportEdition, ReportSchedule, ScheduledReport
from app.reports.rhythm_schemas import (
    EditionPublic,
    EditionSummary,
    ScheduleCreate,
    ScheduleFilters,
    ScheduleUpdate,
    _check_day,
)
from app.reports.schemas import AggregateGroupBy, GroupBy

logger = logging.getLogger("aidiploma.reports")

QUARTER_MONTHS = (1, 4, 7, 10)
EVENT_TYPE = "report.published"


# --- dates -------------------------------------------------------------------------------


def _month_start(day: date, months: int) -> date:
    return add_months(day.replace(day=1), months)


def _months(cadence: Cadence) -> tuple[int, ...]:
    return QUARTER_MONTHS if cadence == Cadence.quarterly else tuple(range(1, 13))


def next_occurrence(cadence: Cadence, day: int, *, on_or_after: date) -> date:
    """The first date on or after `on_or_after` the schedule is due."""
    if cadence == Cadence.weekly:
        return on_or_after + timedelta(days=(day - on_or_after.isoweekday()) % 7)
    for i in range(13):
        month = _month_start(on_or_after, i)
        if month.month in _months(cadence) and month.replace(day=day) >= on_or_after:
            return month.replace(day=day)
    raise AssertionError("a due date exists within 13 months")


def last_occurrence(cadence: Cadence, day: int, *, on_or_before: date) -> date:
    """The last date on or before `on_or_before` the schedule was due."""
    if cadence == Cadence.weekly:
        return on_or_before - timedelta(days=(on_or_before.isoweekday() - day) % 7)
    for i in range(13):
        month = _month_start(on_or_before, -i)
        if month.month in _months(cadence) and month.replace(day=day) <= on_or_before:
            return month.replace(day=day)
    raise AssertionError("a due date exists within 13 months")


# --- schedules ---------------------------------------------------------------------------


def _check_options(session: Session, report: ScheduledReport, filters: ScheduleFilters) -> None:
    scope.check_filters(session, _report_filters(filters, as_of=None))
    if filters.group_by is not None:
        allowed: set[str] = set()
        if report == ScheduledReport.coverage:
            allowed = {str(g) for g in GroupBy}
        elif report == ScheduledReport.works_council:
            allowed = {str(g) for g in AggregateGroupBy}
        if str(filters.group_by) not in allowed:
            raise Unprocessable(f"The {report} report cannot be grouped by {filters.group_by}.")


def _fields(schedule: ReportSchedule) -> dict[str, Any]:
    return {name: getattr(schedule, name) for name in ReportSchedule.model_fields}


def create_schedule(session: Session, *, data: ScheduleCreate) -> ReportSchedule:
    _check_options(session, data.report, data.filters)
    if _by_name(session, data.name) is not None:
        raise Conflict(f"A report schedule named {data.name!r} exists.")
    schedule = ReportSchedule(
        name=data.name,
        audience=data.audience,
        report=data.report,
        filters=data.filters.model_dump(mode="json", exclude_none=True),
        cadence=data.cadence,
        day=data.day,
        active=data.active,
        next_due_date=next_occurrence(data.cadence, data.day, on_or_after=clock.now().date()),
    )
    session.add(schedule)
    session.flush()
    audit.record(
        session,
        entity_type="report_schedule",
        entity_id=schedule.id,
        action="create",
        after=_fields(schedule),
    )
    return schedule


def _by_name(session: Session, name: str) -> ReportSchedule | None:
    return session.execute(
        sa.select(ReportSchedule).where(col(ReportSchedule.name) == name)
    ).scalar_one_or_none()


def get_schedule(session: Session, *, schedule_id: uuid.UUID) -> ReportSchedule:
    schedule = session.get(ReportSchedule, schedule_id)
    if schedule is None:
        raise NotFound(f"No report schedule {schedule_id}.")
    return schedule


def list_schedules(
    session: Session, *, page: PageParams
) -> tuple[list[ReportSchedule], str | None]:
    return paginate(
        session,
        sa.select(ReportSchedule),
        id_column=ReportSchedule.id,
        params=page,
        updated_at_column=ReportSchedule.updated_at,
    )


def update_schedule(
    session: Session, *, schedule: ReportSchedule, data: ScheduleUpdate
) -> ReportSchedule:
    """Change a schedule; a new cadence or day moves its next due date (editions stay)."""
    before = _fields(schedule)
    changes = data.model_dump(exclude_unset=True)
    if "filters" in changes and data.filters is not None:
        _check_options(session, schedule.report, data.filters)
        changes["filters"] = data.filters.model_dump(mode="json", exclude_none=True)
    if data.name is not None and data.name != schedule.name and _by_name(session, data.name):
        raise Conflict(f"A report schedule named {data.name!r} exists.")
    for name in ("name", "audience", "cadence", "day", "active", "filters"):
        if name in changes and changes[name] is None:
            raise Unprocessable(f"`{name}` cannot be null.")
    cadence = changes.get("cadence", schedule.cadence)
    day = changes.get("day", schedule.day)
    try:
        _check_day(Cadence(cadence), day)
    except ValueError as exc:
        raise Unprocessable(str(exc)) from exc
    reactivated = changes.get("active") is True and not schedule.active
    for name, value in changes.items():
        setattr(schedule, name, value)
    # Reactivated: due from today on, not at once for the date it missed while inactive.
    if "cadence" in changes or "day" in changes or reactivated:
        schedule.next_due_date = next_occurrence(
            Cadence(cadence), day, on_or_after=clock.now().date()
        )
    if _fields(schedule) != before:
        schedule.version += 1
        schedule.updated_at = clock.now()
        session.add(schedule)
        session.flush()
        audit.record(
            session,
            entity_type="report_schedule",
            entity_id=schedule.id,
            action="update",
            before=before,
            after=_fields(schedule),
        )
    return schedule


def delete_schedule(session: Session, *, schedule: ReportSchedule) -> None:
    """Delete a schedule that never published; one with editions is kept (deactivate it)."""
    published = session.execute(
        sa.select(col(ReportEdition.id)).where(col(ReportEdition.schedule_id) == schedule.id)
    ).first()
    if published is not None:
        raise Conflict(
            "This schedule has published editions, which are kept; set active to false instead.",
            slug="schedule-has-editions",
        )
    audit.record(
        session,
        entity_type="report_schedule",
        entity_id=schedule.id,
        action="delete",
        before=_fields(schedule),
    )
    session.delete(schedule)
    session.flush()


# --- generating and publishing -----------------------------------------------------------


def _report_filters(filters: ScheduleFilters, *, as_of: date | None) -> scope.ReportFilters:
    return scope.ReportFilters(
        org_unit_id=filters.org_unit_id,
        role_id=filters.role_id,
        job_family_id=filters.job_family_id,
        location_id=filters.location_id,
        as_of=as_of,
    )


def build_report(
    session: Session,
    *,
    report: ScheduledReport,
    filters: ScheduleFilters,
    as_of: date,
    min_group_size: int,
) -> dict[str, Any]:
    """The JSON of one report as of a date, exactly as its JSON endpoint answers it."""
    f = _report_filters(filters, as_of=as_of)
    result: Any
    if report == ScheduledReport.coverage:
        result = service.coverage(session, filters=f, group_by=filters.group_by or GroupBy.org_unit)
    elif report == ScheduledReport.expiring:
        result = service.expiring(
            session, filters=f, days=60 if filters.days is None else filters.days
        )
    elif report == ScheduledReport.process_risk:
        result = compliance.process_risk(session, filters=f)
    elif report == ScheduledReport.works_council:
        group_by = AggregateGroupBy(filters.group_by or AggregateGroupBy.org_unit)
        result = service.works_council(
            session, filters=f, group_by=group_by, min_group_size=min_group_size
        )
    elif report == ScheduledReport.board:
        result = snapshots.board_report(session, filters=f)
    elif report == ScheduledReport.art26_oversight:
        result = compliance.oversight(session, as_of=as_of)
    elif report == ScheduledReport.art4_dossier:
        result = compliance.dossier(session, filters=f)
    else:
        result = effectiveness.effectiveness(session, filters=f, from_date=None)
    content: dict[str, Any] = result.model_dump(mode="json")
    return content


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8): recomputable by anyone."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def edition_link(edition_id: uuid.UUID) -> str:
    return f"/reports/editions/{edition_id}"


def _edition_for(session: Session, schedule_id: uuid.UUID, as_of: date) -> ReportEdition | None:
    return session.execute(
        sa.select(ReportEdition).where(
            col(ReportEdition.schedule_id) == schedule_id, col(ReportEdition.as_of_date) == as_of
        )
    ).scalar_one_or_none()


def publish(
    session: Session,
    *,
    schedule: ReportSchedule,
    as_of: date,
    min_group_size: int,
    base_url: str = "",
) -> tuple[ReportEdition, bool]:
    """The schedule's edition of `as_of`, published now unless it exists (never rewritten)."""
    existing = _edition_for(session, schedule.id, as_of)
    if existing is not None:
        return existing, False
    filters = ScheduleFilters.model_validate(schedule.filters)
    # What the filters name may be gone since the schedule was made: no edition about an
    # org unit that no longer exists (404, as when creating the schedule).
    _check_options(session, ScheduledReport(schedule.report), filters)
    content = build_report(
        session,
        report=ScheduledReport(schedule.report),
        filters=filters,
        as_of=as_of,
        min_group_size=min_group_size,
    )
    edition = ReportEdition(
        schedule_id=schedule.id,
        schedule_name=schedule.name,
        audience=str(schedule.audience),
        report=str(schedule.report),
        as_of_date=as_of,
        content=content,
        content_sha256=content_hash(content),
    )
    try:
        with session.begin_nested():
            session.add(edition)
            session.flush()
    except IntegrityError:  # another worker published it first
        raced = _edition_for(session, schedule.id, as_of)
        if raced is None:
            raise
        return raced, False
    audit.record(
        session,
        entity_type="report_edition",
        entity_id=edition.id,
        action="publish",
        after={
            "schedule_id": str(schedule.id),
            "report": edition.report,
            "as_of_date": as_of.isoformat(),
            "content_sha256": edition.content_sha256,
        },
    )
    outbox.emit(
        session,
        event_type=EVENT_TYPE,
        ordering_key=f"report_schedule:{schedule.id}",
        data={
            "edition_id": str(edition.id),
            "schedule_id": str(schedule.id),
            "schedule_name": schedule.name,
            "audience": edition.audience,
            "report": edition.report,
            "as_of_date": as_of.isoformat(),
            "content_sha256": edition.content_sha256,
            "link": edition_link(edition.id),
            "url": f"{base_url.rstrip('/')}{edition_link(edition.id)}" if base_url else None,
        },
    )
    return edition, True


def publish_due(session: Session, *, min_group_size: int, base_url: str = "") -> int:
    """Publish every active schedule whose due date has come; returns editions published.

    Row locks with SKIP LOCKED let several workers share the schedules on PostgreSQL; the
    unique (schedule, date) makes a double publication impossible on both databases.
    """
    today = clock.now().date()
    due = list(
        session.execute(
            sa.select(ReportSchedule)
            .where(col(ReportSchedule.active).is_(True), col(ReportSchedule.next_due_date) <= today)
            .order_by(col(ReportSchedule.next_due_date))
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    published = 0
    for schedule in due:
        cadence = Cadence(schedule.cadence)
        as_of = last_occurrence(cadence, schedule.day, on_or_before=today)
        try:
            # One schedule that cannot be built (say, its org unit is gone) must not stop
            # the other audiences' editions: each is published in its own savepoint.
            with session.begin_nested():
                _edition, created = publish(
                    session,
                    schedule=schedule,
                    as_of=as_of,
                    min_group_size=min_group_size,
                    base_url=base_url,
                )
        except Exception:
            logger.exception(
                "report schedule could not publish; it stays due and is retried",
                extra={"schedule_id": str(schedule.id), "schedule_name": schedule.name},
            )
            continue
        published += int(created)
        schedule.last_published_date = as_of
        schedule.next_due_date = next_occurrence(
            cadence, schedule.day, on_or_after=today + timedelta(days=1)
        )
        session.add(schedule)
    session.flush()
    return published


class PublishDue:
    """Worker job: publish the editions that are due (min group size from the settings)."""

    def __init__(self, settings: Settings) -> None:
        self.min_group_size = settings.min_group_size
        self.base_url = settings.public_base_url

    def __call__(self, session: Session) -> int:
        return publish_due(session, min_group_size=self.min_group_size, base_url=self.base_url)


# --- editions ----------------------------------------------------------------------------


def get_edition(session: Session, *, edition_id: uuid.UUID) -> ReportEdition:
    edition = session.get(ReportEdition, edition_id)
    if edition is None:
        raise NotFound(f"No report edition {edition_id}.")
    return edition


def list_editions(
    session: Session,
    *,
    page: PageParams,
    schedule_id: uuid.UUID | None = None,
    report: ScheduledReport | None = None,
) -> tuple[list[ReportEdition], str | None]:
    statement = sa.select(ReportEdition)
    if schedule_id is not None:
        statement = statement.where(col(ReportEdition.schedule_id) == schedule_id)
    if report is not None:
        statement = statement.where(col(ReportEdition.report) == str(report))
    return paginate(session, statement, id_column=ReportEdition.id, params=page)


def edition_summary(edition: ReportEdition) -> EditionSummary:
    fields = {
        name: getattr(edition, name) for name in EditionSummary.model_fields if name != "link"
    }
    return EditionSummary(**fields, link=edition_link(edition.id))


def edition_public(edition: ReportEdition) -> EditionPublic:
    return EditionPublic(**edition_summary(edition).model_dump(), content=edition.content)
