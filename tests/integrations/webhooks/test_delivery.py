"""Delivery of outbox events to a live receiver: signatures, retries, ordering, 410, replay."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select
from standardwebhooks.webhooks import Webhook

from app.core import outbox
from app.integrations.webhooks import delivery
from app.integrations.webhooks.delivery import RETRY_SCHEDULE, Deliverer
from app.integrations.webhooks.models import DeliveryState, WebhookDelivery, WebhookSubscription
from tests.factories import auth_headers
from tests.integrations.webhooks.receiver import Received, Receiver


def _subscribe(client: TestClient, headers: dict[str, str], url: str, **body: Any) -> dict:
    response = client.post(
        "/webhooks/subscriptions",
        json={"url": url, "event_types": ["*"], "allow_private_network": True, **body},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _emit(db: Session, *events: tuple[str, str]) -> None:
    """Commit one certification.awarded event per (person, label)."""
    for person, label in events:
        outbox.emit(
            db,
            event_type="certification.awarded",
            data={"person": person, "label": label},
            ordering_key=person,
        )
    db.commit()


def _signature_ok(secret: str, received: Received) -> bool:
    """Check with the standardwebhooks reference implementation (any listed signature)."""
    timestamp = datetime.fromtimestamp(int(received.headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign(
        received.headers["webhook-id"], timestamp, received.body.decode()
    )
    return expected in received.headers["webhook-signature"].split(" ")


def _deliveries(db: Session) -> list[WebhookDelivery]:
    db.expire_all()
    return list(db.exec(select(WebhookDelivery).order_by(WebhookDelivery.event_seq)).all())


def test_signed_per_standard_webhooks(
    client: TestClient,
    db: Session,
    manage: dict,
    private_allowed: None,
    receiver: Receiver,
    deliverer: Deliverer,
    now: datetime,
) -> None:
    """webhook-id/-timestamp/-signature verify with the `standardwebhooks` package."""
    sub = _subscribe(client, manage, receiver.url)
    _emit(db, ("P1", "first"))
    assert delivery.fan_out(db) == 1
    assert deliverer(db) == 1
    [got] = receiver.received
    payload = Webhook(sub["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "certification.awarded"
    assert payload["data"] == {"person": "P1", "label": "first"}
    assert payload["timestamp"].endswith("Z")
    assert got.headers["webhook-id"] == str(_deliveries(db)[0].event_id)


def test_receiver_down_then_back(
    client: TestClient,
    db: Session,
    manage: dict,
    private_allowed: None,
    receiver: Receiver,
    deliverer: Deliverer,
    now: datetime,
    frozen_clock: Any,
) -> None:
    """Every event arrives once the receiver is back, in order per person; the only repeated
    webhook-ids are retries; every signature verifies."""
    sub = _subscribe(client, manage, receiver.url)
    receiver.stop()  # down: connection refused
    _emit(db, ("A", "a1"), ("B", "b1"), ("A", "a2"), ("A", "a3"), ("B", "b2"))
    assert delivery.fan_out(db) == 5
    # Only the oldest event per person is attempted; the rest wait behind it.
    assert deliverer(db) == 2
    assert deliverer(db) == 0  # nothing due before the 5 s retry
    frozen_clock.set(now + timedelta(seconds=5))
    assert deliverer(db) == 2
    states = {d.ordering_key: d for d in _deliveries(db) if d.attempt_count}
    assert states["A"].state == DeliveryState.failed
    assert states["A"].next_attempt_at == now + timedelta(seconds=5 + RETRY_SCHEDULE[2])
    receiver.start()  # back on the same port
    frozen_clock.set(now + timedelta(seconds=5 + RETRY_SCHEDULE[2]))
    assert deliverer(db) == 5
    labels = [json.loads(r.body)["data"]["label"] for r in receiver.received]
    assert sorted(labels) == ["a1", "a2", "a3", "b1", "b2"]
    assert [x for x in labels if x.startswith("a")] == ["a1", "a2", "a3"]
    assert [x for x in labels if x.startswith("b")] == ["b1", "b2"]
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(set(ids)) == len(ids) == 5
    assert all(_signature_ok(sub["secret"], r) for r in receiver.received)
    assert all(d.state == DeliveryState.succeeded for d in _deliveries(db))
    log = client.get(f"/webhooks/subscriptions/{sub['id']}/deliveries", headers=manage).json()
    attempts = {d["event_id"]: d["attempts"] for d in log["items"]}
    first_a = next(d for d in _deliveries(db) if d.ordering_key == "A")
    assert [a["status_code"] for a in attempts[str(first_a.event_id)]] == [None, None, 200]
    assert attempts[str(first_a.event_id)][0]["error"].startswith("ConnectError")
    assert (
        client.get(f"/webhooks/subscriptions/{sub['id']}", headers=manage).json()["failure_count"]
        == 0
    )


def test_retry_after_honoured(
    client: TestClient,
    db: Session,
    manage: dict,
    private_allowed: None,
    receiver: Receiver,
    deliverer: Deliverer,
    now: datetime,
    frozen_clock: Any,
) -> None:
    """Standard Webhooks "Delivery success and failure": Retry-After sets the next attempt."""
    _subscribe(client, manage, receiver.url)
    receiver.script.append((503, {"Retry-After": "120"}))
    _emit(db, ("P", "x"))
    delivery.fan_out(db)
    assert deliverer(db) == 1
    [row] = _deliveries(db)
    assert row.state == DeliveryState.failed and row.last_status_code == 503
    assert row.next_attempt_at == now + timedelta(seconds=120)  # not the 5 s of the schedule
    frozen_clock.set(now + timedelta(seconds=119))
    assert deliverer(db) == 0
    frozen_clock.set(now + timedelta(seconds=120))
    assert deliverer(db) == 1
    assert _deliveries(db)[0].state == DeliveryState.succeeded
    assert len(receiver.received) == 1


def test_410_gone_disables_subscription(
    client: TestClient,
    db: Session,
    manage: dict,
    private_allowed: None,
    receiver: Receiver,
    deliverer: Deliverer,
    now: datetime,
) -> None:
    sub = _subscribe(client, manage, receiver.url)
    receiver.script.append((410, {}))
    _emit(db, ("P", "x"), ("Q", "y"))
    delivery.fan_out(db)
    deliverer(db)
    got = client.get(f"/webhooks/subscriptions/{sub['id']}", headers=manage).json()
    assert got["active"] is False and "410" in got["disabled_reason"]
    dead = client.get("/webhooks/dead-letters", headers=manage).json()["items"]
    assert len(dead) == 1 and dead[0]["attempts"][0]["status_code"] == 410
    # Nothing more is sent while disabled, and new events are not queued for it.
    _emit(db, ("R", "z"))
    assert delivery.fan_out(db) == 0
    assert deliverer(db) == 0
    assert (
        client.post(f"/webhooks/deliveries/{dead[0]['id']}/replay", headers=manage).status_code
        == 409
    )


def test_disabled_after_run_of_failures(
    client: TestClient,
    db: Session,
    manage: dict,
    private_allowed: None,
    receiver: Receiver,
    now: datetime,
    app: Any,
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(app.state.settings, "webhooks_disable_after_failures", 3)
    worker = Deliverer(app.state.settings)
    sub = _subscribe(client, manage, receiver.url)
    receiver.script.extend([(500, {})] * 3)
    _emit(db, ("A", "1"), ("B", "2"), ("C", "3"))
    delivery.fan_out(db)
    assert worker(db) == 3
    worker.close()
    got = client.get(f"/webhooks/subscriptions/{sub['id']}", headers=manage).json()
    assert got["active"] is False and got["failure_count"] == 3
    assert "3 consecutive" in got["disabled_reason"]


def test_dead_after_schedule_then_replay(
    client: TestClient,
    db: Session,
    manage: dict,
    private_allowed: None,
    receiver: Receiver,
    deliverer: Deliverer,
    now: datetime,
    frozen_clock: Any,
    app: Any,
) -> None:
    """Ten attempts on the Standard Webhooks schedule, then the dead-letter list; replay
    sends the same webhook-id again."""
    sub = _subscribe(client, manage, receiver.url)
    receiver.script.extend([(500, {})] * len(RETRY_SCHEDULE))
    _emit(db, ("P", "x"))
    delivery.fan_out(db)
    at = now
    for step, delay in enumerate(RETRY_SCHEDULE):
        at += timedelta(seconds=delay)
        frozen_clock.set(at)
        assert deliverer(db) == 1, f"attempt {step + 1}"
    [row] = _deliveries(db)
    assert row.state == DeliveryState.dead and row.attempt_count == len(RETRY_SCHEDULE)
    frozen_clock.set(at + timedelta(days=3))
    assert deliverer(db) == 0
    manage = auth_headers(db, app, "webhooks:manage")  # the first token has expired by now
    dead = client.get(
        "/webhooks/dead-letters", params={"subscription_id": sub["id"]}, headers=manage
    ).json()["items"]
    assert [d["id"] for d in dead] == [str(row.id)]
    assert len(dead[0]["attempts"]) == len(RETRY_SCHEDULE)
    replay = client.post(f"/webhooks/deliveries/{row.id}/replay", headers=manage)
    assert replay.status_code == 202 and replay.json()["state"] == "pending"
    again = client.post(f"/webhooks/deliveries/{row.id}/replay", headers=manage)
    assert again.status_code == 409
    assert deliverer(db) == 1
    [got] = receiver.received
    assert got.headers["webhook-id"] == str(row.event_id)
    view = client.get(f"/webhooks/deliveries/{row.id}", headers=manage).json()
    assert view["state"] == "succeeded" and view["attempt_count"] == len(RETRY_SCHEDULE) + 1


def test_rotation_sends_two_valid_signatures(
    client: TestClient,
    db: Session,
    manage: dict,
    private_allowed: None,
    receiver: Receiver,
    deliverer: Deliverer,
    now: datetime,
    frozen_clock: Any,
) -> None:
    """Standard Webhooks "Webhook headers": both secrets sign during the overlap."""
    sub = _subscribe(client, manage, receiver.url)
    rotated = client.post(
        f"/webhooks/subscriptions/{sub['id']}/rotate-secret",
        json={"overlap_seconds": 60},
        headers=manage,
    ).json()
    _emit(db, ("P", "x"))
    delivery.fan_out(db)
    deliverer(db)
    [got] = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(sub["secret"]).verify(got.body, got.headers)
    Webhook(rotated["secret"]).verify(got.body, got.headers)
    frozen_clock.set(now + timedelta(seconds=61))  # overlap over: only the new secret signs
    _emit(db, ("P", "y"))
    delivery.fan_out(db)
    deliverer(db)
    latest = receiver.received[-1]
    assert len(latest.headers["webhook-signature"].split(" ")) == 1
    assert _signature_ok(rotated["secret"], latest)
    assert not _signature_ok(sub["secret"], latest)


def test_event_type_filter_and_start(
    client: TestClient,
    db: Session,
    manage: dict,
    private_allowed: None,
    receiver: Receiver,
    now: datetime,
) -> None:
    """A subscription gets only its event types, and only events committed after it."""
    _emit(db, ("P", "before"))
    _subscribe(client, manage, receiver.url, event_types=["certification.revoked"])
    _emit(db, ("P", "awarded"))
    outbox.emit(db, event_type="certification.revoked", data={}, ordering_key="P")
    db.commit()
    assert delivery.fan_out(db) == 1
    assert [d.event_type for d in _deliveries(db)] == ["certification.revoked"]


def test_ping_and_ssrf_at_delivery_time(
    client: TestClient,
    db: Session,
    manage: dict,
    private_allowed: None,
    receiver: Receiver,
    deliverer: Deliverer,
    now: datetime,
) -> None:
    """The test ping is signed like any event; a private target without the flag is refused
    before connecting (the check repeats at delivery time against DNS rebinding)."""
    sub = _subscribe(client, manage, receiver.url)
    ping = client.post(f"/webhooks/subscriptions/{sub['id']}/test", headers=manage)
    assert ping.status_code == 202 and ping.json()["event_type"] == "webhook.test"
    assert deliverer(db) == 1
    payload = Webhook(sub["secret"]).verify(receiver.received[0].body, receiver.received[0].headers)
    assert payload["type"] == "webhook.test"
    # Simulate a subscription whose target became private (e.g. DNS now points inside).
    row = db.get(WebhookSubscription, uuid.UUID(sub["id"]))
    assert row is not None
    row.allow_private_network = False
    db.add(row)
    db.commit()
    client.post(f"/webhooks/subscriptions/{sub['id']}/test", headers=manage)
    assert deliverer(db) == 1
    assert len(receiver.received) == 1
    failed = [d for d in _deliveries(db) if d.state == DeliveryState.failed]
    assert failed and failed[0].last_error.startswith("refused")  # type: ignore[union-attr]
