"""Subscriptions through the API: secrets shown once, SSRF checks, rotation, audit."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.core.audit import AuditEvent
from app.integrations.webhooks import signing
from app.integrations.webhooks.models import WebhookSubscription

PUBLIC_URL = "https://93.184.215.14/hooks"  # a global address literal: no DNS in the tests


def _create(client: TestClient, headers: dict[str, str], **body: object) -> dict:
    response = client.post(
        "/webhooks/subscriptions",
        json={"url": PUBLIC_URL, "event_types": ["certification.awarded"], **body},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_the_secret_once(client: TestClient, db: Session, manage: dict) -> None:
    """Standard Webhooks "Signature scheme": whsec_ + base64 of at least 24 random bytes."""
    created = _create(client, manage)
    assert created["secret"].startswith("whsec_")
    assert len(signing.secret_key(created["secret"])) >= 24
    fetched = client.get(f"/webhooks/subscriptions/{created['id']}", headers=manage)
    assert fetched.status_code == 200
    assert "secret" not in fetched.json()
    listed = client.get("/webhooks/subscriptions", headers=manage).json()["items"]
    assert [s["id"] for s in listed] == [created["id"]]
    assert all("secret" not in s for s in listed)
    entries = db.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "webhook_subscription")
    ).all()
    assert [e.action for e in entries] == ["create"]
    assert "secret" not in entries[0].after  # type: ignore[operator]


def test_create_with_own_secret_and_bad_secret(client: TestClient, manage: dict) -> None:
    secret = signing.new_secret()
    assert _create(client, manage, secret=secret)["secret"] == secret
    bad = client.post(
        "/webhooks/subscriptions",
        json={"url": PUBLIC_URL, "event_types": ["*"], "secret": "whsec_c2hvcnQ="},
        headers=manage,
    )
    assert bad.status_code == 422


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://192.168.0.10/hook",
        "http://[::1]/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://localhost/hook",
        "ftp://93.184.215.14/hook",
        "not a url",
    ],
)
def test_ssrf_targets_rejected(client: TestClient, db: Session, manage: dict, url: str) -> None:
    """Standard Webhooks "Server side request forgery": internal targets are refused."""
    response = client.post(
        "/webhooks/subscriptions", json={"url": url, "event_types": ["*"]}, headers=manage
    )
    assert response.status_code == 422, response.text
    assert db.exec(select(WebhookSubscription)).first() is None


def test_private_flag_needs_the_server_setting(client: TestClient, manage: dict) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"], "allow_private_network": True}
    response = client.post("/webhooks/subscriptions", json=body, headers=manage)
    assert response.status_code == 422
    assert response.json()["type"].endswith("private-network-not-allowed")


def test_private_flag_allowed_with_setting(
    client: TestClient, manage: dict, private_allowed: None
) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"], "allow_private_network": True}
    assert client.post("/webhooks/subscriptions", json=body, headers=manage).status_code == 201
    body["allow_private_network"] = False
    assert client.post("/webhooks/subscriptions", json=body, headers=manage).status_code == 422


def test_unknown_event_type_and_extra_fields(client: TestClient, manage: dict) -> None:
    for body in (
        {"url": PUBLIC_URL, "event_types": ["certification.awardd"]},
        {"url": PUBLIC_URL, "event_types": []},
        {"url": PUBLIC_URL, "event_types": ["*"], "colour": "red"},
    ):
        assert client.post("/webhooks/subscriptions", json=body, headers=manage).status_code == 422


def test_update_reenable_and_if_match(client: TestClient, db: Session, manage: dict) -> None:
    created = _create(client, manage)
    url = f"/webhooks/subscriptions/{created['id']}"
    stale = client.patch(url, json={"active": False}, headers={**manage, "If-Match": 'W/"9"'})
    assert stale.status_code == 412
    off = client.patch(url, json={"active": False}, headers=manage)
    assert off.status_code == 200
    assert off.json()["disabled_at"] is not None
    subscription = db.get(WebhookSubscription, uuid.UUID(off.json()["id"]))
    assert subscription is not None
    subscription.failure_count = 7
    db.add(subscription)
    db.flush()
    on = client.patch(url, json={"active": True, "event_types": ["*"]}, headers=manage).json()
    assert on["active"] is True and on["disabled_at"] is None and on["failure_count"] == 0
    assert on["event_types"] == ["*"]
    assert client.patch(url, json={"url": "http://10.0.0.1/"}, headers=manage).status_code == 422
    assert client.patch(url, json={"active": None}, headers=manage).status_code == 422


def test_rotate_secret_keeps_old_one_for_overlap(client: TestClient, manage: dict) -> None:
    created = _create(client, manage)
    rotated = client.post(
        f"/webhooks/subscriptions/{created['id']}/rotate-secret",
        json={"overlap_seconds": 3600},
        headers=manage,
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    no_body = client.post(f"/webhooks/subscriptions/{created['id']}/rotate-secret", headers=manage)
    assert no_body.status_code == 200


def test_delete_and_not_found(client: TestClient, manage: dict) -> None:
    created = _create(client, manage)
    url = f"/webhooks/subscriptions/{created['id']}"
    assert client.delete(url, headers=manage).status_code == 204
    assert client.get(url, headers=manage).status_code == 404
    assert client.delete(url, headers=manage).status_code == 404
    missing = "/webhooks/deliveries/00000000-0000-0000-0000-000000000000/replay"
    assert client.post(missing, headers=manage).status_code == 404


def test_event_types_listed(client: TestClient, manage: dict) -> None:
    types = {t["type"] for t in client.get("/webhooks/event-types", headers=manage).json()}
    assert {"certification.awarded", "person.compliance_changed"} <= types
