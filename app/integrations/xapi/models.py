"""Stored xAPI statements, activity ids seen without a mapping, and LRS pull checkpoints.

A statement is kept exactly as received (plus the LRS-set id, stored, authority,
timestamp and version, xAPI 1.0.3 Data 2.3.1.b1) in `raw`; the other columns are
indexes for the query parameters of GET /xapi/statements and for evidence derivation.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.db import UTCDateTime


class PersonResolution(StrEnum):
    resolved = "resolved"  # the actor is a known person
    pending = "pending"  # an agent we may learn later (HR sync); the worker retries
    not_a_person = "not_a_person"  # a Group, an openid or a foreign account: never evidence


class XapiStatement(SQLModel, table=True):
    __tablename__ = "xapi_statement"
    __table_args__ = (
        sa.Index("ix_xapi_statement_stored", "stored_at", "id"),
        sa.Index("ix_xapi_statement_pending", "resolution", "actor_ifi"),
    )

    id: uuid.UUID = Field(primary_key=True)
    raw: str = Field(sa_type=sa.Text, description="The statement JSON as stored")
    verb_id: str = Field(max_length=1000, index=True)
    actor_ifi: str = Field(max_length=1000, index=True)
    object_type: str = Field(max_length=20)
    object_activity_id: str | None = Field(default=None, max_length=1000, index=True)
    object_agent_ifi: str | None = Field(default=None, max_length=1000)
    object_statement_id: uuid.UUID | None = Field(default=None, index=True)
    # Newline-delimited (a newline cannot occur in an IRI) for related_activities/related_agents.
    related_activities: str = Field(default="", sa_type=sa.Text)
    related_agents: str = Field(default="", sa_type=sa.Text)
    registration: uuid.UUID | None = Field(default=None, index=True)
    timestamp_at: datetime = Field(sa_type=UTCDateTime)
    stored_at: datetime = Field(sa_type=UTCDateTime)
    voided: bool = Field(default=False)
    person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)
    resolution: PersonResolution = Field(sa_type=sa.String(20))
    authority_client_id: str | None = Field(default=None, max_length=200)


class XapiUnmappedActivity(SQLModel, table=True):
    """An activity id statements were received for while no mapping matched it."""

    __tablename__ = "xapi_unmapped_activity"

    activity_id: str = Field(primary_key=True, max_length=1000)
    statement_count: int = Field(default=0)
    first_seen_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class LrsSyncCheckpoint(SQLModel, table=True):
    """Where pulling from a remote LRS stopped: the `stored` of the last statement applied."""

    __tablename__ = "lrs_sync_checkpoint"

    endpoint: str = Field(primary_key=True, max_length=1000)
    since: str | None = Field(default=None, max_length=64)
    last_statement_id: uuid.UUID | None = None
    statements_applied: int = Field(default=0)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
