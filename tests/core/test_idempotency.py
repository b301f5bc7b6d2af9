"""Idempotency-Key on creating POSTs: same key and body replays, different body is 409."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import func, select

from app.org.models import Location
from tests.factories import auth_headers, make_api_client, token_headers


def _count(db, name: str) -> int:
    return db.exec(select(func.count()).select_from(Location).where(Location.name == name)).one()


def _post(client, headers, external_id: str, name: str):
    return client.post(
        "/locations", json={"external_id": external_id, "name": name}, headers=headers
    )


def test_same_key_and_body_replays_the_first_response(client, db, app):
    headers = {**auth_headers(db, app, "org:write"), "Idempotency-Key": "create-loc-1"}
    first = _post(client, headers, "idem-1", "Stadhuis")
    second = _post(client, headers, "idem-1", "Stadhuis")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert _count(db, "Stadhuis") == 1


def test_same_key_with_another_body_is_409_and_creates_nothing(client, db, app):
    headers = {**auth_headers(db, app, "org:write"), "Idempotency-Key": "create-loc-2"}
    _post(client, headers, "idem-2", "Noord")
    conflict = _post(client, headers, "idem-3", "Zuid")
    assert conflict.status_code == 409
    assert conflict.json()["type"].endswith("idempotency-key-reused")
    assert _count(db, "Zuid") == 0


def test_keys_are_per_client(client, db, app):
    for number in range(2):
        headers = {**auth_headers(db, app, "org:write"), "Idempotency-Key": "shared-key"}
        assert _post(client, headers, f"per-client-{number}", "PerClient").status_code == 201
    assert _count(db, "PerClient") == 2


def test_without_a_key_every_post_creates(client, db, app):
    headers = auth_headers(db, app, "org:write")
    for number in range(2):
        _post(client, headers, f"no-key-{number}", "NoKey")
    assert _count(db, "NoKey") == 2


def test_failed_request_is_not_remembered(client, db, app):
    """A 4xx is not stored: the client can fix the body and retry under the same key."""
    headers = {**auth_headers(db, app, "org:write"), "Idempotency-Key": "retry-after-fix"}
    assert _post(client, headers, "", "Fixed").status_code == 422
    assert _post(client, headers, "fixed-1", "Fixed").status_code == 201


def test_a_key_past_retention_can_be_used_again(client, db, app, frozen_clock):
    api_client = make_api_client(db, scopes=["org:write"])
    key = {"Idempotency-Key": "old-key"}
    assert (
        _post(client, {**token_headers(app, api_client), **key}, "old-1", "Old").status_code == 201
    )
    frozen_clock.set(frozen_clock.at + timedelta(hours=25))
    again = _post(client, {**token_headers(app, api_client), **key}, "old-2", "Old again")
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
