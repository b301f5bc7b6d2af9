"""Evidence: a fact that a person showed a competency at a level by an assessment form.

Evidence is never edited. A wrong record is voided with a reason (and who and
when), which keeps the trail an auditor needs and re-evaluates the person.
Inbound records are idempotent on (source, source_ref): an xAPI statement id,
an LMS attempt id or an import key is stored once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.db import UTCDateTime


class EvidenceSource(StrEnum):
    xapi = "xapi"
    scorm = "scorm"
    assessor = "assessor"
    import_ = "import"


class Evidence(SQLModel, table=True):
    __tablename__ = "evidence"
    __table_args__ = (
        sa.UniqueConstraint("source", "source_ref"),
        sa.Index("ix_evidence_person_competency", "person_id", "competency_key"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="person.id")
    competency_key: str = Field(max_length=100)
    level_key: str = Field(max_length=100)
    assessment_form: str = Field(max_length=30)
    source: EvidenceSource = Field(sa_type=sa.String(20))
    source_ref: str | None = Field(default=None, max_length=500)
    activity_id: str | None = Field(default=None, max_length=1000)
    score_raw: float | None = None
    score_min: float | None = None
    score_max: float | None = None
    score_scaled: float | None = None
    passed: bool = True
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    assessor_person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id")
    assessor_client_id: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, sa_type=sa.Text)
    evidence_url: str | None = Field(default=None, max_length=2000)
    voided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    voided_reason: str | None = Field(default=None, sa_type=sa.Text)
    voided_by: str | None = Field(default=None, max_length=200)
