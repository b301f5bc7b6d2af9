"""Set-based SQL over `person_status`: the same status, compliance and overdue rules as
`service.derive()`, as SQL expressions for reports and bulk reads (one GROUP BY, no
Python loop over people). A test checks both agree."""

from __future__ import annotations

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


def overdue_expr(today: date, table: Any = PersonStatus) -> ColumnElement[bool]:
    return sa.and_(
        sa.not_(compliant_expr(today, table)), table.due_date.is_not(None), table.due_date < today
    )


def expires_within_expr(today: date, days: int, table: Any = PersonStatus) -> ColumnElement[bool]:
    """Valid now and its valid_until at most `days` days away."""
    return sa.and_(valid_expr(today, table), table.valid_until <= today + timedelta(days=days))
