"""SCORM results: SCORM 1.2 (cmi.core.lesson_status, cmi.core.score.*) and SCORM 2004
(cmi.completion_status, cmi.success_status, cmi.score.scaled), idempotent per attempt."""

from __future__ import annotations

import uuid

from sqlmodel import select

from app.evidence.models import Evidence
from app.integrations.scorm import service
from tests.integrations.xapi.factories import LMS, lrs_headers, person, publish


def _body(learner, version, data, **kw):
    return {
        "lms_id": "moodle",
        "attempt_id": uuid.uuid4().hex,
        "course_id": LMS + "policy-test",
        "learner_id": learner,
        "scorm_version": version,
        "occurred_at": "2026-05-04T10:00:00Z",
        "data": data,
        **kw,
    }


def _evidence(db, person_id):
    db.expire_all()
    return db.exec(select(Evidence).where(Evidence.person_id == person_id)).all()


def test_scorm_12_passed_with_raw_score(client, db, app):
    ctx = publish(client, db, app)
    someone = person(db, ctx["role"])
    headers = lrs_headers(db)
    body = _body(
        someone.employee_number,
        "1.2",
        {"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "80"},
    )
    response = client.post("/integrations/scorm/results", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["evidence_created"] == 1
    [evidence] = _evidence(db, someone.id)
    assert evidence.source == "scorm" and evidence.score_scaled == 0.8
    again = client.post("/integrations/scorm/results", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["evidence_created"] == 0
    changed = dict(body, data={"cmi.core.lesson_status": "failed"})
    assert (
        client.post("/integrations/scorm/results", json=changed, headers=headers).status_code == 409
    )
    low = _body(
        someone.employee_number,
        "1.2",
        {"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "50"},
    )
    assert (
        client.post("/integrations/scorm/results", json=low, headers=headers).json()[
            "evidence_created"
        ]
        == 0
    )


def test_scorm_2004_by_email(client, db, app):
    ctx = publish(client, db, app)
    someone = person(db, ctx["role"])
    body = _body(
        None,
        "2004",
        {
            "cmi.completion_status": "completed",
            "cmi.success_status": "passed",
            "cmi.score.scaled": "0.9",
        },
        learner_email=someone.email,
    )
    body.pop("learner_id")
    response = client.post("/integrations/scorm/results", json=body, headers=lrs_headers(db))
    assert response.status_code == 201, response.text
    assert [e.score_scaled for e in _evidence(db, someone.id)] == [0.9]


def test_scorm_invalid_payloads(client, db):
    headers = lrs_headers(db)
    for data, version in (
        ({"cmi.core.lesson_status": "great"}, "1.2"),
        ({"cmi.success_status": "passed", "cmi.score.scaled": "2"}, "2004"),
        ({"cmi.completion_status": "completed", "cmi.core.lesson_status": "passed"}, "2004"),
        ({"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "eighty"}, "1.2"),
    ):
        response = client.post(
            "/integrations/scorm/results", json=_body("X1", version, data), headers=headers
        )
        assert response.status_code == 422, (data, response.text)


def test_scorm_unknown_learner_resolved_later(client, db, app):
    ctx = publish(client, db, app)
    number = f"E{uuid.uuid4().hex[:8]}"
    body = _body(number, "1.2", {"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "95"})
    assert (
        client.post("/integrations/scorm/results", json=body, headers=lrs_headers(db)).status_code
        == 201
    )
    someone = person(db, ctx["role"], employee_number=number)
    assert service.resolve_pending(db) >= 1
    assert len(_evidence(db, someone.id)) == 1
