"""Request and response shapes of the webhook subscriptions and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.integrations.webhooks import signing
from app.integrations.webhooks.models import DeliveryState

# Every event type the service emits (issue 7 item 5); a new event adds its type here.
EVENT_TYPES: dict[str, str] = {
    "certification.awarded": "A tier was awarded to a person.",
    "certification.renewed": "A person's certification was renewed.",
    "certification.expiring": "A certification entered its recertification window.",
    "certification.expired": "A certification passed its valid_until.",
    "certification.revoked": "A certification was revoked.",
    "certification.suspended": "A certification was suspended.",
    "certification.withdrawn": "A certification was withdrawn because its evidence was voided.",
    "person.compliance_changed": "A person became compliant or non-compliant.",
    "competency_model.published": "A competency model version was published.",
    "evaluation.completed": "A bulk evaluation run finished.",
    "report.published": "A scheduled report edition was published; `link` points to it.",
}
ALL_EVENTS = "*"
PING_EVENT = "webhook.test"


def _check_event_types(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    unknown = [v for v in values if v != ALL_EVENTS and v not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event types {unknown}; use '*' or any of {sorted(EVENT_TYPES)}")
    return list(dict.fromkeys(values))


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1, max_length=2000, examples=["https://hr.example.com/hooks/aidiploma"]
    )
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] = Field(
        min_length=1,
        max_length=50,
        description="Event types to receive; '*' means all.",
        examples=[["certification.awarded", "certification.revoked"]],
    )
    secret: str | None = Field(
        default=None,
        max_length=200,
        description="A whsec_<base64> signing secret of 24-64 bytes; generated when absent.",
    )
    active: bool = True
    allow_private_network: bool = Field(
        default=False,
        description="Allow private and loopback targets; needs AIDIPLOMA_WEBHOOKS_ALLOW_PRIVATE.",
    )

    _event_types = field_validator("event_types")(_check_event_types)

    @field_validator("secret")
    @classmethod
    def _secret_format(cls, value: str | None) -> str | None:
        if value is not None:
            signing.secret_key(value)
        return value


class SubscriptionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=50)
    active: bool | None = Field(
        default=None, description="true re-enables a disabled subscription and resets failures."
    )
    allow_private_network: bool | None = None

    _event_types = field_validator("event_types")(_check_event_types)


class SubscriptionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    active: bool
    allow_private_network: bool
    failure_count: int = Field(description="Consecutive failed attempts.")
    disabled_at: datetime | None
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None = Field(
        description="While set and in the future, deliveries carry two signatures."
    )
    created_at: datetime
    updated_at: datetime
    version: int


class SubscriptionWithSecret(SubscriptionPublic):
    secret: str = Field(description="The signing secret; shown only on create and rotation.")


class RotateSecret(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_seconds: int | None = Field(
        default=None,
        ge=0,
        le=30 * 86400,
        description="How long the old secret keeps signing too; default from the settings.",
    )


class AttemptPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt_number: int
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    response_excerpt: str | None


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID = Field(description="The webhook-id header; the same on every retry.")
    event_seq: int | None
    event_type: str
    ordering_key: str | None
    state: DeliveryState
    attempt_count: int
    next_attempt_at: datetime | None = Field(description="When the next attempt is due.")
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryWithAttempts(DeliveryPublic):
    attempts: list[AttemptPublic]


class EventTypePublic(BaseModel):
    type: str
    description: str
