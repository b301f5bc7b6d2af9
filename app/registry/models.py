"""Tables of the AI-use register (step 1): AI systems and their Art. 26 overseers, processes,
the AI systems used in them, which roles work with AI in which process, role risk overrides,
and tool-use intake declarations (shadow AI made visible).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.db import PortableJSON, TimestampedTable, UTCDateTime


class AIRiskClass(StrEnum):
    """EU AI Act risk classes (Art. 5 prohibited, Art. 6 high, Art. 50 limited, Art. 51 GPAI)."""

    prohibited = "prohibited"
    high = "high"
    limited = "limited"
    minimal = "minimal"
    general_purpose = "general_purpose"


class DeploymentStatus(StrEnum):
    """The organisation's own IT/security policy for a system."""

    allowed = "allowed"
    restricted = "restricted"
    prohibited = "prohibited"


class ImpactLevel(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


class ImpactType(StrEnum):
    decision_making = "decision_making"
    case_files = "case_files"
    reporting = "reporting"
    client_contact = "client_contact"


class LinkState(StrEnum):
    current = "current"
    planned = "planned"


class Involvement(StrEnum):
    operates = "operates"
    uses_output = "uses_output"
    oversees = "oversees"


class RoleRiskClass(StrEnum):
    """The combined scale of a role's derived risk (see app.registry.service)."""

    minimal = "minimal"
    limited = "limited"
    high = "high"


class IntakeStatus(StrEnum):
    new = "new"
    existing_system = "existing_system"
    new_system = "new_system"
    rejected = "rejected"


class AISystem(TimestampedTable, table=True):
    __tablename__ = "ai_system"

    name: str = Field(max_length=200, unique=True)
    vendor: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, sa_type=sa.Text)
    purpose: str | None = Field(default=None, sa_type=sa.Text)
    risk_class: AIRiskClass = Field(sa_type=sa.String(20), index=True)
    deployment_status: DeploymentStatus = Field(sa_type=sa.String(20), index=True)
    conditions: str | None = Field(default=None, sa_type=sa.Text)
    allowed_data_classifications: list[str] = Field(default_factory=list, sa_type=PortableJSON)
    owner_org_unit_id: uuid.UUID | None = Field(default=None, foreign_key="org_unit.id", index=True)
    last_review_date: date | None = None
    # AI Act Art. 26(7): workers' representatives and affected workers informed before use.
    workers_informed_date: date | None = None


class AISystemOverseer(SQLModel, table=True):
    """AI Act Art. 26(2): a role or a person assigned to human oversight of a system."""

    __tablename__ = "ai_system_overseer"
    __table_args__ = (
        sa.CheckConstraint(
            "(role_id IS NULL AND person_id IS NOT NULL) OR (role_id IS NOT NULL AND person_id IS NULL)",
            name="role_xor_person",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    ai_system_id: uuid.UUID = Field(foreign_key="ai_system.id", index=True)
    role_id: uuid.UUID | None = Field(default=None, foreign_key="role.id", index=True)
    person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)


class Process(TimestampedTable, table=True):
    __tablename__ = "process"

    name: str = Field(max_length=200, unique=True)
    owner_org_unit_id: uuid.UUID | None = Field(default=None, foreign_key="org_unit.id", index=True)
    description: str | None = Field(default=None, sa_type=sa.Text)
    impact_level: ImpactLevel = Field(sa_type=sa.String(10), index=True)
    impact_types: list[str] = Field(default_factory=list, sa_type=PortableJSON)
    risk_register_ref: str | None = Field(default=None, max_length=100)


class ProcessAISystem(SQLModel, table=True):
    __tablename__ = "process_ai_system"

    process_id: uuid.UUID = Field(foreign_key="process.id", primary_key=True)
    ai_system_id: uuid.UUID = Field(foreign_key="ai_system.id", primary_key=True, index=True)


class RoleProcessLink(TimestampedTable, table=True):
    """A role works with AI in a process, now or from a planned date, in one kind of involvement."""

    __tablename__ = "role_process_link"
    __table_args__ = (sa.UniqueConstraint("role_id", "process_id", "involvement"),)

    role_id: uuid.UUID = Field(foreign_key="role.id", index=True)
    process_id: uuid.UUID = Field(foreign_key="process.id", index=True)
    involvement: Involvement = Field(sa_type=sa.String(20))
    state: LinkState = Field(sa_type=sa.String(10))
    planned_from_date: date | None = None


class RoleRiskOverride(SQLModel, table=True):
    """IT/security's override of a role's derived risk class; append-only, the latest counts.

    A row with `override_class` null withdraws the override. The integer id orders the rows,
    so two overrides within one clock tick still have a definite latest.
    """

    __tablename__ = "role_risk_override"

    id: int | None = Field(default=None, primary_key=True)
    role_id: uuid.UUID = Field(foreign_key="role.id", index=True)
    override_class: RoleRiskClass | None = Field(default=None, sa_type=sa.String(10))
    reason: str = Field(sa_type=sa.Text)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, nullable=False)


class IntakeDeclaration(TimestampedTable, table=True):
    """An employee's or manager's declaration of an AI tool they use, and its triage."""

    __tablename__ = "intake_declaration"

    tool: str = Field(max_length=200)
    purpose: str = Field(sa_type=sa.Text)
    process: str | None = Field(default=None, sa_type=sa.Text)
    process_id: uuid.UUID | None = Field(default=None, foreign_key="process.id", index=True)
    declared_by: str = Field(max_length=200)
    person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)
    status: IntakeStatus = Field(default=IntakeStatus.new, sa_type=sa.String(20), index=True)
    ai_system_id: uuid.UUID | None = Field(default=None, foreign_key="ai_system.id", index=True)
    triage_note: str | None = Field(default=None, sa_type=sa.Text)
    triaged_by: str | None = Field(default=None, max_length=200)
    triaged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
