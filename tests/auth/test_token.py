"""OAuth 2.0 client credentials grant (RFC 6749 4.4) and the API client lifecycle."""

from __future__ import annotations

from sqlmodel import select

from app.auth import service
from app.auth.models import ApiClient
from app.auth.schemas import ApiClientCreate
from tests.factories import auth_headers


def _client_with_secret(db, scopes):
    client, secret = service.create_client(db, data=ApiClientCreate(name="lms", scopes=scopes))
    db.commit()
    return client, secret


def test_token_with_http_basic(client, db, app):
    """RFC 6749 2.3.1 and 4.4.2: Basic client authentication, form body."""
    api_client, secret = _client_with_secret(db, ["org:read", "audit:read"])
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(api_client.client_id, secret),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "audit:read org:read"
    assert response.headers["cache-control"] == "no-store"
    claims = app.state.signing_key.decode(
        body["access_token"], audience="aidiploma-api", issuer="urn:aidiploma"
    )
    assert claims["client_id"] == api_client.client_id
    protected = client.get(
        "/audit-events", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert protected.status_code == 200


def test_token_with_form_credentials_and_narrowed_scope(client, db):
    """RFC 6749 3.3: a token carries only the requested subset of scopes."""
    api_client, secret = _client_with_secret(db, ["org:read", "audit:read"])
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": api_client.client_id,
            "client_secret": secret,
            "scope": "org:read",
        },
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert response.json()["scope"] == "org:read"
    denied = client.get("/audit-events", headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403


def test_token_scope_beyond_the_clients_is_invalid_scope(client, db):
    """RFC 6749 5.2 invalid_scope."""
    api_client, secret = _client_with_secret(db, ["org:read"])
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "org:write"},
        auth=(api_client.client_id, secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_token_wrong_secret_is_invalid_client(client, db):
    """RFC 6749 5.2 invalid_client, 401 with WWW-Authenticate when Basic was used."""
    api_client, _ = _client_with_secret(db, ["org:read"])
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(api_client.client_id, "wrong"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    unknown = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "cl_nobody", "client_secret": "x"},
    )
    assert unknown.status_code == 401


def test_token_unsupported_grant_and_missing_grant(client, db):
    api_client, secret = _client_with_secret(db, ["org:read"])
    response = client.post(
        "/oauth/token", data={"grant_type": "password"}, auth=(api_client.client_id, secret)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    missing = client.post("/oauth/token", data={}, auth=(api_client.client_id, secret))
    assert missing.json()["error"] == "invalid_request"


def test_deactivated_client_gets_no_token_and_its_tokens_stop_working(client, db, app):
    api_client, secret = _client_with_secret(db, ["audit:read"])
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(api_client.client_id, secret),
    ).json()["access_token"]
    admin = auth_headers(db, app, "clients:manage")
    patched = client.patch(
        f"/api-clients/{api_client.client_id}", json={"active": False}, headers=admin
    )
    assert patched.status_code == 200
    assert patched.json()["active"] is False
    refused = client.get("/audit-events", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    again = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(api_client.client_id, secret),
    )
    assert again.status_code == 401


def test_create_client_returns_secret_once_and_stores_only_a_hash(client, db, app):
    headers = auth_headers(db, app, "clients:manage")
    response = client.post(
        "/api-clients", json={"name": "HR sync", "scopes": ["org:write"]}, headers=headers
    )
    assert response.status_code == 201, response.text
    created = response.json()
    stored = db.exec(select(ApiClient).where(ApiClient.client_id == created["client_id"])).one()
    assert created["client_secret"] not in stored.secret_hash
    assert stored.secret_hash.startswith("$argon2id$")
    fetched = client.get(f"/api-clients/{created['client_id']}", headers=headers).json()
    assert "client_secret" not in fetched
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(created["client_id"], created["client_secret"]),
    )
    assert token.status_code == 200


def test_create_client_with_unknown_scope_is_422(client, db, app):
    headers = auth_headers(db, app, "clients:manage")
    response = client.post(
        "/api-clients", json={"name": "x", "scopes": ["everything"]}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "scopes"


def test_rotate_secret_invalidates_the_old_one(client, db, app):
    api_client, old_secret = _client_with_secret(db, ["org:read"])
    headers = auth_headers(db, app, "clients:manage")
    rotated = client.post(f"/api-clients/{api_client.client_id}/rotate-secret", headers=headers)
    assert rotated.status_code == 200
    new_secret = rotated.json()["client_secret"]
    assert (
        client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(api_client.client_id, old_secret),
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(api_client.client_id, new_secret),
        ).status_code
        == 200
    )
