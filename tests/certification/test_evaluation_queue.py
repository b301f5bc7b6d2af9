"""Evaluation requests: people an LMS request touched are evaluated after its response,
once each however many requests named them, and nothing queued is lost when the process
that queued them does not get to it."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlmodel import select

from app.certification import queue
from app.certification.models import Certification, EvaluationRequest
from app.core.audit import AuditEvent
from app.core.db import make_session_factory, unit_of_work
from app.evidence.models import Evidence
from tests.factories import auth_headers
from tests.integrations.xapi.factories import LMS, lrs_headers, person, publish, statement


def _passed(email: str) -> dict:
    return statement(email, "passed", LMS + "policy-test", result={"score": {"scaled": 0.9}})


def _certifications(db, person_id):
    db.expire_all()
    return db.exec(select(Certification).where(Certification.person_id == person_id)).all()


def _waiting(db) -> list[EvaluationRequest]:
    db.expire_all()
    return list(db.exec(select(EvaluationRequest)).all())


def test_a_statement_is_evaluated_once_its_request_is_answered(client, db, app):
    ctx = publish(client, db, app)
    someone = person(db, ctx["role"])
    headers = lrs_headers(db)
    response = client.post("/xapi/statements", json=_passed(someone.email), headers=headers)
    assert response.status_code == 200
    # The test client returns after the response's background work, as a client would
    # see it a few milliseconds later.
    [diploma] = _certifications(db, someone.id)
    assert diploma.tier_key == "basic" and diploma.state == "active"
    [evidence] = db.exec(select(Evidence).where(Evidence.person_id == someone.id)).all()
    assert diploma.evidence_ids == [str(evidence.id)]  # the trail an auditor follows
    assert diploma.awarded_by == evidence.assessor_client_id is not None
    assert _waiting(db) == []


def test_requests_a_process_left_are_answered_by_the_worker_once_per_person(client, db, app):
    """While another drain runs (here: the lock is held), requests only queue; the worker's
    job evaluates each queued person once, as the client that sent the evidence."""
    ctx = publish(client, db, app)
    first, second = person(db, ctx["role"]), person(db, ctx["role"])
    headers = lrs_headers(db)
    assert queue.drain_soon._lock.acquire(blocking=False)
    try:
        for email in (first.email, first.email, second.email):
            assert (
                client.post("/xapi/statements", json=_passed(email), headers=headers).status_code
                == 200
            )
        waiting = _waiting(db)
        assert sorted(str(r.person_id) for r in waiting) == sorted(
            [str(first.id), str(first.id), str(second.id)]
        )
        [lms_client] = {r.requested_by for r in waiting}
        assert _certifications(db, first.id) == [] and _certifications(db, second.id) == []
        metrics = client.get("/metrics", headers=auth_headers(db, app, "metrics:read")).text
        assert "aidiploma_evaluation_requests_waiting 3.0" in metrics
    finally:
        queue.drain_soon._lock.release()

    with unit_of_work(app.state.session_factory) as session:
        session.info["actor"] = "worker"
        assert queue.evaluate_next(session) == 3
        assert session.info["actor"] == "worker", "the session's own actor is kept"
    for someone in (first, second):
        [diploma] = _certifications(db, someone.id)  # one award, not one per request
        assert diploma.tier_key == "basic"
        audit = db.exec(
            select(AuditEvent).where(
                AuditEvent.entity_type == "certification", AuditEvent.entity_id == str(diploma.id)
            )
        ).one()
        assert audit.actor == lms_client is not None
    assert _waiting(db) == []
    with unit_of_work(app.state.session_factory) as session:
        assert queue.evaluate_next(session) == 0


def test_requests_arriving_during_a_drain_are_answered_by_its_next_round(client, db, app):
    """A request answered while a drain runs leaves its people to that drain, which takes
    them in a round of its own (after its gather pause) instead of each request starting
    one: the response does not wait for it, and nothing queued is left behind."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: a request cannot commit while a drain writes")
    ctx = publish(client, db, app)
    first, second = person(db, ctx["role"]), person(db, ctx["role"])
    headers = lrs_headers(db)
    answered: list[int] = []
    blocker = app.state.engine.connect()
    blocker_tx = blocker.begin()
    # The drain evaluating `first` waits on this row lock: a drain caught mid-round.
    blocker.execute(sa.text("SELECT id FROM person WHERE id = :id FOR UPDATE"), {"id": first.id})
    sender = threading.Thread(
        target=lambda: answered.append(
            client.post("/xapi/statements", json=_passed(first.email), headers=headers).status_code
        )
    )
    sender.start()
    try:
        deadline = time.monotonic() + 10
        while not queue.drain_soon._lock.locked() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert queue.drain_soon._lock.locked(), "the first request's drain never started"
        response = client.post("/xapi/statements", json=_passed(second.email), headers=headers)
        assert response.status_code == 200
        assert [str(r.person_id) for r in _waiting(db)] == [str(second.id)]
    finally:
        blocker_tx.rollback()
        blocker.close()
        sender.join(timeout=30)
    assert answered == [200]
    assert _waiting(db) == []
    for someone in (first, second):
        [diploma] = _certifications(db, someone.id)
        assert diploma.tier_key == "basic"


def test_a_rejected_request_queues_nothing(client, db, app):
    ctx = publish(client, db, app)
    someone = person(db, ctx["role"])
    good, bad = _passed(someone.email), _passed(someone.email)
    bad["verb"] = {"id": "not an IRI"}
    response = client.post("/xapi/statements", json=[good, bad], headers=lrs_headers(db))
    assert response.status_code == 400
    assert _waiting(db) == [] and _certifications(db, someone.id) == []


def test_two_drains_claim_different_requests(database):
    """On PostgreSQL a request row is claimed FOR UPDATE SKIP LOCKED: a second drain takes
    the next rows instead of waiting for, or repeating, the first's."""
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer: two drains cannot overlap there")
    factory = make_session_factory(database.engine)
    people = [uuid.uuid4() for _ in range(3)]  # unknown people: the evaluation finds no one
    with factory() as session:
        queue.request(session, people, actor="queue-test")
        session.commit()
    try:
        with factory() as first:
            assert queue.evaluate_next(first, limit=1) == 1  # its transaction still open
            with factory() as second:
                second.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
                assert queue.evaluate_next(second, limit=5) == 2
                second.commit()
            first.rollback()  # as a drain that crashed: its request is back
        with factory() as third:
            assert queue.evaluate_next(third) == 1
            third.commit()
    finally:
        with factory() as session:
            table = EvaluationRequest.__table__
            session.execute(sa.delete(table).where(table.c.requested_by == "queue-test"))
            session.commit()
