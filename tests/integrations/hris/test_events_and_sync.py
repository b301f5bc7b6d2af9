"""HR webhooks in (Standard Webhooks signatures) and HR pull sync, on both databases."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import datetime

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from standardwebhooks import Webhook

from app.integrations.hris import mapping, pull, router, service
from app.integrations.hris.schemas import SourceIn
from app.org.models import Person
from tests.conftest import app_on_fresh_database
from tests.factories import auth_headers
from tests.integrations.hris.factories import PATHS, FakeHR, HeldHR, employee
from tests.org.factories import make_org

SECRET = "whsec_" + base64.b64encode(b"a-shared-secret-of-32-bytes-long").decode()


@pytest.fixture
def hr(client, db, app, frozen_clock):
    make_org(db)
    service.put_source(db, data=SourceIn(name="afas", secret=SECRET, field_paths=PATHS))
    db.flush()
    client.headers.update(auth_headers(db, app, "hris:write"))
    return client


def send(client, frozen_clock, payload: dict, *, msg_id="msg_1", secret=SECRET, at=None):
    body = json.dumps(payload)
    at = at or frozen_clock()
    signature = Webhook(secret).sign(msg_id, at, body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }
    return client.post("/integrations/hris/events?source=afas", content=body, headers=headers)


def test_signed_event_creates_person_and_reports_unmapped_job_code(hr, db, frozen_clock):
    """Signature made with the standardwebhooks package verifies; an unknown job code is reported."""
    response = send(
        hr, frozen_clock, {"id": "ev1", "type": "employee.created", "data": employee("H1")}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "created"
    assert response.json()["unmapped"] == [{"kind": "role", "value": "KCM"}]
    person = db.exec(select(Person).where(Person.employee_number == "H1")).one()
    assert person.email == "h1@example.org"
    unmapped = hr.get("/integrations/hris/unmapped").json()["items"]
    assert [(u["kind"], u["value"]) for u in unmapped] == [("role", "KCM")]
    # A mapping for it takes it off the report, and the next event gives the role.
    hr.put(
        "/integrations/hris/mappings",
        json={"kind": "role", "source_value": "KCM", "target_key": "klantcontactmedewerker"},
    )
    assert hr.get("/integrations/hris/unmapped").json()["items"] == []
    send(
        hr,
        frozen_clock,
        {"id": "ev2", "type": "employee.changed", "data": employee("H1")},
        msg_id="msg_2",
    )
    roles = [
        r["role"]
        for r in hr.get("/people/employee:H1", headers=auth_headers(db, hr.app, "org:read")).json()[
            "roles"
        ]
    ]
    assert roles == ["klantcontactmedewerker"]


def test_invalid_signature_401_changes_nothing(hr, db, frozen_clock):
    other = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()
    response = send(
        hr,
        frozen_clock,
        {"id": "ev1", "type": "employee.created", "data": employee("H1")},
        secret=other,
    )
    assert response.status_code == 401
    assert response.json()["type"].endswith("invalid-signature")
    assert db.exec(select(Person).where(Person.employee_number == "H1")).first() is None


def test_replayed_event_outside_five_minutes_401(hr, db, frozen_clock):
    old = datetime.fromisoformat("2026-06-01T08:54:00+00:00")  # six minutes before the clock
    response = send(
        hr, frozen_clock, {"id": "ev1", "type": "employee.created", "data": employee("H1")}, at=old
    )
    assert response.status_code == 401
    assert response.json()["type"].endswith("stale-signature")


def test_duplicate_event_is_idempotent_and_reused_id_409(hr, db, frozen_clock):
    payload = {"id": "ev1", "type": "employee.created", "data": employee("H1")}
    first = send(hr, frozen_clock, payload)
    again = send(hr, frozen_clock, payload, msg_id="msg_retry")
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["person_id"] == first.json()["person_id"]
    changed = {
        "id": "ev1",
        "type": "employee.created",
        "data": employee("H1", work_email="x@example.org"),
    }
    assert send(hr, frozen_clock, changed, msg_id="msg_3").status_code == 409


def test_terminated_event_deactivates(hr, db, frozen_clock):
    send(hr, frozen_clock, {"id": "ev1", "type": "employee.created", "data": employee("H1")})
    response = send(
        hr,
        frozen_clock,
        {"id": "ev2", "type": "employee.terminated", "data": {"id": "H1"}},
        msg_id="m2",
    )
    assert response.status_code == 200, response.text
    person = hr.get("/people/employee:H1", headers=auth_headers(db, hr.app, "org:read")).json()
    assert person["active"] is False
    assert person["employment_end_date"] == "2026-06-01"


def _source(db):
    return service.put_source(
        db,
        data=SourceIn(
            name="afas-pull",
            field_paths=PATHS,
            pull_url="https://hr.test/api/employees",
            items_path="employees",
            pagination="next_link",
            next_link_path="links.next",
            complete_path="complete",
        ),
    )


def test_pull_sync_pages_upserts_and_deactivates_on_complete_listing(client, db, frozen_clock):
    make_org(db)
    source = _source(db)
    people = [employee(f"P{i}") for i in range(5)]
    fake = FakeHR(people)
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        report = pull.run(db, source=source, client=http)
    assert (report.pages, report.created, report.errors) == (3, 5, 0)
    assert report.unmapped == [{"kind": "role", "value": "KCM"}]
    fake.people = people[:3]
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        report = pull.run(db, source=source, client=http)
    assert (report.unchanged, report.deactivated, report.complete) == (3, 2, True)
    inactive = db.exec(select(Person.employee_number).where(Person.active.is_(False))).all()
    assert sorted(inactive) == ["P3", "P4"]


def test_a_complete_listing_deactivates_only_the_people_its_source_keeps(
    client, db, app, frozen_clock
):
    """Someone entered through the API, or kept by another HR source, is not missing from
    this source's listing: it never listed them. Its own leavers are deactivated."""

    make_org(db)
    source = _source(db)
    by_hand = client.post(
        "/people",
        json={
            "employee_number": "MANUAL1",
            "given_name": "Ada",
            "family_name": "Hand",
            "roles": [{"role": "klantcontactmedewerker"}],
        },
        headers=auth_headers(db, app, "org:write"),
    )
    assert by_hand.status_code == 201, by_hand.text
    other = mapping.apply_hr_records(
        db, records=[mapping.HrRecord(employee_number="OTHER1", given_name="Bo")], source="nmbrs"
    )
    assert other.outcomes[0].status == "created"
    listed = [employee("P0"), employee("P1")]
    fake = FakeHR(listed)
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        pull.run(db, source=source, client=http)
    fake.people = listed[:1]
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        report = pull.run(db, source=source, client=http)
    assert (report.deactivated, report.complete) == (1, True)
    db.expire_all()
    inactive = db.exec(select(Person.employee_number).where(Person.active.is_(False))).all()
    assert inactive == ["P1"]
    keeper = dict(db.exec(select(Person.employee_number, Person.hr_source)).all())
    assert keeper == {"MANUAL1": None, "OTHER1": "nmbrs", "P0": "afas-pull", "P1": "afas-pull"}
    # An administrator sees in the person API which source keeps whom.
    listing = client.get("/people", headers=auth_headers(db, app, "org:read")).json()
    shown = {p["employee_number"]: p["hr_source"] for p in listing["items"]}
    assert shown == keeper


def test_pull_sync_failure_half_way_raises_and_a_rerun_completes(client, db, app, frozen_clock):
    """Page 2 keeps failing (503 after retries): SyncFailed, no deactivation; the caller's unit
    of work rolls back. A rerun when the source is back applies everything."""
    make_org(db)
    source = _source(db)
    people = [employee(f"P{i}") for i in range(5)]
    fake = FakeHR(people, fail_on_page=2)
    savepoint = db.begin_nested()
    with httpx.Client(transport=httpx.MockTransport(fake)) as http, pytest.raises(pull.SyncFailed):
        pull.run(db, source=source, client=http)
    assert fake.calls == 1 + 1 + pull.RETRIES
    savepoint.rollback()
    assert db.exec(select(Person).where(Person.employee_number.startswith("P"))).all() == []
    fake.fail_on_page = None
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        report = pull.run(db, source=source, client=http)
    assert report.created == 5


def test_pull_sync_does_not_follow_a_next_link_to_another_host(client, db, frozen_clock):
    """The source's headers carry its credentials: a next link elsewhere stops the sync."""
    make_org(db)
    source = _source(db)
    seen_hosts: list[str] = []

    def elsewhere(request: httpx.Request) -> httpx.Response:
        seen_hosts.append(request.url.host)
        return httpx.Response(
            200,
            json={
                "employees": [employee("P0")],
                "links": {"next": "https://collector.example/steal?page=2"},
            },
        )

    savepoint = db.begin_nested()
    transport = httpx.MockTransport(elsewhere)
    with httpx.Client(transport=transport) as http, pytest.raises(pull.SyncFailed, match="host"):
        pull.run(db, source=source, client=http)
    savepoint.rollback()
    assert seen_hosts == ["hr.test"]


def test_a_secret_that_is_not_base64_is_refused_and_nothing_is_stored(hr):
    before = hr.get("/integrations/hris/sources").json()
    response = hr.put(
        "/integrations/hris/sources",
        json={"name": "broken", "secret": "whsec_not*base64!", "field_paths": PATHS},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert hr.get("/integrations/hris/sources").json() == before


def test_a_pull_url_on_an_internal_address_is_refused_unless_allowed(client, db, app):
    """SSRF: an HR source may not make the server read its own network (cloud metadata,
    admin ports) unless the operator allows internal HR systems (hris_allow_private)."""
    body = {
        "name": "metadata",
        "field_paths": PATHS,
        "pull_url": "http://169.254.169.254/latest/meta-data/",
        "items_path": "employees",
    }
    headers = auth_headers(db, app, "hris:write")
    refused = client.put("/integrations/hris/sources", json=body, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("unsafe-url")
    assert "AIDIPLOMA_HRIS_ALLOW_PRIVATE" in refused.json()["detail"]
    listed = client.get("/integrations/hris/sources", headers=headers).json()
    assert "metadata" not in [s["name"] for s in listed]
    allowed = service.put_source(
        db, data=SourceIn.model_validate(body), allow_private=True
    )  # an operator who runs the HR system in-house
    assert allowed.pull_url == body["pull_url"]


def test_a_redirect_to_another_host_or_an_internal_address_is_not_followed(
    client, db, frozen_clock
):
    """The source's own headers (an API key) must not follow a redirect off its host."""
    make_org(db)
    source = _source(db)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"location": "http://127.0.0.1:9/steal"})

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        pytest.raises(pull.SyncFailed, match="leaves"),
    ):
        pull.run(db, source=source, client=http)
    assert seen == ["https://hr.test/api/employees"]


@pytest.fixture
def hr_system(app):
    """The HR system POST .../sync reads, served by a FakeHR instead of the network."""
    fake = FakeHR([employee(f"E{i}") for i in range(5)])

    def client():
        with httpx.Client(transport=httpx.MockTransport(fake)) as http:
            yield http

    app.dependency_overrides[router.hr_http_client] = client
    yield fake
    app.dependency_overrides.pop(router.hr_http_client)


def test_sync_endpoint_pulls_now_and_keeps_the_report_on_the_source(
    client, db, app, frozen_clock, hr_system
):
    make_org(db)
    _source(db)
    headers = auth_headers(db, app, "hris:write")
    response = client.post("/integrations/hris/sources/afas-pull/sync", headers=headers)
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["pages"]) == (5, 3)
    numbers = db.exec(select(Person.employee_number).where(Person.active.is_(True))).all()
    assert sorted(n for n in numbers if n.startswith("E")) == [f"E{i}" for i in range(5)]
    [source] = [
        s
        for s in client.get("/integrations/hris/sources", headers=headers).json()
        if s["name"] == "afas-pull"
    ]
    assert source["last_pull_report"]["created"] == 5
    assert source["last_synced_at"] is not None


def test_sync_endpoint_failure_is_502_and_changes_nothing(client, db, app, hr_system):
    make_org(db)
    _source(db)
    hr_system.fail_on_page = 2
    headers = auth_headers(db, app, "hris:write")
    response = client.post("/integrations/hris/sources/afas-pull/sync", headers=headers)
    assert response.status_code == 502, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Nothing was changed" in response.json()["detail"]
    assert db.exec(select(Person).where(Person.employee_number.startswith("E"))).all() == []
    missing = client.post("/integrations/hris/sources/nobody/sync", headers=headers)
    assert missing.status_code == 404


def test_sync_endpoint_takes_no_lock_while_the_hr_system_answers(database, tmp_path):
    """While POST .../sync waits on a slow HR system another write request is answered at
    once: the endpoint starts writing only after the whole listing was read (on SQLite a
    write request otherwise holds the database's write lock from its start)."""
    with app_on_fresh_database(database.backend, tmp_path) as (app, fresh):
        with Session(fresh.engine) as session:
            make_org(session)
            _source(session)
            headers = auth_headers(session, app, "hris:write")
            session.commit()
        hr_system = HeldHR(FakeHR([employee("L1"), employee("L2")]))

        def http():
            with httpx.Client(transport=httpx.MockTransport(hr_system)) as client:
                yield client

        app.dependency_overrides[router.hr_http_client] = http
        with TestClient(app) as client:
            answers = []
            thread = threading.Thread(
                target=lambda: answers.append(
                    client.post("/integrations/hris/sources/afas-pull/sync", headers=headers)
                )
            )
            thread.start()
            try:
                assert hr_system.reached.wait(10), "the sync never reached the HR system"
                if database.backend == "postgresql":
                    # No connection sits idle in a transaction while the HR system answers.
                    with fresh.engine.connect() as watcher:
                        idle = watcher.execute(
                            sa.text(
                                "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                "current_database() AND state = 'idle in transaction'"
                            )
                        ).scalar_one()
                    assert idle == 0
                started = time.monotonic()
                mapped = client.put(
                    "/integrations/hris/mappings",
                    json={"kind": "role", "source_value": "KCM", "target_key": "kcm"},
                    headers=headers,
                )
                waited = time.monotonic() - started
            finally:
                hr_system.release.set()
                thread.join(10)
        assert mapped.status_code == 200, mapped.text
        assert waited < 2, f"the write waited {waited:.1f} s for the sync"
        assert answers and answers[0].status_code == 200, answers and answers[0].text
        assert answers[0].json()["created"] == 2


def test_a_pull_that_creates_many_people_refreshes_the_statistics_on_the_way(
    client, db, frozen_clock, monkeypatch
):
    """On PostgreSQL a long first import runs ANALYZE inside its transaction so the next
    pages' look-ups are planned for the rows it added (pull._analyze_people); here after
    every page, and on SQLite it does nothing. The import itself is the same."""
    make_org(db)
    source = _source(db)
    monkeypatch.setattr(pull, "ANALYZE_FIRST", 1)
    analyzed: list[int] = []
    real = pull._analyze_people
    monkeypatch.setattr(pull, "_analyze_people", lambda s: (analyzed.append(1), real(s)))
    fake = FakeHR([employee(f"A{i}") for i in range(7)], page_size=2)
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        report = pull.run(db, source=source, client=http)
    assert (report.pages, report.created, report.errors) == (4, 7, 0)
    # Before pages 2, 3 and 4: 2, 4 and 6 people created, past thresholds 1, 2 and 4.
    assert len(analyzed) == 3
    numbers = db.exec(select(Person.employee_number).where(Person.active.is_(True))).all()
    assert sorted(n for n in numbers if n.startswith("A")) == [f"A{i}" for i in range(7)]


def test_a_pull_checks_the_hr_systems_address_once_not_per_page(
    client, db, frozen_clock, monkeypatch
):
    """Every page is on the pull_url's host (another host is refused), so its addresses are
    looked up and checked against the private ranges once per pull: a slow resolver is paid
    once, not for each of a listing's hundreds of pages."""
    from app.core import urls

    make_org(db)
    source = _source(db)
    looked_up: list[str] = []
    real = urls.resolve
    monkeypatch.setattr(
        urls, "resolve", lambda host, port: (looked_up.append(host), real(host, port))[1]
    )
    fake = FakeHR([employee(f"R{i}") for i in range(5)])  # three pages
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        report = pull.run(db, source=source, client=http)
    assert report.pages == 3
    assert looked_up == ["hr.test"]
