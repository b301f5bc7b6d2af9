"""The SCIM face of a person: the attributes an identity system owns that the org model does
not hold (userName, externalId, enterprise fields as sent, emails), linked one-to-one to a Person.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Field, SQLModel

from app.core.db import PortableJSON, TimestampedTable


class ScimUser(TimestampedTable, table=True):
    __tablename__ = "scim_user"

    person_id: uuid.UUID = Field(foreign_key="person.id", unique=True)
    user_name: str = Field(max_length=256)
    # userName is unique case-insensitively (RFC 7643 4.1.1: caseExact false).
    user_name_key: str = Field(max_length=256, unique=True)
    external_id: str | None = Field(default=None, max_length=256, unique=True)
    title: str | None = Field(default=None, max_length=200)
    department: str | None = Field(default=None, max_length=200)
    division: str | None = Field(default=None, max_length=200)
    organization: str | None = Field(default=None, max_length=200)
    cost_center: str | None = Field(default=None, max_length=200)
    job_code: str | None = Field(default=None, max_length=200)
    location_code: str | None = Field(default=None, max_length=200)
    role_keys: list[str] | None = Field(default=None, sa_type=PortableJSON)
    manager_ref: str | None = Field(
        default=None, max_length=200, description="manager.value as sent, kept while unresolved"
    )
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON)


class ScimEmail(SQLModel, table=True):
    """One of a user's emails (multi-valued, RFC 7643 4.1.2); the primary one is the Person's."""

    __tablename__ = "scim_email"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="person.id", index=True)
    position: int = Field(default=0)
    value: str = Field(max_length=320)
    type: str | None = Field(default=None, max_length=50)
    is_primary: bool = Field(default=False)
