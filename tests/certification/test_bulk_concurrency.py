"""Concurrent LMS batches for the same people on PostgreSQL: evaluations queue on the
people's row locks instead of deadlocking or colliding."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.certification import bulk
from app.core.db import make_session_factory
from app.evidence.models import Evidence
from app.org.models import Person
from tests.certification.factories import make_person
from tests.concurrency import run_together


def _evidence_row(person_id: uuid.UUID) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "person_id": person_id,
        "competency_key": "ai-policy",
        "level_key": "basic",
        "assessment_form": "knowledge_test",
        "source": "xapi",
        "source_ref": f"{uuid.uuid4()}#ai-policy",
        "passed": True,
        "occurred_at": datetime(2026, 5, 4, tzinfo=UTC),
        "recorded_at": datetime(2026, 5, 4, tzinfo=UTC),
    }


def test_two_batches_for_the_same_people_lock_them_in_turn(database):
    """Each batch's evidence rows hold FOR KEY SHARE on the people's rows (foreign-key
    checks); both batches then lock those people to evaluate them. The second waits for the
    first to commit; neither is aborted as a deadlock (which FOR UPDATE would cause)."""
    if database.backend != "postgresql":
        pytest.skip("SQLite's write lock serialises whole transactions; no row locks there")
    factory = make_session_factory(database.engine)
    with factory() as session:
        people = [make_person(session) for _ in range(2)]
        person_ids = [p.id for p in people]
        session.commit()
    both_inserted = threading.Barrier(2, timeout=30)

    def batch(order: list[uuid.UUID]) -> None:
        with factory() as session:
            session.execute(sa.text("SET LOCAL lock_timeout = '20s'"))
            session.execute(sa.insert(Evidence), [_evidence_row(p) for p in order])
            both_inserted.wait()
            bulk.lock_people(session, order)
            session.commit()

    try:
        run_together(
            batch,
            [(person_ids,), (list(reversed(person_ids)),)],
            on_error=both_inserted.abort,
        )
        with factory() as session:
            stored = session.scalar(
                sa.select(sa.func.count())
                .select_from(Evidence)
                .where(Evidence.person_id.in_(person_ids))  # type: ignore[attr-defined]
            )
        assert stored == 4
    finally:
        with factory() as session:
            session.execute(sa.delete(Evidence).where(Evidence.person_id.in_(person_ids)))  # type: ignore[attr-defined]
            session.execute(sa.delete(Person).where(Person.id.in_(person_ids)))  # type: ignore[attr-defined]
            session.commit()
