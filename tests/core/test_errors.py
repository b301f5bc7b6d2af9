"""RFC 9457 problem details for every error, and nothing internal leaks."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.keys import SigningKey
from app.core.routing import api_router
from app.main import create_app
from tests.factories import auth_headers

PROBLEM = "application/problem+json"


def _assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:aidiploma:problem:")
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_unknown_path_is_404_problem(client):
    body = _assert_problem(client.get("/no/such/thing"), 404)
    assert body["instance"] == "/no/such/thing"


def test_wrong_method_is_405_problem(client):
    _assert_problem(client.delete("/healthz"), 405)


def test_validation_error_lists_each_field(client, db, app):
    headers = auth_headers(db, app, "clients:manage")
    body = _assert_problem(
        client.post("/api-clients", json={"name": "", "extra": 1}, headers=headers), 422
    )
    fields = {error["field"]: error for error in body["errors"]}
    assert set(fields) == {"name", "scopes", "extra"}
    assert fields["name"]["pointer"] == "#/name"
    assert fields["scopes"]["type"] == "missing"


def test_malformed_json_is_400_problem(client, db, app):
    headers = {**auth_headers(db, app, "clients:manage"), "Content-Type": "application/json"}
    body = _assert_problem(client.post("/api-clients", content=b'{"name": ', headers=headers), 400)
    assert body["type"].endswith("malformed-json")


def test_non_json_body_is_415_problem(client, db, app):
    headers = {**auth_headers(db, app, "clients:manage"), "Content-Type": "text/plain"}
    _assert_problem(client.post("/api-clients", content=b"name=x", headers=headers), 415)


def test_missing_token_is_401_problem_with_challenge(client):
    response = client.get("/api-clients")
    _assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="aidiploma"'


def test_unexpected_exception_is_500_problem_without_internals(database, tmp_path, caplog):
    settings = Settings(database_url=database.url, embedded_worker=False, log_json=False)
    app = create_app(settings, engine=database.engine, signing_key=SigningKey.generate())
    router = api_router()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret SQL: SELECT * FROM api_client")

    app.include_router(router)
    client = TestClient(app, raise_server_exceptions=False)
    response = client.get("/boom", headers={"X-Request-ID": "req-42"})
    body = _assert_problem(response, 500)
    assert "secret" not in response.text and "Traceback" not in response.text
    assert body["request_id"] == "req-42"


def test_request_id_is_echoed_or_generated(client):
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 32
