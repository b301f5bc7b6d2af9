"""Idempotency-Key on creating POSTs: same key and body replays, different body is 409."""

from __future__ import annotations

from sqlmodel import func, select

from app.auth.models import ApiClient
from tests.factories import auth_headers


def _count(db, name: str) -> int:
    return db.exec(select(func.count()).select_from(ApiClient).where(ApiClient.name == name)).one()


def test_same_key_and_body_replays_the_first_response(client, db, app):
    headers = {**auth_headers(db, app, "clients:manage"), "Idempotency-Key": "create-lms-1"}
    first = client.post(
        "/api-clients", json={"name": "LMS", "scopes": ["xapi:write"]}, headers=headers
    )
    second = client.post(
        "/api-clients", json={"name": "LMS", "scopes": ["xapi:write"]}, headers=headers
    )
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert _count(db, "LMS") == 1


def test_same_key_with_another_body_is_409_and_creates_nothing(client, db, app):
    headers = {**auth_headers(db, app, "clients:manage"), "Idempotency-Key": "create-lms-2"}
    client.post("/api-clients", json={"name": "LMS2", "scopes": ["xapi:write"]}, headers=headers)
    conflict = client.post(
        "/api-clients", json={"name": "Other", "scopes": ["xapi:write"]}, headers=headers
    )
    assert conflict.status_code == 409
    assert conflict.json()["type"].endswith("idempotency-key-reused")
    assert _count(db, "Other") == 0


def test_keys_are_per_client(client, db, app):
    body = {"name": "PerClient", "scopes": ["org:read"]}
    for _ in range(2):
        headers = {**auth_headers(db, app, "clients:manage"), "Idempotency-Key": "shared-key"}
        assert client.post("/api-clients", json=body, headers=headers).status_code == 201
    assert _count(db, "PerClient") == 2


def test_without_a_key_every_post_creates(client, db, app):
    headers = auth_headers(db, app, "clients:manage")
    for _ in range(2):
        client.post("/api-clients", json={"name": "NoKey", "scopes": ["org:read"]}, headers=headers)
    assert _count(db, "NoKey") == 2


def test_failed_request_is_not_remembered(client, db, app):
    """A 4xx is not stored: the client can fix the body and retry under the same key."""
    headers = {**auth_headers(db, app, "clients:manage"), "Idempotency-Key": "retry-after-fix"}
    bad = client.post("/api-clients", json={"name": "Fixed", "scopes": ["nope"]}, headers=headers)
    assert bad.status_code == 422
    good = client.post(
        "/api-clients", json={"name": "Fixed", "scopes": ["org:read"]}, headers=headers
    )
    assert good.status_code == 201
