"""A published model with activity mappings, people, LRS credentials and statement builders."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth import service as auth_service
from app.auth.schemas import ApiClientCreate
from tests.certification.factories import make_person, make_role, model_content
from tests.conftest import app_on_fresh_database
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


@contextmanager
def lms_on_fresh_database(database: Any, tmp_path: Any, people: int) -> Iterator[dict[str, Any]]:
    """For tests of concurrent requests, outside the tests' joined connection. A fresh app with a published model, `people` people in a role that needs it, and an
    LMS client whose Basic credentials the app has verified once (so they are cached)."""
    with app_on_fresh_database(database.backend, tmp_path) as (app, fresh):
        with Session(fresh.engine) as session:
            session.info["actor"] = "test"
            role = make_role(session)
            someone = [make_person(session, role=role) for _ in range(people)]
            admin = auth_headers(session, app, "competencies:write")
            lms = lrs_headers(session)
            emails = [p.email for p in someone]
            ids = [p.id for p in someone]
            role_key = role.key
            session.commit()
        content = model_content(role_key)
        content["activity_mappings"] = MAPPINGS
        with TestClient(app) as client:
            created = client.post(
                "/competency-models",
                json={"key": "ai", "name": "AI", "content": content},
                headers=admin,
            )
            assert created.status_code == 201, created.text
            model_id = created.json()["model"]["id"]
            published = client.post(
                f"/competency-models/{model_id}/versions/1/publish", headers=admin
            )
            assert published.status_code == 200, published.text
            warm = client.post(
                "/xapi/statements",
                json=statement(
                    emails[0], "passed", LMS + "policy-test", result={"score": {"scaled": 0.9}}
                ),
                headers=lms,
            )
            assert warm.status_code == 200, warm.text
            yield {
                "app": app,
                "engine": fresh.engine,
                "client": client,
                "lms": lms,
                "emails": emails,
                "people": ids,
            }


def lock_waiters(engine: Any, *, locktype: str | None = None) -> int:
    """PostgreSQL locks some session is waiting for (of `locktype`, or any)."""
    query = "SELECT count(*) FROM pg_locks WHERE NOT granted"
    with engine.connect() as connection:
        if locktype is None:
            return int(connection.execute(sa.text(query)).scalar_one())
        return int(
            connection.execute(
                sa.text(query + " AND locktype = :locktype"), {"locktype": locktype}
            ).scalar_one()
        )
