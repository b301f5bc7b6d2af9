"""Effectiveness of the measures (ISO/IEC 42001 7.2: evaluate the effectiveness of actions):
assessment score distributions per competency per month, and first-time pass rates per
training activity. Grouped in SQL; only the grouped rows reach Python.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from app.core.db import UTCDateTime
from app.evidence.models import Evidence
from app.reports import scope
from app.reports.schemas import (
    ActivityPassRate,
    CompetencyScores,
    EffectivenessReport,
    Filters,
    ScoreMonth,
)
from app.reports.scope import ReportFilters, percent

BUCKETS = 10


def _month(session: Session, column: Any) -> Any:
    """'YYYY-MM' of a UTC timestamp (the one dialect-specific expression of the reports)."""
    if session.get_bind().dialect.name == "sqlite":
        return sa.func.strftime("%Y-%m", column)
    return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")


def _bucket(score: Any) -> Any:
    """The decile of a scaled score (0..1), as 0..9; a CASE so no FLOOR/CAST rounding differs."""
    return sa.case(
        *((score >= step / BUCKETS, step) for step in range(BUCKETS - 1, 0, -1)), else_=0
    )


def effectiveness(
    session: Session, *, filters: ReportFilters, from_date: date | None = None
) -> EffectivenessReport:
    """Score distributions per competency per month, and first-time pass rates per activity."""
    to_date = filters.today
    from_date = from_date or (to_date - timedelta(days=365))
    start = sa.literal(datetime.combine(from_date, time.min, tzinfo=UTC), UTCDateTime())
    end = sa.literal(datetime.combine(to_date, time.max, tzinfo=UTC), UTCDateTime())
    people = scope.population(filters).subquery("effect_people")
    month = _month(session, col(Evidence.occurred_at))
    score = col(Evidence.score_scaled)
    # Bucket and month in a subquery, grouped by its columns: PostgreSQL sees the bound
    # parameters of a repeated expression as different expressions.
    scored = (
        sa.select(
            col(Evidence.competency_key).label("competency"),
            month.label("month"),
            _bucket(score).label("bucket"),
            score.label("score"),
        )
        .join(people, people.c.person_id == col(Evidence.person_id))
        .where(
            col(Evidence.voided_at).is_(None),
            score.is_not(None),
            col(Evidence.occurred_at) >= start,
            col(Evidence.occurred_at) <= end,
        )
        .subquery()
    )
    rows = session.execute(
        sa.select(
            scored.c.competency,
            scored.c.month,
            scored.c.bucket,
            sa.func.count(),
            sa.func.sum(scored.c.score),
        ).group_by(scored.c.competency, scored.c.month, scored.c.bucket)
    ).all()
    cells: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for competency, month_key, bucket, count, total in rows:
        cell = cells[competency].setdefault(month_key, [[0] * BUCKETS, 0, 0.0])
        cell[0][int(bucket)] += int(count)
        cell[1] += int(count)
        cell[2] += float(total or 0)
    scores = [
        CompetencyScores(
            competency=competency,
            months=[
                ScoreMonth(
                    month=m,
                    count=n,
                    mean=round(total / n, 3) if n else None,
                    buckets=buckets,
                )
                for m, (buckets, n, total) in sorted(months.items())
            ],
        )
        for competency, months in sorted(cells.items())
    ]

    # The first attempt of each person at each activity (ever, up to the as-of date) counts,
    # if it falls in the period: a pass on the first go is what the training is judged on.
    attempt = (
        sa.select(
            col(Evidence.activity_id).label("activity_id"),
            col(Evidence.passed).label("passed"),
            col(Evidence.occurred_at).label("occurred_at"),
            sa.func.row_number()
            .over(
                partition_by=(col(Evidence.person_id), col(Evidence.activity_id)),
                order_by=(col(Evidence.occurred_at), col(Evidence.id)),
            )
            .label("attempt"),
        )
        .join(people, people.c.person_id == col(Evidence.person_id))
        .where(
            col(Evidence.activity_id).is_not(None),
            col(Evidence.voided_at).is_(None),
            col(Evidence.occurred_at) <= end,
        )
        .subquery()
    )
    activities = [
        ActivityPassRate(
            activity_id=activity_id,
            people=int(n),
            passed_first_time=int(ok),
            first_time_pass_pct=percent(int(ok), int(n)),
        )
        for activity_id, n, ok in session.execute(
            sa.select(
                attempt.c.activity_id,
                sa.func.count(),
                scope.count_if(attempt.c.passed.is_(True)),
            )
            .where(attempt.c.attempt == 1, attempt.c.occurred_at >= start)
            .group_by(attempt.c.activity_id)
            .order_by(attempt.c.activity_id)
        ).all()
    ]
    return EffectivenessReport(
        filters=Filters(**filters.echo()),
        from_date=from_date,
        to_date=to_date,
        scores=scores,
        activities=activities,
    )
