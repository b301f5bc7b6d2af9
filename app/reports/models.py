"""The reporting rhythm: daily coverage snapshots, report schedules per audience and the
published editions they produce.

Snapshots and editions are history: rows are only ever inserted (app.reports.snapshots and
app.reports.schedules offer no update or delete), one snapshot per day, one edition per
schedule and date, both enforced by unique constraints.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.db import PortableJSON, TimestampedTable, UTCDateTime


class CoverageSnapshot(SQLModel, table=True):
    """The coverage figures of one day: the headline columns for trend queries, and the
    breakdowns per org unit, role and risk class as JSON."""

    __tablename__ = "coverage_snapshot"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    snapshot_date: date = Field(unique=True)
    taken_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, nullable=False)
    people: int
    in_scope: int
    certified: int
    compliant: int
    expiring_30: int
    expiring_90: int
    expired: int
    overdue: int
    # {"org_unit": [...], "role": [...], "risk_class": [...]}: each a list of figures per group.
    groups: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON)


class Audience(StrEnum):
    board = "board"
    risk_compliance = "risk_compliance"
    works_council = "works_council"
    line_management = "line_management"
    hr = "hr"
    auditor = "auditor"


class Cadence(StrEnum):
    weekly = "weekly"
    monthly = "monthly"
    quarterly = "quarterly"


class ScheduledReport(StrEnum):
    """The organisation-wide reports a schedule can publish (the team report is per manager)."""

    coverage = "coverage"
    expiring = "expiring"
    process_risk = "process-risk"
    works_council = "works-council"
    board = "board"
    art26_oversight = "art26-oversight"
    art4_dossier = "art4-dossier"
    effectiveness = "effectiveness"


class ReportSchedule(TimestampedTable, table=True):
    """Which report goes to which audience how often: weekly on an ISO weekday (1-7),
    monthly on a day of the month (1-28), quarterly on that day of Jan, Apr, Jul and Oct."""

    __tablename__ = "report_schedule"

    name: str = Field(max_length=200, unique=True)
    audience: Audience = Field(sa_type=sa.String(30))
    report: ScheduledReport = Field(sa_type=sa.String(30))
    # Report filters and options: org_unit_id, role_id, job_family_id, location_id,
    # group_by, days (validated by app.reports.schedules.ScheduleFilters).
    filters: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON)
    cadence: Cadence = Field(sa_type=sa.String(10))
    day: int
    active: bool = True
    next_due_date: date = Field(index=True)
    last_published_date: date | None = None


class ReportEdition(SQLModel, table=True):
    """A published report: the JSON as generated on its date, with its SHA-256; never changed."""

    __tablename__ = "report_edition"
    __table_args__ = (sa.UniqueConstraint("schedule_id", "as_of_date"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    schedule_id: uuid.UUID = Field(foreign_key="report_schedule.id", index=True)
    schedule_name: str = Field(max_length=200)
    audience: str = Field(max_length=30)
    report: str = Field(max_length=30)
    as_of_date: date = Field(index=True)
    published_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, nullable=False)
    content: dict[str, Any] = Field(sa_type=PortableJSON)
    content_sha256: str = Field(max_length=64)
