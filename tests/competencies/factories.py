"""Factories for the competencies tests: org rows and API helpers."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.org.models import JobFamily, Role


def make_job_family(session: Session, **overrides: Any) -> JobFamily:
    values: dict[str, Any] = {"key": "jf-" + uuid.uuid4().hex[:8], "name": "Job family"}
    values.update(overrides)
    family = JobFamily(**values)
    session.add(family)
    session.flush()
    return family


def make_role(session: Session, **overrides: Any) -> Role:
    values: dict[str, Any] = {"key": "role-" + uuid.uuid4().hex[:8], "name": "Role"}
    values.update(overrides)
    role = Role(**values)
    session.add(role)
    session.flush()
    return role


def create_from_template(
    client: TestClient, headers: dict[str, str], *, template: str = "en", key: str | None = None
) -> dict[str, Any]:
    response = client.post(
        "/competency-models:from-template",
        json={"template": template, "key": key or f"model-{uuid.uuid4().hex[:8]}"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def version_url(created: dict[str, Any], number: int = 1) -> str:
    return f"/competency-models/{created['model']['id']}/versions/{number}"


def get_content(client: TestClient, headers: dict[str, str], url: str) -> dict[str, Any]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    content: dict[str, Any] = response.json()["content"]
    return content


def put_content(
    client: TestClient, headers: dict[str, str], url: str, content: dict[str, Any]
) -> Any:
    return client.put(f"{url}/content", json=content, headers=headers)
