"""Request and response shapes of the HR integration endpoints."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.integrations.hris.models import MappingKind, PaginationKind

PERSON_FIELDS = {
    "employee_number", "given_name", "family_name", "display_name", "email", "org_unit",
    "job_code", "job_title", "roles", "location", "manager", "employment_start_date",
    "employment_end_date", "active",
}  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MappingIn(_Strict):
    kind: MappingKind
    source_value: str = Field(min_length=1, max_length=200, description="The value as HR sends it")
    target_key: str = Field(
        min_length=1, max_length=100, description="org unit external_id, role key or location"
    )


class MappingPublic(BaseModel):
    id: uuid.UUID
    kind: MappingKind
    source_value: str
    target_key: str
    created_at: datetime
    updated_at: datetime
    version: int


class UnmappedPublic(BaseModel):
    kind: MappingKind
    value: str
    occurrences: int
    last_employee_number: str | None
    last_source: str | None
    first_seen_at: datetime
    last_seen_at: datetime


MIN_PULL_MINUTES = 5  # an HR system is not polled more often than this
MAX_PULL_MINUTES = 43200  # 30 days


class SourceIn(_Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    secret: str | None = Field(
        default=None, max_length=200, description="Standard Webhooks secret, whsec_<base64>"
    )

    @field_validator("secret")
    @classmethod
    def _base64_secret(cls, value: str | None) -> str | None:
        # Refused here, not on the first event: a secret that does not decode would make
        # every signed event from this source fail.
        if value is not None:
            try:
                base64.b64decode(value.removeprefix("whsec_"), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("the secret is whsec_ followed by base64") from None
        return value

    field_paths: dict[str, str] = Field(
        description="person field -> dotted path in one employee object",
        examples=[{"employee_number": "id", "given_name": "name.first", "org_unit": "dept.code"}],
    )
    event_id_path: str = "id"
    event_type_path: str = "type"
    employee_path: str = "data"
    pull_url: str | None = Field(default=None, max_length=2000)
    pull_headers: dict[str, str] = Field(default_factory=dict)
    items_path: str = "items"
    pagination: PaginationKind = PaginationKind.next_link
    cursor_path: str = "next_cursor"
    cursor_param: str = "cursor"
    page_param: str = "page"
    next_link_path: str = "next"
    complete_path: str | None = Field(
        default=None, description="Path of a boolean that says the listing is complete"
    )
    pull_every_minutes: int | None = Field(
        default=None,
        ge=MIN_PULL_MINUTES,
        le=MAX_PULL_MINUTES,
        description="The worker pulls the source this often (null: only when asked, by "
        "POST .../sync or `aidiploma sync hris`); the first pull is due at once",
    )

    @model_validator(mode="after")
    def _schedule_needs_a_url(self) -> SourceIn:
        if self.pull_every_minutes is not None and not self.pull_url:
            raise ValueError("pull_every_minutes needs a pull_url to pull from")
        return self


class SyncReport(BaseModel):
    source: str
    pages: int
    seen: int
    created: int
    updated: int
    unchanged: int
    deactivated: int
    errors: int
    complete: bool
    unmapped: list[dict[str, str]]
    problems: list[dict[str, Any]] = Field(default_factory=list)


class SourcePublic(BaseModel):
    id: uuid.UUID
    name: str
    has_secret: bool
    field_paths: dict[str, Any]
    event_id_path: str
    event_type_path: str
    employee_path: str
    pull_url: str | None
    items_path: str
    pagination: PaginationKind
    complete_path: str | None
    last_synced_at: datetime | None = Field(description="When the last pull succeeded")
    pull_every_minutes: int | None
    next_pull_at: datetime | None = Field(description="When the worker pulls next, if scheduled")
    last_pull_error: str | None = Field(
        description="Why the last pull failed (it changed nothing); null after a success"
    )
    last_pull_report: SyncReport | None = Field(description="What the last successful pull did")
    version: int


class EventAck(BaseModel):
    event_id: str
    event_type: str
    duplicate: bool = Field(description="True when this event id was already processed")
    status: str = Field(description="created, updated, unchanged or error")
    employee_number: str | None
    person_id: uuid.UUID | None
    unmapped: list[dict[str, str]]
    problems: list[dict[str, Any]]
