"""GET /xapi/statements by statementId / voidedStatementId on the lean path (statement_read.py):
the same bytes as the full route, headers and body, for every answer; no ORM session."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.auth.models import ApiClient
from tests.conftest import app_on_fresh_database
from tests.factories import auth_headers
from tests.integrations.xapi.factories import LMS, V, lrs_headers, statement


class CountingFactory:
    """The app's session factory, counting the ORM sessions requests open."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.kw = inner.kw
        self.opened = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.opened += 1
        return self.inner(*args, **kwargs)


@pytest.fixture
def stored(client, db, app, frozen_clock):
    """A live, a voided and a voiding statement; Basic and Bearer headers; a counting factory."""
    basic = lrs_headers(db)
    live = statement("a@example.nl", "passed", LMS + "intro", result={"score": {"scaled": 0.9}})
    target = statement("a@example.nl", "experienced", LMS + "intro")
    voiding = statement("admin@example.nl", "voided", LMS)
    voiding["object"] = {"objectType": "StatementRef", "id": target["id"]}
    for body in (live, target, voiding):
        response = client.post("/xapi/statements", json=body, headers=basic)
        assert response.status_code == 200, response.text
    factory = app.state.session_factory = CountingFactory(app.state.session_factory)
    return {
        "basic": basic,
        "bearer": {**auth_headers(db, app, "xapi:read"), **V},
        "live": live["id"],
        "voided": target["id"],
        "voiding": voiding["id"],
        "factory": factory,
    }


def _both(client, app, headers, params) -> tuple[Any, Any, int]:
    """The response with the lean path, the full route's, and the sessions the first opened."""
    headers = {**headers, "X-Request-ID": "same-request"}
    factory = app.state.session_factory
    before = factory.opened
    lean = client.get("/xapi/statements", params=params, headers=headers)
    sessions = factory.opened - before
    # (monkeypatch cannot restore attributes of starlette's State: it keeps them in _state)
    reader, app.state.xapi_statement_reader = app.state.xapi_statement_reader, None
    try:
        full = client.get("/xapi/statements", params=params, headers=headers)
    finally:
        app.state.xapi_statement_reader = reader
    return lean, full, sessions


def _same(lean, full) -> None:
    assert lean.status_code == full.status_code
    assert lean.headers.multi_items() == full.headers.multi_items()
    assert lean.content == full.content


def test_lean_answers_exactly_as_the_full_route(client, app, stored):
    """Communication 2.1.3: a statement by statementId, format ids/exact/canonical,
    attachments=false, versions 1.0.x and 2.0.x, Basic and Bearer; Data 2.3.2: a voided
    statement only by voidedStatementId; 404 for an unknown id. No ORM session."""
    v2 = {**stored["basic"], "X-Experience-API-Version": "2.0.0"}
    cases = [
        (stored["basic"], {"statementId": stored["live"]}, 200),
        (stored["basic"], {"statementId": stored["live"].upper()}, 200),
        (stored["basic"], {"statementId": stored["live"], "format": "ids"}, 200),
        (stored["basic"], {"statementId": stored["live"], "format": "exact"}, 200),
        (stored["basic"], {"statementId": stored["live"], "format": "canonical"}, 200),
        (stored["basic"], {"statementId": stored["live"], "attachments": "false"}, 200),
        (v2, {"statementId": stored["live"]}, 200),
        (stored["bearer"], {"statementId": stored["live"]}, 200),
        (stored["basic"], {"voidedStatementId": stored["voided"]}, 200),
        (stored["basic"], {"statementId": stored["voiding"]}, 200),
        (stored["basic"], {"statementId": stored["voided"]}, 404),
        (stored["basic"], {"voidedStatementId": stored["live"]}, 404),
        (stored["bearer"], {"statementId": str(uuid.uuid4())}, 404),
    ]
    for headers, params, status in cases:
        lean, full, sessions = _both(client, app, headers, params)
        assert lean.status_code == status, (params, lean.text)
        _same(lean, full)
        assert sessions == 0, params
        assert lean.headers["X-Experience-API-Consistent-Through"]
        if status == 404:
            assert lean.headers["content-type"] == "application/problem+json"
    slim = client.get(
        "/xapi/statements",
        params={"statementId": stored["live"], "format": "ids"},
        headers=stored["basic"],
    ).json()
    assert slim["verb"] == {"id": "http://adlnet.gov/expapi/verbs/passed"}


def test_requests_the_lean_path_cannot_answer_get_the_full_routes_answer(client, db, app, stored):
    """Communication 3.3 (version header), 2.1.3.s2.b1-b2 (parameters), 4.0 (authentication
    and scope): the same problem responses as always, from the full route."""
    basic = stored["basic"]
    no_version = {k: v for k, v in basic.items() if k != "X-Experience-API-Version"}
    client_id, _, _ = base64.b64decode(basic["Authorization"].split()[1]).decode().partition(":")
    wrong = base64.b64encode(f"{client_id}:wrong".encode()).decode()
    live = stored["live"]
    cases = [
        (no_version, {"statementId": live}, 400),
        ({**basic, "X-Experience-API-Version": "0.95"}, {"statementId": live}, 400),
        (basic, {"statementId": live, "attachments": "true"}, 400),
        (basic, {"statementId": live, "attachments": "maybe"}, 400),
        (basic, {"statementId": live, "format": "full"}, 400),
        (basic, {"statementId": "not-a-uuid"}, 400),
        (basic, {"statementId": live, "voidedStatementId": live}, 400),
        (basic, {"statementId": live, "verb": "urn:x"}, 400),
        (basic, [("statementId", live), ("statementId", live)], 200),
        (V, {"statementId": live}, 401),
        ({**V, "Authorization": f"Basic {wrong}"}, {"statementId": live}, 401),
        ({**V, "Authorization": "Bearer not-a-token"}, {"statementId": live}, 401),
        (lrs_headers(db, "xapi:write"), {"statementId": live}, 403),
        ({**auth_headers(db, app, "xapi:write"), **V}, {"statementId": live}, 403),
    ]
    for headers, params, status in cases:
        lean, full, _ = _both(client, app, headers, params)
        assert lean.status_code == status, (params, lean.text)
        _same(lean, full)
        assert lean.headers["X-Experience-API-Version"]


def test_deactivated_client_is_refused_at_once(client, db, app, stored):
    """Basic credentials and Bearer tokens are verified from caches; the client's active
    flag is read with the statement, so deactivation takes effect on the next request."""
    for headers in (stored["basic"], stored["bearer"]):
        params = {"statementId": stored["live"]}
        assert client.get("/xapi/statements", params=params, headers=headers).status_code == 200
    db.execute(sa.update(ApiClient).values(active=False))  # type: ignore[arg-type]
    db.flush()
    for headers in (stored["basic"], stored["bearer"]):
        lean, full, _ = _both(client, app, headers, {"statementId": stored["live"]})
        assert lean.status_code == 401
        _same(lean, full)


def test_lean_read_on_a_real_engine(database, tmp_path):
    """Outside the tests' joined connection: the pooled raw connection on SQLite, the async
    psycopg connections on the event loop on PostgreSQL."""
    with app_on_fresh_database(database.backend, tmp_path) as (app, fresh):
        assert (getattr(app.state, "xapi_server_reads", None) is not None) == (
            database.backend == "postgresql"
        )
        from sqlmodel import Session

        with Session(fresh.engine) as session:
            headers = lrs_headers(session)
            session.commit()
        factory = CountingFactory(app.state.session_factory)
        app.state.session_factory = factory
        with TestClient(app) as client:
            body = statement("real@example.nl", "experienced", LMS + "intro")
            assert client.post("/xapi/statements", json=body, headers=headers).status_code == 200
            opened = factory.opened
            for _ in range(3):  # the connections are kept between reads
                got = client.get(
                    "/xapi/statements", params={"statementId": body["id"]}, headers=headers
                )
                assert got.status_code == 200, got.text
                assert got.json()["id"] == body["id"]
            missing = client.get(
                "/xapi/statements", params={"voidedStatementId": body["id"]}, headers=headers
            )
            assert missing.status_code == 404
            assert factory.opened == opened
            with Session(fresh.engine) as session:
                session.execute(sa.update(ApiClient).values(active=False))  # type: ignore[arg-type]
                session.commit()
            refused = client.get(
                "/xapi/statements", params={"statementId": body["id"]}, headers=headers
            )
            assert refused.status_code == 401
