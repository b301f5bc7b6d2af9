"""Use cases of webhook subscriptions: create, change, delete, rotate the secret, send a test
ping, read the delivery log and dead letters, replay a delivery.

Delivery itself (fan-out of outbox events and the HTTP attempts) is in `delivery.py`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core import audit, clock, urls
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.outbox import OutboxEvent
from app.core.pagination import PageParams, paginate
from app.integrations.webhooks import signing
from app.integrations.webhooks.models import (
    OPEN_STATES,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from app.integrations.webhooks.schemas import (
    PING_EVENT,
    AttemptPublic,
    DeliveryPublic,
    DeliveryWithAttempts,
    SubscriptionCreate,
    SubscriptionUpdate,
)

ENTITY = "webhook_subscription"


def _snapshot(subscription: WebhookSubscription) -> dict[str, Any]:
    """The audited state of a subscription; secrets never enter the audit trail."""
    return subscription.model_dump(
        exclude={"secret", "previous_secret", "created_at", "updated_at"}
    )


def _check_target(url: str, *, allow_private_network: bool, private_allowed: bool) -> None:
    if allow_private_network and not private_allowed:
        raise Unprocessable(
            "allow_private_network needs AIDIPLOMA_WEBHOOKS_ALLOW_PRIVATE=true on the server.",
            slug="private-network-not-allowed",
        )
    try:
        urls.check(url, allow_private=allow_private_network, must_resolve=False)
    except urls.UnsafeURL as exc:
        raise Unprocessable(f"The webhook URL is not allowed: {exc}.", slug="unsafe-url") from exc


def create_subscription(
    session: Session, *, data: SubscriptionCreate, private_allowed: bool
) -> WebhookSubscription:
    """A new subscription; it receives the events committed after it."""
    _check_target(
        data.url, allow_private_network=data.allow_private_network, private_allowed=private_allowed
    )
    last_seq = session.execute(sa.select(sa.func.max(OutboxEvent.seq))).scalar()
    subscription = WebhookSubscription.model_validate(
        data.model_dump(exclude={"secret"}),
        update={"secret": data.secret or signing.new_secret(), "starting_seq": int(last_seq or 0)},
    )
    if not subscription.active:
        subscription.disabled_at = clock.now()
        subscription.disabled_reason = "created inactive"
    session.add(subscription)
    session.flush()
    audit.record(
        session,
        entity_type=ENTITY,
        entity_id=subscription.id,
        action="create",
        after=_snapshot(subscription),
    )
    return subscription


def list_subscriptions(
    session: Session, *, page: PageParams
) -> tuple[list[WebhookSubscription], str | None]:
    return paginate(
        session,
        select(WebhookSubscription),
        id_column=WebhookSubscription.id,
        params=page,
        updated_at_column=WebhookSubscription.updated_at,
    )


def get_subscription(session: Session, *, subscription_id: uuid.UUID) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound(f"No webhook subscription {subscription_id}.")
    return subscription


def update_subscription(
    session: Session,
    *,
    subscription: WebhookSubscription,
    data: SubscriptionUpdate,
    private_allowed: bool,
) -> WebhookSubscription:
    """Change the fields sent; `active: true` re-enables a disabled subscription."""
    before = _snapshot(subscription)
    changes = data.model_dump(exclude_unset=True)
    for field in ("url", "event_types", "active", "allow_private_network"):
        if field in changes and changes[field] is None:
            raise Unprocessable(f"{field} cannot be null.")
    url = changes.get("url", subscription.url)
    allow_private = changes.get("allow_private_network", subscription.allow_private_network)
    if "url" in changes or "allow_private_network" in changes:
        _check_target(url, allow_private_network=allow_private, private_allowed=private_allowed)
    for field, value in changes.items():
        setattr(subscription, field, value)
    if changes.get("active") is True and subscription.disabled_at is not None:
        subscription.disabled_at = None
        subscription.disabled_reason = None
        subscription.failure_count = 0
    elif changes.get("active") is False and subscription.disabled_at is None:
        subscription.disabled_at = clock.now()
        subscription.disabled_reason = "disabled through the API"
    subscription.version += 1
    subscription.updated_at = clock.now()
    session.add(subscription)
    session.flush()
    audit.record(
        session,
        entity_type=ENTITY,
        entity_id=subscription.id,
        action="update",
        before=before,
        after=_snapshot(subscription),
    )
    return subscription


def delete_subscription(session: Session, *, subscription: WebhookSubscription) -> None:
    """Delete the subscription with its deliveries and their log."""
    deliveries = select(WebhookDelivery.id).where(
        WebhookDelivery.subscription_id == subscription.id
    )
    session.execute(
        sa.delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(deliveries))
    )
    session.execute(
        sa.delete(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == subscription.id)
    )
    before = _snapshot(subscription)
    session.delete(subscription)
    session.flush()
    audit.record(
        session, entity_type=ENTITY, entity_id=subscription.id, action="delete", before=before
    )


def rotate_secret(
    session: Session, *, subscription: WebhookSubscription, overlap: timedelta
) -> WebhookSubscription:
    """A new secret; the old one keeps signing alongside it for `overlap` (zero-downtime
    rotation, Standard Webhooks "Webhook headers")."""
    now = clock.now()
    subscription.previous_secret = subscription.secret if overlap.total_seconds() > 0 else None
    subscription.previous_secret_expires_at = now + overlap if overlap.total_seconds() > 0 else None
    subscription.secret = signing.new_secret()
    subscription.version += 1
    subscription.updated_at = now
    session.add(subscription)
    session.flush()
    audit.record(
        session,
        entity_type=ENTITY,
        entity_id=subscription.id,
        action="rotate-secret",
        after={"previous_secret_expires_at": subscription.previous_secret_expires_at},
    )
    return subscription


def send_test(session: Session, *, subscription: WebhookSubscription) -> WebhookDelivery:
    """Queue a `webhook.test` ping; the worker sends it like any event, within a second."""
    if not subscription.active:
        raise Conflict("The subscription is disabled; enable it before testing.")
    now = clock.now()
    event_id = uuid.uuid4()
    delivery = WebhookDelivery(
        subscription_id=subscription.id,
        event_id=event_id,
        event_type=PING_EVENT,
        payload={
            "type": PING_EVENT,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": {"subscription_id": str(subscription.id)},
        },
        next_attempt_at=now,
    )
    session.add(delivery)
    session.flush()
    audit.record(
        session,
        entity_type="webhook_delivery",
        entity_id=delivery.id,
        action="test",
        after={"subscription_id": subscription.id, "event_id": event_id},
    )
    return delivery


# --- the delivery log -----------------------------------------------------------------------


def _with_attempts(
    session: Session, deliveries: list[WebhookDelivery]
) -> list[DeliveryWithAttempts]:
    ids = [d.id for d in deliveries]
    attempts: dict[uuid.UUID, list[AttemptPublic]] = {i: [] for i in ids}
    if ids:
        rows = session.exec(
            select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id).in_(ids))
            .order_by(col(WebhookAttempt.attempt_number))
        ).all()
        for row in rows:
            attempts[row.delivery_id].append(AttemptPublic.model_validate(row))
    return [
        DeliveryWithAttempts(
            **DeliveryPublic.model_validate(d).model_dump(), attempts=attempts[d.id]
        )
        for d in deliveries
    ]


def list_deliveries(
    session: Session,
    *,
    subscription_id: uuid.UUID,
    page: PageParams,
    state: DeliveryState | None = None,
) -> tuple[list[DeliveryWithAttempts], str | None]:
    statement = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if state is not None:
        statement = statement.where(WebhookDelivery.state == state)
    rows, next_cursor = paginate(session, statement, id_column=WebhookDelivery.id, params=page)
    return _with_attempts(session, rows), next_cursor


def list_dead_letters(
    session: Session, *, page: PageParams, subscription_id: uuid.UUID | None = None
) -> tuple[list[DeliveryWithAttempts], str | None]:
    statement = select(WebhookDelivery).where(WebhookDelivery.state == DeliveryState.dead)
    if subscription_id is not None:
        statement = statement.where(WebhookDelivery.subscription_id == subscription_id)
    rows, next_cursor = paginate(session, statement, id_column=WebhookDelivery.id, params=page)
    return _with_attempts(session, rows), next_cursor


def get_delivery(session: Session, *, delivery_id: uuid.UUID) -> WebhookDelivery:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound(f"No webhook delivery {delivery_id}.")
    return delivery


def delivery_view(session: Session, delivery: WebhookDelivery) -> DeliveryWithAttempts:
    return _with_attempts(session, [delivery])[0]


def replay(session: Session, *, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue a finished (dead or succeeded) delivery again, with the same webhook-id and a
    fresh retry schedule (Standard Webhooks "Visibility into failures and manual retries")."""
    if delivery.state in OPEN_STATES:
        raise Conflict("The delivery is still queued; it is retried on its schedule.")
    subscription = get_subscription(session, subscription_id=delivery.subscription_id)
    if not subscription.active:
        raise Conflict("The subscription is disabled; enable it before replaying.")
    before = {"state": delivery.state, "attempt_count": delivery.attempt_count}
    now = clock.now()
    delivery.state = DeliveryState.pending
    delivery.schedule_step = 0
    delivery.next_attempt_at = now
    delivery.claimed_by = None
    delivery.claimed_until = None
    delivery.updated_at = now
    session.add(delivery)
    session.flush()
    audit.record(
        session,
        entity_type="webhook_delivery",
        entity_id=delivery.id,
        action="replay",
        before=before,
        after={"state": delivery.state},
    )
    return delivery
