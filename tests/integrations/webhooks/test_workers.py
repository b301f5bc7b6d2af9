"""Several workers share deliveries without double delivery; a crashed worker's claim expires."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.core import outbox
from app.core.config import Settings
from app.core.db import create_db_engine, make_session_factory, unit_of_work
from app.core.outbox import OutboxEvent
from app.integrations.webhooks import delivery, signing
from app.integrations.webhooks.delivery import Deliverer
from app.integrations.webhooks.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookSubscription,
)
from tests.concurrency import run_together
from tests.integrations.webhooks.receiver import Receiver

PERSONS = 20
EVENTS_PER_PERSON = 10


def test_crashed_worker_claim_expires(
    client: TestClient,
    db: Session,
    manage: dict,
    private_allowed: None,
    receiver: Receiver,
    deliverer: Deliverer,
    now: datetime,
    frozen_clock: Any,
) -> None:
    """A claim is a lease: until it runs out nobody else sends; after, another worker does,
    and the late result of the first worker is not recorded (no second attempt row)."""
    client.post(
        "/webhooks/subscriptions",
        json={"url": receiver.url, "event_types": ["*"], "allow_private_network": True},
        headers=manage,
    )
    outbox.emit(db, event_type="certification.awarded", data={}, ordering_key="P")
    db.commit()
    delivery.fan_out(db)
    crashed = uuid.uuid4()
    [request] = delivery.claim(db, worker_id=crashed, lease=timedelta(seconds=60))
    assert deliverer(db) == 0  # claimed by the crashed worker
    frozen_clock.set(now + timedelta(seconds=61))
    assert deliverer(db) == 1
    late = delivery.send(httpx.Client(), request, timeout=5)
    assert delivery.record(db, worker_id=crashed, results=[late], disable_after=50) == 0
    db.expire_all()
    assert len(db.exec(select(WebhookAttempt)).all()) == 1
    assert db.exec(select(WebhookDelivery)).one().state == DeliveryState.succeeded


def test_two_workers_never_deliver_twice(database: Any, receiver: Receiver) -> None:
    """Two workers, each with its own connection, claim with FOR UPDATE SKIP LOCKED: every
    event is sent exactly once, in order per person, one attempt each."""
    if database.backend != "postgresql":
        pytest.skip("SQLite runs a single worker; its write lock serialises delivery")
    engine = create_db_engine(database.url)
    factory = make_session_factory(engine)
    settings = Settings(database_url=database.url, webhooks_allow_private=True)
    subscription_id = uuid.uuid4()
    with unit_of_work(factory) as session:
        original_cursor = session.get(WebhookCursor, "outbox")
        cursor_seq = original_cursor.last_seq if original_cursor else 0
        last_seq = session.execute(sa.select(sa.func.max(OutboxEvent.seq))).scalar() or 0
        session.add(
            WebhookSubscription(
                id=subscription_id,
                url=receiver.url,
                event_types=["*"],
                secret=signing.new_secret(),
                allow_private_network=True,
                starting_seq=last_seq,
            )
        )
    with unit_of_work(factory) as session:
        for n in range(EVENTS_PER_PERSON):
            for person in range(PERSONS):
                outbox.emit(
                    session,
                    event_type="certification.awarded",
                    data={"person": person, "n": n},
                    ordering_key=f"person-{person}",
                )
    total = PERSONS * EVENTS_PER_PERSON
    done: dict[str, int] = Counter()
    start = threading.Barrier(2)

    def work(name: str) -> None:
        worker = Deliverer(settings, client=httpx.Client())
        try:
            start.wait()
            while sum(done.values()) < total:
                with unit_of_work(factory) as session:
                    delivery.fan_out(session)
                    done[name] += worker.run_once(session)
        finally:
            worker.close()

    try:
        run_together(work, [(f"w{i}",) for i in range(2)], on_error=start.abort)
        ids = Counter(r.headers["webhook-id"] for r in receiver.received)
        assert len(ids) == total and set(ids.values()) == {1}
        assert sum(done.values()) == total and all(done[f"w{i}"] > 0 for i in range(2))
        import json

        per_person: dict[int, list[int]] = {}
        for received in receiver.received:
            data = json.loads(received.body)["data"]
            per_person.setdefault(data["person"], []).append(data["n"])
        assert all(ns == list(range(EVENTS_PER_PERSON)) for ns in per_person.values())
        with Session(engine) as session:
            deliveries = session.exec(
                select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
            ).all()
            assert len(deliveries) == total
            assert {(d.state, d.attempt_count) for d in deliveries} == {
                (DeliveryState.succeeded, 1)
            }
    finally:
        with unit_of_work(factory) as session:
            ids_of = select(WebhookDelivery.id).where(
                WebhookDelivery.subscription_id == subscription_id
            )
            session.execute(
                sa.delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(ids_of))
            )
            session.execute(
                sa.delete(WebhookDelivery).where(
                    col(WebhookDelivery.subscription_id) == subscription_id
                )
            )
            session.execute(
                sa.delete(WebhookSubscription).where(col(WebhookSubscription.id) == subscription_id)
            )
            session.execute(sa.delete(OutboxEvent).where(col(OutboxEvent.seq) > last_seq))
            session.execute(
                sa.update(WebhookCursor)
                .where(col(WebhookCursor.name) == "outbox")
                .values(last_seq=cursor_seq)
            )
        engine.dispose()
