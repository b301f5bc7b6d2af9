"""The transactional outbox: events commit with their change, in commit order, or not at all."""

from __future__ import annotations

import sqlalchemy as sa

from app.core import outbox
from app.core.outbox import OutboxEvent


def _events(db, event_type):
    return (
        db.exec(
            sa.select(OutboxEvent)
            .where(OutboxEvent.event_type == event_type)
            .order_by(OutboxEvent.seq)
        )
        .scalars()
        .all()
    )


def test_emitted_events_are_stored_at_commit_with_increasing_seq(db):
    first = outbox.emit(db, event_type="test.happened", data={"n": 1}, ordering_key="p1")
    outbox.emit(db, event_type="test.happened", data={"n": 2}, ordering_key="p1")
    assert _events(db, "test.happened") == [], "nothing is written before the commit"
    db.commit()
    events = _events(db, "test.happened")
    assert [e.data["n"] for e in events] == [1, 2]
    assert events[0].event_id == first
    assert events[1].seq == events[0].seq + 1


def test_rolled_back_events_are_dropped(db):
    outbox.emit(db, event_type="test.dropped", data={})
    db.rollback()
    db.commit()
    assert _events(db, "test.dropped") == []
