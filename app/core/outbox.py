"""The transactional outbox: an event is written in the same transaction as the change that
caused it, and the worker delivers it later (webhooks, in app/integrations/webhooks).

Events get their `seq` at commit time under the same lock as the audit chain, so
`seq` order is commit order: a reader that remembers the last seq it saw never
misses an event that commits later with a smaller number.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, Session, SQLModel

from app.core import clock
from app.core.db import PortableJSON, UTCDateTime, insert_rows

_PENDING = "outbox_pending"


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_event"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    event_id: uuid.UUID = Field(unique=True, description="The webhook-id of Standard Webhooks")
    event_type: str = Field(max_length=100, index=True)
    ordering_key: str | None = Field(default=None, max_length=200, index=True)
    data: dict[str, Any] = Field(sa_type=PortableJSON)
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)


def emit(
    session: Session, *, event_type: str, data: dict[str, Any], ordering_key: str | None = None
) -> uuid.UUID:
    """Queue an event; it is stored when the session commits, or dropped with a rollback."""
    event_id = uuid.uuid4()
    session.connection()  # begin the transaction now, so a rollback drops the event
    session.info.setdefault(_PENDING, []).append(
        {
            "event_id": event_id,
            "event_type": event_type,
            "ordering_key": ordering_key,
            "data": data,
            "occurred_at": clock.now(),
        }
    )
    return event_id


def has_pending(session: OrmSession) -> bool:
    return bool(session.info.get(_PENDING))


def write_pending(session: OrmSession, connection: sa.Connection) -> None:
    """Called by the commit hook while it holds the commit-order lock."""
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    last = connection.execute(sa.select(sa.func.max(OutboxEvent.seq))).scalar()
    seq = int(last or 0)
    rows = []
    for event in pending:
        seq += 1
        rows.append({**event, "seq": seq})
    # COPY on PostgreSQL: a drain that awards a thousand people emits two events each, and
    # an executemany of them was most of that drain's time.
    insert_rows(session, OutboxEvent.__table__, rows)  # type: ignore[attr-defined]


def clear_pending(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)


def pending_count(session: OrmSession) -> int:
    return len(session.info.get(_PENDING, ()))


def keep_pending(session: OrmSession, count: int) -> None:
    """Drop the events queued after the first `count` (a savepoint rolled back)."""
    del session.info.get(_PENDING, [])[count:]
