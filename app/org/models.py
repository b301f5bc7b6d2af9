"""The organisation as HR knows it: org units in a tree, locations, job families, roles, people.

People are keyed by the HR system's employee number and are never hard-deleted:
deactivation keeps every record that refers to them (evidence, diplomas, audit).
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import TimestampedTable


class OrgUnitKind(StrEnum):
    business_unit = "business_unit"
    department = "department"
    team = "team"


class OrgUnit(TimestampedTable, table=True):
    __tablename__ = "org_unit"

    external_id: str = Field(max_length=100, unique=True, description="Key in the HR system")
    name: str = Field(max_length=200)
    kind: OrgUnitKind = Field(sa_type=sa.String(20))
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="org_unit.id", index=True)
    active: bool = Field(default=True)


class Location(TimestampedTable, table=True):
    __tablename__ = "location"

    external_id: str = Field(max_length=100, unique=True)
    name: str = Field(max_length=200)


class JobFamily(TimestampedTable, table=True):
    __tablename__ = "job_family"

    key: str = Field(max_length=100, unique=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_type=sa.Text)


class Role(TimestampedTable, table=True):
    __tablename__ = "role"

    key: str = Field(max_length=100, unique=True, description="Stable key, also the HR sync key")
    name: str = Field(max_length=200)
    job_family_id: uuid.UUID | None = Field(default=None, foreign_key="job_family.id", index=True)
    description: str | None = Field(default=None, sa_type=sa.Text)
    external_job_code: str | None = Field(default=None, max_length=100, index=True)
    active: bool = Field(default=True)


class Person(TimestampedTable, table=True):
    __tablename__ = "person"

    employee_number: str = Field(max_length=64, unique=True)
    given_name: str = Field(max_length=200)
    family_name: str = Field(max_length=200)
    display_name: str | None = Field(
        default=None, max_length=200, description="Name as shown, when HR has a preferred one"
    )
    email: str | None = Field(default=None, max_length=320, unique=True)
    org_unit_id: uuid.UUID | None = Field(default=None, foreign_key="org_unit.id", index=True)
    location_id: uuid.UUID | None = Field(default=None, foreign_key="location.id", index=True)
    manager_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)
    employment_start_date: date | None = None
    employment_end_date: date | None = None
    active: bool = Field(default=True, index=True)
    # The HR source whose records last wrote this person; a complete listing from that
    # source deactivates the people it no longer lists, and only those (not people
    # entered by hand, provisioned by SCIM or kept by another HR source).
    hr_source: str | None = Field(default=None, max_length=100)


class PersonRole(SQLModel, table=True):
    """A person holds a role from a date; an ended role is kept with its end date."""

    __tablename__ = "person_role"

    person_id: uuid.UUID = Field(foreign_key="person.id", primary_key=True)
    role_id: uuid.UUID = Field(foreign_key="role.id", primary_key=True, index=True)
    start_date: date | None = None
    end_date: date | None = None
