"""The SQL status expressions agree with service.derive() on every combination that matters."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta

import sqlalchemy as sa

from app.certification import queries, service
from app.certification.models import PersonStatus
from tests.certification.factories import make_person

TODAY = date(2026, 6, 1)


def _rows():
    until_options = [
        None,
        TODAY + timedelta(days=200),
        TODAY + timedelta(days=30),
        TODAY - timedelta(days=10),
        TODAY - timedelta(days=60),
    ]
    for until, suspended, progress, required, held, extras, due in itertools.product(
        until_options,
        [False, True],
        [False, True],
        [None, 1, 2],
        [None, 1, 2],
        [True, False],
        [None, TODAY - timedelta(days=1), TODAY + timedelta(days=1)],
    ):
        yield dict(
            valid_until=until,
            window_opens_on=until - timedelta(days=90) if until else None,
            grace_until=until + timedelta(days=30) if until else None,
            suspended=suspended,
            any_progress=progress,
            required_tier_rank=required,
            held_tier_rank=held if until else None,
            extras_met=extras,
            due_date=due,
        )


def test_sql_status_matches_python_derive(db):
    ids = []
    expected = {}
    for values in _rows():
        person = make_person(db, employee_number=f"Q{uuid.uuid4().hex[:10]}")
        status = PersonStatus(person_id=person.id, **values)
        db.add(status)
        ids.append(person.id)
        expected[person.id] = service.derive(status, TODAY)
    db.flush()
    rows = db.execute(
        sa.select(
            PersonStatus.person_id,
            queries.status_expr(TODAY),
            queries.compliant_expr(TODAY),
            queries.overdue_expr(TODAY),
        ).where(PersonStatus.person_id.in_(ids))
    ).all()
    assert len(rows) == len(ids) > 500
    for person_id, status, compliant, overdue in rows:
        derived = expected[person_id]
        assert (status, bool(compliant), bool(overdue)) == (
            derived["status"],
            derived["compliant"],
            derived["overdue"],
        ), person_id
