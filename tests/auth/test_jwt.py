"""Bearer token verification: RFC 7519 claims checks and the usual JWT attacks, plus tokens from
an external identity provider (verified against its JWKS fetched over HTTP)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time

import httpx
from fastapi.testclient import TestClient

from app.auth.models import ApiClient
from app.core.config import Settings
from app.core.db import make_session_factory
from app.core.keys import SigningKey
from app.main import create_app
from tests.factories import make_api_client


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(app, client: ApiClient, **overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": app.state.settings.token_issuer,
        "aud": app.state.settings.token_audience,
        "sub": client.client_id,
        "client_id": client.client_id,
        "scope": "audit:read",
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return claims


def _sign(app, claims: dict) -> str:
    return app.state.signing_key.sign(claims, headers={"typ": "at+jwt"})


def _get(client, token: str):
    return client.get("/audit-events", headers={"Authorization": f"Bearer {token}"})


def test_valid_token_is_accepted(client, db, app):
    api_client = make_api_client(db, scopes=["audit:read"])
    assert _get(client, _sign(app, _claims(app, api_client))).status_code == 200


def test_expired_token_is_401(client, db, app):
    """RFC 7519 4.1.4: exp in the past."""
    api_client = make_api_client(db, scopes=["audit:read"])
    token = _sign(app, _claims(app, api_client, exp=int(time.time()) - 120))
    response = _get(client, token)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_wrong_audience_is_401(client, db, app):
    """RFC 7519 4.1.3: a token for another API is refused."""
    api_client = make_api_client(db, scopes=["audit:read"])
    token = _sign(app, _claims(app, api_client, aud="another-api"))
    assert _get(client, token).status_code == 401


def test_token_without_audience_or_of_another_type_is_401(client, db, app):
    """RFC 9068: only access tokens (typ at+jwt) for this audience; the same key signs
    diplomas (typ JWT), which must never pass as access tokens."""
    api_client = make_api_client(db, scopes=["audit:read"])
    claims = _claims(app, api_client)
    del claims["aud"]
    assert _get(client, _sign(app, claims)).status_code == 401
    diploma_like = app.state.signing_key.sign(_claims(app, api_client), headers={"typ": "JWT"})
    assert _get(client, diploma_like).status_code == 401


def test_unknown_issuer_is_401(client, db, app):
    api_client = make_api_client(db, scopes=["audit:read"])
    token = _sign(app, _claims(app, api_client, iss="https://evil.example"))
    assert _get(client, token).status_code == 401


def test_alg_none_is_401(client, db, app):
    """RFC 7518 3.6 'none' must never be accepted."""
    api_client = make_api_client(db, scopes=["audit:read"])
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(app, api_client))}."
    assert _get(client, token).status_code == 401


def test_hs256_signed_with_the_public_key_is_401(client, db, app):
    """The algorithm-confusion attack: HMAC keyed with the published RSA public key."""
    api_client = make_api_client(db, scopes=["audit:read"])
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(_claims(app, api_client))}"
    signature = hmac.new(app.state.signing_key.public_pem, signing_input.encode(), hashlib.sha256)
    token = signing_input + "." + base64.urlsafe_b64encode(signature.digest()).decode().rstrip("=")
    assert _get(client, token).status_code == 401


def test_tampered_payload_is_401(client, db, app):
    api_client = make_api_client(db, scopes=["org:read"])
    token = _sign(app, _claims(app, api_client, scope="org:read"))
    header, _payload, signature = token.split(".")
    forged = f"{header}.{_b64(_claims(app, api_client, scope='admin'))}.{signature}"
    assert _get(client, forged).status_code == 401


def test_token_signed_by_another_key_is_401(client, db, app):
    api_client = make_api_client(db, scopes=["audit:read"])
    token = SigningKey.generate().sign(_claims(app, api_client), headers={"typ": "at+jwt"})
    assert _get(client, token).status_code == 401


def test_garbage_and_wrong_scheme_are_401(client):
    assert _get(client, "not-a-jwt").status_code == 401
    basic = client.get("/audit-events", headers={"Authorization": "Token abc"})
    assert basic.status_code == 401
    assert 'error="invalid_request"' in basic.headers["www-authenticate"]


def test_jwks_publishes_the_key_that_verifies_tokens(client, app):
    """RFC 7517: the published key has the kid that our tokens carry."""
    jwks = client.get("/.well-known/jwks.json").json()
    assert [key["kid"] for key in jwks["keys"]] == [app.state.signing_key.kid]
    assert jwks["keys"][0]["kty"] == "RSA" and "d" not in jwks["keys"][0]


# --- external identity provider -------------------------------------------------------------

IDP_ISSUER = "https://login.example-idp.test/tenant/v2.0"
IDP_JWKS_URL = "https://login.example-idp.test/tenant/discovery/v2.0/keys"


def _idp_app(idp_key: SigningKey, fetches: list[str], on_event_loop: list[bool] | None = None):
    """A tiny WSGI identity provider serving its JWKS over HTTP (through httpx's WSGI transport)."""

    def wsgi(environ, start_response):
        fetches.append(environ["PATH_INFO"])
        if on_event_loop is not None:  # was the fetch made on the thread running the API's loop?
            try:
                asyncio.get_running_loop()
                on_event_loop.append(True)
            except RuntimeError:
                on_event_loop.append(False)
        body = json.dumps(idp_key.jwks()).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return wsgi


def _external_app(database, connection, idp_key, fetches, on_event_loop=None, scope_map=None):
    settings = Settings(
        database_url=database.url,
        embedded_worker=False,
        log_level="WARNING",
        log_json=False,
        external_issuer=IDP_ISSUER,
        external_audience="api://aidiploma",
        external_jwks_url=IDP_JWKS_URL,
        external_scope_map=scope_map or {"Reports.Read": ["reports:read", "audit:read"]},
    )
    http = httpx.Client(
        transport=httpx.WSGITransport(app=_idp_app(idp_key, fetches, on_event_loop))
    )
    app = create_app(
        settings, engine=database.engine, signing_key=SigningKey.generate(), http_client=http
    )
    app.state.session_factory = make_session_factory(
        connection, join_transaction_mode="create_savepoint"
    )
    return app


def _idp_token(idp_key: SigningKey, **overrides) -> str:
    now = int(time.time())
    claims = {
        "iss": IDP_ISSUER,
        "aud": "api://aidiploma",
        "azp": "hr-dashboard",
        "roles": ["Reports.Read"],
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return idp_key.sign(claims)


def test_external_idp_token_is_accepted_with_mapped_scopes(database, connection):
    idp_key = SigningKey.generate()
    fetches: list[str] = []
    client = TestClient(_external_app(database, connection, idp_key, fetches))
    response = _get(client, _idp_token(idp_key))
    assert response.status_code == 200, response.text
    # The mapped scopes do not include api-clients management.
    denied = client.get("/api-clients", headers={"Authorization": f"Bearer {_idp_token(idp_key)}"})
    assert denied.status_code == 403
    assert fetches == ["/tenant/discovery/v2.0/keys"], "the JWKS is fetched once and cached"


def test_external_idp_token_without_mapped_role_is_403(database, connection):
    idp_key = SigningKey.generate()
    client = TestClient(_external_app(database, connection, idp_key, []))
    assert _get(client, _idp_token(idp_key, roles=["Something.Else"])).status_code == 403


def test_external_idp_token_with_wrong_audience_or_key_is_401(database, connection):
    idp_key = SigningKey.generate()
    client = TestClient(_external_app(database, connection, idp_key, []))
    assert _get(client, _idp_token(idp_key, aud="api://other")).status_code == 401
    assert _get(client, _idp_token(SigningKey.generate())).status_code == 401


def test_local_tokens_still_work_beside_the_external_idp(database, connection, db):
    idp_key = SigningKey.generate()
    app = _external_app(database, connection, idp_key, [])
    client = TestClient(app)
    api_client = make_api_client(db, scopes=["audit:read"])
    assert _get(client, _sign(app, _claims(app, api_client))).status_code == 200


def test_a_hot_read_fetches_the_idps_keys_in_a_thread_not_on_the_event_loop(
    database, connection, db
):
    """The status read runs on the event loop; the first external token (keys not yet
    fetched) is verified in a thread, so a slow identity provider stalls only that request."""
    from tests.certification.factories import make_person

    someone = make_person(db)
    idp_key = SigningKey.generate()
    fetches: list[str] = []
    on_event_loop: list[bool] = []
    app = _external_app(
        database,
        connection,
        idp_key,
        fetches,
        on_event_loop,
        scope_map={"Status.Read": ["certifications:read"]},
    )
    client = TestClient(app)
    token = _idp_token(idp_key, roles=["Status.Read"])
    path = f"/people/employee:{someone.employee_number}/certification"
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["employee_number"] == someone.employee_number
    assert on_event_loop == [False]
    again = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200 and on_event_loop == [False], "keys and token cached"
