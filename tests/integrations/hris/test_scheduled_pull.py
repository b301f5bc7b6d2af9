"""HR sources pulled on a schedule by the worker (pull_every_minutes), on both databases."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from app.core.db import create_db_engine, make_session_factory, unit_of_work
from app.integrations.hris import pull, service
from app.integrations.hris.schemas import SourceIn
from app.org.models import Person
from app.worker import default_jobs
from tests.concurrency import wait_for
from tests.conftest import create_database, drop_database
from tests.factories import auth_headers
from tests.integrations.hris.factories import PATHS, FakeHR, HeldHR, employee
from tests.org.factories import make_org

SOURCE = {
    "field_paths": PATHS,
    "pull_url": "https://hr.test/api/employees",
    "items_path": "employees",
    "pagination": "next_link",
    "next_link_path": "links.next",
    "complete_path": "complete",
}


@pytest.fixture
def hr(client, db, app, frozen_clock):
    make_org(db)
    client.headers.update(auth_headers(db, app, "hris:write"))
    return client


def _put(hr, name: str, **fields):
    return hr.put("/integrations/hris/sources", json={"name": name, **SOURCE, **fields})


def _source(hr, name: str) -> dict:
    return next(s for s in hr.get("/integrations/hris/sources").json() if s["name"] == name)


def _worker_job(app, fake: FakeHR):
    """The worker's own job, reading the HR system through `fake` instead of the network."""
    job = next(j for j in default_jobs(app.state.settings) if j.name == "hris-scheduled-pull")
    assert isinstance(job.run, pull.PullDue)
    return pull.PullDue(app.state.settings, transport=httpx.MockTransport(fake))


def _later(hr, db, app, frozen_clock, minutes: int) -> None:
    """Move the clock on, with a token that is valid then."""
    frozen_clock.set(frozen_clock() + timedelta(minutes=minutes))
    hr.headers.update(auth_headers(db, app, "hris:write"))


def _people(db, prefix: str) -> list[str]:
    numbers = db.exec(select(Person.employee_number).where(Person.active.is_(True))).all()
    return sorted(n for n in numbers if n.startswith(prefix))


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_scheduled_source_is_pulled_when_due_and_then_every_interval(hr, db, app, frozen_clock):
    response = _put(hr, "afas-nightly", pull_every_minutes=60)
    assert response.status_code == 200, response.text
    assert _at(response.json()["next_pull_at"]) == frozen_clock(), "due at once"
    fake = FakeHR([employee(f"S{i}") for i in range(5)])
    job = _worker_job(app, fake)

    assert job(db) == 1
    assert _people(db, "S") == ["S0", "S1", "S2", "S3", "S4"]
    source = _source(hr, "afas-nightly")
    assert (source["last_pull_report"]["created"], source["last_pull_report"]["pages"]) == (5, 3)
    assert source["last_pull_error"] is None
    assert _at(source["next_pull_at"]) == frozen_clock() + timedelta(minutes=60)
    calls = fake.calls

    _later(hr, db, app, frozen_clock, 59)
    assert job(db) == 0, "not due yet"
    assert fake.calls == calls

    fake.people = fake.people[:3]  # two left; the listing says it is complete
    _later(hr, db, app, frozen_clock, 1)
    assert job(db) == 1
    assert _people(db, "S") == ["S0", "S1", "S2"]
    assert _source(hr, "afas-nightly")["last_pull_report"]["deactivated"] == 2


def test_a_failing_pull_changes_nothing_keeps_its_error_and_does_not_stop_the_others(
    hr, db, app, frozen_clock
):
    """Page 2 of one HR system keeps answering 503: nothing of its first page is applied, its
    error stays on the source until a pull succeeds, and it waits its interval before the
    next try. The other source is pulled all the same."""
    assert _put(hr, "broken", pull_every_minutes=30).status_code == 200
    assert _put(hr, "fine", pull_every_minutes=30, pull_url="https://hr2.test/api/employees")
    broken = FakeHR([employee(f"B{i}") for i in range(5)], fail_on_page=2)
    fine = FakeHR([employee(f"F{i}") for i in range(2)])

    def by_host(request: httpx.Request) -> httpx.Response:
        return (broken if request.url.host == "hr.test" else fine)(request)

    job = _worker_job(app, by_host)  # type: ignore[arg-type]
    assert job(db) == 1
    assert _people(db, "B") == []
    assert _people(db, "F") == ["F0", "F1"]
    failed = _source(hr, "broken")
    assert (
        failed["last_pull_error"]
        == "Reading https://hr.test/api/employees?page=2 failed: HTTP 503."
    )
    assert failed["last_pull_report"] is None and failed["last_synced_at"] is None
    assert _at(failed["next_pull_at"]) == frozen_clock() + timedelta(minutes=30)

    # What an operator's alert reads: the failing source, and when each last succeeded.
    metrics = hr.get("/metrics", headers=auth_headers(db, app, "metrics:read")).text
    assert 'aidiploma_hris_pull_failing{source="broken"} 1.0' in metrics
    assert 'aidiploma_hris_pull_failing{source="fine"} 0.0' in metrics
    last_pulls = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in metrics.splitlines()
        if line.startswith("aidiploma_hris_last_pull_timestamp_seconds{")
    }
    assert last_pulls == {
        'aidiploma_hris_last_pull_timestamp_seconds{source="fine"}': frozen_clock().timestamp()
    }

    calls = broken.calls
    _later(hr, db, app, frozen_clock, 10)
    assert job(db) == 0 and broken.calls == calls, "a failed source waits its interval"

    broken.fail_on_page = None
    _later(hr, db, app, frozen_clock, 20)
    assert job(db) == 2
    assert _people(db, "B") == ["B0", "B1", "B2", "B3", "B4"]
    recovered = _source(hr, "broken")
    assert recovered["last_pull_error"] is None
    assert recovered["last_pull_report"]["created"] == 5
    metrics = hr.get("/metrics", headers=auth_headers(db, app, "metrics:read")).text
    assert 'aidiploma_hris_pull_failing{source="broken"} 0.0' in metrics


def test_a_schedule_needs_a_pull_url_and_a_sane_interval(hr):
    before = hr.get("/integrations/hris/sources").json()
    for fields in (
        {"pull_url": None, "pull_every_minutes": 60},
        {"pull_every_minutes": 1},
        {"pull_every_minutes": 0},
        {"pull_every_minutes": 60 * 24 * 31},
    ):
        response = _put(hr, "refused", **fields)
        assert response.status_code == 422, (fields, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert hr.get("/integrations/hris/sources").json() == before


def test_a_changed_schedule_is_due_at_once_and_a_removed_one_stops(hr, db, app, frozen_clock):
    assert _put(hr, "afas", pull_every_minutes=1440).status_code == 200
    fake = FakeHR([employee("C1")])
    job = _worker_job(app, fake)
    assert job(db) == 1
    assert _at(_source(hr, "afas")["next_pull_at"]) == frozen_clock() + timedelta(days=1)

    # The same schedule again (say, a secret rotated): the next pull stays where it was.
    assert _put(hr, "afas", pull_every_minutes=1440).status_code == 200
    assert _at(_source(hr, "afas")["next_pull_at"]) == frozen_clock() + timedelta(days=1)
    # A shorter one is due at once.
    assert _put(hr, "afas", pull_every_minutes=15).status_code == 200
    assert _at(_source(hr, "afas")["next_pull_at"]) == frozen_clock()
    assert job(db) == 1

    assert _put(hr, "afas").status_code == 200  # no pull_every_minutes: only on demand
    assert _source(hr, "afas")["next_pull_at"] is None
    _later(hr, db, app, frozen_clock, 10 * 24 * 60)
    calls = fake.calls
    assert job(db) == 0 and fake.calls == calls
    # A pull by hand still works, and reports on the source.
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        pull.run(db, source=service.get_source(db, name="afas"), client=http)
    assert _source(hr, "afas")["last_pull_report"]["unchanged"] == 1


@contextmanager
def _a_worker_waiting_on_the_hr_system(database, tmp_path, people: list[str]):
    """A fresh database with a due HR source, and a worker thread whose scheduled pull is
    waiting on the HR system (listing `people`) when the block starts; at its end the HR
    system answers and the pull finishes. Yields the session factory, the HR system and
    the list that receives the worker's result."""
    fresh = create_database(database.backend, tmp_path)
    engine = create_db_engine(fresh.url)
    try:
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            make_org(session)
            service.put_source(session, data=SourceIn(name="held", pull_every_minutes=60, **SOURCE))
        hr_system = HeldHR(FakeHR([employee(number) for number in people]))
        results: list[int] = []

        def worker() -> None:
            with unit_of_work(factory) as session:
                results.append(pull.pull_due(session, transport=httpx.MockTransport(hr_system)))

        thread = threading.Thread(target=worker)
        thread.start()
        try:
            assert hr_system.reached.wait(10), "the worker never reached the HR system"
            yield factory, hr_system, results
        finally:
            hr_system.release.set()
            thread.join(10)
    finally:
        engine.dispose()
        drop_database(fresh)


def test_two_workers_never_pull_one_source_at_once(database, tmp_path):
    """The first worker claims the source (moves its next_pull_at on, under a row lock that
    other workers skip) and commits before it reads the HR system; a second worker then
    finds nothing due instead of pulling the same HR system a second time."""
    with _a_worker_waiting_on_the_hr_system(database, tmp_path, ["W1", "W2"]) as (
        factory,
        hr_system,
        results,
    ):
        second_hr = FakeHR([employee("W1"), employee("W2")])
        with unit_of_work(factory) as session:
            assert pull.pull_due(session, transport=httpx.MockTransport(second_hr)) == 0
        assert second_hr.calls == 0
        hr_system.release.set()
        wait_for(lambda: results == [1], "the first worker's pull never finished")
        with unit_of_work(factory) as session:
            numbers = session.exec(select(Person.employee_number)).all()
            assert sorted(n for n in numbers if n.startswith("W")) == ["W1", "W2"]


def test_no_lock_is_held_while_the_hr_system_answers(database, tmp_path):
    """While a scheduled pull waits on a slow HR system, another writer commits at once. On
    SQLite the worker's transaction holds the database's write lock: pulling inside it kept
    every API write waiting (and failing after busy_timeout) for the whole pull."""
    with _a_worker_waiting_on_the_hr_system(database, tmp_path, ["L1"]) as (
        factory,
        hr_system,
        results,
    ):
        started = time.monotonic()
        with unit_of_work(factory) as session:
            session.add(Person(employee_number="BY-HAND", given_name="Bo", family_name="Ek"))
        waited = time.monotonic() - started
        hr_system.release.set()
        wait_for(lambda: results == [1], "the worker's pull never finished")
    assert waited < 2, f"the write waited {waited:.1f} s for the pull"
