"""Append-only, hash-chained audit trail of every write.

Services call `record()`; the entries are written when the session commits, in
the same transaction as the change, each carrying the hash of the one before.
Chaining happens at commit time under a lock (an advisory lock on PostgreSQL,
the write lock on SQLite) so the lock is held for milliseconds, not the whole
request. `verify_chain()` recomputes the chain and names the first broken entry.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker
from sqlmodel import Field, Session, SQLModel, col, select

from app.core import clock, outbox
from app.core.db import PortableJSON, UTCDateTime, insert_rows
from app.core.pagination import PageParams, paginate

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the commit-order advisory lock on PostgreSQL.
_AUDIT_LOCK_KEY = 7_424_201
_PENDING = "audit_pending"
# A batch of records created together (an LMS batch's evidence) is one entry with this
# action; its `after` lists the records' ids under BATCH_IDS, and filtering the audit list
# by entity_id finds the batch entry of any record in it.
BATCH_CREATE = "create_batch"
BATCH_IDS = "ids"


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str | None = Field(default=None, max_length=200, index=True)
    request_id: str | None = Field(default=None, max_length=128)
    entity_type: str = Field(max_length=64, index=True)
    entity_id: str = Field(max_length=200, index=True)
    action: str = Field(max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_type=PortableJSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=PortableJSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


def record(
    session: Session,
    *,
    entity_type: str,
    entity_id: str | uuid.UUID,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Queue an audit entry; it is written and chained when the session commits."""
    session.connection()  # begin the transaction now, so a rollback drops the entry
    session.info.setdefault(_PENDING, []).append(
        {
            "occurred_at": clock.now(),
            "actor": session.info.get("actor"),
            "request_id": session.info.get("request_id"),
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "action": action,
            "before": _jsonable(before),
            "after": _jsonable(after),
        }
    )


# Datetimes through `default` (str), as json.dumps(default=str) wrote them before.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """`value` as JSON would give it back (datetimes, UUIDs and the like as their str)."""
    if value is None:
        return None
    result: dict[str, Any]
    try:  # orjson: an evidence batch's entry holds every record (core.jsontext)
        result = orjson.loads(orjson.dumps(value, default=str, option=_ORJSON_OPTIONS))
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits
        result = json.loads(json.dumps(value, default=str))
    return result


def entry_hash(entry: dict[str, Any]) -> str:
    """The SHA-256 over an entry's canonical JSON, including the previous hash."""
    canonical = json.dumps(
        {
            "seq": entry["seq"],
            "occurred_at": entry["occurred_at"].isoformat(),
            "actor": entry["actor"],
            "request_id": entry["request_id"],
            "entity_type": entry["entity_type"],
            "entity_id": entry["entity_id"],
            "action": entry["action"],
            "before": entry["before"],
            "after": entry["after"],
            "prev_hash": entry["prev_hash"],
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


_LAST_ENTRY = (
    sa.select(col(AuditEvent.seq), col(AuditEvent.hash))
    .order_by(col(AuditEvent.seq).desc())
    .limit(1)
)
# The lock and the chain's head in one round trip on PostgreSQL. Without parameters psycopg
# sends this as one simple-protocol query; its statements run one after the other, and under
# READ COMMITTED each takes its own snapshot, so the SELECT, which starts once the lock is
# granted, sees every entry committed by the transaction that held it before.
_LOCK_AND_LAST_ENTRY = (
    f"SELECT pg_advisory_xact_lock({_AUDIT_LOCK_KEY}); "
    "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"
)


def _write_pending(session: OrmSession) -> None:
    """The commit hook: under one lock, chain the audit entries and number outbox events."""
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    if not pending and not outbox.has_pending(session):
        return
    connection = session.connection()
    # The lock is held until commit; it makes seq order equal commit order (SQLite's write
    # lock does that there).
    last = _lock_and_read_last(connection)
    outbox.write_pending(session, connection)
    if not pending:
        return
    seq, prev_hash = last if last else (0, GENESIS_HASH)
    rows = []
    for entry in pending:
        seq += 1
        entry = {**entry, "seq": seq, "prev_hash": prev_hash}
        entry["hash"] = prev_hash = entry_hash(entry)
        rows.append(entry)
    insert_rows(session, AuditEvent.__table__, rows)  # type: ignore[attr-defined]


def _lock_and_read_last(connection: sa.Connection) -> tuple[int, str] | None:
    """Take the commit-order lock, then read the (seq, hash) of the chain's last entry."""
    if connection.dialect.name != "postgresql":
        row = connection.execute(_LAST_ENTRY).first()
        return (row[0], row[1]) if row else None
    cursor = connection.connection.cursor()
    try:
        cursor.execute(_LOCK_AND_LAST_ENTRY)
        cursor.nextset()  # past the lock's result
        row = cursor.fetchone()
    finally:
        cursor.close()
    return (row[0], row[1]) if row else None


# Per savepoint (by id of its SessionTransaction): how many audit entries and outbox events
# were queued when it began, so rolling it back takes back only what was queued inside it.
_MARKS = "audit_savepoint_marks"


def _mark_savepoint(session: OrmSession, transaction: Any) -> None:
    if transaction.nested:
        session.info.setdefault(_MARKS, {})[id(transaction)] = (
            len(session.info.get(_PENDING, ())),
            outbox.pending_count(session),
        )
    elif transaction.parent is None:
        session.info.pop(_MARKS, None)


def _clear_pending(session: OrmSession, previous_transaction: Any) -> None:
    """A rollback drops the entries and events queued in what it rolled back: all of them,
    or, for a savepoint (one report schedule of several that failed), those queued since
    it began. Clearing everything there lost the audit entries and `report.published`
    events of the schedules published before the failing one."""
    mark = session.info.get(_MARKS, {}).get(id(previous_transaction))
    if previous_transaction.nested and mark is not None:
        entries, events = mark
        del session.info.get(_PENDING, [])[entries:]
        outbox.keep_pending(session, events)
        return
    session.info.pop(_PENDING, None)
    outbox.clear_pending(session)


def install(factory: sessionmaker[Any]) -> None:
    """Make sessions from this factory write their queued audit entries on commit."""
    sa.event.listen(factory, "before_commit", _write_pending)
    sa.event.listen(factory, "after_transaction_create", _mark_savepoint)
    sa.event.listen(factory, "after_soft_rollback", _clear_pending)


def verify_chain(session: Session, *, batch_size: int = 5000) -> dict[str, Any]:
    """Recompute every hash in order; report the first entry that does not match."""
    prev_hash = GENESIS_HASH
    checked = 0
    expected_seq = 1
    for event in _iterate(session, batch_size):
        entry = event.model_dump()
        problem = None
        if event.seq != expected_seq:
            problem = f"entry {expected_seq} is missing"
        elif event.prev_hash != prev_hash:
            problem = "prev_hash does not match the previous entry's hash"
        elif entry_hash(entry) != event.hash:
            problem = "content does not match its hash"
        if problem:
            return {
                "intact": False,
                "checked": checked,
                "first_broken_seq": event.seq,
                "reason": problem,
            }
        prev_hash = event.hash
        checked += 1
        expected_seq += 1
    return {"intact": True, "checked": checked, "first_broken_seq": None, "reason": None}


def _iterate(session: Session, batch_size: int) -> Iterator[AuditEvent]:
    after = 0
    while True:
        batch = session.exec(
            select(AuditEvent)
            .where(AuditEvent.seq > after)
            .order_by(col(AuditEvent.seq))
            .limit(batch_size)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].seq


def _lists(dialect: str, entity_id: str) -> Any:
    """The batch entry's BATCH_IDS holds entity_id."""
    if dialect == "postgresql":
        ids = sa.type_coerce(AuditEvent.after, JSONB)[BATCH_IDS]
        return ids.contains(sa.func.jsonb_build_array(entity_id))
    each = sa.func.json_each(AuditEvent.after, f"$.{BATCH_IDS}").table_valued("value")
    return sa.select(sa.literal(1)).select_from(each).where(each.c.value == entity_id).exists()


def list_events(
    session: Session, *, page: PageParams, filters: dict[str, str | None]
) -> tuple[list[AuditEvent], str | None]:
    """Audit events in chain order, filtered by exact column values."""
    statement = select(AuditEvent)
    for column, value in filters.items():
        if value is None:
            continue
        if column == "entity_id":
            # The record's own entries, and the batch entries that list it (BATCH_IDS).
            statement = statement.where(
                sa.or_(
                    AuditEvent.entity_id == value,  # type: ignore[arg-type]
                    sa.and_(
                        AuditEvent.action == BATCH_CREATE,  # type: ignore[arg-type]
                        _lists(session.get_bind().dialect.name, value),
                    ),
                )
            )
        else:
            statement = statement.where(getattr(AuditEvent, column) == value)
    return paginate(
        session,
        statement,
        id_column=AuditEvent.seq,
        params=page,
        updated_at_column=AuditEvent.occurred_at,
    )
