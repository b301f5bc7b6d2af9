"""SCORM results to evidence, through the same activity mappings as xAPI statements
(the course id is matched like an activity id)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from app.certification import queue as evaluation_queue
from app.core import audit, clock
from app.core.errors import Conflict
from app.evidence import service as evidence_service
from app.evidence.models import EvidenceSource
from app.evidence.schemas import EvidenceCreate
from app.integrations.scorm.models import ScormAttempt
from app.integrations.scorm.schemas import ScormResultIn
from app.integrations.xapi import derivation
from app.integrations.xapi.service import _mapping_index
from app.org.models import Person


def outcome(data: ScormResultIn) -> tuple[bool | None, bool | None, dict[str, Any]]:
    """(success, completion, xAPI-style score) of an attempt.

    SCORM 1.2 cmi.core.lesson_status carries both: passed/failed say success, passed and
    completed say completion; scores are raw with min/max (0..100 when not given).
    SCORM 2004 splits cmi.success_status and cmi.completion_status and adds cmi.score.scaled.
    """
    values = data.data
    if data.scorm_version == "1.2":
        status = values["cmi.core.lesson_status"]
        success = True if status == "passed" else False if status == "failed" else None
        completion = True if status in ("passed", "completed") else None
        prefix = "cmi.core.score."
    else:
        success_status = values.get("cmi.success_status", "unknown")
        success = None if success_status == "unknown" else success_status == "passed"
        completion = True if values.get("cmi.completion_status") == "completed" else None
        prefix = "cmi.score."
    score: dict[str, float] = {
        key: float(values[prefix + key])
        for key in ("raw", "min", "max", "scaled")
        if prefix + key in values
    }
    if "scaled" not in score and "raw" in score:
        low, high = score.get("min", 0.0), score.get("max", 100.0)
        if high > low:
            score["scaled"] = max(-1.0, min(1.0, (score["raw"] - low) / (high - low)))
    return success, completion, score


def _person(session: Session, data: ScormResultIn) -> uuid.UUID | None:
    if data.learner_id:
        found = session.exec(
            select(Person.id).where(Person.employee_number == data.learner_id)
        ).first()
        if found:
            return found
    if data.learner_email:
        return session.exec(
            select(Person.id).where(Person.email == data.learner_email.lower())
        ).first()
    return None


def record(
    session: Session, *, data: ScormResultIn, client_id: str
) -> tuple[ScormAttempt, bool, int]:
    """Store an attempt and its evidence; a repeat with the same payload is a no-op, with
    another payload a 409. Returns the attempt, whether it is new, and how many evidence
    records it created."""
    payload = data.model_dump(mode="json")
    existing = session.exec(
        select(ScormAttempt).where(
            ScormAttempt.lms_id == data.lms_id, ScormAttempt.attempt_id == data.attempt_id
        )
    ).first()
    if existing is not None:
        if existing.payload != payload:
            raise Conflict(
                f"Attempt {data.attempt_id} of {data.lms_id} was reported with other data.",
                slug="scorm-attempt-conflict",
            )
        return existing, False, 0
    success, completion, score = outcome(data)
    attempt = ScormAttempt(
        lms_id=data.lms_id,
        attempt_id=data.attempt_id,
        course_id=data.course_id,
        person_id=_person(session, data),
        payload=payload,
        passed=success,
        completed=completion,
        score_scaled=score.get("scaled"),
        received_at=clock.now(),
        client_id=client_id,
    )
    session.add(attempt)
    session.flush()
    audit.record(
        session,
        entity_type="scorm_attempt",
        entity_id=attempt.id,
        action="create",
        after=payload,
    )
    return attempt, True, derive(session, attempts=[attempt], actor=client_id)


def derive(session: Session, *, attempts: list[ScormAttempt], actor: str | None) -> int:
    """Evidence from attempts with a known person; evaluates each person once."""
    index = _mapping_index(session)
    if index is None:
        return 0
    items: list[EvidenceCreate] = []
    for attempt in attempts:
        if attempt.person_id is None:
            continue
        data = ScormResultIn.model_validate(attempt.payload)
        success, completion, score = outcome(data)
        verb = (
            derivation.PASSED
            if success
            else derivation.FAILED
            if success is False
            else derivation.COMPLETED
            if completion
            else ""
        )
        result: dict[str, Any] = {"score": score}
        if success is not None:
            result["success"] = success
        if completion is not None:
            result["completion"] = completion
        for mapping in index.match(attempt.course_id):
            if not derivation.meets_rule(mapping, verb, result):
                continue
            items.append(
                EvidenceCreate(
                    person_id=attempt.person_id,
                    competency_key=mapping.competency_key,
                    level_key=mapping.level_key,
                    assessment_form=str(mapping.assessment_form),
                    source=EvidenceSource.scorm,
                    source_ref=f"{attempt.lms_id}:{attempt.attempt_id}#{mapping.competency_key}",
                    activity_id=attempt.course_id,
                    score_raw=score.get("raw"),
                    score_min=score.get("min"),
                    score_max=score.get("max"),
                    score_scaled=score.get("scaled"),
                    occurred_at=data.occurred_at or attempt.received_at,
                    assessor_client_id=attempt.client_id,
                )
            )
    if not items:
        return 0
    inserted = evidence_service.record_many(session, items=items)
    evaluation_queue.request(session, {i.person_id for i in items}, actor=actor)
    return len(inserted)


def resolve_pending(session: Session, *, limit: int = 1000) -> int:
    """Worker job: attempts of learners unknown when reported, for people who appeared since."""
    attempts = session.exec(
        select(ScormAttempt).where(col(ScormAttempt.person_id).is_(None)).limit(limit)
    ).all()
    attached = []
    for attempt in attempts:
        person_id = _person(session, ScormResultIn.model_validate(attempt.payload))
        if person_id is not None:
            attempt.person_id = person_id
            session.add(attempt)
            attached.append(attempt)
    if attached:
        session.flush()
        derive(session, attempts=attached, actor="scorm-resolver")
    return len(attached)
