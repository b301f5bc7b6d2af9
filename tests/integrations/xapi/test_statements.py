"""The Statement resource (xAPI 1.0.3 Part Three, Communication 2.1; 2.0 keeps the rules)."""

from __future__ import annotations

import base64
import json
import uuid

import sqlalchemy as sa

from tests.factories import auth_headers, token_headers
from tests.integrations.xapi.factories import LMS, V, lrs_headers, person, publish, statement


def _get(client, headers, **params):
    return client.get("/xapi/statements", params=params, headers=headers)


def test_post_returns_ids_and_get_by_id_returns_the_statement(client, db):
    """Communication 2.1.2: 200 with the ids in order; 2.1.3 GET by statementId; Data 2.4.8/2.4.9
    stored and authority set by the LRS."""
    headers = lrs_headers(db)
    first = statement("a@example.nl", "experienced", LMS + "intro")
    second = statement("a@example.nl", "experienced", LMS + "intro")
    del second["id"]
    response = client.post("/xapi/statements", json=[first, second], headers=headers)
    assert response.status_code == 200, response.text
    ids = response.json()
    assert ids[0] == first["id"] and uuid.UUID(ids[1])
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    got = _get(client, headers, statementId=first["id"])
    assert got.status_code == 200
    body = got.json()
    assert body["verb"] == first["verb"] and "stored" in body and "authority" in body
    assert body["authority"]["account"]["name"].startswith("cl_")
    assert "X-Experience-API-Consistent-Through" in got.headers


def test_repost_identical_is_a_noop_and_different_is_409(client, db):
    """Communication 2.1.2.s2.b4-b5 and 2.1.1.s2.b3: same id, same content: no change;
    other content: 409 Conflict."""
    headers = lrs_headers(db)
    body = statement("a@example.nl", "experienced", LMS + "intro")
    assert client.post("/xapi/statements", json=body, headers=headers).status_code == 200
    stored = _get(client, headers, statementId=body["id"]).json()["stored"]
    again = dict(body, verb={"id": body["verb"]["id"], "display": {"nl-NL": "ervaren"}})
    assert client.post("/xapi/statements", json=again, headers=headers).status_code == 200
    assert _get(client, headers, statementId=body["id"]).json()["stored"] == stored
    other = dict(body, object={"id": LMS + "other"})
    response = client.post("/xapi/statements", json=other, headers=headers)
    assert response.status_code == 409
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_batch_with_the_same_id_twice_is_400(client, db):
    """Communication 2.1.2.s2.b6."""
    headers = lrs_headers(db)
    body = statement("a@example.nl", "experienced", LMS + "intro")
    assert client.post("/xapi/statements", json=[body, body], headers=headers).status_code == 400


def test_put_statement(client, db):
    """Communication 2.1.1: 204; the id must match statementId (2.1.1.s3.b3); repeat is 204,
    other content 409."""
    headers = lrs_headers(db)
    body = statement("a@example.nl", "experienced", LMS + "intro")
    sid = body.pop("id")
    put = client.put("/xapi/statements", params={"statementId": sid}, json=body, headers=headers)
    assert put.status_code == 204, put.text
    assert (
        client.put(
            "/xapi/statements", params={"statementId": sid}, json=body, headers=headers
        ).status_code
        == 204
    )
    assert _get(client, headers, statementId=sid).status_code == 200
    mismatch = dict(body, id=str(uuid.uuid4()))
    assert (
        client.put(
            "/xapi/statements", params={"statementId": sid}, json=mismatch, headers=headers
        ).status_code
        == 400
    )
    assert client.put("/xapi/statements", json=body, headers=headers).status_code == 400
    changed = dict(body, verb={"id": "urn:x:other"})
    assert (
        client.put(
            "/xapi/statements", params={"statementId": sid}, json=changed, headers=headers
        ).status_code
        == 409
    )


def test_voiding(client, db):
    """Data 2.3.2: a voided statement is only returned by voidedStatementId; the voiding one
    stays queryable; a voiding statement cannot itself be voided (2.3.2.s2.b3)."""
    headers = lrs_headers(db)
    target = statement("a@example.nl", "experienced", LMS + "intro")
    client.post("/xapi/statements", json=target, headers=headers)
    voiding = statement("admin@example.nl", "voided", LMS)
    voiding["object"] = {"objectType": "StatementRef", "id": target["id"]}
    assert client.post("/xapi/statements", json=voiding, headers=headers).status_code == 200
    assert _get(client, headers, statementId=target["id"]).status_code == 404
    assert _get(client, headers, voidedStatementId=target["id"]).json()["id"] == target["id"]
    assert _get(client, headers, voidedStatementId=voiding["id"]).status_code == 404
    listed = [
        s["id"] for s in _get(client, headers, verb=target["verb"]["id"]).json()["statements"]
    ]
    assert target["id"] not in listed
    void_the_void = statement("admin@example.nl", "voided", LMS)
    void_the_void["object"] = {"objectType": "StatementRef", "id": voiding["id"]}
    client.post("/xapi/statements", json=void_the_void, headers=headers)
    assert _get(client, headers, statementId=voiding["id"]).status_code == 200


def test_query_parameters(client, db):
    """Communication 2.1.3.s1: agent, verb, activity, registration, related_activities,
    related_agents, since, until, format, ascending."""
    headers = lrs_headers(db)
    registration = str(uuid.uuid4())
    tag = uuid.uuid4().hex[:8]
    a = statement(
        f"a{tag}@example.nl",
        "passed",
        LMS + f"q-{tag}",
        context={
            "registration": registration,
            "contextActivities": {"parent": [{"id": LMS + f"course-{tag}"}]},
            "instructor": {"mbox": f"mailto:teacher{tag}@example.nl"},
        },
    )
    b = statement(f"b{tag}@example.nl", "failed", LMS + f"q-{tag}")
    c = statement(f"b{tag}@example.nl", "passed", LMS + f"course-{tag}")
    for body in (a, b, c):
        assert client.post("/xapi/statements", json=body, headers=headers).status_code == 200

    def ids(**params):
        response = _get(client, headers, **params)
        assert response.status_code == 200, response.text
        return {s["id"] for s in response.json()["statements"]}

    agent_b = json.dumps({"mbox": f"mailto:b{tag}@example.nl"})
    assert ids(agent=agent_b) == {b["id"], c["id"]}
    assert ids(agent=agent_b, verb=c["verb"]["id"]) == {c["id"]}
    assert ids(activity=LMS + f"q-{tag}") == {a["id"], b["id"]}
    assert ids(activity=LMS + f"course-{tag}") == {c["id"]}
    assert ids(activity=LMS + f"course-{tag}", related_activities="true") == {a["id"], c["id"]}
    assert ids(registration=registration) == {a["id"]}
    teacher = json.dumps({"mbox": f"mailto:teacher{tag}@example.nl"})
    assert ids(agent=teacher) == set()
    assert ids(agent=teacher, related_agents="true") == {a["id"]}
    stored = _get(client, headers, statementId=a["id"]).json()["stored"]
    assert a["id"] not in ids(since=stored, activity=LMS + f"q-{tag}")
    assert a["id"] in ids(until=stored, activity=LMS + f"q-{tag}")
    slim = _get(client, headers, statementId=a["id"], format="ids").json()
    assert slim["verb"] == {"id": a["verb"]["id"]}
    exact = _get(client, headers, statementId=a["id"], format="exact").json()
    assert exact["verb"]["display"] == {"en-US": "passed"}
    order = [
        s["id"] for s in _get(client, headers, agent=agent_b, ascending="true").json()["statements"]
    ]
    assert len(order) == 2
    assert _get(client, headers, agent="{not json").status_code == 400
    assert _get(client, headers, statementId=a["id"], verb="urn:x").status_code == 400
    assert _get(client, headers, statementId=a["id"], voidedStatementId=a["id"]).status_code == 400
    assert _get(client, headers, colour="blue").status_code == 400


def test_paging_with_more(client, db):
    """Data 2.5 StatementResult: `more` fetches the next page until it is empty."""
    headers = lrs_headers(db)
    activity = LMS + f"paging-{uuid.uuid4().hex[:6]}"
    sent = [statement("p@example.nl", "experienced", activity) for _ in range(5)]
    client.post("/xapi/statements", json=sent, headers=headers)
    page = _get(client, headers, activity=activity, limit="2").json()
    seen = [s["id"] for s in page["statements"]]
    while page["more"]:
        page = client.get(page["more"], headers=headers).json()
        seen += [s["id"] for s in page["statements"]]
    assert sorted(seen) == sorted(s["id"] for s in sent) and len(seen) == 5
    empty = _get(client, headers, activity=LMS + "nothing-here")
    assert empty.json() == {"statements": [], "more": ""}  # Communication 2.1.3.s2.b4


def test_version_header(client, db):
    """Communication 3.3: a request without a supported version is a 400; every response
    names the version; 2.0 requests are answered as 2.0.0."""
    headers = lrs_headers(db)
    body = statement("a@example.nl", "experienced", LMS + "intro")
    no_version = {k: v for k, v in headers.items() if k != "X-Experience-API-Version"}
    response = client.post("/xapi/statements", json=body, headers=no_version)
    assert response.status_code == 400 and "X-Experience-API-Version" in response.headers
    bad = client.post(
        "/xapi/statements", json=body, headers={**no_version, "X-Experience-API-Version": "0.95"}
    )
    assert bad.status_code == 400
    v2 = client.post(
        "/xapi/statements", json=body, headers={**no_version, "X-Experience-API-Version": "2.0.0"}
    )
    assert v2.status_code == 200 and v2.headers["X-Experience-API-Version"] == "2.0.0"
    about = client.get("/xapi/about", headers=no_version)
    assert about.status_code == 200 and "2.0.0" in about.json()["version"]


def test_basic_and_bearer_authentication(client, db, app):
    """Communication 4.0: HTTP Basic with an API client's id and secret, or a Bearer token;
    a wrong secret is a 401 (never cached), a missing scope a 403."""
    headers = lrs_headers(db)
    body = statement("a@example.nl", "experienced", LMS + "intro")
    assert client.post("/xapi/statements", json=body, headers=headers).status_code == 200
    user = headers["Authorization"].split()[1]
    import base64

    client_id = base64.b64decode(user).decode().split(":")[0]
    wrong = base64.b64encode(f"{client_id}:wrong".encode()).decode()
    response = client.get("/xapi/about", headers={"Authorization": f"Basic {wrong}", **V})
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Basic")
    assert (
        client.get("/xapi/about", headers={"Authorization": f"Basic {wrong}", **V}).status_code
        == 401
    )
    read_only = lrs_headers(db, "xapi:read")
    assert client.post("/xapi/statements", json=body, headers=read_only).status_code == 403
    bearer = {**auth_headers(db, app, "xapi:read"), **V}
    assert _get(client, bearer, statementId=body["id"]).status_code == 200
    # Basic is only for the LRS routes.
    assert client.get("/people", headers=headers).status_code == 401


def test_non_json_body_and_alternate_syntax_rejected(client, db):
    headers = lrs_headers(db)
    response = client.post(
        "/xapi/statements", content=b"x", headers={**headers, "Content-Type": "text/plain"}
    )
    assert response.status_code in (400, 415)
    assert (
        client.post(
            "/xapi/statements", params={"method": "GET"}, json={}, headers=headers
        ).status_code
        == 400
    )


def test_nan_and_infinity_are_refused_as_not_json_and_text_naming_them_is_stored(client, db):
    """RFC 8259 has no NaN or Infinity, which Python's json reads: refused with a 400,
    nothing stored. The words inside strings are content like any other; non-ASCII text
    and large numbers are kept as sent."""
    headers = {**lrs_headers(db), "Content-Type": "application/json"}
    body = statement("a@example.nl", "experienced", LMS + "intro")
    for constant in ("NaN", "Infinity", "-Infinity"):
        text = json.dumps({**body, "result": {"extensions": {"https://x.example/e": 1}}})
        text = text.replace('"https://x.example/e": 1', f'"https://x.example/e": {constant}')
        response = client.post("/xapi/statements", content=text.encode(), headers=headers)
        assert response.status_code == 400, response.text
        assert constant in response.json()["detail"]
        assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert _get(client, headers, statementId=body["id"]).status_code == 404
    named = {
        **body,
        "result": {
            "response": "NaN of Infinity? Één keer",
            "extensions": {"https://x.example/big": 123456789012345678901234567890},
        },
    }
    response = client.post("/xapi/statements", json=named, headers=headers)
    assert response.status_code == 200, response.text
    got = _get(client, headers, statementId=body["id"]).json()
    assert got["result"] == named["result"]


def test_deactivated_client_cannot_write_from_the_next_request_on(client, db, app):
    """Basic credentials and Bearer tokens are verified from caches on the write routes; the
    client's active flag is read with the existing statements, so a deactivated client's next
    POST or PUT is a 401 (Communication 4.0) and nothing is stored, not even a repeat."""
    from app.auth.models import ApiClient

    basic = lrs_headers(db)
    client_id = base64.b64decode(basic["Authorization"].split()[1]).decode().split(":")[0]
    api_client = db.scalars(sa.select(ApiClient).where(ApiClient.client_id == client_id)).one()
    bearer = {**token_headers(app, api_client), **V}
    stored = statement("a@example.nl", "experienced", LMS + "intro")
    assert client.post("/xapi/statements", json=stored, headers=basic).status_code == 200
    assert client.post("/xapi/statements", json=[], headers=bearer).status_code == 400
    db.execute(
        sa.update(ApiClient).where(ApiClient.client_id == client_id).values(active=False)  # type: ignore[arg-type]
    )
    db.flush()
    fresh = statement("a@example.nl", "experienced", LMS + "intro")
    for headers, scheme in ((basic, "Basic"), (bearer, "Bearer")):
        for body in (fresh, stored):
            response = client.post("/xapi/statements", json=body, headers=headers)
            assert response.status_code == 401, response.text
            assert response.headers["www-authenticate"].startswith(scheme)
            assert response.headers["X-Experience-API-Version"]
        put = client.put(
            "/xapi/statements", params={"statementId": fresh["id"]}, json=fresh, headers=headers
        )
        assert put.status_code == 401
    db.execute(
        sa.update(ApiClient).where(ApiClient.client_id == client_id).values(active=True)  # type: ignore[arg-type]
    )
    db.flush()
    assert _get(client, basic, statementId=fresh["id"]).status_code == 404


def test_storing_a_statement_of_a_known_person_skips_the_look_ups_it_can(client, db, app):
    """Issue 6 (throughput): the client's active flag comes with the existing-statement read,
    earlier pending statements are only read when the people query says there are some, and
    evidence is inserted without a look-up first. A guard against those queries coming back."""
    ctx = publish(client, db, app)
    someone = person(db, ctx["role"])
    headers = lrs_headers(db)
    passed = {"score": {"scaled": 1}}
    first = statement(someone.email, "passed", LMS + "policy-test", result=passed)
    assert client.post("/xapi/statements", json=first, headers=headers).status_code == 200
    executed: list[str] = []

    def count(conn, cursor, statement_text, *args):  # type: ignore[no-untyped-def]
        executed.append(" ".join(statement_text.split()))

    connection = db.connection()
    sa.event.listen(connection, "before_cursor_execute", count)
    try:
        body = statement(someone.email, "passed", LMS + "policy-test", result=passed)
        assert client.post("/xapi/statements", json=body, headers=headers).status_code == 200
    finally:
        sa.event.remove(connection, "before_cursor_execute", count)
    assert len(_evidence_of(db, someone.id)) == 2
    assert not [s for s in executed if s.startswith("SELECT api_client.active FROM")]
    assert not [s for s in executed if s.startswith("SELECT evidence.source, evidence.source_ref")]
    pending = [s for s in executed if "xapi_statement.resolution =" in s and "EXISTS" not in s]
    assert not pending


def _evidence_of(db, person_id):
    from app.evidence.models import Evidence

    return list(db.scalars(sa.select(Evidence.id).where(Evidence.person_id == person_id)))
