"""Request and response shapes of the reporting rhythm: snapshots, schedules, editions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.reports.models import Audience, Cadence, ScheduledReport
from app.reports.schemas import GroupBy


class SnapshotPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    snapshot_date: date
    taken_at: datetime
    people: int
    in_scope: int
    certified: int
    compliant: int
    compliant_pct: float | None
    expiring_30: int
    expiring_90: int
    expired: int
    overdue: int
    groups: dict[str, Any] = Field(
        description="Figures per org unit, role and risk class: {dimension: [group, ...]}"
    )


class SnapshotList(BaseModel):
    items: list[SnapshotPublic]


class ScheduleFilters(BaseModel):
    """The filters and options of the scheduled report (each report ignores what it lacks)."""

    model_config = ConfigDict(extra="forbid")

    org_unit_id: uuid.UUID | None = None
    role_id: uuid.UUID | None = None
    job_family_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    group_by: GroupBy | None = Field(
        default=None, description="coverage: the grouping; works-council: org_unit or location"
    )
    days: int | None = Field(default=None, ge=0, le=730, description="expiring: within N days")


def _check_day(cadence: Cadence | None, day: int | None) -> None:
    if cadence is None or day is None:
        return
    if cadence == Cadence.weekly and not 1 <= day <= 7:
        raise ValueError("weekly schedules take an ISO weekday: 1 (Monday) to 7 (Sunday)")
    if cadence != Cadence.weekly and not 1 <= day <= 28:
        raise ValueError("monthly and quarterly schedules take a day of the month from 1 to 28")


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Board monthly"])
    audience: Audience
    report: ScheduledReport
    filters: ScheduleFilters = Field(default_factory=ScheduleFilters)
    cadence: Cadence
    day: int = Field(
        description="weekly: ISO weekday 1-7; monthly: day 1-28; quarterly: day 1-28 of "
        "January, April, July and October"
    )
    active: bool = True

    @model_validator(mode="after")
    def _day_fits_cadence(self) -> ScheduleCreate:
        _check_day(self.cadence, self.day)
        return self


class ScheduleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    audience: Audience | None = None
    filters: ScheduleFilters | None = None
    cadence: Cadence | None = None
    day: int | None = None
    active: bool | None = None


class SchedulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    audience: Audience
    report: ScheduledReport
    filters: dict[str, Any]
    cadence: Cadence
    day: int
    active: bool
    next_due_date: date
    last_published_date: date | None
    created_at: datetime
    updated_at: datetime
    version: int


class EditionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    schedule_id: uuid.UUID
    schedule_name: str
    audience: str
    report: str
    as_of_date: date
    published_at: datetime
    content_sha256: str = Field(description="SHA-256 of the canonical JSON of `content`")
    link: str


class EditionPublic(EditionSummary):
    content: dict[str, Any] = Field(description="The report JSON as published")
