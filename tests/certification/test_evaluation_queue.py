"""Evaluation requests: people an LMS request touched are evaluated after its response,
once each however many requests named them, and nothing queued is lost when the process
that queued them does not get to it."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.certification import queue
from app.certification.models import Certification, EvaluationRequest
from app.core.audit import AuditEvent
from app.core.db import make_session_factory, unit_of_work
from app.evidence.models import Evidence
from tests.concurrency import wait_for
from tests.factories import auth_headers
from tests.integrations.xapi.factories import (
    LMS,
    lms_on_fresh_database,
    lock_waiters,
    lrs_headers,
    person,
    publish,
    statement,
)


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


def test_requests_arriving_during_a_drain_are_answered_by_its_next_round(database, tmp_path):
    """A request answered while a drain runs leaves its people to that drain, which takes
    them in a round of its own instead of each request starting one: the response does
    not wait for it, and nothing queued is left behind. On a real engine: the drain is
    caught mid-round by a row lock on the first person."""
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer: a request cannot commit while a drain writes")
    with lms_on_fresh_database(database, tmp_path, people=2) as lms:
        engine, (first, second) = lms["engine"], lms["people"]
        answered: list[int] = []
        blocker = engine.connect()
        blocker_tx = blocker.begin()
        # NO KEY UPDATE: the drain's own row lock waits on it, the evidence's foreign key
        # check (KEY SHARE) of the request does not.
        blocker.execute(
            sa.text("SELECT id FROM person WHERE id = :id FOR NO KEY UPDATE"), {"id": first}
        )
        sender = threading.Thread(
            target=lambda: answered.append(
                lms["client"]
                .post("/xapi/statements", json=_passed(lms["emails"][0]), headers=lms["lms"])
                .status_code
            )
        )
        sender.start()
        try:
            wait_for(lambda: lock_waiters(engine) >= 1, "the first drain never waited")
            response = lms["client"].post(
                "/xapi/statements", json=_passed(lms["emails"][1]), headers=lms["lms"]
            )
            assert response.status_code == 200
            with Session(engine) as session:
                assert {r.person_id for r in _waiting(session)} == {first, second}
        finally:
            blocker_tx.rollback()
            blocker.close()
            sender.join(timeout=30)
        assert answered == [200]
        with Session(engine) as session:
            wait_for(lambda: not _waiting(session), "requests were left behind")
            for someone in (first, second):
                [diploma] = _certifications(session, someone)
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


def _refuse_status_of(db, person_id) -> None:
    """A real failure for one person only: the database refuses their status row."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(
            sa.text(
                "CREATE FUNCTION refuse_status() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.person_id = '{person_id}' THEN "
                "RAISE EXCEPTION 'status refused for this person'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        db.execute(
            sa.text(
                "CREATE TRIGGER refuse_status BEFORE INSERT OR UPDATE ON person_status "
                "FOR EACH ROW EXECUTE FUNCTION refuse_status()"
            )
        )
    else:
        for event in ("INSERT", "UPDATE"):
            db.execute(
                sa.text(
                    f"CREATE TRIGGER refuse_status_{event.lower()} BEFORE {event} ON person_status "
                    f"WHEN NEW.person_id = '{person_id.hex}' "
                    "BEGIN SELECT RAISE(ABORT, 'status refused for this person'); END"
                )
            )
    db.flush()


def test_a_person_whose_evaluation_fails_does_not_hold_up_the_others(client, db, app):
    """The failing person is queued again at the back with the error, and after
    MAX_ATTEMPTS left aside (counted on /metrics); everyone else is evaluated."""
    ctx = publish(client, db, app)
    stuck, fine = person(db, ctx["role"]), person(db, ctx["role"])
    headers = lrs_headers(db)
    assert queue.drain_soon._lock.acquire(blocking=False)
    try:
        for email in (stuck.email, fine.email):
            response = client.post("/xapi/statements", json=_passed(email), headers=headers)
            assert response.status_code == 200
    finally:
        queue.drain_soon._lock.release()
    _refuse_status_of(db, stuck.id)

    with unit_of_work(app.state.session_factory) as session:
        assert queue.evaluate_next(session) == 2
    [diploma] = _certifications(db, fine.id)
    assert diploma.tier_key == "basic"
    assert _certifications(db, stuck.id) == []
    [again] = _waiting(db)
    assert again.person_id == stuck.id and again.attempts == 1
    assert "status refused for this person" in again.last_error
    assert again.requested_by is not None  # still audited as the LMS client that sent it

    for _ in range(queue.MAX_ATTEMPTS - 1):
        with unit_of_work(app.state.session_factory) as session:
            assert queue.evaluate_next(session) == 1
    with unit_of_work(app.state.session_factory) as session:
        assert queue.evaluate_next(session) == 0, "left aside, no longer taken"
        assert queue.waiting(session) == 0 and queue.failed(session) == 1
    [dead] = _waiting(db)
    assert dead.attempts == queue.MAX_ATTEMPTS
    metrics = client.get("/metrics", headers=auth_headers(db, app, "metrics:read")).text
    assert "aidiploma_evaluation_requests_failed 1.0" in metrics
    assert "aidiploma_evaluation_requests_waiting 0.0" in metrics


def test_a_failing_chunk_is_halved_not_retried_person_by_person(client, db, app, monkeypatch):
    """One failing person among sixteen: the chunk's savepoint fails and its halves are
    tried again until the person is alone, 9 evaluations in all instead of 1 + 16."""
    from app.certification import service

    ctx = publish(client, db, app)
    people = [person(db, ctx["role"]) for _ in range(16)]
    stuck = people[5]
    headers = lrs_headers(db)
    assert queue.drain_soon._lock.acquire(blocking=False)
    try:
        for someone in people:
            response = client.post("/xapi/statements", json=_passed(someone.email), headers=headers)
            assert response.status_code == 200
    finally:
        queue.drain_soon._lock.release()
    _refuse_status_of(db, stuck.id)
    calls: list[int] = []
    real = service.evaluate_people

    def counted(session, *, person_ids, **kwargs):
        calls.append(len(person_ids))
        return real(session, person_ids=person_ids, **kwargs)

    monkeypatch.setattr(service, "evaluate_people", counted)
    with unit_of_work(app.state.session_factory) as session:
        assert queue.evaluate_next(session) == 16
    assert calls == [16, 8, 4, 4, 2, 1, 1, 2, 8]
    for someone in people:
        assert bool(_certifications(db, someone.id)) is (someone is not stuck)
    [again] = _waiting(db)
    assert again.person_id == stuck.id and again.attempts == 1
