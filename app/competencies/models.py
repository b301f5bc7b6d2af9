"""Tables of versioned competency models: versions and their content, keyed by stable keys.

Every content row belongs to one model version and names competencies, levels and
tiers by their keys inside that version, so copying a version to a new draft is a
set-based copy and keys stay stable across versions. Only a draft's rows change.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import PortableJSON, TimestampedTable, UTCDateTime


class VersionStatus(StrEnum):
    draft = "draft"
    published = "published"
    retired = "retired"


class AssessmentForm(StrEnum):
    """How a competency is shown; course_completion is a learning activity, not an assessment."""

    knowledge_test = "knowledge_test"
    practical_assessment = "practical_assessment"
    portfolio = "portfolio"
    interview = "interview"
    course_completion = "course_completion"


ASSESSMENT_FORMS = frozenset(
    {
        AssessmentForm.knowledge_test,
        AssessmentForm.practical_assessment,
        AssessmentForm.portfolio,
        AssessmentForm.interview,
    }
)
# The pitfall "only knowledge tested": a tier above basic needs one of these.
PRACTICE_FORMS = frozenset(
    {AssessmentForm.practical_assessment, AssessmentForm.portfolio, AssessmentForm.interview}
)


class DerivationKind(StrEnum):
    risk_class = "risk_class"
    high_risk_overseer = "high_risk_overseer"


class ActivityMatch(StrEnum):
    exact = "exact"
    prefix = "prefix"


class PassRule(StrEnum):
    min_score = "min_score"
    success = "success"
    completion = "completion"


def _version_fk() -> Any:
    return Field(foreign_key="competency_model_version.id", index=True, ondelete="CASCADE")


class CompetencyModel(TimestampedTable, table=True):
    __tablename__ = "competency_model"

    key: str = Field(max_length=100, unique=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_type=sa.Text)


class CompetencyModelVersion(TimestampedTable, table=True):
    """One version of a model; a published version never changes."""

    __tablename__ = "competency_model_version"
    __table_args__ = (
        sa.UniqueConstraint("model_id", "number"),
        # Exactly one current version: at most one published version per model.
        sa.Index(
            "uq_competency_model_version_one_published",
            "model_id",
            unique=True,
            sqlite_where=sa.text("status = 'published'"),
            postgresql_where=sa.text("status = 'published'"),
        ),
    )

    model_id: uuid.UUID = Field(foreign_key="competency_model.id", index=True)
    number: int
    status: VersionStatus = Field(default=VersionStatus.draft, sa_type=sa.String(20), index=True)
    based_on_number: int | None = None
    notes: str | None = Field(default=None, sa_type=sa.Text)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CompetencyDomain(SQLModel, table=True):
    __tablename__ = "competency_domain"
    __table_args__ = (sa.UniqueConstraint("version_id", "key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = _version_fk()
    key: str = Field(max_length=100)
    position: int
    title: dict[str, str] = Field(sa_type=PortableJSON)
    description: dict[str, str] | None = Field(default=None, sa_type=PortableJSON)


class ProficiencyLevel(SQLModel, table=True):
    """A step of the ordered proficiency scale; a higher rank is a higher level."""

    __tablename__ = "proficiency_level"
    __table_args__ = (sa.UniqueConstraint("version_id", "key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = _version_fk()
    key: str = Field(max_length=100)
    rank: int
    title: dict[str, str] = Field(sa_type=PortableJSON)
    description: dict[str, str] | None = Field(default=None, sa_type=PortableJSON)


class Competency(SQLModel, table=True):
    __tablename__ = "competency"
    __table_args__ = (
        sa.UniqueConstraint("version_id", "key"),
        sa.ForeignKeyConstraint(
            ["version_id", "domain_key"],
            ["competency_domain.version_id", "competency_domain.key"],
            name="fk_competency_domain",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = _version_fk()
    key: str = Field(max_length=100, description="Stable across versions")
    domain_key: str = Field(max_length=100)
    position: int
    title: dict[str, str] = Field(sa_type=PortableJSON)
    description: dict[str, str] | None = Field(default=None, sa_type=PortableJSON)
    level_descriptors: dict[str, dict[str, str]] = Field(default_factory=dict, sa_type=PortableJSON)


class DiplomaTier(SQLModel, table=True):
    __tablename__ = "diploma_tier"
    __table_args__ = (sa.UniqueConstraint("version_id", "key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = _version_fk()
    key: str = Field(max_length=100)
    rank: int
    title: dict[str, str] = Field(sa_type=PortableJSON)
    description: dict[str, str] | None = Field(default=None, sa_type=PortableJSON)
    validity_months: int | None = None
    recertification_window_days: int = 90
    grace_period_days: int = 0
    due_days: int | None = None
    renewal_basis: str = Field(default="previous_expiry", max_length=30)
    renewal_fixed_date: str | None = Field(default=None, max_length=5)  # MM-DD


class TierRequirement(SQLModel, table=True):
    """A competency at a minimum level, shown by one of the accepted forms, within a tier.

    The level is a plain key, not a foreign key: a level missing from the scale is a
    publishing rule (422 naming it), not a constraint error. `path` is "full" for the
    tier's requirements and "refresher" for its shorter recertification path.
    """

    __tablename__ = "tier_requirement"
    __table_args__ = (
        sa.UniqueConstraint("version_id", "tier_key", "path", "competency_key"),
        sa.ForeignKeyConstraint(
            ["version_id", "tier_key"],
            ["diploma_tier.version_id", "diploma_tier.key"],
            name="fk_tier_requirement_tier",
        ),
        sa.ForeignKeyConstraint(
            ["version_id", "competency_key"],
            ["competency.version_id", "competency.key"],
            name="fk_tier_requirement_competency",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = _version_fk()
    tier_key: str = Field(max_length=100)
    path: str = Field(default="full", max_length=20)
    competency_key: str = Field(max_length=100)
    min_level_key: str = Field(max_length=100)
    accepted_forms: list[str] = Field(sa_type=PortableJSON)
    min_score: float | None = None


class DerivationRule(SQLModel, table=True):
    """From the register to a tier: by a role's effective risk class or by its involvement."""

    __tablename__ = "requirement_derivation_rule"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = _version_fk()
    position: int
    kind: DerivationKind = Field(sa_type=sa.String(30))
    risk_class: str | None = Field(default=None, max_length=30)
    tier_key: str = Field(max_length=100)


class RoleTierAssignment(SQLModel, table=True):
    """An explicit tier for a role or a whole job family; it overrides the derived tier."""

    __tablename__ = "role_tier_assignment"
    __table_args__ = (
        sa.CheckConstraint(
            "(role_id IS NULL) <> (job_family_id IS NULL)", name="role_xor_job_family"
        ),
        sa.UniqueConstraint("version_id", "role_id", "job_family_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = _version_fk()
    role_id: uuid.UUID | None = Field(default=None, foreign_key="role.id", index=True)
    job_family_id: uuid.UUID | None = Field(default=None, foreign_key="job_family.id", index=True)
    tier_key: str = Field(max_length=100)
    reason: str = Field(sa_type=sa.Text)
    due_days: int | None = None


class RoleCompetencyRequirement(SQLModel, table=True):
    """An extra competency requirement specific to a role or a job family."""

    __tablename__ = "role_competency_requirement"
    __table_args__ = (
        sa.CheckConstraint(
            "(role_id IS NULL) <> (job_family_id IS NULL)", name="role_xor_job_family"
        ),
        sa.ForeignKeyConstraint(
            ["version_id", "competency_key"],
            ["competency.version_id", "competency.key"],
            name="fk_role_competency_requirement_competency",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = _version_fk()
    role_id: uuid.UUID | None = Field(default=None, foreign_key="role.id", index=True)
    job_family_id: uuid.UUID | None = Field(default=None, foreign_key="job_family.id", index=True)
    competency_key: str = Field(max_length=100)
    min_level_key: str = Field(max_length=100)
    accepted_forms: list[str] = Field(sa_type=PortableJSON)
    min_score: float | None = None
    reason: str | None = Field(default=None, sa_type=sa.Text)


class ActivityMapping(SQLModel, table=True):
    """An LMS activity (xAPI activity IRI or SCORM course id) that shows a competency at a level."""

    __tablename__ = "activity_mapping"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["version_id", "competency_key"],
            ["competency.version_id", "competency.key"],
            name="fk_activity_mapping_competency",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = _version_fk()
    activity_id: str = Field(max_length=1000, index=True)
    match: ActivityMatch = Field(default=ActivityMatch.exact, sa_type=sa.String(10))
    competency_key: str = Field(max_length=100)
    level_key: str = Field(max_length=100)
    assessment_form: AssessmentForm = Field(sa_type=sa.String(30))
    pass_rule: PassRule = Field(sa_type=sa.String(20))
    min_scaled_score: float | None = None
