"""API clients: machine callers (LMS, HR sync, scripts, dashboards) with hashed secrets and scopes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field

from app.core.db import PortableJSON, TimestampedTable, UTCDateTime


class ApiClient(TimestampedTable, table=True):
    __tablename__ = "api_client"

    client_id: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=255)
    scopes: list[str] = Field(default_factory=list, sa_type=PortableJSON)
    active: bool = Field(default=True)
    # Links a manager's client to their person record: their reports show only their tree.
    person_id: uuid.UUID | None = Field(default=None, index=True)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
