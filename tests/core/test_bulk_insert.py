"""core.db.insert_rows (COPY on PostgreSQL from COPY_MIN_ROWS rows, an INSERT below) and
one_of (an array parameter there)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.core.db import COPY_MIN_ROWS, insert_rows, one_of

SEQS = [900_000_001 + n for n in range(max(3, COPY_MIN_ROWS))]
# Both sides of the threshold: a single row (INSERT) and COPY_MIN_ROWS rows (COPY on PostgreSQL).
SIZES = [COPY_MIN_ROWS - 1, COPY_MIN_ROWS]


def _row(seq: int) -> dict[str, object]:
    return {
        "seq": seq,
        "occurred_at": datetime(2026, 6, 1, 9, tzinfo=UTC),
        "actor": None,
        "request_id": None,
        "entity_type": "test",
        "entity_id": str(seq),
        "action": "create",
        "before": None,
        "after": {"seq": seq, "note": "ü"},
        "prev_hash": "0" * 64,
        "hash": "1" * 64,
    }


@pytest.fixture
def inserts_seen(db) -> Iterator[list[str]]:
    """The INSERT statements SQLAlchemy sends (a COPY goes to the driver directly)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT"):
            seen.append(statement)

    engine = db.get_bind().engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("size", SIZES)
def test_rows_are_inserted_with_their_types_and_found_by_one_of(db, inserts_seen, size):
    insert_rows(db, AuditEvent.__table__, [_row(seq) for seq in SEQS[:size]])
    dialect = db.get_bind().dialect.name
    rows = db.execute(
        sa.select(AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.after)
        .where(one_of(AuditEvent.seq, SEQS, dialect=dialect))
        .order_by(AuditEvent.seq)
    ).all()
    assert [(r.seq, r.occurred_at, r.after) for r in rows] == [
        (seq, datetime(2026, 6, 1, 9, tzinfo=UTC), {"seq": seq, "note": "ü"}) for seq in SEQS[:size]
    ]
    copied = dialect == "postgresql" and size >= COPY_MIN_ROWS
    assert bool(inserts_seen) != copied


@pytest.mark.parametrize("size", SIZES)
def test_a_duplicate_key_is_an_integrity_error(db, size):
    """The API maps IntegrityError to a 409 problem, on COPY as on INSERT."""
    insert_rows(db, AuditEvent.__table__, [_row(SEQS[0])])
    with pytest.raises(sa.exc.IntegrityError):
        insert_rows(db, AuditEvent.__table__, [_row(seq) for seq in SEQS[:size]][::-1])
