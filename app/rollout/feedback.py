"""Structured feedback on a phase from employees, managers, HR and auditors (stappenplan,
stap 3), and its summary per respondent group with small-group suppression of free text."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.core import audit
from app.core.errors import Conflict, NotFound, Unprocessable
from app.org import service as org_service
from app.rollout.models import Phase, PhaseFeedback, RespondentGroup
from app.rollout.schemas import DimensionSummary, FeedbackCreate, FeedbackSummary, GroupSummary

RATING_DIMENSIONS = ("workload", "clarity", "relevance", "assessment_fairness")


def _fields(row: Any, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {name: getattr(row, name) for name in type(row).model_fields if name not in exclude}


def record_feedback(session: Session, *, phase: Phase, data: FeedbackCreate) -> PhaseFeedback:
    person_id = None
    if data.respondent is not None:
        try:
            person_id = org_service.get_person_by_key(session, key=data.respondent).id
        except NotFound as exc:
            raise Unprocessable(f"No person {data.respondent}.", slug="unknown-respondent") from exc
        duplicate = session.exec(
            select(PhaseFeedback.id).where(
                PhaseFeedback.phase_id == phase.id, PhaseFeedback.respondent_person_id == person_id
            )
        ).first()
        if duplicate is not None:
            raise Conflict("This respondent already gave feedback on this phase.")
    feedback = PhaseFeedback(
        phase_id=phase.id,
        respondent_group=data.respondent_group,
        respondent_person_id=person_id,
        comment=data.comment.strip() if data.comment and data.comment.strip() else None,
        **{name: getattr(data, name) for name in RATING_DIMENSIONS},
    )
    session.add(feedback)
    session.flush()
    # The identity stays out of the trail too: summaries and audit readers see the group only.
    audit.record(
        session,
        entity_type="phase_feedback",
        entity_id=feedback.id,
        action="create",
        after=_fields(feedback, exclude=frozenset({"respondent_person_id"}))
        | {"respondent_recorded": person_id is not None},
    )
    return feedback


def feedback_summary(session: Session, *, phase: Phase, min_group_size: int) -> FeedbackSummary:
    """Per respondent group: count, mean and distribution per dimension; free text only for
    groups of at least min_group_size respondents, so a comment cannot be traced to a person."""
    fb: Any = PhaseFeedback.__table__.c  # type: ignore[attr-defined]
    counts = dict(
        session.execute(
            sa.select(fb.respondent_group, sa.func.count())
            .where(fb.phase_id == phase.id)
            .group_by(fb.respondent_group)
        ).all()
    )
    means: dict[str, dict[str, tuple[int, float | None]]] = defaultdict(dict)
    distribution: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for name in RATING_DIMENSIONS:
        column = fb[name]
        for group, answered, mean in session.execute(
            sa.select(fb.respondent_group, sa.func.count(column), sa.func.avg(column))
            .where(fb.phase_id == phase.id)
            .group_by(fb.respondent_group)
        ).all():
            means[group][name] = (int(answered), None if mean is None else round(float(mean), 2))
        for group, value, count in session.execute(
            sa.select(fb.respondent_group, column, sa.func.count())
            .where(fb.phase_id == phase.id, column.is_not(None))
            .group_by(fb.respondent_group, column)
        ).all():
            distribution[group][name][str(value)] = int(count)
    shown = [group for group, count in counts.items() if count >= min_group_size]
    comments: dict[str, list[str]] = defaultdict(list)
    if shown:
        for group, comment in session.execute(
            sa.select(fb.respondent_group, fb.comment)
            .where(fb.phase_id == phase.id, fb.respondent_group.in_(shown))
            .where(fb.comment.is_not(None))
            # By text, not by time: the order must not hint at who wrote what.
            .order_by(fb.comment)
        ).all():
            comments[group].append(comment)
    groups = []
    for group in RespondentGroup:
        if group.value not in counts:
            continue
        groups.append(
            GroupSummary(
                respondent_group=group,
                respondents=int(counts[group.value]),
                dimensions={
                    name: DimensionSummary(
                        answered=means[group.value].get(name, (0, None))[0],
                        mean=means[group.value].get(name, (0, None))[1],
                        distribution={
                            str(v): distribution[group.value][name].get(str(v), 0)
                            for v in range(1, 6)
                        },
                    )
                    for name in RATING_DIMENSIONS
                },
                comments=comments[group.value] if group.value in shown else None,
                comments_suppressed=group.value not in shown,
            )
        )
    return FeedbackSummary(
        phase_id=phase.id,
        min_group_size=min_group_size,
        respondents=sum(int(c) for c in counts.values()),
        groups=groups,
    )
