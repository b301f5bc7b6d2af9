"""Diplomas (certifications), their history, the per-person status row, and evaluation jobs.

A certification is never overwritten: a renewal is a new row that supersedes the
old one, a revocation stamps the row and adds a history event. The status row
(`person_status`) holds what every read needs (required tier, held tier and its
dates), so a status lookup is one primary-key read and status is derived from
the dates and the clock at read time: it is right for any day without a job.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.db import PortableJSON, UTCDateTime


class CertificationKind(StrEnum):
    evidence = "evidence"  # earned by meeting the tier's requirements
    alternative = "alternative"  # recognised prior learning or an external certificate


class CertificationState(StrEnum):
    active = "active"
    superseded = "superseded"  # renewed: a newer certification continues it
    suspended = "suspended"
    revoked = "revoked"  # by hand; evidence from before the revocation does not award it again
    withdrawn = "withdrawn"  # the evidence it rested on was voided; re-evaluated from scratch


class Certification(SQLModel, table=True):
    __tablename__ = "certification"
    __table_args__ = (sa.Index("ix_certification_person_state", "person_id", "state"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="person.id")
    tier_key: str = Field(max_length=100)
    tier_rank: int
    model_version_id: uuid.UUID = Field(foreign_key="competency_model_version.id", index=True)
    kind: CertificationKind = Field(default=CertificationKind.evidence, sa_type=sa.String(20))
    state: CertificationState = Field(default=CertificationState.active, sa_type=sa.String(20))
    awarded_at: datetime = Field(sa_type=UTCDateTime)
    completed_on: date
    valid_from: date
    valid_until: date
    window_opens_on: date
    grace_until: date
    renews_id: uuid.UUID | None = Field(default=None, foreign_key="certification.id")
    state_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    state_reason: str | None = Field(default=None, sa_type=sa.Text)
    state_changed_by: str | None = Field(default=None, max_length=200)
    document_ref: str | None = Field(default=None, max_length=500)
    awarded_by: str | None = Field(default=None, max_length=200)
    evidence_ids: list[str] = Field(default_factory=list, sa_type=PortableJSON)


class CertificationEventKind(StrEnum):
    awarded = "awarded"
    renewed = "renewed"
    expiring = "expiring"
    expired = "expired"
    suspended = "suspended"
    revoked = "revoked"
    withdrawn = "withdrawn"
    reinstated = "reinstated"


class CertificationEvent(SQLModel, table=True):
    """The history of a person's diplomas: every award, renewal, expiry and revocation."""

    __tablename__ = "certification_event"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    certification_id: uuid.UUID = Field(foreign_key="certification.id", index=True)
    person_id: uuid.UUID = Field(foreign_key="person.id", index=True)
    kind: CertificationEventKind = Field(sa_type=sa.String(20))
    occurred_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    actor: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    valid_until: date | None = None


class PersonStatus(SQLModel, table=True):
    """What a status read needs about one person, kept current by every evaluation."""

    __tablename__ = "person_status"

    person_id: uuid.UUID = Field(foreign_key="person.id", primary_key=True)
    required_tier_key: str | None = Field(default=None, max_length=100)
    required_tier_rank: int | None = None
    due_date: date | None = None
    held_tier_key: str | None = Field(default=None, max_length=100)
    held_tier_rank: int | None = None
    certification_id: uuid.UUID | None = Field(default=None, foreign_key="certification.id")
    valid_until: date | None = None
    window_opens_on: date | None = None
    grace_until: date | None = None
    suspended: bool = False
    extras_met: bool = True  # the role-specific competencies beyond the tier
    any_progress: bool = False
    model_version_id: uuid.UUID | None = Field(
        default=None, foreign_key="competency_model_version.id"
    )
    evaluated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    version: int = 1


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"


class EvaluationJob(SQLModel, table=True):
    """A background re-evaluation of everyone or a scope; the worker picks it up."""

    __tablename__ = "evaluation_job"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    reason: str = Field(max_length=200)
    scope: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON)
    state: JobState = Field(default=JobState.queued, sa_type=sa.String(20), index=True)
    total: int = 0
    processed: int = 0
    changed: int = 0
    awarded: int = 0
    renewed: int = 0
    last_person_id: uuid.UUID | None = None  # progress cursor: people are taken in id order
    requested_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, sa_type=sa.Text)


class EvaluationRequest(SQLModel, table=True):
    """A person to evaluate soon: written with the evidence that calls for it, in the same
    transaction, and deleted by the evaluation that answers it (`certification.queue`)."""

    __tablename__ = "evaluation_request"

    # Taken in id order. 64 bits: an LMS feed queues a row per person per request.
    id: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
    )
    person_id: uuid.UUID
    requested_by: str | None = Field(default=None, max_length=200)
    requested_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    # Evaluations of this person that failed; from queue.MAX_ATTEMPTS on the row is no
    # longer taken (a dead letter: logged, counted on /metrics, kept for a look).
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_error: str | None = Field(default=None, sa_type=sa.Text)
