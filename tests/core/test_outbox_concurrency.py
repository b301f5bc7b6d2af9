"""Commit order equals seq order under concurrent writers (PostgreSQL): a poller that remembers
the last seq it saw never misses an event and never sees one twice."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from app.core import outbox
from app.core.db import make_session_factory
from app.core.outbox import OutboxEvent
from tests.concurrency import Workers


def test_concurrent_commits_are_seen_in_order_without_gaps(database):
    if database.backend != "postgresql":
        pytest.skip("concurrent writers need a server database; SQLite serialises all writers")
    marker = f"test.concurrent.{uuid.uuid4().hex[:8]}"
    factory = make_session_factory(database.engine)
    writers, per_writer = 3, 15

    def write(worker: int) -> None:
        for n in range(per_writer):
            with factory() as session:
                outbox.emit(session, event_type=marker, data={"w": worker, "n": n})
                session.execute(sa.text("SELECT pg_sleep(0.001)"))
                session.commit()

    seen: list[int] = []
    workers = Workers(write, [(w,) for w in range(writers)])
    last = 0

    def poll() -> None:
        nonlocal last
        with factory() as session:
            rows = session.execute(
                sa.select(OutboxEvent.seq, OutboxEvent.event_type)
                .where(OutboxEvent.seq > last)
                .order_by(OutboxEvent.seq)
            ).all()
        for seq, event_type in rows:
            assert seq == last + 1, f"gap: saw {seq} after {last}"
            last = seq
            if event_type == marker:
                seen.append(seq)

    with factory() as session:
        last = session.execute(
            sa.select(sa.func.coalesce(sa.func.max(OutboxEvent.seq), 0))
        ).scalar_one()
    last_start = last
    workers.start()  # only now: every event of the test comes after `last`
    while workers.alive():
        poll()
    poll()
    try:
        workers.join()
        assert len(seen) == writers * per_writer
        assert len(set(seen)) == len(seen)
    finally:
        with factory() as session:
            session.execute(sa.delete(OutboxEvent).where(OutboxEvent.event_type == marker))
            session.commit()
    assert last > last_start
