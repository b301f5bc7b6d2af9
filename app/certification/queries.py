"""Set-based SQL over `person_status`: the same status, compliance and overdue rules as
`service.derive()`, as SQL expressions for reports and bulk reads (one GROUP BY, no
Python loop over people). A test checks both agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from app.certification.models import PersonStatus

STATUSES = ("not_started", "in_progress", "certified", "expiring", "expired", "suspended")


def status_expr(today: date, table: Any = PersonStatus) -> ColumnElement[str]:
    """The status of a person_status row on `today`."""
    return sa.case(
        (table.suspended.is_(True), "suspended"),
        (
            table.valid_until.is_(None),
            sa.case((table.any_progress.is_(True), "in_progress"), else_="not_started"),
        ),
        (table.grace_until < today, "expired"),
        (table.window_opens_on <= today, "expiring"),
        else_="certified",
    )


def valid_expr(today: date, table: Any = PersonStatus) -> ColumnElement[bool]:
    """Holds a diploma that counts today (certified or expiring, not suspended)."""
    return sa.and_(
        table.suspended.is_(False),
        table.valid_until.is_not(None),
        table.grace_until >= today,
    )


def compliant_expr(today: date, table: Any = PersonStatus) -> ColumnElement[bool]:
    """Holds a valid tier at least as high as required, and the role-specific extras."""
    meets_tier = sa.or_(
        table.required_tier_rank.is_(None),
        sa.and_(
            valid_expr(today, table),
            sa.func.coalesce(table.held_tier_rank, 0) >= table.required_tier_rank,
        ),
    )
    return sa.and_(meets_tier, table.extras_met.is_(True))


def expired_expr(today: date, table: Any = PersonStatus) -> ColumnElement[bool]:
    """status_expr(...) == "expired", reading only the columns that decide it."""
    return sa.and_(
        table.suspended.is_not(True), table.valid_until.is_not(None), table.grace_until < today
    )


def overdue_expr(today: date, table: Any = PersonStatus) -> ColumnElement[bool]:
    return sa.and_(
        sa.not_(compliant_expr(today, table)), table.due_date.is_not(None), table.due_date < today
    )


def expires_within_expr(today: date, days: int, table: Any = PersonStatus) -> ColumnElement[bool]:
    """Valid now and its valid_until at most `days` days away."""
    return sa.and_(valid_expr(today, table), table.valid_until <= today + timedelta(days=days))


EXPIRY_HORIZONS = (30, 60, 90)  # the "expiring within N days" figures of the reports
OTHER_TIER = "?"  # stands for a required tier the caller did not name


@dataclass(frozen=True)
class _Dimension:
    """Some columns of person_status cut into buckets: (condition, the columns' values that
    stand for the bucket); the last bucket, with condition None, takes every other row."""

    buckets: list[tuple[Any, dict[str, Any]]]


@dataclass(frozen=True)
class StatusClasses:
    """The people of a report sorted into a few hundred classes that the rules above cannot
    tell apart on one day: per person one small integer (`code`), per class one row of
    stand-in values (`decoded`) on which the same expressions give the same answers.

    Why: a report over 100,000 people evaluated every status expression for every person
    (SQLite has no common-subexpression elimination: valid_expr ran seven times a row) and
    then summed a dozen flags per row and group. Counting people per (group, class) needs
    one cheap CASE per column a person, one count per row, and the rules run once per
    class of each group. It is exact as long as every test the rules make on a column is
    one the buckets keep (NULL or not, and the comparisons with `today`, the
    EXPIRY_HORIZONS and the tiers): tests/certification/test_queries.py compares both on
    the days either side of each boundary.
    """

    dimensions: list[_Dimension]
    code: ColumnElement[int]

    def decoded(self, code: Any) -> list[Any]:
        """Stand-in person_status columns (labelled with their names) for the class `code`:
        select them in a subquery and pass its `.c` as `table` to the expressions above."""
        columns: list[Any] = []
        multiplier = 1
        for dimension in self.dimensions:
            index = (code // multiplier) % len(dimension.buckets)
            for name in dimension.buckets[0][1]:
                stand_in = sa.case(
                    *(
                        (index == position, _typed(values[name], name))
                        for position, (_condition, values) in enumerate(dimension.buckets)
                    )
                )
                columns.append(stand_in.label(name))
            multiplier *= len(dimension.buckets)
        return columns


_COLUMN_TYPES = {column.name: column.type for column in PersonStatus.__table__.columns}  # type: ignore[attr-defined]


def _typed(value: Any, name: str) -> Any:
    return sa.null() if value is None else sa.literal(value, _COLUMN_TYPES[name])


ALL_COLUMNS = frozenset(
    {
        "required_tier_key",
        "required_tier_rank",
        "held_tier_rank",
        "suspended",
        "extras_met",
        "any_progress",
        "valid_until",
        "grace_until",
        "window_opens_on",
        "due_date",
    }
)


def status_classes(
    today: date,
    tiers: list[str],
    columns: frozenset[str] = ALL_COLUMNS,
) -> StatusClasses:
    """The classes of person_status rows on `today`, required tiers named by `tiers` (any
    other required tier is one class, OTHER_TIER). A person without a status row (outer
    join) falls in the class of no required tier, no diploma, no progress.

    Only `columns` are kept: an expression reading another column of the stand-ins fails
    when the statement is built (AttributeError), never silently. Each column fewer is a
    CASE fewer per person."""
    table: Any = PersonStatus
    day = timedelta(days=1)
    horizons = [today + timedelta(days=days) for days in EXPIRY_HORIZONS]
    dimensions = [
        _Dimension(
            [(table.required_tier_key.is_(None), {"required_tier_key": None})]
            + [(table.required_tier_key == tier, {"required_tier_key": tier}) for tier in tiers]
            + [(None, {"required_tier_key": OTHER_TIER})]
        ),
        _Dimension(
            [
                (
                    table.required_tier_rank.is_(None),
                    {"required_tier_rank": None, "held_tier_rank": None},
                ),
                (
                    sa.func.coalesce(table.held_tier_rank, 0) >= table.required_tier_rank,
                    {"required_tier_rank": 1, "held_tier_rank": 1},
                ),
                (None, {"required_tier_rank": 1, "held_tier_rank": 0}),
            ]
        ),
        *(
            _Dimension([(getattr(table, name).is_(True), {name: True}), (None, {name: False})])
            for name in ("suspended", "extras_met", "any_progress")
        ),
        _Dimension(
            [(table.valid_until.is_(None), {"valid_until": None})]
            + [(table.valid_until <= horizon, {"valid_until": horizon}) for horizon in horizons]
            + [(None, {"valid_until": horizons[-1] + day})]
        ),
        _Dimension(
            [
                (table.grace_until.is_(None), {"grace_until": None}),
                (table.grace_until < today, {"grace_until": today - day}),
                (None, {"grace_until": today}),
            ]
        ),
        _Dimension(
            [
                (table.window_opens_on.is_(None), {"window_opens_on": None}),
                (table.window_opens_on <= today, {"window_opens_on": today}),
                (None, {"window_opens_on": today + day}),
            ]
        ),
        _Dimension(
            [
                (table.due_date.is_(None), {"due_date": None}),
                (table.due_date < today, {"due_date": today - day}),
                (None, {"due_date": today}),
            ]
        ),
    ]
    dimensions = [d for d in dimensions if columns & d.buckets[0][1].keys()]
    # One CASE per dimension, its bucket's index already multiplied by the dimension's place.
    terms = []
    multiplier = 1
    for dimension in dimensions:
        last = len(dimension.buckets) - 1
        terms.append(
            sa.case(
                *(
                    (condition, position * multiplier)
                    for position, (condition, _values) in enumerate(dimension.buckets[:last])
                ),
                else_=last * multiplier,
            )
        )
        multiplier *= len(dimension.buckets)
    code: Any = terms[0]
    for term in terms[1:]:
        code = code + term
    return StatusClasses(dimensions=dimensions, code=code)
