"""The audit trail: every write recorded with before/after, hash-chained, tampering detected."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app.core import audit
from app.core.audit import AuditEvent
from app.core.db import make_session_factory
from tests.concurrency import run_together
from tests.conftest import create_database, drop_database
from tests.factories import auth_headers


def test_writes_are_audited_with_actor_request_and_before_after(client, db, app):
    headers = auth_headers(db, app, "clients:manage", "audit:read")
    created = client.post(
        "/api-clients",
        json={"name": "Audited", "scopes": ["org:read"]},
        headers={**headers, "X-Request-ID": "req-audit-1"},
    ).json()
    client.patch(
        f"/api-clients/{created['client_id']}", json={"name": "Audited 2"}, headers=headers
    )
    events = client.get(
        "/audit-events", params={"entity_id": created["client_id"]}, headers=headers
    ).json()["items"]
    assert [e["action"] for e in events] == ["create", "update"]
    assert events[0]["request_id"] == "req-audit-1"
    assert events[0]["actor"] == events[1]["actor"] and events[0]["actor"].startswith("cl_test_")
    assert events[1]["before"]["name"] == "Audited" and events[1]["after"]["name"] == "Audited 2"
    assert "secret_hash" not in events[0]["after"]
    assert events[1]["prev_hash"] == events[0]["hash"]


def test_rolled_back_requests_leave_no_audit_entry(client, db, app):
    headers = auth_headers(db, app, "clients:manage", "audit:read")
    before = db.exec(sa.select(sa.func.count()).select_from(AuditEvent)).one()[0]
    client.post("/api-clients", json={"name": "x", "scopes": ["bad"]}, headers=headers)
    assert db.exec(sa.select(sa.func.count()).select_from(AuditEvent)).one()[0] == before


def test_chain_verifies_and_tampering_is_detected(client, db, app):
    headers = auth_headers(db, app, "clients:manage", "audit:read")
    for name in ("one", "two", "three"):
        client.post("/api-clients", json={"name": name, "scopes": ["org:read"]}, headers=headers)
    report = client.get("/audit-events/verify", headers=headers).json()
    assert report["intact"] is True and report["checked"] >= 3
    victim = db.exec(
        sa.select(AuditEvent.seq)
        .where(AuditEvent.action == "create")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).one()[0]
    db.execute(
        sa.update(AuditEvent)
        .where(AuditEvent.seq == victim)
        .values(after={"name": "forged", "scopes": ["admin"]})
    )
    db.flush()
    broken = client.get("/audit-events/verify", headers=headers).json()
    assert broken == {
        "intact": False,
        "checked": victim - 1,
        "first_broken_seq": victim,
        "reason": "content does not match its hash",
    }


def test_deleted_entry_breaks_the_chain(client, db, app):
    headers = auth_headers(db, app, "clients:manage", "audit:read")
    for name in ("a", "b"):
        client.post("/api-clients", json={"name": name, "scopes": ["org:read"]}, headers=headers)
    last = db.exec(sa.select(sa.func.max(AuditEvent.seq))).one()[0]
    db.execute(sa.delete(AuditEvent).where(AuditEvent.seq == last - 1))
    db.flush()
    report = client.get("/audit-events/verify", headers=headers).json()
    assert report["intact"] is False and report["first_broken_seq"] == last


def test_concurrent_commits_keep_one_unbroken_chain(database, tmp_path):
    """Writers committing at once on PostgreSQL: the lock and the chain's head are read in
    one round trip, so each entry still chains to the one committed just before it."""
    if database.backend != "postgresql":
        pytest.skip("concurrent writers need a server database; SQLite serialises all writers")
    fresh = create_database(database.backend, tmp_path)
    factory = make_session_factory(fresh.engine)

    def write(worker: int) -> None:
        for n in range(15):
            with factory() as session:
                audit.record(session, entity_type="test", entity_id=f"{worker}.{n}", action="a")
                audit.record(session, entity_type="test", entity_id=f"{worker}.{n}", action="b")
                session.execute(sa.text("SELECT pg_sleep(0.001)"))
                session.commit()

    try:
        run_together(write, [(w,) for w in range(4)])
        with factory() as session:
            report = audit.verify_chain(session)
        assert report["intact"] is True, report
        assert report["checked"] == 4 * 15 * 2
    finally:
        drop_database(fresh)


def test_a_rolled_back_savepoint_drops_only_what_it_queued(db):
    """Work in a savepoint that fails (one report schedule of several) takes back its own
    audit entries and webhook events, not those queued before it or after it."""
    from app.core import outbox
    from app.core.outbox import OutboxEvent

    mark = f"savepoint-{threading.get_ident()}"
    audit.record(db, entity_type=mark, entity_id="1", action="before")
    outbox.emit(db, event_type=f"{mark}.before", data={})
    with pytest.raises(RuntimeError), db.begin_nested():
        audit.record(db, entity_type=mark, entity_id="2", action="failed")
        outbox.emit(db, event_type=f"{mark}.failed", data={})
        raise RuntimeError("this one cannot be published")
    with db.begin_nested():
        audit.record(db, entity_type=mark, entity_id="3", action="after")
        outbox.emit(db, event_type=f"{mark}.after", data={})
    db.commit()
    actions = db.execute(
        sa.select(AuditEvent.action).where(AuditEvent.entity_type == mark).order_by(AuditEvent.seq)
    ).scalars()
    assert list(actions) == ["before", "after"]
    events = db.execute(
        sa.select(OutboxEvent.event_type)
        .where(OutboxEvent.event_type.startswith(mark))
        .order_by(OutboxEvent.seq)
    ).scalars()
    assert list(events) == [f"{mark}.before", f"{mark}.after"]
