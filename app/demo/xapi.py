"""Demo LMS traffic: the demo's learning evidence arrives as real xAPI statements (cmi5
sessions and plain completed/passed/failed) and a few SCORM results, through the same
code an LMS hits, so the statement store, the unmapped-activity report and the evidence
trail are populated. Deterministic: the same people get the same statements every load."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.certification import queue as evaluation_queue
from app.core.config import Settings
from app.demo.competencies import LMS
from app.integrations.scorm import service as scorm_service
from app.integrations.scorm.schemas import ScormResultIn
from app.integrations.xapi import service as xapi_service
from app.integrations.xapi.derivation import CMI5_CATEGORY, MOVE_ON
from app.org.models import Person

ADL = "http://adlnet.gov/expapi/verbs/"
NAMESPACE = uuid.UUID("6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f")
DEMO_LMS = "demo-lms"
UNMAPPED = [LMS + "ai-nieuwsbrief-webinar", LMS + "copilot-tips-video", LMS + "ethiek-podcast"]


def _id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def _statement(
    key: str, email: str, verb: str, activity: str, at: datetime, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": _id(key, verb, activity),
        "actor": {"objectType": "Agent", "mbox": f"mailto:{email}"},
        "verb": {"id": ADL + verb, "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": activity},
        "timestamp": at.isoformat().replace("+00:00", "Z"),
    }
    body.update(extra)
    return body


def _cmi5_session(
    key: str, email: str, au: str, at: datetime, *, move_on: str, passed: bool, scaled: float
) -> list[dict[str, Any]]:
    registration = _id(key, "registration", au)
    category = {"contextActivities": {"category": [{"id": CMI5_CATEGORY}]}}

    def context(**extensions: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"registration": registration, **category}
        if extensions:
            out["extensions"] = extensions
        return out

    verb = "passed" if passed else "failed"
    return [
        _statement(key, email, "launched", au, at, context=context(**{MOVE_ON: move_on})),
        _statement(key, email, "initialized", au, at + timedelta(seconds=5), context=context()),
        _statement(
            key,
            email,
            verb,
            au,
            at + timedelta(minutes=20),
            context=context(),
            result={"success": passed, "score": {"scaled": scaled}},
        ),
        _statement(
            key,
            email,
            "completed",
            au,
            at + timedelta(minutes=21),
            context=context(),
            result={"completion": True},
        ),
        _statement(key, email, "terminated", au, at + timedelta(minutes=22), context=context()),
    ]


def load(session: Session, *, language: str) -> dict[str, int]:
    """Send the demo LMS's statements and SCORM results; returns counts."""
    del language  # statements are language-neutral
    rng = random.Random(42)
    people = session.exec(
        select(Person)
        .where(col(Person.employee_number).between("HS0001", "HS0300"))
        .order_by(col(Person.employee_number))
    ).all()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    statements: list[dict[str, Any]] = []
    scorm: list[ScormResultIn] = []
    for index, person in enumerate(people):
        if not person.email:
            continue
        key, email = person.employee_number, person.email
        at = start + timedelta(days=index % 60, minutes=index)
        statements.append(
            _statement(
                key, email, "completed", LMS + "ai-basis-module", at, result={"completion": True}
            )
        )
        score = round(rng.uniform(0.5, 1.0), 2)
        statements.append(
            _statement(
                key,
                email,
                "passed" if score >= 0.7 else "failed",
                LMS + "ai-basis-toets",
                at + timedelta(hours=1),
                result={"success": score >= 0.7, "score": {"scaled": score}},
            )
        )
        if index % 3 == 0:
            lab_score = round(rng.uniform(0.6, 1.0), 2)
            statements += _cmi5_session(
                key,
                email,
                LMS + "prompt-lab",
                at + timedelta(days=7),
                move_on="CompletedAndPassed",
                passed=lab_score >= 0.8,
                scaled=lab_score,
            )
        if index % 5 == 0:
            statements += _cmi5_session(
                key,
                email,
                LMS + "ai-praktijkopdracht/casus-1",
                at + timedelta(days=14),
                move_on="Passed",
                passed=rng.random() < 0.85,
                scaled=0.9,
            )
        if index % 4 == 0:
            statements.append(
                _statement(key, email, "experienced", rng.choice(UNMAPPED), at + timedelta(days=2))
            )
        if index % 25 == 0:
            scorm.append(
                ScormResultIn(
                    lms_id="havenstad-scorm",
                    attempt_id=f"{key}-privacy-1",
                    course_id="HS-AI-PRIVACY-01",
                    learner_id=key,
                    scorm_version="1.2",
                    occurred_at=at + timedelta(days=3),
                    data={"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "82"},
                )
            )
        if index % 25 == 12:
            scorm.append(
                ScormResultIn(
                    lms_id="havenstad-scorm",
                    attempt_id=f"{key}-privacy-1",
                    course_id="HS-AI-PRIVACY-01",
                    learner_email=email,
                    scorm_version="2004",
                    occurred_at=at + timedelta(days=3),
                    data={
                        "cmi.completion_status": "completed",
                        "cmi.success_status": "passed",
                        "cmi.score.scaled": "0.88",
                    },
                )
            )
    settings = Settings()
    caller = xapi_service.Caller(
        client_id=DEMO_LMS,
        authority_homepage="https://lms.havenstad.nl",
        account_homepage=settings.xapi_account_homepage,
    )
    for offset in range(0, len(statements), 250):  # the batches an LMS would send
        xapi_service.store(
            session, statements=statements[offset : offset + 250], caller=caller, actor=DEMO_LMS
        )
    for result in scorm:
        scorm_service.record(session, data=result, client_id=DEMO_LMS)
    # The rollout and report parts that follow read the statuses this evidence earns.
    evaluation_queue.evaluate_waiting(session)
    return {"xapi_statements": len(statements), "scorm_results": len(scorm)}
