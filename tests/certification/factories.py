"""A small published competency model and people in roles, for the certification tests."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.org.models import Person, PersonRole, Role

PRACTICE = ["practical_assessment", "portfolio", "interview"]


def _t(text: str) -> dict[str, str]:
    return {"en": text, "nl": text}


def model_content(role_key: str, *, tier: str = "advanced") -> dict[str, Any]:
    """Two tiers: basic (policy knowledge) and advanced (policy + checking output in practice)."""
    return {
        "domains": [
            {"key": "knowledge", "title": _t("Knowledge")},
            {"key": "application", "title": _t("Application")},
        ],
        "levels": [
            {"key": "basic", "title": _t("Basic")},
            {"key": "advanced", "title": _t("Advanced")},
            {"key": "expert", "title": _t("Expert")},
        ],
        "competencies": [
            {"key": "ai-policy", "domain": "knowledge", "title": _t("AI policy")},
            {"key": "checking-output", "domain": "application", "title": _t("Checking output")},
            {"key": "bias", "domain": "application", "title": _t("Recognising bias")},
        ],
        "tiers": [
            {
                "key": "basic",
                "title": _t("Basic"),
                "validity_months": 24,
                "recertification_window_days": 90,
                "grace_period_days": 30,
                "requirements": [
                    {
                        "competency": "ai-policy",
                        "min_level": "basic",
                        "accepted_forms": ["knowledge_test"],
                        "min_score": 70,
                    }
                ],
            },
            {
                "key": "advanced",
                "title": _t("Advanced"),
                "validity_months": 24,
                "recertification_window_days": 90,
                "grace_period_days": 30,
                "requirements": [
                    {
                        "competency": "ai-policy",
                        "min_level": "basic",
                        "accepted_forms": ["knowledge_test"],
                        "min_score": 70,
                    },
                    {
                        "competency": "checking-output",
                        "min_level": "advanced",
                        "accepted_forms": PRACTICE,
                    },
                ],
            },
        ],
        "role_tiers": [{"role": role_key, "tier": tier, "reason": "works with case files"}],
        "activity_mappings": [
            {
                "activity_id": "https://lms.example/xapi/activities/checking-output-lab",
                "competency": "checking-output",
                "level": "advanced",
                "assessment_form": "practical_assessment",
                "pass_rule": "success",
            },
        ],
    }


def publish_model(
    client: TestClient,
    headers: dict[str, str],
    role_key: str,
    *,
    content: dict[str, Any] | None = None,
    **kw: Any,
) -> dict:
    created = client.post(
        "/competency-models",
        json={
            "key": f"cert-{uuid.uuid4().hex[:8]}",
            "name": "AI diploma",
            "content": content or model_content(role_key, **kw),
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    model_id = created.json()["model"]["id"]
    published = client.post(f"/competency-models/{model_id}/versions/1/publish", headers=headers)
    assert published.status_code == 200, published.text
    return created.json()


def make_role(session: Session, key: str | None = None) -> Role:
    role = Role(key=key or f"role-{uuid.uuid4().hex[:8]}", name="Case handler")
    session.add(role)
    session.flush()
    return role


def make_person(
    session: Session, *, role: Role | None = None, start: date | None = None, **overrides: Any
) -> Person:
    number = overrides.pop("employee_number", f"E{uuid.uuid4().hex[:8]}")
    person = Person(
        employee_number=number,
        given_name="Anna",
        family_name="Jansen",
        email=f"{number.lower()}@example.nl",
        employment_start_date=start,
        **overrides,
    )
    session.add(person)
    session.flush()
    if role is not None:
        session.add(PersonRole(person_id=person.id, role_id=role.id, start_date=start))
        session.flush()
    return person


def evidence_body(
    person: Person,
    competency: str,
    *,
    level: str,
    form: str,
    at: datetime,
    assessor: Person | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "person": f"employee:{person.employee_number}",
        "competency": competency,
        "level": level,
        "assessment_form": form,
        "occurred_at": at.isoformat(),
        **extra,
    }
    if assessor is not None:
        body["assessor"] = f"employee:{assessor.employee_number}"
    return body
