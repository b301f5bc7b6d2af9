"""Programmes (pilots and rollout waves), their phases, each phase's scope and structured feedback.

A phase stores its scope (org units, locations, job families, roles), never the people in it:
who is in scope is derived by SQL at read time, so HR changes flow in without a sync.
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


class PhaseKind(StrEnum):
    pilot = "pilot"
    rollout = "rollout"


class PhaseStatus(StrEnum):
    planned = "planned"
    running = "running"
    completed = "completed"


class RespondentGroup(StrEnum):
    """The four groups the practice guide asks feedback from (stappenplan, stap 3)."""

    employee = "employee"
    manager = "manager"
    hr = "hr"
    auditor = "auditor"


class Programme(TimestampedTable, table=True):
    __tablename__ = "programme"

    name: str = Field(max_length=200, unique=True)
    description: str | None = Field(default=None, sa_type=sa.Text)
    model_version_id: uuid.UUID | None = Field(
        default=None, foreign_key="competency_model_version.id", index=True
    )


class Phase(TimestampedTable, table=True):
    """A pilot or a rollout wave: scope, dates, training offer, assessment windows, status."""

    __tablename__ = "programme_phase"
    __table_args__ = (
        sa.UniqueConstraint("programme_id", "name"),
        sa.CheckConstraint("end_date >= start_date", name="dates_ordered"),
    )

    programme_id: uuid.UUID = Field(foreign_key="programme.id", index=True)
    name: str = Field(max_length=200)
    kind: PhaseKind = Field(sa_type=sa.String(10))
    status: PhaseStatus = Field(default=PhaseStatus.planned, sa_type=sa.String(10))
    # Why the status is ahead of the calendar (running before the start, completed before the end).
    status_reason: str | None = Field(default=None, sa_type=sa.Text)
    start_date: date
    end_date: date
    # Activity ids (xAPI IRIs, SCORM course ids) from the model's activity mappings.
    training_offer: list[str] = Field(default_factory=list, sa_type=PortableJSON)
    # [{"label": ..., "start_date": ..., "end_date": ...}], validated by the schema.
    assessment_windows: list[dict[str, Any]] = Field(default_factory=list, sa_type=PortableJSON)


class PhaseScope(SQLModel, table=True):
    """One scope entry of a phase: exactly one of org unit, location, job family or role."""

    __tablename__ = "phase_scope"
    __table_args__ = (
        sa.CheckConstraint(
            "(CASE WHEN org_unit_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN location_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN job_family_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN role_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_target",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    phase_id: uuid.UUID = Field(foreign_key="programme_phase.id", index=True)
    org_unit_id: uuid.UUID | None = Field(default=None, foreign_key="org_unit.id", index=True)
    location_id: uuid.UUID | None = Field(default=None, foreign_key="location.id", index=True)
    job_family_id: uuid.UUID | None = Field(default=None, foreign_key="job_family.id", index=True)
    role_id: uuid.UUID | None = Field(default=None, foreign_key="role.id", index=True)


RATING_CHECK = "{0} IS NULL OR ({0} >= 1 AND {0} <= 5)"


class PhaseFeedback(SQLModel, table=True):
    """One respondent's feedback on a phase; never edited. Identity is optional and never shown
    in summaries; when given, one feedback per person per phase."""

    __tablename__ = "phase_feedback"
    __table_args__ = (
        sa.UniqueConstraint("phase_id", "respondent_person_id"),
        sa.Index("ix_phase_feedback_phase_group", "phase_id", "respondent_group"),
        *(
            sa.CheckConstraint(RATING_CHECK.format(name), name=f"{name}_range")
            for name in ("workload", "clarity", "relevance", "assessment_fairness")
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    phase_id: uuid.UUID = Field(foreign_key="programme_phase.id")
    respondent_group: RespondentGroup = Field(sa_type=sa.String(20))
    respondent_person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id")
    workload: int | None = None
    clarity: int | None = None
    relevance: int | None = None
    assessment_fairness: int | None = None
    comment: str | None = Field(default=None, sa_type=sa.Text)
    submitted_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
