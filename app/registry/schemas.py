"""Request and response shapes of the AI-use register."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.registry.models import (
    AIRiskClass,
    DeploymentStatus,
    ImpactLevel,
    ImpactType,
    IntakeStatus,
    Involvement,
    LinkState,
    RoleRiskClass,
)

Classification = Field(min_length=1, max_length=50)


def _unique(values: list[uuid.UUID] | None) -> list[uuid.UUID] | None:
    return None if values is None else list(dict.fromkeys(values))


# --- AI systems ---------------------------------------------------------------------------


class AISystemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Wmo Triage-assistent"])
    vendor: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    purpose: str | None = Field(default=None, max_length=10_000)
    risk_class: AIRiskClass = Field(description="EU AI Act risk class.")
    deployment_status: DeploymentStatus = Field(description="IT/security policy for its use.")
    conditions: str | None = Field(
        default=None, max_length=10_000, description="Conditions of use, e.g. no personal data."
    )
    allowed_data_classifications: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Data classifications that may be used with the system.",
        examples=[["openbaar", "intern"]],
    )
    owner_org_unit_id: uuid.UUID | None = None
    last_review_date: date | None = None
    workers_informed_date: date | None = Field(
        default=None,
        description="AI Act Art. 26(7): when workers' representatives and affected workers "
        "were informed before workplace use (high-risk systems).",
    )
    overseer_role_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=100,
        description="AI Act Art. 26(2): roles assigned to human oversight.",
    )
    overseer_person_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=100,
        description="AI Act Art. 26(2): people assigned to human oversight.",
    )

    @field_validator("allowed_data_classifications")
    @classmethod
    def _classifications(cls, value: list[str]) -> list[str]:
        cleaned = [item.strip() for item in value]
        if any(not item or len(item) > 50 for item in cleaned):
            raise ValueError("each classification needs 1 to 50 characters")
        return list(dict.fromkeys(cleaned))

    _ids = field_validator("overseer_role_ids", "overseer_person_ids")(_unique)


class AISystemUpdate(BaseModel):
    """Only the fields sent change; overseer lists, when sent, replace the current ones."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    vendor: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    purpose: str | None = Field(default=None, max_length=10_000)
    risk_class: AIRiskClass | None = None
    deployment_status: DeploymentStatus | None = None
    conditions: str | None = Field(default=None, max_length=10_000)
    allowed_data_classifications: list[str] | None = Field(default=None, max_length=20)
    owner_org_unit_id: uuid.UUID | None = None
    last_review_date: date | None = None
    workers_informed_date: date | None = None
    overseer_role_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)
    overseer_person_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)

    @field_validator("allowed_data_classifications")
    @classmethod
    def _classifications(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        return AISystemCreate._classifications(value)

    _ids = field_validator("overseer_role_ids", "overseer_person_ids")(_unique)

    @field_validator(
        "name",
        "risk_class",
        "deployment_status",
        "allowed_data_classifications",
        "overseer_role_ids",
        "overseer_person_ids",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class AISystemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    vendor: str | None
    description: str | None
    purpose: str | None
    risk_class: AIRiskClass
    deployment_status: DeploymentStatus
    conditions: str | None
    allowed_data_classifications: list[str]
    owner_org_unit_id: uuid.UUID | None
    last_review_date: date | None
    workers_informed_date: date | None
    overseer_role_ids: list[uuid.UUID] = Field(default_factory=list)
    overseer_person_ids: list[uuid.UUID] = Field(default_factory=list)
    in_use: bool = Field(default=False, description="Used in at least one process of the register.")
    flags: list[str] = Field(
        default_factory=list,
        description="Register problems: art26_no_overseers, art26_workers_not_informed "
        "(a high-risk system in use), prohibited_in_use (policy or AI Act class prohibited).",
    )
    created_at: datetime
    updated_at: datetime
    version: int


# --- processes ----------------------------------------------------------------------------


class ProcessCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Aanvraag bijstand beoordelen"])
    owner_org_unit_id: uuid.UUID | None = None
    description: str | None = Field(default=None, max_length=10_000)
    impact_level: ImpactLevel
    impact_types: list[ImpactType] = Field(default_factory=list, max_length=4)
    risk_register_ref: str | None = Field(
        default=None,
        max_length=100,
        examples=["RR-2026-014"],
        description="Id in the risk register.",
    )
    ai_system_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)

    @field_validator("impact_types")
    @classmethod
    def _types(cls, value: list[ImpactType]) -> list[ImpactType]:
        return list(dict.fromkeys(value))

    _ids = field_validator("ai_system_ids")(_unique)


class ProcessUpdate(BaseModel):
    """Only the fields sent change; `ai_system_ids`, when sent, replaces the current set."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    owner_org_unit_id: uuid.UUID | None = None
    description: str | None = Field(default=None, max_length=10_000)
    impact_level: ImpactLevel | None = None
    impact_types: list[ImpactType] | None = Field(default=None, max_length=4)
    risk_register_ref: str | None = Field(default=None, max_length=100)
    ai_system_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)

    @field_validator("impact_types")
    @classmethod
    def _types(cls, value: list[ImpactType] | None) -> list[ImpactType] | None:
        return None if value is None else list(dict.fromkeys(value))

    _ids = field_validator("ai_system_ids")(_unique)

    @field_validator("name", "impact_level", "impact_types", "ai_system_ids")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class ProcessPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    owner_org_unit_id: uuid.UUID | None
    description: str | None
    impact_level: ImpactLevel
    impact_types: list[ImpactType]
    risk_register_ref: str | None
    ai_system_ids: list[uuid.UUID] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int


# --- role-process links -------------------------------------------------------------------


class RoleLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role_id: uuid.UUID
    process_id: uuid.UUID
    involvement: Involvement
    state: LinkState = LinkState.current
    planned_from_date: date | None = Field(
        default=None, description="Required when state is planned, absent when current."
    )


class RoleLinkUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: LinkState | None = None
    planned_from_date: date | None = None


class RoleLinkPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    role_id: uuid.UUID
    process_id: uuid.UUID
    involvement: Involvement
    state: LinkState
    planned_from_date: date | None
    created_at: datetime
    updated_at: datetime
    version: int


# --- role risk ----------------------------------------------------------------------------


class RiskOverrideCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    risk_class: RoleRiskClass | None = Field(
        description="The class IT/security sets for the role; null withdraws the override."
    )
    reason: str = Field(min_length=3, max_length=5_000)


class RiskOverridePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    role_id: uuid.UUID
    override_class: RoleRiskClass | None
    reason: str
    decided_by: str | None
    decided_at: datetime


class RoleRiskPublic(BaseModel):
    role_id: uuid.UUID
    derived_class: RoleRiskClass
    override_class: RoleRiskClass | None
    effective_class: RoleRiskClass
    reasons: list[str]


class ExposureSystem(BaseModel):
    id: uuid.UUID
    name: str
    risk_class: AIRiskClass
    deployment_status: DeploymentStatus


class ExposureProcess(BaseModel):
    id: uuid.UUID
    name: str
    impact_level: ImpactLevel
    impact_types: list[ImpactType]
    risk_register_ref: str | None
    involvement: Involvement
    state: LinkState
    planned_from_date: date | None
    ai_systems: list[ExposureSystem]


class RoleExposure(BaseModel):
    role_id: uuid.UUID
    role_key: str
    role_name: str
    risk: RoleRiskPublic
    processes: list[ExposureProcess]
    ai_systems: list[ExposureSystem] = Field(description="Every AI system the role touches.")


# --- the overview -------------------------------------------------------------------------


class OrgUnitCount(BaseModel):
    org_unit_id: uuid.UUID | None
    org_unit_external_id: str | None
    org_unit_name: str | None
    count: int


class PeopleCount(BaseModel):
    total: int
    per_org_unit: list[OrgUnitCount]


class LinkInvolvement(BaseModel):
    involvement: Involvement
    state: LinkState
    planned_from_date: date | None


class OverviewRole(BaseModel):
    role_id: uuid.UUID
    role_key: str
    role_name: str
    involvements: list[LinkInvolvement]
    active_people: int


class OverviewSystem(ExposureSystem):
    flags: list[str]


class CriticalProcess(BaseModel):
    id: uuid.UUID
    name: str
    owner_org_unit_id: uuid.UUID | None
    impact_level: ImpactLevel
    impact_types: list[ImpactType]
    risk_register_ref: str | None
    highest_ai_risk_class: AIRiskClass | None
    ai_systems: list[OverviewSystem]
    roles: list[OverviewRole]
    active_people: PeopleCount
    flags: list[str] = Field(description="Flags of its AI systems, deduplicated.")


class CriticalProcesses(BaseModel):
    items: list[CriticalProcess]
    as_of_date: date = Field(description="The day whose current role assignments were counted.")


# --- intake -------------------------------------------------------------------------------


class IntakeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: str = Field(min_length=1, max_length=200, examples=["ChatGPT (gratis versie)"])
    purpose: str = Field(min_length=1, max_length=5_000)
    process: str | None = Field(
        default=None, max_length=5_000, description="The work it is used in, in own words."
    )
    process_id: uuid.UUID | None = Field(default=None, description="A process of the register.")
    declared_by: str = Field(
        min_length=1, max_length=200, description="Who uses it: name, e-mail or employee number."
    )
    person_id: uuid.UUID | None = None


class IntakeTriage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: IntakeStatus = Field(
        description="existing_system (give ai_system_id), new_system (give new_system) or rejected."
    )
    ai_system_id: uuid.UUID | None = None
    new_system: AISystemCreate | None = None
    note: str | None = Field(default=None, max_length=5_000)


class IntakePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tool: str
    purpose: str
    process: str | None
    process_id: uuid.UUID | None
    declared_by: str
    person_id: uuid.UUID | None
    status: IntakeStatus
    ai_system_id: uuid.UUID | None
    triage_note: str | None
    triaged_by: str | None
    triaged_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
