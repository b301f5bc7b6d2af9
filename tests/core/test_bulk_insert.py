"""core.db.insert_rows (COPY on PostgreSQL) and one_of (an array parameter there)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.core.db import insert_rows, one_of

SEQS = [900_000_001, 900_000_002, 900_000_003]


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


def test_rows_are_inserted_with_their_types_and_found_by_one_of(db):
    insert_rows(db, AuditEvent.__table__, [_row(seq) for seq in SEQS])
    dialect = db.get_bind().dialect.name
    rows = db.execute(
        sa.select(AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.after)
        .where(one_of(AuditEvent.seq, SEQS[:2], dialect=dialect))
        .order_by(AuditEvent.seq)
    ).all()
    assert [(r.seq, r.occurred_at, r.after) for r in rows] == [
        (seq, datetime(2026, 6, 1, 9, tzinfo=UTC), {"seq": seq, "note": "ü"}) for seq in SEQS[:2]
    ]


def test_a_duplicate_key_is_an_integrity_error(db):
    """The API maps IntegrityError to a 409 problem, on COPY as on INSERT."""
    insert_rows(db, AuditEvent.__table__, [_row(SEQS[0])])
    with pytest.raises(sa.exc.IntegrityError):
        insert_rows(db, AuditEvent.__table__, [_row(SEQS[0])])
