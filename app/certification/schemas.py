"""Request and response shapes of certification status, history, gaps and lifecycle actions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.certification.models import CertificationEventKind, CertificationKind, CertificationState


class CertificationStatus(BaseModel):
    """A person's diploma status as of today: what LMS and HR systems read."""

    person_id: uuid.UUID
    employee_number: str
    tier: str | None = Field(description="The held tier, if any")
    status: str = Field(
        description="not_started, in_progress, certified, expiring, expired, suspended",
        examples=["certified"],
    )
    valid_until: date | None
    required_tier: str | None
    due_date: date | None
    compliant: bool
    overdue: bool
    certification_id: uuid.UUID | None
    model_version_id: uuid.UUID | None
    evaluated_at: datetime | None


class LookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[str] = Field(
        min_length=1,
        max_length=1000,
        examples=[["employee:HS0001", "email:anna.jansen@havenstad.nl"]],
    )


class LookupResult(BaseModel):
    items: list[CertificationStatus]
    not_found: list[str]


class CertificationEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: CertificationEventKind
    occurred_at: datetime
    actor: str | None
    reason: str | None
    valid_until: date | None


class CertificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    tier_key: str
    kind: CertificationKind
    state: CertificationState
    model_version_id: uuid.UUID
    awarded_at: datetime
    completed_on: date
    valid_from: date
    valid_until: date
    window_opens_on: date
    grace_until: date
    renews_id: uuid.UUID | None
    state_reason: str | None
    state_changed_at: datetime | None
    state_changed_by: str | None
    document_ref: str | None
    awarded_by: str | None


class CertificationWithEvents(CertificationPublic):
    events: list[CertificationEventPublic]


class GapActivity(BaseModel):
    activity_id: str
    match: str
    level: str
    assessment_form: str


class Gap(BaseModel):
    competency: str
    min_level: str | None
    accepted_forms: list[str]
    min_score: float | None
    missing: str = Field(
        description="no_evidence, too_old, level_too_low, wrong_form, score_too_low"
    )
    activities: list[GapActivity] = Field(description="Mapped LMS activities that close the gap")


class GapReport(BaseModel):
    person_id: uuid.UUID
    employee_number: str
    required_tier: str | None
    due_date: date | None
    compliant: bool
    overdue: bool
    path: Literal["full", "renewal", "refresher"] = Field(
        description="Which requirements the gaps are of. full: the tier's requirements, any "
        "evidence within the validity period counts. While the person's diploma for the "
        "required tier is in its recertification window or grace period, only evidence from "
        "the window counts, for the tier's shorter refresher path if it has one (refresher), "
        "else for all its requirements again (renewal)."
    )
    gaps: list[Gap]


class StateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=4000)


class AlternativeAward(BaseModel):
    """A tier awarded on recognised prior learning or an external certificate."""

    model_config = ConfigDict(extra="forbid")

    tier: str = Field(min_length=1, max_length=100)
    document_ref: str = Field(
        min_length=1, max_length=500, description="Reference of the certificate or RPL file"
    )
    reason: str = Field(min_length=3, max_length=4000)
    valid_until: date | None = Field(
        default=None, description="Earlier than the tier's normal validity when time-limited"
    )


class ChangeEvent(BaseModel):
    seq: int
    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    data: dict[str, Any]


class ChangeFeed(BaseModel):
    items: list[ChangeEvent]
    next_cursor: str = Field(description="Pass back as `cursor`; it only ever moves forward")


class EvaluationScope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_unit: str | None = Field(
        default=None, description="Org unit external id (with descendants)"
    )
    role: str | None = Field(default=None, description="Role key")
    people: list[str] | None = Field(default=None, max_length=10000, description="Person keys")


class EvaluationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=200, examples=["role matrix changed"])
    scope: EvaluationScope = Field(default_factory=EvaluationScope, description="Empty: everyone")


class EvaluationJobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    reason: str
    scope: dict[str, Any]
    state: str
    total: int
    processed: int
    changed: int
    awarded: int
    renewed: int
    requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
