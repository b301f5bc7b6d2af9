"""`aidiploma sync hris --source NAME` against a local HR REST server and a database of its own."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, select

from app import cli
from app.integrations.hris import pull, service
from app.integrations.hris.schemas import SourceIn
from app.org.models import Person
from tests.conftest import create_database, drop_database
from tests.integrations.hris.test_events_and_sync import PATHS, employee
from tests.org.factories import make_org


class HRServer:
    """A paged HR listing (?page=N, two per page, a next link, complete=true) on 127.0.0.1."""

    def __init__(self) -> None:
        self.people: list[dict[str, Any]] = []
        self.fail_on_page: int | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                page = int(parse_qs(urlsplit(self.path).query).get("page", ["1"])[0])
                if page == outer.fail_on_page:
                    self.send_response(503)
                    self.end_headers()
                    return
                start = (page - 1) * 2
                more = start + 2 < len(outer.people)
                body = json.dumps(
                    {
                        "employees": outer.people[start : start + 2],
                        "links": {"next": f"/api/employees?page={page + 1}" if more else None},
                        "complete": True,
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/employees"


@pytest.fixture
def hr_server() -> Iterator[HRServer]:
    hr = HRServer()
    thread = threading.Thread(target=hr.server.serve_forever, daemon=True)
    thread.start()
    yield hr
    hr.server.shutdown()
    hr.server.server_close()


@pytest.fixture
def own_database(database, tmp_path, monkeypatch, hr_server):
    """A database the CLI commits to (the shared one stays clean), with the org and the source."""
    own = create_database(database.backend, tmp_path)
    monkeypatch.setenv("AIDIPLOMA_DATABASE_URL", own.url)
    monkeypatch.setenv("AIDIPLOMA_SIGNING_KEY_PATH", str(tmp_path / "keys" / "key.pem"))
    monkeypatch.setattr(pull, "BACKOFF", 0.0)
    # The HR system runs on this machine: an internal address, allowed by the operator.
    monkeypatch.setenv("AIDIPLOMA_HRIS_ALLOW_PRIVATE", "true")
    with Session(own.engine) as session:
        session.info["actor"] = "test"
        make_org(session)
        service.put_source(
            session,
            allow_private=True,
            data=SourceIn(
                name="afas-pull",
                field_paths=PATHS,
                pull_url=hr_server.url,
                items_path="employees",
                pagination="next_link",
                next_link_path="links.next",
                complete_path="complete",
            ),
        )
        session.commit()
    yield own
    drop_database(own)


def _active(own) -> dict[str, bool]:
    with Session(own.engine) as session:
        rows = session.exec(select(Person.employee_number, Person.active)).all()
    return dict(rows)


def test_sync_hris_json_reports_and_deactivates_on_complete_listing(
    own_database, hr_server, capsys
):
    hr_server.people = [employee(f"P{i}") for i in range(5)]
    assert cli.main(["sync", "hris", "--source", "afas-pull", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["pages"], report["created"], report["deactivated"]) == (3, 5, 0)
    assert report["unmapped"] == [{"kind": "role", "value": "KCM"}]
    hr_server.people = hr_server.people[:3]
    assert cli.main(["sync", "hris", "--source", "afas-pull"]) == 0
    out = capsys.readouterr().out
    assert "0 created, 0 updated, 3 unchanged, 2 deactivated, 0 errors" in out
    assert "unmapped role: KCM" in out
    assert _active(own_database) == {"P0": True, "P1": True, "P2": True, "P3": False, "P4": False}


def test_sync_hris_failure_half_way_exits_1_and_changes_nothing(own_database, hr_server, capsys):
    hr_server.people = [employee(f"P{i}") for i in range(5)]
    hr_server.fail_on_page = 2
    assert cli.main(["sync", "hris", "--source", "afas-pull", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "HTTP 503" in captured.err and "Nothing was changed" in captured.err
    assert _active(own_database) == {}


def test_sync_hris_unknown_source_exits_2(own_database, capsys):
    assert cli.main(["sync", "hris", "--source", "nope"]) == 2
    assert "No HR source nope" in capsys.readouterr().err


def test_sync_hris_refuses_an_internal_address_unless_the_server_allows_it(
    own_database, hr_server, monkeypatch, capsys
):
    """SSRF: without AIDIPLOMA_HRIS_ALLOW_PRIVATE a pull never reaches 127.0.0.1."""
    hr_server.people = [employee("P0")]
    monkeypatch.setenv("AIDIPLOMA_HRIS_ALLOW_PRIVATE", "false")
    assert cli.main(["sync", "hris", "--source", "afas-pull"]) == 1
    assert "127.0.0.1, a private, loopback" in capsys.readouterr().err
    assert _active(own_database) == {}
