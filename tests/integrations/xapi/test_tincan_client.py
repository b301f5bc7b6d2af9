"""A real third-party xAPI client (TinCanPython, PyPI `tincan`) stores and reads statements
over HTTP Basic against aidiploma served by uvicorn."""

from __future__ import annotations

import base64
import socket
import threading
import time
import uuid

import pytest
import uvicorn

tincan = pytest.importorskip("tincan")

from tests.integrations.xapi.factories import LMS, lrs_headers  # noqa: E402


@pytest.fixture
def served(app, client):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/xapi/"
    server.should_exit = True
    thread.join(timeout=5)


def test_tincan_python_client_round_trip(served, db):
    headers = lrs_headers(db)
    username, password = (
        base64.b64decode(headers["Authorization"].split()[1]).decode().split(":", 1)
    )
    lrs = tincan.RemoteLRS(endpoint=served, username=username, password=password, version="1.0.1")
    # lrs.about() is not called: TinCanPython 1.0.0 rejects "2.0.0" in the About version
    # list, which xAPI Communication 2.8 requires us to list (a client limitation).
    sent = tincan.Statement(
        id=str(uuid.uuid4()),
        actor=tincan.Agent(name="Anna", mbox="mailto:anna@example.nl"),
        verb=tincan.Verb(
            id="http://adlnet.gov/expapi/verbs/completed",
            display=tincan.LanguageMap({"en-US": "completed"}),
        ),
        object=tincan.Activity(
            id=LMS + "policy-course",
            definition=tincan.ActivityDefinition(name=tincan.LanguageMap({"en-US": "AI policy"})),
        ),
        result=tincan.Result(completion=True, success=True, score=tincan.Score(scaled=0.9)),
    )
    saved = lrs.save_statement(sent)
    assert saved.success, saved.data
    got = lrs.retrieve_statement(str(sent.id))
    assert got.success, got.data
    assert str(got.content.id) == str(sent.id)
    assert got.content.verb.id == "http://adlnet.gov/expapi/verbs/completed"
    batch = [
        tincan.Statement(
            actor=tincan.Agent(mbox="mailto:bo@example.nl"),
            verb=tincan.Verb(id="http://adlnet.gov/expapi/verbs/experienced"),
            object=tincan.Activity(id=LMS + "intro"),
        )
        for _ in range(3)
    ]
    saved = lrs.save_statements(batch)
    assert saved.success, saved.data
    query = lrs.query_statements({"activity": tincan.Activity(id=LMS + "intro"), "limit": 2})
    assert query.success, query.data
    assert len(query.content.statements) == 2
    assert query.content.more
