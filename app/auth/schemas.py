"""Request and response shapes of the auth endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.auth.scopes import SCOPES


def _check_scopes(value: list[str]) -> list[str]:
    unknown = [scope for scope in value if scope not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}")
    return sorted(set(value))


class ApiClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, examples=[["org:read", "certifications:read"]])
    person_id: uuid.UUID | None = Field(
        default=None, description="Link to a person, for a manager's team-scoped client."
    )

    _scopes = field_validator("scopes")(_check_scopes)


class ApiClientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    scopes: list[str] | None = Field(default=None, min_length=1)
    active: bool | None = None
    person_id: uuid.UUID | None = None

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_scopes(value)


class ApiClientPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: str
    name: str
    scopes: list[str]
    active: bool
    person_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    version: int


class ApiClientWithSecret(ApiClientPublic):
    client_secret: str = Field(description="Shown once; only its hash is stored.")


class TokenResponse(BaseModel):
    """RFC 6749 5.1 access token response."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    """RFC 6749 5.2 error response, with RFC 9457 fields alongside."""

    model_config = ConfigDict(extra="allow")

    error: str
    error_description: str | None = None
    type: str | None = None
    title: str | None = None
    status: int | None = None


class JWKS(BaseModel):
    keys: list[dict[str, Any]]


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    occurred_at: datetime
    actor: str | None
    request_id: str | None
    entity_type: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


class AuditChainReport(BaseModel):
    intact: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None
