"""Unmapped HR values reported by concurrent transactions (SCIM provisioning runs 8 at once)."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from sqlmodel import Session

from app.core.db import make_session_factory, unit_of_work
from app.integrations.hris import mapping
from app.integrations.hris.models import HrisUnmapped
from tests.conftest import create_database, drop_database


def test_same_new_unmapped_value_from_two_transactions_is_counted_not_a_conflict(
    database, tmp_path
):
    """The second transaction waits for the first and adds to its row (upsert on the unique
    (kind, value) key) instead of failing the request with a duplicate-key 409."""
    own = create_database(database.backend, tmp_path)
    try:
        factory = make_session_factory(own.engine)

        def apply(number: str, session: Session) -> None:
            session.info["actor"] = "test"
            record = mapping.HrRecord(
                employee_number=number, given_name="A", family_name="B", job_title="Prompt Pilot"
            )
            report = mapping.apply_hr_records(
                session, records=[record], source="scim", partial=False
            )
            assert report.outcomes[0].status == "created", report.outcomes[0].problems

        errors: list[BaseException] = []

        def second() -> None:
            try:
                with unit_of_work(factory) as session:
                    apply("T2", session)
            except BaseException as exc:  # reported to the test thread
                errors.append(exc)

        with unit_of_work(factory) as first:
            apply("T1", first)
            thread = threading.Thread(target=second)
            thread.start()
            time.sleep(0.5)  # the second transaction is now waiting on the first
        thread.join(timeout=30)
        assert not errors, errors
        with Session(own.engine) as session:
            rows = session.execute(
                sa.select(HrisUnmapped.kind, HrisUnmapped.value, HrisUnmapped.occurrences)
            ).all()
        assert [tuple(row) for row in rows] == [("job_title", "Prompt Pilot", 2)]
    finally:
        drop_database(own)
