"""The worker side of webhooks: fan outbox events out to subscriptions, then deliver them.

Fan-out reads the outbox after a cursor (outbox seq is commit order, so nothing is
missed) and writes one delivery row per matching active subscription, set-based.

Delivery runs in three short transactions so no lock is held during HTTP:
1. claim due deliveries (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers
   share the work; SQLite's write lock serialises the single worker) by writing a
   lease (`claimed_by`, `claimed_until`) — a crashed worker's lease runs out and the
   delivery is retried;
2. POST them, signed per Standard Webhooks, outside any transaction;
3. record each attempt, but only where the lease is still ours.
Only the oldest open delivery per (subscription, ordering key = person) is due, so a
later event for a person never overtakes an earlier one.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.core import audit, clock, urls
from app.core.config import Settings
from app.core.db import begin_writing
from app.core.outbox import OutboxEvent
from app.integrations.webhooks import signing
from app.integrations.webhooks.models import (
    OPEN_STATES,
    DeliveryState,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookSubscription,
)
from app.integrations.webhooks.schemas import ALL_EVENTS

logger = logging.getLogger("aidiploma.webhooks")

CURSOR_NAME = "outbox"
# Standard Webhooks "Deliverability and reliability": delay before attempt n (seconds).
RETRY_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_RETRY_AFTER = timedelta(hours=24)
FAN_OUT_BATCH = 1000
CLAIM_BATCH = 100
EXCERPT = 500


def _matches(subscription: WebhookSubscription, event_type: str) -> bool:
    return ALL_EVENTS in subscription.event_types or event_type in subscription.event_types


def fan_out(session: Session, *, batch_size: int = FAN_OUT_BATCH) -> int:
    """Create the deliveries of outbox events not fanned out yet; returns how many."""
    created = 0
    while True:
        begin_writing(session)
        cursor = session.exec(
            select(WebhookCursor)
            .where(WebhookCursor.name == CURSOR_NAME)
            .with_for_update()
            # The row as locked now, not the object this session remembers: another worker
            # may have moved the cursor since our last commit.
            .execution_options(populate_existing=True)
        ).first()
        if cursor is None:
            cursor = WebhookCursor(name=CURSOR_NAME, last_seq=0)
            session.add(cursor)
            session.flush()
        events = session.execute(
            sa.select(
                OutboxEvent.seq,
                OutboxEvent.event_id,
                OutboxEvent.event_type,
                OutboxEvent.ordering_key,
            )  # type: ignore[call-overload]
            .where(OutboxEvent.seq > cursor.last_seq)
            .order_by(OutboxEvent.seq)
            .limit(batch_size)
        ).all()
        if not events:
            session.commit()
            return created
        subscriptions = session.exec(
            select(WebhookSubscription).where(col(WebhookSubscription.active).is_(True))
        ).all()
        now = clock.now()
        rows = [
            {
                "id": uuid.uuid4(),
                "subscription_id": sub.id,
                "event_seq": seq,
                "event_id": event_id,
                "event_type": event_type,
                "ordering_key": ordering_key,
                "state": DeliveryState.pending.value,
                "attempt_count": 0,
                "schedule_step": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for seq, event_id, event_type, ordering_key in events
            for sub in subscriptions
            if seq > sub.starting_seq and _matches(sub, event_type)
        ]
        if rows:
            session.execute(sa.insert(WebhookDelivery), rows)
        cursor.last_seq = events[-1][0]
        session.add(cursor)
        session.commit()
        created += len(rows)
        if len(events) < batch_size:
            return created


# --- delivery ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    attempt_number: int
    schedule_step: int
    url: str
    allow_private: bool
    secrets: tuple[str, ...]
    webhook_id: str
    body: bytes


@dataclass(frozen=True)
class _Result:
    request: _Request
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    excerpt: str | None
    retry_after: timedelta | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def _body(event_type: str, occurred_at: datetime, data: Any) -> bytes:
    """The Standard Webhooks payload: type, timestamp of the event, data; minified JSON."""
    payload = {
        "type": event_type,
        "timestamp": occurred_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _due_statement(now: datetime, limit: int) -> Any:
    earlier = aliased(WebhookDelivery)
    # An open delivery of an earlier event for the same person and subscription holds this one.
    held_back = (
        sa.select(earlier.id)  # type: ignore[call-overload]
        .where(
            earlier.subscription_id == WebhookDelivery.subscription_id,
            earlier.ordering_key == WebhookDelivery.ordering_key,
            earlier.event_seq < WebhookDelivery.event_seq,  # type: ignore[operator]
            col(earlier.state).in_(OPEN_STATES),
        )
        .exists()
    )
    return (
        sa.select(WebhookDelivery.id)  # type: ignore[call-overload]
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            col(WebhookSubscription.active).is_(True),
            col(WebhookDelivery.state).in_(OPEN_STATES),
            WebhookDelivery.next_attempt_at <= now,
            sa.or_(
                col(WebhookDelivery.claimed_until).is_(None),
                col(WebhookDelivery.claimed_until) <= now,
            ),
            ~held_back,
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_seq)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )


def claim(
    session: Session, *, worker_id: uuid.UUID, lease: timedelta, limit: int = CLAIM_BATCH
) -> list[_Request]:
    """Claim up to `limit` due deliveries for this worker and build their signed requests."""
    begin_writing(session)
    now = clock.now()
    ids = list(session.execute(_due_statement(now, limit)).scalars())
    if not ids:
        session.commit()
        return []
    session.execute(
        sa.update(WebhookDelivery)
        .where(col(WebhookDelivery.id).in_(ids))
        .values(claimed_by=worker_id, claimed_until=now + lease, updated_at=now)
    )
    rows = session.execute(
        sa.select(  # type: ignore[call-overload]
            WebhookDelivery.id,
            WebhookDelivery.subscription_id,
            WebhookDelivery.attempt_count,
            WebhookDelivery.schedule_step,
            WebhookDelivery.event_id,
            WebhookDelivery.event_type,
            WebhookDelivery.payload,
            WebhookSubscription.url,
            WebhookSubscription.allow_private_network,
            WebhookSubscription.secret,
            WebhookSubscription.previous_secret,
            WebhookSubscription.previous_secret_expires_at,
            OutboxEvent.occurred_at,
            OutboxEvent.data,
        )
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .outerjoin(OutboxEvent, OutboxEvent.seq == WebhookDelivery.event_seq)
        .where(col(WebhookDelivery.id).in_(ids))
    ).all()
    session.commit()
    requests = []
    for row in rows:
        secrets = [row.secret]
        if (
            row.previous_secret
            and row.previous_secret_expires_at
            and row.previous_secret_expires_at > now
        ):
            secrets.append(row.previous_secret)
        if row.payload is not None:
            body = json.dumps(row.payload, separators=(",", ":"), ensure_ascii=False).encode()
        else:
            body = _body(row.event_type, row.occurred_at, row.data)
        requests.append(
            _Request(
                delivery_id=row.id,
                subscription_id=row.subscription_id,
                attempt_number=row.attempt_count + 1,
                schedule_step=row.schedule_step,
                url=row.url,
                allow_private=row.allow_private_network,
                secrets=tuple(secrets),
                webhook_id=str(row.event_id),
                body=body,
            )
        )
    return requests


def _retry_after(response: httpx.Response) -> timedelta | None:
    """Retry-After as delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            delay = email.utils.parsedate_to_datetime(value) - clock.now()
        except (TypeError, ValueError):
            return None
    return min(max(delay, timedelta(0)), MAX_RETRY_AFTER)


def send(client: httpx.Client, request: _Request, *, timeout: float) -> _Result:
    """One attempt: re-check the target's addresses (DNS rebinding), sign, POST."""
    attempted_at = clock.now()
    started = time.perf_counter()
    status_code = None
    error = excerpt = None
    retry_after = None
    try:
        urls.check(request.url, allow_private=request.allow_private)
        headers = signing.headers(
            request.secrets,
            webhook_id=request.webhook_id,
            timestamp=int(attempted_at.timestamp()),
            body=request.body,
        )
        response = client.post(request.url, content=request.body, headers=headers, timeout=timeout)
        status_code = response.status_code
        excerpt = response.text[:EXCERPT] or None
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
            retry_after = _retry_after(response)
    except urls.UnsafeURL as exc:
        error = f"refused: {exc}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    return _Result(
        request=request,
        attempted_at=attempted_at,
        status_code=status_code,
        duration_ms=int((time.perf_counter() - started) * 1000),
        error=error,
        excerpt=excerpt,
        retry_after=retry_after,
    )


def _next_state(result: _Result, now: datetime) -> dict[str, Any]:
    request = result.request
    values: dict[str, Any] = {
        "attempt_count": request.attempt_number,
        "last_status_code": result.status_code,
        "last_error": result.error,
        "claimed_by": None,
        "claimed_until": None,
        "updated_at": now,
    }
    if result.succeeded:
        return {**values, "state": DeliveryState.succeeded, "delivered_at": result.attempted_at}
    if result.gone:
        return {**values, "state": DeliveryState.dead, "last_error": "410 Gone: endpoint disabled"}
    step = request.schedule_step + 1
    if step >= len(RETRY_SCHEDULE):
        return {**values, "state": DeliveryState.dead, "schedule_step": step}
    delay = timedelta(seconds=RETRY_SCHEDULE[step])
    if result.retry_after is not None:
        delay = max(delay, result.retry_after)
    return {
        **values,
        "state": DeliveryState.failed,
        "schedule_step": step,
        "next_attempt_at": now + delay,
    }


def record(
    session: Session, *, worker_id: uuid.UUID, results: list[_Result], disable_after: int
) -> int:
    """Write the attempts whose claim is still ours; update subscriptions' failure runs."""
    if not results:
        return 0
    begin_writing(session)
    now = clock.now()
    ids = [r.request.delivery_id for r in results]
    ours = set(
        session.execute(
            sa.select(WebhookDelivery.id)  # type: ignore[call-overload]
            .where(col(WebhookDelivery.id).in_(ids), WebhookDelivery.claimed_by == worker_id)
            .with_for_update()
        ).scalars()
    )
    results = [r for r in results if r.request.delivery_id in ours]
    if not results:
        session.commit()
        return 0
    session.execute(
        sa.insert(WebhookAttempt),
        [
            {
                "id": uuid.uuid4(),
                "delivery_id": r.request.delivery_id,
                "attempt_number": r.request.attempt_number,
                "attempted_at": r.attempted_at,
                "status_code": r.status_code,
                "duration_ms": r.duration_ms,
                "error": r.error,
                "response_excerpt": r.excerpt,
            }
            for r in results
        ],
    )
    for r in results:
        session.execute(
            sa.update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == r.request.delivery_id)
            .values(**_next_state(r, now))
        )
    _update_subscriptions(session, results=results, now=now, disable_after=disable_after)
    session.commit()
    return len(results)


def _update_subscriptions(
    session: Session, *, results: list[_Result], now: datetime, disable_after: int
) -> None:
    by_subscription: dict[uuid.UUID, list[_Result]] = defaultdict(list)
    for result in results:
        by_subscription[result.request.subscription_id].append(result)
    for subscription_id, group in by_subscription.items():
        group.sort(key=lambda r: r.attempted_at)
        successes = [i for i, r in enumerate(group) if r.succeeded]
        failures_after = len(group) - 1 - successes[-1] if successes else len(group)
        counter = col(WebhookSubscription.failure_count)
        new_count = failures_after if successes else counter + failures_after
        session.execute(
            sa.update(WebhookSubscription)
            .where(col(WebhookSubscription.id) == subscription_id)
            .values(failure_count=new_count)
        )
        gone = any(r.gone for r in group)
        subscription = session.get(WebhookSubscription, subscription_id, populate_existing=True)
        if subscription is None or not subscription.active:
            continue
        reason = None
        if gone:
            reason = "the endpoint answered 410 Gone"
        elif subscription.failure_count >= disable_after:
            reason = f"{subscription.failure_count} consecutive failed attempts"
        if reason:
            subscription.active = False
            subscription.disabled_at = now
            subscription.disabled_reason = reason
            subscription.version += 1
            subscription.updated_at = now
            session.add(subscription)
            audit.record(
                session,
                entity_type="webhook_subscription",
                entity_id=subscription_id,
                action="disable",
                after={"disabled_reason": reason},
            )
            logger.warning(
                "webhook subscription disabled",
                extra={"subscription_id": str(subscription_id), "reason": reason},
            )


class Deliverer:
    """The delivery job of one worker: claim, send in parallel, record; repeat while busy."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        max_seconds_per_run: float = 10.0,
    ) -> None:
        self.settings = settings
        self.worker_id = uuid.uuid4()
        self._client = client
        self.max_seconds_per_run = max_seconds_per_run
        # Long enough for the slowest attempt; after it, another worker may take over.
        self.lease = timedelta(seconds=settings.webhooks_timeout_seconds + 45)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(follow_redirects=False)
        return self._client

    def run_once(self, session: Session) -> int:
        """One claim-send-record round; returns how many attempts were recorded."""
        requests = claim(session, worker_id=self.worker_id, lease=self.lease)
        if not requests:
            return 0
        timeout = self.settings.webhooks_timeout_seconds
        workers = min(self.settings.webhooks_delivery_concurrency, len(requests))
        if workers == 1:
            results = [send(self.client, requests[0], timeout=timeout)]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(lambda r: send(self.client, r, timeout=timeout), requests))
        return record(
            session,
            worker_id=self.worker_id,
            results=results,
            disable_after=self.settings.webhooks_disable_after_failures,
        )

    def __call__(self, session: Session) -> int:
        """The worker job: rounds until nothing is due or the time slice is used up."""
        total = 0
        deadline = time.monotonic() + self.max_seconds_per_run
        while time.monotonic() < deadline:
            done = self.run_once(session)
            total += done
            if done == 0:
                break
        return total

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def run_all(session: Session, deliverer: Deliverer) -> int:
    """Fan out, then deliver everything due (the combined job the worker runs)."""
    fan_out(session)
    return deliverer(session)
