"""Tables of the outgoing webhooks: subscriptions, one delivery per (subscription, event),
the log of every attempt, and the fan-out cursor over the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.db import PortableJSON, TimestampedTable, UTCDateTime, utc_field


class DeliveryState(StrEnum):
    pending = "pending"  # never attempted yet
    failed = "failed"  # the last attempt failed; another is scheduled
    succeeded = "succeeded"
    dead = "dead"  # retries exhausted (or the endpoint answered 410): in the dead-letter list


# States in which a delivery still holds back later events for the same person.
OPEN_STATES = (DeliveryState.pending, DeliveryState.failed)


class WebhookSubscription(TimestampedTable, table=True):
    __tablename__ = "webhook_subscription"

    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_type=PortableJSON)
    # Standard Webhooks symmetric secrets, serialised as whsec_<base64>.
    secret: str = Field(max_length=200)
    previous_secret: str | None = Field(default=None, max_length=200)
    previous_secret_expires_at: datetime | None = utc_field(default=None)
    active: bool = Field(default=True)
    allow_private_network: bool = Field(default=False)
    failure_count: int = Field(default=0)
    disabled_at: datetime | None = utc_field(default=None)
    disabled_reason: str | None = Field(default=None, max_length=500)
    # Only outbox events after this seq are delivered (none from before the subscription).
    starting_seq: int = Field(default=0)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_id"),
        sa.Index("ix_webhook_delivery_due", "state", "next_attempt_at"),
        sa.Index("ix_webhook_delivery_order", "subscription_id", "ordering_key", "event_seq"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID = Field(foreign_key="webhook_subscription.id", ondelete="CASCADE")
    # The outbox event delivered; null for a test ping, whose body is in `payload`.
    event_seq: int | None = Field(default=None, foreign_key="outbox_event.seq")
    event_id: uuid.UUID = Field(description="The webhook-id header")
    event_type: str = Field(max_length=100)
    ordering_key: str | None = Field(default=None, max_length=200)
    payload: dict[str, object] | None = Field(default=None, sa_type=PortableJSON)
    state: DeliveryState = Field(default=DeliveryState.pending, sa_type=sa.String(20))
    attempt_count: int = Field(default=0)
    # Index into the retry schedule; a replay starts it again at 0.
    schedule_step: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    # A claim by a worker: nobody else attempts it until the lease runs out (crash recovery).
    claimed_by: uuid.UUID | None = Field(default=None)
    claimed_until: datetime | None = utc_field(default=None)
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=1000)
    delivered_at: datetime | None = utc_field(default=None)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempt"
    # One row per attempt number: two workers can never both record attempt n of a delivery.
    __table_args__ = (sa.UniqueConstraint("delivery_id", "attempt_number"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhook_delivery.id", ondelete="CASCADE")
    attempt_number: int
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = Field(default=None)
    duration_ms: int
    error: str | None = Field(default=None, max_length=1000)
    response_excerpt: str | None = Field(default=None, max_length=500)


class WebhookCursor(SQLModel, table=True):
    """How far the fan-out has read the outbox (seq is commit order, so nothing is skipped)."""

    __tablename__ = "webhook_cursor"

    name: str = Field(primary_key=True, max_length=50)
    last_seq: int = Field(default=0)
