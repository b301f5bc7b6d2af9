"""SCORM attempts reported by an LMS, kept as received and idempotent on (LMS, attempt)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.db import PortableJSON, UTCDateTime


class ScormAttempt(SQLModel, table=True):
    __tablename__ = "scorm_attempt"
    __table_args__ = (sa.UniqueConstraint("lms_id", "attempt_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    lms_id: str = Field(max_length=200)
    attempt_id: str = Field(max_length=200)
    course_id: str = Field(max_length=1000, index=True)
    person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)
    payload: dict[str, Any] = Field(sa_type=PortableJSON)
    passed: bool | None = None
    completed: bool | None = None
    score_scaled: float | None = None
    received_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    client_id: str | None = Field(default=None, max_length=200)
