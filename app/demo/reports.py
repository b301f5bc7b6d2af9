"""Demo reporting rhythm: 12 months of coverage snapshots with a believable upward trend, and
a report schedule per audience with one published edition each.

Snapshots are immutable history, so the past months are written directly as of their dates
(month ends before today), ending near today's real figures. Load after the people, the
model and the rollout, so the figures and the editions have data.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from app.core import clock
from app.core.config import Settings
from app.reports import schedules, service
from app.reports.models import Audience, Cadence, CoverageSnapshot, ScheduledReport
from app.reports.rhythm_schemas import ScheduleCreate, ScheduleFilters
from app.reports.schemas import GroupBy
from app.reports.scope import ReportFilters, percent

SEED = 20261126
MONTHS = 12
START_PCT = 12.0  # where the programme started a year ago
DEFAULT_TARGET_PCT = 78.0  # used when today's statuses are not evaluated yet

# (name nl, name en, audience, report, cadence, day, filters)
SCHEDULES: list[tuple[str, str, Audience, ScheduledReport, Cadence, int, dict[str, Any]]] = [
    (
        "Directie maandelijks",
        "Board monthly",
        Audience.board,
        ScheduledReport.board,
        Cadence.monthly,
        1,
        {},
    ),
    (
        "Risk & compliance per kwartaal",
        "Risk & compliance quarterly",
        Audience.risk_compliance,
        ScheduledReport.process_risk,
        Cadence.quarterly,
        1,
        {},
    ),
    (
        "Ondernemingsraad per kwartaal",
        "Works council quarterly",
        Audience.works_council,
        ScheduledReport.works_council,
        Cadence.quarterly,
        1,
        {"group_by": "org_unit"},
    ),
    (
        "HR wekelijks: aflopende diploma's",
        "HR weekly: expiring diplomas",
        Audience.hr,
        ScheduledReport.expiring,
        Cadence.weekly,
        1,
        {"days": 60},
    ),
]


def _month_ends(today: date) -> list[date]:
    """The last day of each of the 12 months before this one, oldest first."""
    ends, end = [], today.replace(day=1) - timedelta(days=1)
    for _ in range(MONTHS):
        ends.append(end)
        end = end.replace(day=1) - timedelta(days=1)
    return list(reversed(ends))


def _snapshots(session: Session, today: date) -> int:
    rng = random.Random(SEED)
    current = service.coverage(
        session, filters=ReportFilters(as_of=today), group_by=GroupBy.org_unit
    )
    total = current.total
    base = total.in_scope or total.people
    target = total.compliant_pct if total.compliant_pct else DEFAULT_TARGET_PCT
    units = [(g, (g.in_scope or g.people), rng.uniform(0.8, 1.15)) for g in current.groups]
    written = 0
    for i, on in enumerate(_month_ends(today)):
        progress = ((i + 1) / (MONTHS + 1)) ** 0.8
        pct = START_PCT + (target - START_PCT) * progress + rng.uniform(-2.0, 2.0)
        in_scope = max(round(base * (0.9 + 0.1 * progress)), 1) if base else 0
        compliant = min(round(in_scope * pct / 100), in_scope)
        groups = []
        for group, size, factor in units:
            unit_compliant = min(round(size * min(pct * factor, 100) / 100), size)
            groups.append(
                {
                    "key": group.key,
                    "name": group.name,
                    "people": group.people,
                    "in_scope": size,
                    "compliant": unit_compliant,
                    "compliant_pct": percent(unit_compliant, size),
                }
            )
        session.add(
            CoverageSnapshot(
                snapshot_date=on,
                people=max(total.people, in_scope),
                in_scope=in_scope,
                certified=min(round(compliant * 1.1), in_scope),
                compliant=compliant,
                expiring_30=round(in_scope * 0.02),
                expiring_90=round(in_scope * 0.06),
                expired=round(in_scope * 0.01 * progress),
                overdue=round((in_scope - compliant) * 0.15 * progress),
                groups={"org_unit": groups},
            )
        )
        written += 1
    session.flush()
    return written


def load(session: Session, *, language: str) -> dict[str, int]:
    """12 monthly snapshots, a schedule per audience and one published edition of each."""
    pick = 0 if language == "nl" else 1
    today = clock.now().date()
    counts = {"report snapshots": _snapshots(session, today)}
    min_group_size = Settings().min_group_size
    editions = 0
    for nl, en, audience, report, cadence, day, filters in SCHEDULES:
        schedule = schedules.create_schedule(
            session,
            data=ScheduleCreate(
                name=(nl, en)[pick],
                audience=audience,
                report=report,
                filters=ScheduleFilters.model_validate(filters),
                cadence=cadence,
                day=day,
            ),
        )
        as_of = schedules.last_occurrence(cadence, day, on_or_before=today)
        schedules.publish(session, schedule=schedule, as_of=as_of, min_group_size=min_group_size)
        schedule.last_published_date = as_of
        schedule.next_due_date = schedules.next_occurrence(
            cadence, day, on_or_after=today + timedelta(days=1)
        )
        session.add(schedule)
        editions += 1
    session.flush()
    counts["report schedules"] = len(SCHEDULES)
    counts["report editions"] = editions
    return counts
