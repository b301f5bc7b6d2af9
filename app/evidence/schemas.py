"""Request and response shapes of evidence."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from app.evidence.models import EvidenceSource

Key = str
PRACTICE_FORMS = {"practical_assessment", "portfolio", "interview"}


class EvidenceCreate(BaseModel):
    """Strict internal shape of one piece of evidence, whatever channel it came from."""

    model_config = ConfigDict(extra="forbid")

    person_id: uuid.UUID
    competency_key: Key = Field(min_length=1, max_length=100)
    level_key: Key = Field(min_length=1, max_length=100)
    assessment_form: str = Field(min_length=1, max_length=30)
    source: EvidenceSource = EvidenceSource.assessor
    source_ref: str | None = Field(default=None, max_length=500)
    activity_id: str | None = Field(default=None, max_length=1000)
    score_raw: float | None = None
    score_min: float | None = None
    score_max: float | None = None
    score_scaled: float | None = Field(default=None, ge=-1, le=1)
    passed: bool = True
    occurred_at: datetime
    assessor_person_id: uuid.UUID | None = None
    assessor_client_id: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=10000)
    evidence_url: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _consistent(self) -> EvidenceCreate:
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at needs a timezone offset")
        if (
            self.score_raw is not None
            and self.score_min is not None
            and self.score_max is not None
            and not self.score_min <= self.score_raw <= self.score_max
        ):
            raise ValueError("score_raw must lie between score_min and score_max")
        return self


class AssessorEvidenceIn(BaseModel):
    """What an assessor enters: the person is named by id, `employee:{n}` or `email:{a}`."""

    model_config = ConfigDict(extra="forbid")

    person: str = Field(
        min_length=1,
        max_length=400,
        examples=["employee:HS0042"],
        description="Internal id, employee:{number} or email:{address}",
    )
    competency: Key = Field(min_length=1, max_length=100, examples=["checking-ai-output"])
    level: Key = Field(min_length=1, max_length=100, examples=["advanced"])
    assessment_form: str = Field(min_length=1, max_length=30, examples=["practical_assessment"])
    occurred_at: datetime
    passed: bool = True
    score_raw: float | None = None
    score_min: float | None = None
    score_max: float | None = None
    score_scaled: float | None = Field(default=None, ge=-1, le=1)
    assessor: str | None = Field(
        default=None,
        max_length=400,
        description="The assessing person (id, employee:{n}, email:{a}); required for "
        "practical assessment, portfolio and interview",
    )
    notes: str | None = Field(default=None, max_length=10000)
    evidence_url: AnyHttpUrl | None = Field(default=None, description="e.g. a portfolio link")
    source_ref: str | None = Field(
        default=None, max_length=500, description="Your own id for this entry; repeats are no-ops"
    )


class EvidenceVoid(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=4000)


class EvidencePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    competency_key: str
    level_key: str
    assessment_form: str
    source: EvidenceSource
    source_ref: str | None
    activity_id: str | None
    score_raw: float | None
    score_min: float | None
    score_max: float | None
    score_scaled: float | None
    passed: bool
    occurred_at: datetime
    recorded_at: datetime
    assessor_person_id: uuid.UUID | None
    assessor_client_id: str | None
    notes: str | None
    evidence_url: str | None
    voided_at: datetime | None
    voided_reason: str | None
    voided_by: str | None
