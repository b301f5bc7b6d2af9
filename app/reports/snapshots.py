"""Daily coverage snapshots: the figures of one day, kept so reports can show month over month.

A snapshot is history: one per day (a unique date), taken once and never rewritten. Taking
the snapshot of a day that already has one returns the stored one unchanged; there is no
update or delete. The figures come from the coverage report (app.reports.service).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.certification.rules import add_months
from app.core import audit, clock
from app.core.errors import Unprocessable
from app.reports import compliance, service
from app.reports.models import CoverageSnapshot
from app.reports.schemas import BoardReport, CoverageGroup, GroupBy, OversightSummary, TrendPoint
from app.reports.scope import ReportFilters, percent

# The breakdowns a snapshot keeps (issue 8 item 4: per org unit, per role, per risk class).
BREAKDOWNS = (GroupBy.org_unit, GroupBy.role, GroupBy.risk_class)
GROUP_FIELDS = (
    "key",
    "name",
    "people",
    "in_scope",
    "certified",
    "compliant",
    "compliant_pct",
    "expiring_30",
    "expiring_60",
    "expiring_90",
    "expired",
    "overdue",
)
TREND_MONTHS = 12


def _group(group: CoverageGroup) -> dict[str, Any]:
    return group.model_dump(mode="json", include=set(GROUP_FIELDS))


def get(session: Session, *, on: date) -> CoverageSnapshot | None:
    return session.execute(
        sa.select(CoverageSnapshot).where(col(CoverageSnapshot.snapshot_date) == on)
    ).scalar_one_or_none()


def take(session: Session, *, on: date | None = None) -> tuple[CoverageSnapshot, bool]:
    """The snapshot of `on` (default today) and whether it was taken now.

    Idempotent per day: an existing snapshot is returned as it is. Two workers racing for
    the same day meet at the unique date; the loser reads the winner's row.
    """
    today = clock.now().date()
    on = on or today
    if on > today:
        raise Unprocessable(f"A snapshot records a day that has happened; {on} is in the future.")
    existing = get(session, on=on)
    if existing is not None:
        return existing, False
    filters = ReportFilters(as_of=on)
    reports = {by: service.coverage(session, filters=filters, group_by=by) for by in BREAKDOWNS}
    total = reports[GroupBy.org_unit].total
    snapshot = CoverageSnapshot(
        snapshot_date=on,
        people=total.people,
        in_scope=total.in_scope,
        certified=total.certified,
        compliant=total.compliant,
        expiring_30=total.expiring_30,
        expiring_90=total.expiring_90,
        expired=total.expired,
        overdue=total.overdue,
        groups={str(by): [_group(g) for g in report.groups] for by, report in reports.items()},
    )
    try:
        with session.begin_nested():
            session.add(snapshot)
            session.flush()
    except IntegrityError:
        raced = get(session, on=on)
        if raced is None:
            raise
        return raced, False
    audit.record(
        session,
        entity_type="coverage_snapshot",
        entity_id=snapshot.id,
        action="create",
        after=headline(snapshot),
    )
    return snapshot, True


def take_today(session: Session) -> CoverageSnapshot:
    """Worker job: today's snapshot, once per day."""
    return take(session)[0]


def headline(snapshot: CoverageSnapshot) -> dict[str, Any]:
    return {
        "snapshot_date": snapshot.snapshot_date.isoformat(),
        "people": snapshot.people,
        "in_scope": snapshot.in_scope,
        "certified": snapshot.certified,
        "compliant": snapshot.compliant,
        "compliant_pct": percent(snapshot.compliant, snapshot.in_scope),
        "expiring_30": snapshot.expiring_30,
        "expiring_90": snapshot.expiring_90,
        "expired": snapshot.expired,
        "overdue": snapshot.overdue,
    }


def list_snapshots(
    session: Session, *, from_date: date | None, to_date: date | None
) -> list[CoverageSnapshot]:
    """Snapshots between two days (both included), oldest first; at most the latest ~2
    years of days in the range (newest kept: a dashboard asks for the recent ones)."""
    if from_date and to_date and from_date > to_date:
        raise Unprocessable("`from` is after `to`.")
    statement = sa.select(CoverageSnapshot).order_by(col(CoverageSnapshot.snapshot_date).desc())
    if from_date:
        statement = statement.where(col(CoverageSnapshot.snapshot_date) >= from_date)
    if to_date:
        statement = statement.where(col(CoverageSnapshot.snapshot_date) <= to_date)
    return list(reversed(session.execute(statement.limit(800)).scalars().all()))


def trend(session: Session, *, to_date: date, months: int = TREND_MONTHS) -> list[TrendPoint]:
    """Month over month: the last snapshot of each of the last `months` months up to `to_date`."""
    first = add_months(to_date.replace(day=1), -(months - 1))
    rows = session.execute(
        sa.select(
            col(CoverageSnapshot.snapshot_date),
            col(CoverageSnapshot.in_scope),
            col(CoverageSnapshot.compliant),
        )
        .where(
            col(CoverageSnapshot.snapshot_date) >= first,
            col(CoverageSnapshot.snapshot_date) <= to_date,
        )
        .order_by(col(CoverageSnapshot.snapshot_date))
    ).all()
    last_of_month: dict[tuple[int, int], Any] = {}
    for row in rows:  # ordered by date: the last row of a month wins
        last_of_month[(row[0].year, row[0].month)] = row
    return [
        TrendPoint(
            on=on,
            in_scope=in_scope,
            compliant=compliant,
            compliant_pct=percent(compliant, in_scope),
        )
        for on, in_scope, compliant in last_of_month.values()
    ]


def board(session: Session, *, filters: ReportFilters, oversight: OversightSummary) -> BoardReport:
    """The board report with its trend filled from the snapshots.

    Snapshots hold organisation-wide figures, so a board report narrowed by a filter gets
    no trend rather than a line that belongs to a different population.
    """
    report = service.board(session, filters=filters, oversight=oversight)
    narrowed = any(
        (filters.org_unit_id, filters.role_id, filters.job_family_id, filters.location_id)
    )
    if not narrowed and filters.manager_id is None:
        report.trend = trend(session, to_date=filters.today)
    return report


def board_report(session: Session, *, filters: ReportFilters) -> BoardReport:
    """The board report as every caller serves it: with the Art. 26 oversight summary as of
    the report's day (JSON, CSV, the visual pages and the scheduled editions)."""
    oversight = compliance.oversight_summary(compliance.oversight(session, as_of=filters.as_of))
    return board(session, filters=filters, oversight=oversight)
