"""The SQL status expressions agree with service.derive() on every combination that matters."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta

import sqlalchemy as sa

from app.certification import queries, service
from app.certification.models import PersonStatus
from app.org.models import Person
from app.reports import scope
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
            queries.expired_expr(TODAY),
        ).where(PersonStatus.person_id.in_(ids))
    ).all()
    assert len(rows) == len(ids) > 500
    for person_id, status, compliant, overdue, expired in rows:
        derived = expected[person_id]
        assert (status, bool(compliant), bool(overdue), bool(expired)) == (
            derived["status"],
            derived["compliant"],
            derived["overdue"],
            derived["status"] == "expired",
        ), person_id


def _boundary_rows():
    """The rows of _rows() and, in every combination, each date on either side of a day the
    rules compare it with: valid_until and the EXPIRY_HORIZONS (<=), grace_until (<),
    window_opens_on (<=) and due_date (<) and today."""
    day = timedelta(days=1)
    horizons = [TODAY + timedelta(days=d) for d in queries.EXPIRY_HORIZONS]
    untils = [None, *(d for h in horizons for d in (h, h + day))]
    for until, grace, window, due, required, held in itertools.product(
        untils,
        [None, TODAY - day, TODAY],
        [None, TODAY, TODAY + day],
        [None, TODAY - day, TODAY],
        [None, 1, 2],
        [None, 1, 2],
    ):
        yield dict(
            valid_until=until,
            grace_until=grace,
            window_opens_on=window,
            due_date=due,
            required_tier_rank=required,
            held_tier_rank=held,
            suspended=False,
            any_progress=bool(held),
            extras_met=due != TODAY,
        )
    yield from _rows()


def test_status_classes_give_the_answers_of_the_rows_they_stand_for(db):
    """A report counts people per status class and applies the rules to stand-in values
    (queries.status_classes): every expression must answer for the class as for each row
    in it, on the boundary days too, and for a person without a status row (outer join)."""
    people, statuses = [], []
    for values in _boundary_rows():
        person = Person(
            employee_number=f"C{uuid.uuid4().hex[:10]}", given_name="A", family_name="B"
        )
        people.append(person)
        # Tier "t3" is not one the caller names below: it falls in the class OTHER_TIER.
        tier = {None: None, 1: "t1", 2: "t3"}[values["required_tier_rank"]]
        statuses.append((person, {**values, "required_tier_key": tier}))
    for days in (200, 500):
        person = Person(employee_number=f"C-far-{days}", given_name="A", family_name="B")
        people.append(person)
        until = TODAY + timedelta(days=days)
        values = dict(
            valid_until=until,
            window_opens_on=until - timedelta(days=90),
            grace_until=until + timedelta(days=30),
            required_tier_key="t1",
            required_tier_rank=1,
            held_tier_rank=1,
        )
        statuses.append((person, values))
    far_ids = {person.id for person in people[-2:]}
    unevaluated = Person(employee_number="C-none", given_name="A", family_name="B")
    db.add_all([*people, unevaluated])
    db.flush()
    db.add_all([PersonStatus(person_id=person.id, **values) for person, values in statuses])
    db.flush()
    ids = [person.id for person in people] + [unevaluated.id]

    def answers(table, everything=True):
        """What the rules say of each row; the report's classes keep only the columns of
        scope.CLASS_COLUMNS, so status_expr (which reads more) is asked of all classes."""
        return [
            table.required_tier_key.is_not(None),
            table.required_tier_key == "t1",
            table.required_tier_key == "t2",
            *([queries.status_expr(TODAY, table)] if everything else []),
            queries.valid_expr(TODAY, table),
            queries.compliant_expr(TODAY, table),
            queries.overdue_expr(TODAY, table),
            queries.expired_expr(TODAY, table),
            *(queries.expires_within_expr(TODAY, d, table) for d in queries.EXPIRY_HORIZONS),
        ]

    def plain(row):
        return tuple(bool(v) if not isinstance(v, str) else v for v in row)

    person = Person.__table__
    with_status = person.outerjoin(PersonStatus, PersonStatus.person_id == person.c.id)
    for columns in (queries.ALL_COLUMNS, scope.CLASS_COLUMNS):
        everything = columns == queries.ALL_COLUMNS
        classes = queries.status_classes(TODAY, ["t1", "t2"], columns)
        direct = {
            row[0]: plain(row[1:])
            for row in db.execute(
                sa.select(person.c.id, *answers(PersonStatus, everything))
                .select_from(with_status)
                .where(person.c.id.in_(ids))
            ).all()
        }
        coded = (
            sa.select(person.c.id.label("person_id"), classes.code.label("class"))
            .select_from(with_status)
            .where(person.c.id.in_(ids))
            .subquery()
        )
        stand_ins = sa.select(coded.c.person_id, *classes.decoded(coded.c["class"])).subquery()
        by_class = {
            row[0]: plain(row[1:])
            for row in db.execute(
                sa.select(stand_ins.c.person_id, *answers(stand_ins.c, everything))
            ).all()
        }
        assert len(direct) == len(ids) > 2500
        mismatches = [pid for pid in ids if direct[pid] != by_class[pid]]
        assert not mismatches, (columns, direct[mismatches[0]], by_class[mismatches[0]])
    # Rows that differ only in dates no rule tells apart share a class: the report counts
    # classes, not people.
    far = {
        pid: code
        for pid, code in db.execute(sa.select(coded.c.person_id, coded.c["class"])).all()
        if pid in far_ids
    }
    assert len(set(far.values())) == 1, far
