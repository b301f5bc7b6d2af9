"""The scripts in examples/ run against a live app: uvicorn in a thread on 127.0.0.1, on a
database of their own (SQLite and PostgreSQL), each script in its own process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from sqlmodel import Session
from standardwebhooks import Webhook

from app.auth import service as auth_service
from app.auth.schemas import ApiClientCreate
from app.core import outbox
from app.core.config import Settings
from app.core.db import make_session_factory, unit_of_work
from app.integrations.webhooks import delivery
from app.main import create_app
from app.org.models import Person
from tests.conftest import TEST_SIGNING_KEY, Database, create_database, drop_database
from tests.org.factories import make_org

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class LiveApp:
    url: str
    database: Database
    settings: Settings

    def session(self) -> Session:
        session: Session = make_session_factory(self.database.engine)()
        session.info["actor"] = "test"
        return session

    def api_client(self, *scopes: str) -> tuple[str, str]:
        """A new API client with the scopes; returns (client_id, secret)."""
        with self.session() as session:
            client, secret = auth_service.create_client(
                session,
                data=ApiClientCreate(name=f"example {' '.join(scopes)}", scopes=list(scopes)),
            )
            session.commit()
            return client.client_id, secret

    def run(
        self, script: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(EXAMPLES / script), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", **(env or {})},
        )


def _socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def live(database, tmp_path) -> Iterator[LiveApp]:
    own = create_database(database.backend, tmp_path)
    settings = Settings(
        database_url=own.url,
        embedded_worker=False,
        auto_migrate=False,
        log_json=False,
        log_level="WARNING",
        signing_key_path=tmp_path / "key.pem",
        webhooks_allow_private=True,
    )
    app = create_app(settings, engine=own.engine, signing_key=TEST_SIGNING_KEY)
    sock = _socket()
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the app did not start"
    port = sock.getsockname()[1]
    yield LiveApp(url=f"http://127.0.0.1:{port}", database=own, settings=settings)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    drop_database(own)


# hr_nightly_sync.py


def test_hr_nightly_sync_pushes_batches_of_1000_and_reports_problems(live, tmp_path):
    with live.session() as session:
        make_org(session)
        session.commit()
    client_id, secret = live.api_client("org:write")
    rows = ["employee_number,given_name,family_name,email,org_unit,roles,active"]
    for i in range(1003):
        unit = "no-such-unit" if i == 4 else "team-kcc"
        family = "" if i == 1001 else f"Jansen{i}"
        rows.append(f"N{i:05d},Anna,{family},n{i}@example.org,{unit},klantcontactmedewerker,true")
    export = tmp_path / "export.csv"
    export.write_text("\n".join(rows) + "\n", encoding="utf-8")
    env = {"AIDIPLOMA_CLIENT_ID": client_id, "AIDIPLOMA_CLIENT_SECRET": secret}

    done = live.run("hr_nightly_sync.py", str(export), "--base-url", live.url, env=env)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "1003 records: 1001 created, 0 updated, 0 unchanged, 2 with problems"
    assert lines[1].startswith("record 5 (N00004): org_unit:")
    assert lines[2].startswith("record 1002 (N01001): family_name:")
    with live.session() as session:
        count = session.execute(sa.select(sa.func.count()).select_from(Person)).scalar_one()
    assert count == 1001

    update = tmp_path / "update.json"
    update.write_text(
        json.dumps(
            [
                {"employee_number": "N00000", "given_name": "Anna", "family_name": "Jansen0",
                 "email": "n0@example.org", "org_unit": "team-kcc",
                 "roles": ["klantcontactmedewerker"], "active": False},
                {"employee_number": "N00001", "given_name": "Anna", "family_name": "Jansen1",
                 "email": "n1@example.org", "org_unit": "team-kcc",
                 "roles": [{"role": "klantcontactmedewerker"}], "active": True},
            ]
        )
    )  # fmt: skip
    done = live.run("hr_nightly_sync.py", str(update), "--base-url", live.url, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "2 records: 0 created, 1 updated, 1 unchanged, 0 with problems"
    ]

    bad_login = live.run(
        "hr_nightly_sync.py", str(update), "--base-url", live.url,
        env={**env, "AIDIPLOMA_CLIENT_SECRET": "wrong"},
    )  # fmt: skip
    assert bad_login.returncode == 2 and "sync failed" in bad_login.stderr


# hr_status_writeback.py


@dataclass
class HRStub:
    """The HR system: records every accepted PUT; answers 500 to the requests listed in fail."""

    applied: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)
    fail: set[int] = field(default_factory=set)
    requests: int = 0


@pytest.fixture
def hr_stub() -> Iterator[tuple[HRStub, str]]:
    stub = HRStub()

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
            stub.requests += 1
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if stub.requests in stub.fail:
                self.send_response(500)
            else:
                stub.applied.append((self.path, body, self.headers.get("Idempotency-Key")))
                self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stub, f"http://127.0.0.1:{server.server_address[1]}/hr/api"
    server.shutdown()
    server.server_close()


def _emit(live: LiveApp, *events: tuple[str, str]) -> list[str]:
    """Commit certification change events (type, employee number) as the domain does."""
    ids = []
    with live.session() as session:
        for event_type, number in events:
            data = {"employee_number": number, "tier": "basic", "state": "certified",
                    "valid_until": "2028-06-01", "compliant": True}  # fmt: skip
            ids.append(
                str(outbox.emit(session, event_type=event_type, data=data, ordering_key=number))
            )
        session.commit()
    return ids


def test_hr_status_writeback_applies_every_change_once_across_failures(live, hr_stub, tmp_path):
    stub, hr_url = hr_stub
    client_id, secret = live.api_client("certifications:read")
    env = {"AIDIPLOMA_CLIENT_ID": client_id, "AIDIPLOMA_CLIENT_SECRET": secret}
    cursor = tmp_path / "state" / "cursor"
    args = [hr_url, "--base-url", live.url, "--cursor-file", str(cursor), "--once"]
    first = _emit(
        live,
        ("certification.awarded", "E001"),
        ("certification.awarded", "E002"),
        ("person.compliance_changed", "E001"),
    )
    stub.fail = {2}  # HR is down for the second change
    done = live.run("hr_status_writeback.py", *args, env=env)
    assert done.returncode == 1 and "cursor is at the last change HR accepted" in done.stderr
    assert [key for _, _, key in stub.applied] == first[:1]
    done = live.run("hr_status_writeback.py", *args, env=env)
    assert done.returncode == 0, done.stderr
    assert "2 changes written to HR" in done.stdout
    assert [key for _, _, key in stub.applied] == first, "every change once, in commit order"
    path, body, _ = stub.applied[0]
    assert path == "/hr/api/employees/E001/ai-diploma"
    assert body["event_type"] == "certification.awarded" and body["valid_until"] == "2028-06-01"

    done = live.run("hr_status_writeback.py", *args, env=env)
    assert done.returncode == 0 and "0 changes written" in done.stdout
    later = _emit(live, ("certification.revoked", "E002"))
    done = live.run("hr_status_writeback.py", *args, env=env)
    assert done.returncode == 0
    assert [key for _, _, key in stub.applied] == first + later
    assert stub.applied[-1][0] == "/hr/api/employees/E002/ai-diploma"


# webhook_receiver.py


def test_webhook_receiver_verifies_and_prints_deliveries_from_the_worker(live, tmp_path):
    sock = _socket()
    port = sock.getsockname()[1]
    sock.close()
    receiver = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "webhook_receiver.py"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "WEBHOOK_SECRET": SECRET},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert httpx.post(url, content=b"{}").status_code == 401, "unsigned is refused"
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the receiver did not start"
                time.sleep(0.1)
        client_id, secret = live.api_client("webhooks:manage")
        with httpx.Client(base_url=live.url) as api:
            grant = api.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, secret),
            )
            api.headers["Authorization"] = "Bearer " + grant.json()["access_token"]
            created = api.post(
                "/webhooks/subscriptions",
                json={
                    "url": url,
                    "event_types": ["*"],
                    "secret": SECRET,
                    "allow_private_network": True,
                },
            )
            assert created.status_code == 201, created.text
            assert (
                api.post(f"/webhooks/subscriptions/{created.json()['id']}/test").status_code == 202
            )
        _emit(live, ("certification.awarded", "E001"))
        # The worker's delivery job, as `aidiploma worker` runs it.
        deliverer = delivery.Deliverer(live.settings)
        try:
            with unit_of_work(make_session_factory(live.database.engine)) as session:
                assert delivery.run_all(session, deliverer) == 2
        finally:
            deliverer.close()
        forged = {"webhook-id": "msg_forged", "webhook-timestamp": str(int(time.time())),
                  "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}  # fmt: skip
        assert httpx.post(url, content=b'{"type":"x"}', headers=forged).status_code == 401
        body = '{"type":"retried","timestamp":"2026-06-01T09:00:00Z","data":{}}'
        now = datetime.now(UTC)
        signed = {"webhook-id": "msg_retry", "webhook-timestamp": str(int(now.timestamp())),
                  "webhook-signature": Webhook(SECRET).sign("msg_retry", now, body)}  # fmt: skip
        for _ in range(2):  # a retry keeps its webhook-id: acknowledged, printed once
            assert httpx.post(url, content=body, headers=signed).status_code == 204
    finally:
        receiver.terminate()
        out, err = receiver.communicate(timeout=10)
    events = [json.loads(line) for line in out.splitlines()]
    # Different ordering keys: the worker may deliver the two in parallel, in either order.
    by_type = {e["type"]: e for e in events}
    assert events[-1]["type"] == "retried"
    assert len(events) == 3 and set(by_type) == {
        "webhook.test",
        "certification.awarded",
        "retried",
    }, err
    assert by_type["certification.awarded"]["data"]["employee_number"] == "E001"
    assert all(e["webhook_id"] for e in events)
    assert "rejected" in err


# lms_forwarder.py


def statement(n: int) -> dict[str, Any]:
    return {
        "actor": {"objectType": "Agent", "mbox": f"mailto:learner{n % 2}@example.org"},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/completed",
            "display": {"en-US": "completed"},
        },
        "object": {"objectType": "Activity", "id": f"https://lms.example/xapi/activities/m{n}"},
        "timestamp": "2026-06-01T09:00:00Z",
    }


def test_lms_forwarder_posts_batches_with_basic_auth_and_reruns_are_noops(live, tmp_path):
    key, secret = live.api_client("xapi:write", "xapi:read")
    lines = [json.dumps(statement(n)) for n in range(5)]
    lines.insert(2, "this is not json")
    source = tmp_path / "statements.jsonl"
    source.write_text("\n".join(lines) + "\n")
    args = [str(source), "--base-url", live.url, "--batch-size", "2"]
    env = {"AIDIPLOMA_LRS_KEY": key, "AIDIPLOMA_LRS_SECRET": secret}
    done = live.run("lms_forwarder.py", *args, env=env)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[0] == "5 of 5 statements stored"
    assert done.stdout.splitlines()[1].startswith("line 3: not JSON")
    again = live.run("lms_forwarder.py", *args, env=env)
    assert again.stdout.splitlines()[0] == "5 of 5 statements stored", "same ids: no-ops"
    with httpx.Client(
        base_url=live.url, auth=(key, secret), headers={"X-Experience-API-Version": "1.0.3"}
    ) as lrs:
        listed = lrs.get("/xapi/statements", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["statements"]) == 5
    wrong = live.run("lms_forwarder.py", *args, env={**env, "AIDIPLOMA_LRS_SECRET": "nope"})
    assert wrong.returncode == 1 and "HTTP 401" in wrong.stdout
