"""Tool-use intake: anyone with intake:write declares a tool; IT/security triages it into an
existing system, a new system, or rejects it, so shadow AI becomes visible."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import func, select

from app.registry.models import AISystem, IntakeDeclaration
from tests.factories import auth_headers
from tests.registry.factories import make_ai_system, make_person, make_process


@pytest.fixture
def declarer(db, app):
    return auth_headers(db, app, "intake:write")


@pytest.fixture
def ciso(db, app):
    return auth_headers(db, app, "registry:write", "registry:read", client_id="cl_ciso")


def _declare(client, headers, **overrides):
    body = {
        "tool": "ChatGPT (gratis versie)",
        "purpose": "drafting letters to clients",
        "process": "answering client questions",
        "declared_by": "j.jansen@havenstad.nl",
        **overrides,
    }
    response = client.post("/registry/intake", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_declare_tool_is_new_and_listed(client, db, declarer, ciso):
    person = make_person(db)
    process = make_process(db)
    declared = _declare(client, declarer, person_id=str(person.id), process_id=str(process.id))
    assert declared["status"] == "new"
    assert declared["triaged_at"] is None
    queue = client.get("/registry/intake?status=new", headers=ciso).json()["items"]
    assert [item["id"] for item in queue] == [declared["id"]]
    # Declaring does not allow reading the register.
    assert client.get("/registry/intake", headers=declarer).status_code == 403


def test_triage_to_existing_system(client, db, declarer, ciso):
    system = make_ai_system(db, name="ChatGPT (gratis versie)", deployment_status="prohibited")
    declared = _declare(client, declarer)
    response = client.post(
        f"/registry/intake/{declared['id']}/triage",
        json={"decision": "existing_system", "ai_system_id": str(system.id), "note": "known"},
        headers=ciso,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["ai_system_id"], body["triaged_by"]) == (
        "existing_system",
        str(system.id),
        "cl_ciso",
    )
    assert body["triaged_at"] is not None
    again = client.post(
        f"/registry/intake/{declared['id']}/triage", json={"decision": "rejected"}, headers=ciso
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("already-triaged")


def test_triage_to_new_system_registers_it(client, db, declarer, ciso):
    declared = _declare(client, declarer, tool="Otter.ai")
    response = client.post(
        f"/registry/intake/{declared['id']}/triage",
        json={
            "decision": "new_system",
            "new_system": {
                "name": "Otter.ai",
                "risk_class": "minimal",
                "deployment_status": "restricted",
                "conditions": "no personal data",
            },
        },
        headers=ciso,
    )
    assert response.status_code == 200, response.text
    system = db.get(AISystem, uuid.UUID(response.json()["ai_system_id"]))
    assert system is not None and system.name == "Otter.ai"


def test_reject(client, db, declarer, ciso):
    declared = _declare(client, declarer)
    response = client.post(
        f"/registry/intake/{declared['id']}/triage",
        json={"decision": "rejected", "note": "use Copilot Chat instead"},
        headers=ciso,
    )
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["ai_system_id"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "existing_system"},
        {"decision": "existing_system", "ai_system_id": "00000000-0000-4000-8000-000000000000"},
        {"decision": "new_system"},
        {
            "decision": "new_system",
            "new_system": {"name": "X", "risk_class": "nope", "deployment_status": "allowed"},
        },
        {"decision": "rejected", "ai_system_id": "00000000-0000-4000-8000-000000000000"},
        {"decision": "new"},
        {"decision": "maybe"},
    ],
)
def test_invalid_triage_is_422_and_changes_nothing(client, db, declarer, ciso, body):
    declared = _declare(client, declarer)
    systems_before = db.exec(select(func.count()).select_from(AISystem)).one()
    response = client.post(f"/registry/intake/{declared['id']}/triage", json=body, headers=ciso)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    row = db.get(IntakeDeclaration, uuid.UUID(declared["id"]))
    db.refresh(row)
    assert row.status == "new" and row.triaged_at is None
    assert db.exec(select(func.count()).select_from(AISystem)).one() == systems_before


def test_triage_to_new_system_with_a_taken_name_is_409_and_changes_nothing(
    client, db, declarer, ciso
):
    make_ai_system(db, name="Copilot Chat")
    declared = _declare(client, declarer)
    response = client.post(
        f"/registry/intake/{declared['id']}/triage",
        json={
            "decision": "new_system",
            "new_system": {
                "name": "Copilot Chat",
                "risk_class": "general_purpose",
                "deployment_status": "allowed",
            },
        },
        headers=ciso,
    )
    assert response.status_code == 409
    row = db.get(IntakeDeclaration, uuid.UUID(declared["id"]))
    db.refresh(row)
    assert row.status == "new"


@pytest.mark.parametrize(
    "body",
    [
        {"purpose": "x", "declared_by": "me"},
        {"tool": "", "purpose": "x", "declared_by": "me"},
        {
            "tool": "T",
            "purpose": "x",
            "declared_by": "me",
            "process_id": "00000000-0000-4000-8000-000000000000",
        },
        {"tool": "T", "purpose": "x", "declared_by": "me", "status": "existing_system"},
    ],
)
def test_invalid_declaration_is_422_and_changes_nothing(client, db, declarer, body):
    response = client.post("/registry/intake", json=body, headers=declarer)
    assert response.status_code == 422, response.text
    assert db.exec(select(func.count()).select_from(IntakeDeclaration)).one() == 0


def test_declaration_is_idempotent_with_a_key(client, db, declarer):
    headers = {**declarer, "Idempotency-Key": "intake-1"}
    body = {"tool": "DeepL", "purpose": "translation", "declared_by": "HS0042"}
    first = client.post("/registry/intake", json=body, headers=headers)
    second = client.post("/registry/intake", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert db.exec(select(func.count()).select_from(IntakeDeclaration)).one() == 1
