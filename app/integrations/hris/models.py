"""Tables of the HR integration: mapping rules from HR values to org units, roles and
locations, the report of HR values nothing maps, HR sources (webhook secret, field
paths, pull settings and schedule), received HR events (idempotency) and managers not yet
known."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import PortableJSON, TimestampedTable, utc_field


class MappingKind(StrEnum):
    org_unit = "org_unit"  # HR department / org unit code -> org unit external_id
    role = "role"  # HR job code -> role key
    job_title = "job_title"  # HR job title -> role key
    location = "location"  # HR location code -> location external_id


class HrisMapping(TimestampedTable, table=True):
    """One rule: an HR value of a kind maps to an aidiploma key (org unit, role, location)."""

    __tablename__ = "hris_mapping"
    __table_args__ = (sa.UniqueConstraint("kind", "source_value"),)

    kind: MappingKind = Field(sa_type=sa.String(20))
    source_value: str = Field(max_length=200)
    target_key: str = Field(max_length=100)


class HrisUnmapped(SQLModel, table=True):
    """An HR value that no rule and no key matched: reported, never silently dropped."""

    __tablename__ = "hris_unmapped"
    __table_args__ = (sa.UniqueConstraint("kind", "value"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: MappingKind = Field(sa_type=sa.String(20))
    value: str = Field(max_length=200)
    occurrences: int = Field(default=1)
    last_employee_number: str | None = Field(default=None, max_length=64)
    last_source: str | None = Field(default=None, max_length=100)
    first_seen_at: datetime = utc_field()
    last_seen_at: datetime = utc_field()


class PaginationKind(StrEnum):
    cursor = "cursor"
    page = "page"
    next_link = "next_link"


class HrisSource(TimestampedTable, table=True):
    """An HR system that pushes events or is pulled: its secret and where fields sit in its JSON."""

    __tablename__ = "hris_source"

    name: str = Field(max_length=100, unique=True)
    # Standard Webhooks symmetric secret (whsec_<base64>) for inbound event signatures.
    secret: str | None = Field(default=None, max_length=200)
    # person field -> dotted JSON path in one employee object, e.g. {"employee_number": "id"}.
    field_paths: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON)
    # Event envelope paths: event id, event type and the employee object inside an event.
    event_id_path: str = Field(default="id", max_length=200)
    event_type_path: str = Field(default="type", max_length=200)
    employee_path: str = Field(default="data", max_length=200)
    # Pull sync: listing URL, where the items are, how to page, and the completeness flag.
    pull_url: str | None = Field(default=None, max_length=2000)
    pull_headers: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON)
    items_path: str = Field(default="items", max_length=200)
    pagination: PaginationKind = Field(default=PaginationKind.next_link, sa_type=sa.String(20))
    cursor_path: str = Field(default="next_cursor", max_length=200)
    cursor_param: str = Field(default="cursor", max_length=100)
    page_param: str = Field(default="page", max_length=100)
    next_link_path: str = Field(default="next", max_length=200)
    complete_path: str | None = Field(default=None, max_length=200)
    last_synced_at: datetime | None = utc_field(default=None)
    # Scheduled pull by the worker: every this many minutes (None: only when asked), the
    # next time it is due, and how the last pull ended (its report, or why it failed).
    pull_every_minutes: int | None = Field(default=None)
    next_pull_at: datetime | None = utc_field(default=None)
    last_pull_error: str | None = Field(default=None, sa_type=sa.Text)
    last_pull_report: dict[str, Any] | None = Field(default=None, sa_type=PortableJSON)


class HrisEvent(SQLModel, table=True):
    """A received HR event, kept for idempotency on (source, event id)."""

    __tablename__ = "hris_event"
    __table_args__ = (sa.UniqueConstraint("source_id", "event_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    source_id: uuid.UUID = Field(foreign_key="hris_source.id", index=True)
    event_id: str = Field(max_length=200)
    event_type: str = Field(max_length=100)
    payload_sha256: str = Field(max_length=64)
    employee_number: str | None = Field(default=None, max_length=64)
    outcome: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON)
    received_at: datetime = utc_field()


class PendingManager(SQLModel, table=True):
    """A manager named by HR before the manager's own record exists; resolved when it appears."""

    __tablename__ = "hris_pending_manager"

    person_id: uuid.UUID = Field(foreign_key="person.id", primary_key=True)
    manager_ref: str = Field(max_length=200, index=True)
    created_at: datetime = utc_field()
