"""Request and response shapes of the org endpoints.

Inputs name references by their external keys (org unit and location external id,
manager employee number, role and job family key), as an HR export does; outputs
carry both the internal ids and those keys, so a GET can be sent back unchanged.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from app.org.models import OrgUnitKind

MAX_BATCH = 1000

Slug = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    ),
]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
EmployeeNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
]


def _normalise_email(value: Any) -> Any:
    # Mailboxes are matched case-insensitively in practice; one stored form keeps email unique.
    if isinstance(value, str):
        return value.strip().lower()
    return value


Email = Annotated[
    str,
    BeforeValidator(_normalise_email),
    StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Locations and job families


class LocationIn(_Strict):
    external_id: ExternalId
    name: Name


class LocationUpdate(_Strict):
    name: Name | None = None


class LocationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    external_id: str
    name: str
    created_at: datetime
    updated_at: datetime
    version: int


class JobFamilyIn(_Strict):
    key: Slug
    name: Name
    description: str | None = Field(default=None, max_length=5000)


class JobFamilyUpdate(_Strict):
    name: Name | None = None
    description: str | None = Field(default=None, max_length=5000)


class JobFamilyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    version: int


# Org units


class OrgUnitIn(_Strict):
    """An org unit as HR knows it; also one record of a batch upsert or CSV line."""

    external_id: ExternalId = Field(description="Key in the HR system", examples=["dir-dv"])
    name: Name
    kind: OrgUnitKind
    parent: ExternalId | None = Field(
        default=None, description="external_id of the parent org unit; null for a root"
    )
    active: bool = True


class OrgUnitUpdate(_Strict):
    name: Name | None = None
    kind: OrgUnitKind | None = None
    parent: ExternalId | None = None
    active: bool | None = None


class OrgUnitPublic(BaseModel):
    id: uuid.UUID
    external_id: str
    name: str
    kind: OrgUnitKind
    parent_id: uuid.UUID | None
    parent: str | None = Field(description="external_id of the parent")
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int


# Roles


class RoleIn(_Strict):
    """A role (function); also one record of a batch upsert or CSV line."""

    key: Slug = Field(description="Stable key, also the HR sync key", examples=["wmo-consulent"])
    name: Name
    job_family: Slug | None = Field(default=None, description="key of the job family")
    description: str | None = Field(default=None, max_length=5000)
    external_job_code: ExternalId | None = None
    active: bool = True


class RoleUpdate(_Strict):
    name: Name | None = None
    job_family: Slug | None = None
    description: str | None = Field(default=None, max_length=5000)
    external_job_code: ExternalId | None = None
    active: bool | None = None


class RolePublic(BaseModel):
    id: uuid.UUID
    key: str
    name: str
    job_family_id: uuid.UUID | None
    job_family: str | None = Field(description="key of the job family")
    description: str | None
    external_job_code: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int


# People


class RoleAssignmentIn(_Strict):
    role: Slug = Field(description="key of the role")
    start_date: date | None = Field(
        default=None,
        description="Defaults to the date already held, else the employment start, else today.",
    )


class _PersonFields(_Strict):
    given_name: Name
    family_name: Name
    display_name: Name | None = None
    email: Email | None = Field(default=None, description="Work email; unique when present")
    org_unit: ExternalId | None = Field(default=None, description="external_id of the org unit")
    location: ExternalId | None = Field(default=None, description="external_id of the location")
    manager: EmployeeNumber | None = Field(default=None, description="employee number")
    roles: list[RoleAssignmentIn] = Field(
        min_length=1,
        max_length=50,
        description="The roles held now (one or more); roles not listed are ended, not deleted.",
    )
    employment_start_date: date | None = None
    employment_end_date: date | None = None
    active: bool = True

    @field_validator("roles")
    @classmethod
    def _distinct_roles(cls, value: list[RoleAssignmentIn]) -> list[RoleAssignmentIn]:
        keys = [assignment.role for assignment in value]
        if len(set(keys)) != len(keys):
            raise ValueError("a role is listed twice")
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> _PersonFields:
        start, end = self.employment_start_date, self.employment_end_date
        if start and end and end < start:
            raise ValueError("employment_end_date is before employment_start_date")
        return self


class PersonIn(_PersonFields):
    """A person as HR knows them; also one record of a batch upsert or CSV line."""

    employee_number: EmployeeNumber = Field(
        description="The HR system's employee number: the stable key", examples=["HS0042"]
    )


class PersonUpdate(_Strict):
    """Fields to change; the employee number is the stable key and cannot change."""

    given_name: Name | None = None
    family_name: Name | None = None
    display_name: Name | None = None
    email: Email | None = None
    org_unit: ExternalId | None = None
    location: ExternalId | None = None
    manager: EmployeeNumber | None = None
    roles: list[RoleAssignmentIn] | None = Field(default=None, min_length=1, max_length=50)
    employment_start_date: date | None = None
    employment_end_date: date | None = None
    active: bool | None = None


class RoleAssignmentPublic(BaseModel):
    role_id: uuid.UUID
    role: str = Field(description="key of the role")
    start_date: date | None
    end_date: date | None = Field(description="Last day held; null while held")


class PersonPublic(BaseModel):
    id: uuid.UUID
    employee_number: str
    given_name: str
    family_name: str
    display_name: str | None
    email: str | None
    org_unit_id: uuid.UUID | None
    org_unit: str | None = Field(description="external_id of the org unit")
    location_id: uuid.UUID | None
    location: str | None = Field(description="external_id of the location")
    manager_id: uuid.UUID | None
    manager: str | None = Field(description="employee number of the manager")
    roles: list[RoleAssignmentPublic] = Field(description="Current and ended roles")
    employment_start_date: date | None
    employment_end_date: date | None
    active: bool
    hr_source: str | None = Field(
        default=None,
        description="The HR source that keeps this person: the name of an HR source (pull "
        "or events) or the SCIM source. A complete listing of that source deactivates the "
        "people it no longer lists; people kept by another source, or by none (created by "
        "hand or by CSV import), are left alone.",
    )
    created_at: datetime
    updated_at: datetime
    version: int


# Batch upsert and CSV import


def _records_field(model: str) -> Any:
    # Records are validated one by one in the service, so one bad record is reported with
    # its index instead of failing the whole request; the schema still documents the shape.
    return Annotated[
        list[dict[str, Any]],
        Field(min_length=1, max_length=MAX_BATCH),
        WithJsonSchema(
            {
                "type": "array",
                "items": {"$ref": f"#/components/schemas/{model}"},
                "minItems": 1,
                "maxItems": MAX_BATCH,
            }
        ),
    ]


class PeopleBatch(_Strict):
    records: _records_field("PersonIn")  # type: ignore[valid-type]


class OrgUnitBatch(_Strict):
    records: _records_field("OrgUnitIn")  # type: ignore[valid-type]


class RoleBatch(_Strict):
    records: _records_field("RoleIn")  # type: ignore[valid-type]


class RecordProblem(BaseModel):
    field: str = Field(description="dotted field name, empty for the record as a whole")
    message: str
    type: str = Field(description="machine-readable code, e.g. unknown_reference, cycle")


class RecordResult(BaseModel):
    index: int = Field(description="0-based position in `records`")
    line: int | None = Field(default=None, description="CSV line number (imports only)")
    key: str | None = Field(description="the record's external key, when readable")
    status: Literal["created", "updated", "unchanged", "error"]
    id: uuid.UUID | None = None
    problems: list[RecordProblem] = Field(default_factory=list)


class BatchCounts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error: int = 0


class BatchResult(BaseModel):
    applied: bool = Field(description="whether the valid records were written")
    partial: bool
    counts: BatchCounts
    results: list[RecordResult]


class LineProblem(BaseModel):
    line: int = Field(description="1-based physical line number in the file (the header is 1)")
    field: str
    message: str
    type: str


class ImportReport(BaseModel):
    kind: str
    dry_run: bool
    applied: bool
    delimiter: str
    rows: int
    counts: BatchCounts
    errors: list[LineProblem]
    ignored_columns: list[str]
    results: list[RecordResult]
