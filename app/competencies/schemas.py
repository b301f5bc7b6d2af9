"""Request and response shapes of competency models.

`VersionContent` is the one document of a version's content: templates, the plain
JSON export/import, copy-to-draft and the diff all go through it. It names
competencies, levels, tiers, roles and job families by their keys.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.competencies.models import (
    ASSESSMENT_FORMS,
    ActivityMatch,
    AssessmentForm,
    DerivationKind,
    PassRule,
    VersionStatus,
)

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
LocalizedText = Annotated[
    dict[LanguageCode, Text],
    Field(min_length=1, description="Text per language code, e.g. {'en': ..., 'nl': ...}"),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DomainContent(Strict):
    key: Key
    title: LocalizedText
    description: LocalizedText | None = None


class LevelContent(Strict):
    key: Key
    title: LocalizedText
    description: LocalizedText | None = None


class CompetencyContent(Strict):
    key: Key = Field(description="Stable across versions; evidence refers to it")
    domain: Key
    title: LocalizedText
    description: LocalizedText | None = None
    level_descriptors: dict[Key, LocalizedText] = Field(
        default_factory=dict, description="What the competency looks like at each level"
    )


def _assessment_forms(value: list[AssessmentForm]) -> list[AssessmentForm]:
    if not value:
        raise ValueError("name at least one accepted assessment form")
    if len(set(value)) != len(value):
        raise ValueError("accepted forms must not repeat")
    if any(form not in ASSESSMENT_FORMS for form in value):
        raise ValueError("course_completion is a learning activity, not an assessment form")
    return value


class RequirementContent(Strict):
    competency: Key
    min_level: Key
    accepted_forms: list[AssessmentForm] = Field(max_length=4)
    min_score: float | None = Field(default=None, ge=0, le=100)

    _forms = field_validator("accepted_forms")(_assessment_forms)


RenewalBasis = Literal["previous_expiry", "completion_date", "fixed_date"]
MonthDay = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]


class TierContent(Strict):
    key: Key
    title: LocalizedText
    description: LocalizedText | None = None
    validity_months: int | None = Field(default=None, ge=1, le=120)
    recertification_window_days: int = Field(default=90, ge=0, le=730)
    grace_period_days: int = Field(default=0, ge=0, le=365)
    due_days: int | None = Field(
        default=None,
        ge=1,
        le=1095,
        description="Days to reach this tier after being hired or starting in a role that "
        "needs it; a role or job family assignment may set its own. Default: 60 for the "
        "first tier, 183 for higher tiers.",
    )
    renewal_basis: RenewalBasis = Field(
        default="previous_expiry",
        description="Which date a renewal inside the window counts from: the previous expiry "
        "(early renewers lose no days), the completion date, or a fixed calendar date "
        "(renewal_fixed_date). After expiry a renewal always counts from the completion date.",
    )
    renewal_fixed_date: MonthDay | None = Field(
        default=None,
        description="MM-DD, for renewal_basis fixed_date: diplomas run until the first such "
        "date on or after the validity period (e.g. '01-01': every diploma ends on 1 January).",
    )
    requirements: list[RequirementContent] = Field(default_factory=list, max_length=500)
    refresher_requirements: list[RequirementContent] = Field(
        default_factory=list,
        max_length=500,
        description="A shorter recertification path (e.g. one micro-learning and a short test): "
        "met with evidence from inside the recertification window or grace period, it renews "
        "the diploma. Outside it, and after expiry, only the full requirements count.",
    )

    @model_validator(mode="after")
    def _fixed_date_for_basis(self) -> TierContent:
        if (self.renewal_basis == "fixed_date") != (self.renewal_fixed_date is not None):
            raise ValueError(
                "renewal_fixed_date is required for renewal_basis fixed_date and only for it"
            )
        return self


class DerivationRuleContent(Strict):
    """By a role's effective risk class from the register, or by being an overseer of a
    high-risk AI system (EU AI Act Art. 26(2))."""

    kind: DerivationKind
    risk_class: Literal["minimal", "limited", "high"] | None = None
    tier: Key

    @model_validator(mode="after")
    def _risk_class_for_kind(self) -> DerivationRuleContent:
        if (self.kind == DerivationKind.risk_class) != (self.risk_class is not None):
            raise ValueError("risk_class is required for kind risk_class and only for it")
        return self


class _RoleOrFamily(Strict):
    role: Key | None = Field(default=None, description="Role key")
    job_family: Key | None = Field(default=None, description="Job family key")

    @model_validator(mode="after")
    def _one_target(self) -> Any:
        if (self.role is None) == (self.job_family is None):
            raise ValueError("name exactly one of role and job_family")
        return self


class RoleTierContent(_RoleOrFamily):
    tier: Key
    reason: Text
    due_days: int | None = Field(
        default=None,
        ge=1,
        le=1095,
        description="Days to reach the tier after starting in this role (e.g. 183 for moving "
        "into a high-risk role); overrides the tier's due_days",
    )


class RoleCompetencyContent(_RoleOrFamily):
    competency: Key
    min_level: Key
    accepted_forms: list[AssessmentForm] = Field(max_length=4)
    min_score: float | None = Field(default=None, ge=0, le=100)
    reason: Text | None = None

    _forms = field_validator("accepted_forms")(_assessment_forms)


class ActivityMappingContent(Strict):
    activity_id: str = Field(
        min_length=1, max_length=1000, description="xAPI activity IRI or SCORM course id"
    )
    match: ActivityMatch = ActivityMatch.exact
    competency: Key
    level: Key
    assessment_form: AssessmentForm
    pass_rule: PassRule
    min_scaled_score: float | None = Field(default=None, ge=-1, le=1)

    @model_validator(mode="after")
    def _score_for_rule(self) -> ActivityMappingContent:
        if (self.pass_rule == PassRule.min_score) != (self.min_scaled_score is not None):
            raise ValueError("min_scaled_score is required for pass_rule min_score and only for it")
        return self


class VersionContent(Strict):
    """The whole content of a model version."""

    domains: list[DomainContent] = Field(default_factory=list, max_length=50)
    levels: list[LevelContent] = Field(
        default_factory=list, max_length=10, description="The proficiency scale, lowest first"
    )
    competencies: list[CompetencyContent] = Field(default_factory=list, max_length=500)
    tiers: list[TierContent] = Field(
        default_factory=list, max_length=10, description="Diploma tiers, lowest first"
    )
    derivation_rules: list[DerivationRuleContent] = Field(default_factory=list, max_length=20)
    role_tiers: list[RoleTierContent] = Field(default_factory=list, max_length=2000)
    role_competencies: list[RoleCompetencyContent] = Field(default_factory=list, max_length=5000)
    activity_mappings: list[ActivityMappingContent] = Field(default_factory=list, max_length=5000)


class ModelCreate(Strict):
    key: Key
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    content: VersionContent | None = Field(
        default=None, description="Content of the first draft; default: five domains, three levels"
    )


class ModelFromTemplate(Strict):
    template: Literal["en", "nl"]
    key: Key
    name: str | None = Field(default=None, min_length=1, max_length=200)


class ModelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    current_version: int | None = Field(
        default=None, description="Number of the current published version"
    )


class VersionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    model_id: uuid.UUID
    number: int
    status: VersionStatus
    based_on_number: int | None
    notes: str | None
    published_at: datetime | None
    retired_at: datetime | None
    created_at: datetime
    updated_at: datetime


class VersionWithContent(VersionPublic):
    content: VersionContent
    tier_implies: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per tier, the lower tiers it implies: it requires each of their "
        "competencies at least at their level",
    )


class VersionCopy(Strict):
    notes: str | None = Field(default=None, max_length=4000)


class PublishWarning(BaseModel):
    code: str
    message: str
    item: str


class PublishResult(BaseModel):
    version: VersionPublic
    warnings: list[PublishWarning]


class DiffEntry(BaseModel):
    kind: Literal["competency", "tier", "requirement"]
    key: str = Field(description="competency key, tier key, or 'tier/competency'")
    change: Literal["added", "removed", "changed"]
    fields: list[str] = Field(default_factory=list, description="Changed fields")


class VersionDiff(BaseModel):
    from_version: int
    to_version: int
    added: list[DiffEntry]
    removed: list[DiffEntry]
    changed: list[DiffEntry]


class ModelDocument(Strict):
    """The service's own plain JSON interchange document of one model version."""

    format: Literal["aidiploma.competency-model/1"] = "aidiploma.competency-model/1"
    key: Key
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    version: int | None = None
    content: VersionContent


class MatchedMapping(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version_id: uuid.UUID
    activity_id: str
    match: ActivityMatch
    competency_key: str
    level_key: str
    assessment_form: AssessmentForm
    pass_rule: PassRule
    min_scaled_score: float | None


class MatrixCell(BaseModel):
    min_level: str
    accepted_forms: list[str]
    min_score: float | None = None


class MatrixRole(BaseModel):
    role_id: uuid.UUID
    role_key: str
    role_name: str
    job_family: str | None
    tier: str | None
    source: Literal["derived", "explicit_role", "explicit_job_family", "none"]
    cells: dict[str, MatrixCell] = Field(description="Per competency key; absent = not required")


class MatrixLevel(BaseModel):
    key: str
    title: str


class MatrixCompetency(BaseModel):
    key: str
    domain: str
    title: str


class Matrix(BaseModel):
    """Roles x competencies: what each role must show, at which minimum level, by which forms."""

    model_config = ConfigDict(extra="forbid")

    model_id: uuid.UUID
    model_key: str
    version: int
    language: str
    levels: list[MatrixLevel]
    competencies: list[MatrixCompetency]
    roles: list[MatrixRole]


class RequiredCompetency(BaseModel):
    competency: str
    min_level: str
    accepted_forms: list[str]
    min_score: float | None = None
    sources: list[str] = Field(description="tier:<key>, role or job_family")


class AppliedRule(BaseModel):
    kind: DerivationKind
    risk_class: str | None
    tier: str


class DerivedTier(BaseModel):
    register_available: bool = Field(description="False while the register is not installed")
    risk_class: str | None = Field(description="The role's effective risk class in the register")
    high_risk_overseer: bool
    rules_applied: list[AppliedRule]
    tier: str | None
    register_reasons: list[str] | None = None


class RoleRequirement(BaseModel):
    """A role's requirement under a model version, and where it comes from."""

    role_id: uuid.UUID
    role_key: str
    role_name: str
    job_family: str | None
    model_id: uuid.UUID
    version: int
    tier: str | None
    source: Literal["derived", "explicit_role", "explicit_job_family", "none"]
    reason: str | None = Field(description="Why the explicit tier was set")
    due_days: int | None = Field(
        default=None,
        description="Days to reach the tier after starting in the role: the assignment's, "
        "else the tier's, else the default (60 for the first tier, 183 for higher)",
    )
    derived: DerivedTier
    competencies: list[RequiredCompetency]


class ModelWithVersion(BaseModel):
    model: ModelPublic
    version: VersionPublic
