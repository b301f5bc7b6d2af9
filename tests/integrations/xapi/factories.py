"""A published model with activity mappings, people, LRS credentials and statement builders."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth import service as auth_service
from app.auth.schemas import ApiClientCreate
from tests.certification.factories import make_person, make_role, model_content
from tests.factories import auth_headers

LMS = "https://lms.example/xapi/activities/"
ADL = "http://adlnet.gov/expapi/verbs/"
CMI5 = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
MOVE_ON = "https://w3id.org/xapi/cmi5/context/extensions/moveon"
V = {"X-Experience-API-Version": "1.0.3"}

MAPPINGS = [
    {
        "activity_id": LMS + "policy-test",
        "competency": "ai-policy",
        "level": "basic",
        "assessment_form": "knowledge_test",
        "pass_rule": "min_score",
        "min_scaled_score": 0.7,
    },
    {
        "activity_id": LMS + "policy-course",
        "competency": "ai-policy",
        "level": "basic",
        "assessment_form": "course_completion",
        "pass_rule": "completion",
    },
    {
        "activity_id": LMS + "checking-output-lab",
        "competency": "checking-output",
        "level": "advanced",
        "assessment_form": "practical_assessment",
        "pass_rule": "success",
    },
    {
        "activity_id": LMS + "labs/",
        "match": "prefix",
        "competency": "bias",
        "level": "advanced",
        "assessment_form": "practical_assessment",
        "pass_rule": "success",
    },
]


def publish(client: TestClient, db: Session, app: FastAPI) -> dict[str, Any]:
    headers = auth_headers(db, app, "competencies:write")
    role = make_role(db)
    content = model_content(role.key)
    content["activity_mappings"] = MAPPINGS
    created = client.post(
        "/competency-models",
        json={"key": f"x-{uuid.uuid4().hex[:8]}", "name": "AI", "content": content},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    model_id = created.json()["model"]["id"]
    assert (
        client.post(
            f"/competency-models/{model_id}/versions/1/publish", headers=headers
        ).status_code
        == 200
    )
    return {"role": role}


def person(db: Session, role: Any = None, **kw: Any) -> Any:
    return make_person(db, role=role, **kw)


def lrs_headers(db: Session, *scopes: str) -> dict[str, str]:
    """HTTP Basic with a real API client's id and secret, plus the version header."""
    client, secret = auth_service.create_client(
        db, data=ApiClientCreate(name="lms", scopes=list(scopes or ("xapi:write", "xapi:read")))
    )
    token = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", **V}


def statement(
    email: str, verb: str, activity: str, *, result: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "mbox": f"mailto:{email}"},
        "verb": {"id": ADL + verb, "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": activity},
        "timestamp": "2026-05-04T10:00:00Z",
    }
    if result is not None:
        body["result"] = result
    body.update(extra)
    return body


def cmi5(
    email: str,
    verb: str,
    activity: str,
    registration: str,
    *,
    at: str,
    result: dict[str, Any] | None = None,
    move_on: str | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "registration": registration,
        "contextActivities": {"category": [{"id": CMI5}]},
    }
    if move_on:
        context["extensions"] = {MOVE_ON: move_on}
    return statement(email, verb, activity, result=result, context=context, timestamp=at)
