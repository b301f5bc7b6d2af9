"""Response shapes of the reports: each answers one reader's question on one screen."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class GroupBy(StrEnum):
    org_unit = "org_unit"
    role = "role"
    job_family = "job_family"
    location = "location"
    risk_class = "risk_class"


class AggregateGroupBy(StrEnum):
    """Dimensions whose groups partition the people (each person in exactly one group)."""

    org_unit = "org_unit"
    location = "location"


class Filters(BaseModel):
    org_unit_id: uuid.UUID | None = None
    role_id: uuid.UUID | None = None
    job_family_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    as_of: date
    manager_id: uuid.UUID | None = None


class MissingCompetency(BaseModel):
    competency: str
    people: int = Field(description="People in scope, not compliant, without valid evidence")


class Figures(BaseModel):
    people: int = Field(description="Active people in the group")
    in_scope: int = Field(description="Of them, people whose roles require a tier")
    certified: int = Field(description="In scope and holding a valid diploma (any tier)")
    compliant: int = Field(description="In scope and holding the required tier and extras")
    compliant_pct: float | None = Field(description="compliant / in_scope, in percent")
    expiring_30: int
    expiring_60: int
    expiring_90: int
    expired: int
    overdue: int = Field(description="Not compliant after their due date")


class CoverageGroup(Figures):
    key: str | None = Field(description="Org unit / location external id, role / family key")
    name: str | None
    id: uuid.UUID | None = None
    required_tiers: dict[str, int] = Field(
        default_factory=dict, description="People in scope per required tier"
    )
    top_missing: list[MissingCompetency] = Field(default_factory=list)


class CoverageReport(BaseModel):
    """Coverage per group; `total` counts each person once (a person may hold several roles)."""

    group_by: GroupBy
    filters: Filters
    total: CoverageGroup
    groups: list[CoverageGroup]


class ExpiringPerson(BaseModel):
    person_id: uuid.UUID
    employee_number: str
    name: str
    email: str | None
    org_unit: str | None
    manager_employee_number: str | None
    tier: str | None
    status: str
    valid_until: date
    grace_until: date | None
    days_left: int
    required_tier: str | None
    compliant: bool


class ExpiringReport(BaseModel):
    """People whose diploma expires within `days`: for reminders and LMS re-enrolment."""

    days: int
    filters: Filters
    count: int
    people: list[ExpiringPerson]


class ProcessSystem(BaseModel):
    id: uuid.UUID
    name: str
    risk_class: str
    deployment_status: str


class ProcessRole(BaseModel):
    id: uuid.UUID
    key: str
    name: str
    involvement: str
    state: str


class ProcessRiskRow(BaseModel):
    process_id: uuid.UUID
    name: str
    risk_register_ref: str | None
    impact_level: str
    impact_types: list[str]
    ai_systems: list[ProcessSystem]
    roles: list[ProcessRole]
    people: int = Field(description="Active people currently in a role working in the process")
    in_scope: int
    compliant: int
    compliant_pct: float | None
    non_compliant: int = Field(description="The residual risk: people not (yet) compliant")
    overdue: int
    expired: int


class ProcessRiskReport(BaseModel):
    """Per process: the share of its people that is compliant (the residual risk view)."""

    filters: Filters
    processes: list[ProcessRiskRow]


class TeamMember(BaseModel):
    person_id: uuid.UUID
    employee_number: str
    name: str
    manager_id: uuid.UUID | None
    org_unit: str | None
    status: str
    tier: str | None
    valid_until: date | None
    required_tier: str | None
    due_date: date | None
    compliant: bool
    overdue: bool
    extras_met: bool
    missing: list[str] = Field(description="Competencies of the required tier still to show")


class TeamReport(BaseModel):
    """A manager's direct and indirect reports with their status and what they still miss."""

    manager_id: uuid.UUID
    filters: Filters
    summary: Figures
    people: list[TeamMember]


class AggregateRow(BaseModel):
    key: str | None
    name: str | None
    suppressed: bool = Field(description="Hidden: fewer people than the minimum group size")
    suppression: str | None = Field(
        default=None,
        description="'small-group', or 'complementary' when hidden so a small group cannot be "
        "derived by subtraction",
    )
    people: int | None
    in_scope: int | None
    certified: int | None
    compliant: int | None
    compliant_pct: float | None
    expiring_90: int | None
    expired: int | None
    overdue: int | None


class WorksCouncilReport(BaseModel):
    """Aggregates only. A group below the minimum size is suppressed; so is the next smallest
    group when the suppressed ones could otherwise be computed as total minus the rest."""

    group_by: AggregateGroupBy
    min_group_size: int
    filters: Filters
    total: AggregateRow
    groups: list[AggregateRow]


class HighRiskRole(BaseModel):
    role_id: uuid.UUID
    key: str
    name: str
    in_scope: int
    compliant: int
    compliant_pct: float | None


class OversightSummary(BaseModel):
    high_risk_systems: int
    systems_without_overseers: int
    overseers: int
    overseers_qualified: int
    systems_without_informed_workers: int


class TrendPoint(BaseModel):
    on: date
    compliant_pct: float | None
    in_scope: int
    compliant: int


class BoardReport(BaseModel):
    """One page: are we compliant, what is slipping, and are the high-risk roles covered."""

    as_of: date
    filters: Filters
    headline_compliant_pct: float | None
    in_scope: int
    certified: int
    compliant: int
    overdue: int
    expiring_30: int
    expiring_90: int
    expired: int
    high_risk_roles: list[HighRiskRole]
    high_risk_roles_compliant_pct: float | None
    oversight: OversightSummary
    trend: list[TrendPoint] = Field(
        default_factory=list, description="Month over month, from the daily snapshots"
    )


class Overseer(BaseModel):
    person_id: uuid.UUID
    employee_number: str
    name: str
    via: str = Field(description="'person' or the overseeing role's key")
    status: str
    tier: str | None
    valid_until: date | None
    required_tier: str | None
    holds_required_tier: bool


class OversightSystem(BaseModel):
    ai_system_id: uuid.UUID
    name: str
    deployment_status: str
    workers_informed_date: date | None
    overseers: list[Overseer]
    overseer_roles_without_people: list[str]
    qualified_overseers: int
    issues: list[str]


class OversightReport(BaseModel):
    """AI Act Art. 26(2) and (7): overseers of each high-risk system and their qualification."""

    as_of: date
    oversight_tier: str | None = Field(
        description="The tier the model requires of high-risk overseers (its derivation rule)"
    )
    systems: list[OversightSystem]
    systems_without_informed_workers: list[str]
    systems_without_qualified_overseer: list[str]


class ScoreMonth(BaseModel):
    month: str
    count: int
    mean: float | None
    buckets: list[int] = Field(description="Counts per score decile: 0-10%, 10-20%, ... 90-100%")


class CompetencyScores(BaseModel):
    competency: str
    months: list[ScoreMonth]


class ActivityPassRate(BaseModel):
    activity_id: str
    people: int = Field(description="People with at least one attempt")
    passed_first_time: int
    first_time_pass_pct: float | None


class EffectivenessReport(BaseModel):
    """Do the measures work: score distributions over time, first-time pass rates."""

    filters: Filters
    from_date: date
    to_date: date
    scores: list[CompetencyScores]
    activities: list[ActivityPassRate]


class DossierDocument(BaseModel):
    """AI Act Art. 4 / ISO/IEC 42001 7.2 documented information, as of a date."""

    title: str
    as_of: date
    generated_at: datetime
    filters: Filters
    scope: dict[str, Any]
    role_matrix: dict[str, Any] | None
    measures: dict[str, Any]
    people: list[dict[str, Any]]
    exceptions: dict[str, Any]
    review_cadence: dict[str, Any]
    ai_systems_in_use: list[dict[str, Any]]


class SignedDossier(BaseModel):
    """The dossier as a JWS (RS256, the service key; verify with /.well-known/jwks.json)."""

    format: str = "JWS"
    kid: str
    jws: str
    dossier: DossierDocument
