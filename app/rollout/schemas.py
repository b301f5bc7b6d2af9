"""Request and response shapes of programmes, phases, progress and feedback."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.rollout.models import PhaseKind, PhaseStatus, RespondentGroup

KeyList = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=100)]],
    Field(max_length=500),
]
Rating = Annotated[int, Field(ge=1, le=5)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScopeIn(Strict):
    """Who a phase is for, by HR keys. Dimensions combine with AND, values within one with OR;
    roles and job families together are one dimension (the function). An empty scope is the
    whole organisation."""

    org_units: KeyList = Field(
        default_factory=list, description="Org unit external ids; each includes its descendants"
    )
    locations: KeyList = Field(default_factory=list, description="Location external ids")
    job_families: KeyList = Field(default_factory=list, description="Job family keys")
    roles: KeyList = Field(default_factory=list, description="Role keys")


class ScopePublic(BaseModel):
    org_units: list[str]
    locations: list[str]
    job_families: list[str]
    roles: list[str]


class AssessmentWindow(Strict):
    label: str = Field(min_length=1, max_length=200)
    start_date: date
    end_date: date

    @model_validator(mode="after")
    def _ordered(self) -> AssessmentWindow:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


ActivityIds = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=1000)]],
    Field(max_length=200),
]


class PhaseCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: PhaseKind
    start_date: date
    end_date: date
    scope: ScopeIn = Field(default_factory=ScopeIn)
    training_offer: ActivityIds = Field(
        default_factory=list,
        description="Activity ids from the current competency model's activity mappings",
    )
    assessment_windows: list[AssessmentWindow] = Field(default_factory=list, max_length=50)
    status: PhaseStatus | None = Field(
        default=None, description="Default planned; e.g. completed when recording a past pilot"
    )
    status_reason: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _ordered(self) -> PhaseCreate:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class PhaseUpdate(Strict):
    """Changed fields only. A status ahead of the calendar (running before start_date,
    completed before end_date) needs status_reason; completed is final."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: PhaseKind | None = None
    start_date: date | None = None
    end_date: date | None = None
    scope: ScopeIn | None = None
    training_offer: ActivityIds | None = None
    assessment_windows: list[AssessmentWindow] | None = Field(default=None, max_length=50)
    status: PhaseStatus | None = None
    status_reason: str | None = Field(default=None, min_length=1, max_length=2000)


class PhasePublic(BaseModel):
    id: uuid.UUID
    programme_id: uuid.UUID
    name: str
    kind: PhaseKind
    status: PhaseStatus
    status_reason: str | None
    start_date: date
    end_date: date
    scope: ScopePublic
    training_offer: list[str]
    assessment_windows: list[AssessmentWindow]
    created_at: datetime
    updated_at: datetime
    version: int


class ProgrammeCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    model_version_id: uuid.UUID | None = Field(
        default=None, description="The competency model version the programme trains for"
    )


class ProgrammeUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    model_version_id: uuid.UUID | None = None


class ProgrammePublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    model_version_id: uuid.UUID | None
    phases: list[PhasePublic]
    created_at: datetime
    updated_at: datetime
    version: int


class PersonInScope(BaseModel):
    id: uuid.UUID
    employee_number: str
    display_name: str
    org_unit: str | None
    location: str | None


class ProgressCounts(BaseModel):
    in_scope: int
    started: int = Field(description="Any evidence since the phase start")
    trained: int = Field(
        description="A course completion or evidence from the training offer since the phase start"
    )
    assessed: int = Field(description="Evidence of an assessment form since the phase start")
    certified: int = Field(description="Holds a valid diploma today")
    compliant: int = Field(description="Holds the tier their roles require today")


class OrgUnitProgress(ProgressCounts):
    org_unit_id: uuid.UUID | None
    org_unit: str | None = Field(description="External id; null for people without an org unit")
    org_unit_name: str | None


class Timeline(BaseModel):
    start_date: date
    end_date: date
    as_of: date
    days_total: int
    days_elapsed: int
    days_left: int
    certified_pct: float | None = Field(description="Certified as a share of in scope, in percent")
    expected_certified_pct: float = Field(
        description="Linear expectation: the share of the phase's days elapsed, in percent"
    )
    on_track: bool | None = Field(
        description="certified_pct >= expected_certified_pct; null when nobody is in scope"
    )


class PhaseProgress(BaseModel):
    phase_id: uuid.UUID
    status: PhaseStatus
    totals: ProgressCounts
    timeline: Timeline
    org_units: list[OrgUnitProgress]


class FeedbackCreate(Strict):
    respondent_group: RespondentGroup
    respondent: str | None = Field(
        default=None,
        max_length=320,
        description="Optional: the person (id, employee:{number} or email:{address}); "
        "never shown in summaries; one feedback per person per phase",
    )
    workload: Rating | None = None
    clarity: Rating | None = None
    relevance: Rating | None = Field(default=None, description="Relevance to daily work")
    assessment_fairness: Rating | None = None
    comment: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _not_empty(self) -> FeedbackCreate:
        values = (self.workload, self.clarity, self.relevance, self.assessment_fairness)
        if all(v is None for v in values) and not (self.comment and self.comment.strip()):
            raise ValueError("give at least one rating or a comment")
        return self


class FeedbackPublic(BaseModel):
    """A recorded feedback; the respondent's identity is not echoed."""

    id: uuid.UUID
    phase_id: uuid.UUID
    respondent_group: RespondentGroup
    workload: int | None
    clarity: int | None
    relevance: int | None
    assessment_fairness: int | None
    comment: str | None
    submitted_at: datetime


class DimensionSummary(BaseModel):
    answered: int
    mean: float | None
    distribution: dict[str, int] = Field(description="Count per rating '1'..'5'")


class GroupSummary(BaseModel):
    respondent_group: RespondentGroup
    respondents: int
    dimensions: dict[str, DimensionSummary]
    comments: list[str] | None = Field(
        description="Free text, only when the group has at least min_group_size respondents"
    )
    comments_suppressed: bool


class FeedbackSummary(BaseModel):
    phase_id: uuid.UUID
    min_group_size: int
    respondents: int
    groups: list[GroupSummary]
