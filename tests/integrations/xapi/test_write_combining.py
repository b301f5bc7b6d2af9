"""Write combining (xapi/combine.py): small POSTs of one client that arrive while that
client's previous write is in progress are stored together in one transaction, each
answered with its own ids, and a group that cannot be stored as one is stored request by
request, so each request gets the answer it would have had alone.

On a real engine (pooled connections): the test holds the audit chain's lock, so the
first request's transaction waits at its commit while the next requests arrive."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.certification.models import Certification
from app.core import audit
from app.core.audit import AuditEvent
from app.integrations.xapi.models import XapiStatement
from tests.concurrency import wait_for
from tests.integrations.xapi.factories import (
    LMS,
    lms_on_fresh_database,
    lock_waiters,
    statement,
)


def _passed(email: str) -> dict[str, Any]:
    return statement(email, "passed", LMS + "policy-test", result={"score": {"scaled": 0.9}})


def _store_entries(engine: sa.Engine) -> list[AuditEvent]:
    """The xAPI store audit entries, oldest first."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.entity_type == "xapi_batch", AuditEvent.action == "store")
                .order_by(AuditEvent.seq)  # type: ignore[arg-type]
            ).all()
        )


def _store_audits(engine: sa.Engine) -> list[int]:
    """The statement counts of the xAPI store audit entries, oldest first."""
    return [e.after["statements"] for e in _store_entries(engine)]


def _post_in_threads(
    lms: dict[str, Any], bodies: list[Any], *, while_blocked: Callable[[], None] | None = None
) -> list[Any]:
    """POST each body from a thread of its own; the first while the audit chain's lock is
    held, the others once the first is waiting for it; returns the responses in order."""
    responses: list[Any] = [None] * len(bodies)

    def send(index: int) -> None:
        responses[index] = lms["client"].post(
            "/xapi/statements", json=bodies[index], headers=lms["lms"]
        )

    blocker = lms["engine"].connect()
    blocker_tx = blocker.begin()
    blocker.execute(sa.text(f"SELECT pg_advisory_xact_lock({audit._AUDIT_LOCK_KEY})"))
    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    try:
        threads[0].start()
        wait_for(
            lambda: lock_waiters(lms["engine"], locktype="advisory") == 1,
            "the first write never waited",
        )
        combiner = lms["app"].state.xapi_combiner
        for thread in threads[1:]:
            thread.start()
        wait_for(lambda: combiner.waiting() == len(bodies) - 1, "the other requests never queued")
        if while_blocked is not None:
            while_blocked()
    finally:
        blocker_tx.rollback()
        blocker.close()
        for thread in threads:
            thread.join(timeout=30)
    return responses


def _skip_unless_postgresql(database: Any) -> None:
    if database.backend != "postgresql":
        pytest.skip(
            "SQLite has one writer: its requests are written one by one, never combined "
            "(test_on_sqlite_each_request_is_written_alone)"
        )


def test_requests_arriving_during_a_write_share_the_next_transaction(database, tmp_path):
    _skip_unless_postgresql(database)
    with lms_on_fresh_database(database, tmp_path, people=4) as lms:
        emails = lms["emails"]
        first = _passed(emails[0])
        single = [_passed(emails[1]), _passed(emails[2])]
        pair = [_passed(emails[3]), _passed(emails[3])]
        before = _store_audits(lms["engine"])
        responses = _post_in_threads(lms, [first, *single, pair])
        assert [r.status_code for r in responses] == [200, 200, 200, 200]
        # Each request answered with its own ids, in its own order.
        assert responses[0].json() == [first["id"]]
        assert [r.json() for r in responses[1:3]] == [[s["id"]] for s in single]
        assert responses[3].json() == [s["id"] for s in pair]
        # The first alone, the three that arrived while it waited in one transaction.
        assert _store_audits(lms["engine"])[len(before) :] == [1, 4]
        # The combined entry names each request it served, with its number of statements.
        alone, combined = _store_entries(lms["engine"])[len(before) :]
        assert alone.request_id == responses[0].headers["x-request-id"]
        assert "requests" not in alone.after
        assert combined.request_id is None
        assert sorted((r["request_id"], r["statements"]) for r in combined.after["requests"]) == (
            sorted(
                (r.headers["x-request-id"], len(body))
                for r, body in zip(responses[1:], [[single[0]], [single[1]], pair], strict=True)
            )
        )
        with Session(lms["engine"]) as session:
            stored = session.exec(
                select(XapiStatement.id).where(
                    sa.column("id").in_([uuid.UUID(s["id"]) for s in [first, *single, *pair]])
                )
            ).all()
            assert len(stored) == 5
            # Their evidence was derived and everyone evaluated after the responses.
            wait_for(
                lambda: _certified(lms["engine"], lms["people"]) == 4,
                "not everyone was certified",
            )


def _certified(engine: sa.Engine, people: list[uuid.UUID]) -> int:
    with Session(engine) as session:
        return len(
            session.exec(
                select(Certification.person_id).where(
                    sa.column("person_id").in_(people), Certification.state == "active"
                )
            ).all()
        )


def test_a_group_that_fails_is_stored_request_by_request(database, tmp_path):
    """One request of the group conflicts with a stored statement, two others send the same
    new statement: stored one by one, the conflict gets its 409, the rest their 200s, and
    the repeated statement is stored once (Communication 2.1.2.s2.b4-b5)."""
    _skip_unless_postgresql(database)
    with lms_on_fresh_database(database, tmp_path, people=3) as lms:
        emails = lms["emails"]
        kept = _passed(emails[0])
        assert (
            lms["client"].post("/xapi/statements", json=kept, headers=lms["lms"]).status_code == 200
        )
        changed = {**kept, "result": {"score": {"scaled": 0.2}}}
        repeated = _passed(emails[1])
        other = _passed(emails[2])
        responses = _post_in_threads(
            lms, [_passed(emails[2]), changed, repeated, dict(repeated), other]
        )
        assert [r.status_code for r in responses] == [200, 409, 200, 200, 200]
        assert responses[1].json()["type"].endswith("statement-conflict")
        assert responses[2].json() == responses[3].json() == [repeated["id"]]
        with Session(lms["engine"]) as session:
            count = session.exec(
                select(sa.func.count())
                .select_from(XapiStatement)
                .where(sa.column("id").in_([uuid.UUID(repeated["id"]), uuid.UUID(other["id"])]))
            ).one()
            assert count == 2
            raw = session.exec(
                select(XapiStatement.raw).where(sa.column("id") == uuid.UUID(kept["id"]))
            ).one()
            assert '"scaled": 0.9' in raw or '"scaled":0.9' in raw  # the stored one is kept


def test_on_sqlite_each_request_is_written_alone(database, tmp_path):
    if database.backend != "sqlite":
        pytest.skip("PostgreSQL combines concurrent requests (the tests above)")
    with lms_on_fresh_database(database, tmp_path, people=3) as lms:
        before = _store_audits(lms["engine"])
        responses: list[Any] = []
        threads = [
            threading.Thread(
                target=lambda e=email: responses.append(
                    lms["client"].post("/xapi/statements", json=_passed(e), headers=lms["lms"])
                )
            )
            for email in lms["emails"]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(r.status_code for r in responses) == [200, 200, 200]
        assert _store_audits(lms["engine"])[len(before) :] == [1, 1, 1]
        assert getattr(lms["app"].state, "xapi_combiner", None) is None
