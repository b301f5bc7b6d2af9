"""AI systems, processes and role-process links through the API: create, read, change,
and bad input as a 4xx problem that changes nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import func, select

from app.core.audit import AuditEvent
from app.registry.models import AISystem, AISystemOverseer, Process, RoleProcessLink
from tests.factories import auth_headers
from tests.registry.factories import (
    make_ai_system,
    make_org_unit,
    make_person,
    make_process,
    make_role,
)

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def write(db, app):
    return auth_headers(db, app, "registry:write", "registry:read")


def _count(db, model) -> int:
    return db.exec(select(func.count()).select_from(model)).one()


def test_create_get_and_list_ai_system_with_overseers(client, db, write):
    unit = make_org_unit(db)
    role = make_role(db)
    person = make_person(db)
    body = {
        "name": "Wmo Triage-assistent",
        "vendor": "Acme",
        "purpose": "care needs triage",
        "risk_class": "high",
        "deployment_status": "restricted",
        "conditions": "only for Wmo consultants after training",
        "allowed_data_classifications": ["intern", "vertrouwelijk", "intern"],
        "owner_org_unit_id": str(unit.id),
        "last_review_date": "2026-05-01",
        "workers_informed_date": "2026-04-15",
        "overseer_role_ids": [str(role.id)],
        "overseer_person_ids": [str(person.id)],
    }
    response = client.post("/registry/ai-systems", json=body, headers=write)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["allowed_data_classifications"] == ["intern", "vertrouwelijk"]
    assert created["overseer_role_ids"] == [str(role.id)]
    assert created["overseer_person_ids"] == [str(person.id)]
    assert created["in_use"] is False and created["flags"] == []
    assert response.headers["etag"] == 'W/"1"'
    fetched = client.get(f"/registry/ai-systems/{created['id']}", headers=write).json()
    assert fetched == created
    listed = client.get("/registry/ai-systems?risk_class=high", headers=write).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert (
        client.get("/registry/ai-systems?risk_class=minimal", headers=write).json()["items"] == []
    )
    audit = db.exec(select(AuditEvent).where(AuditEvent.entity_type == "ai_system")).one()
    assert (audit.action, audit.entity_id) == ("create", created["id"])
    assert audit.after["overseer_person_ids"] == [str(person.id)]


def test_update_ai_system_replaces_overseers_and_checks_if_match(client, db, write):
    system = make_ai_system(db, risk_class="high", deployment_status="restricted")
    old_role, new_role = make_role(db), make_role(db)
    db.add(AISystemOverseer(ai_system_id=system.id, role_id=old_role.id))
    db.flush()
    url = f"/registry/ai-systems/{system.id}"
    stale = client.patch(url, json={"vendor": "X"}, headers={**write, "If-Match": 'W/"7"'})
    assert stale.status_code == 412
    response = client.patch(
        url,
        json={"overseer_role_ids": [str(new_role.id)], "deployment_status": "prohibited"},
        headers={**write, "If-Match": 'W/"1"'},
    )
    assert response.status_code == 200, response.text
    assert response.json()["overseer_role_ids"] == [str(new_role.id)]
    assert response.json()["deployment_status"] == "prohibited"
    assert response.json()["version"] == 2
    assert response.headers["etag"] == 'W/"2"'


def test_prohibited_system_in_use_is_flagged(client, db, write):
    system = make_ai_system(
        db, name="ChatGPT free", risk_class="general_purpose", deployment_status="prohibited"
    )
    make_process(db, systems=[system])
    body = client.get(f"/registry/ai-systems/{system.id}", headers=write).json()
    assert body["flags"] == ["prohibited_in_use"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "X", "risk_class": "medium", "deployment_status": "allowed"}, 422, "risk_class"),
        ({"name": "X", "risk_class": "high"}, 422, "deployment_status"),
        ({"name": "", "risk_class": "high", "deployment_status": "allowed"}, 422, "name"),
        (
            {"name": "X", "risk_class": "high", "deployment_status": "allowed", "colour": "red"},
            422,
            "colour",
        ),
        (
            {
                "name": "X",
                "risk_class": "high",
                "deployment_status": "allowed",
                "overseer_role_ids": [UNKNOWN],
            },
            422,
            "overseer_role_ids",
        ),
        (
            {
                "name": "X",
                "risk_class": "high",
                "deployment_status": "allowed",
                "owner_org_unit_id": UNKNOWN,
            },
            422,
            "owner_org_unit_id",
        ),
        (
            {
                "name": "X",
                "risk_class": "high",
                "deployment_status": "allowed",
                "last_review_date": "yesterday",
            },
            422,
            "last_review_date",
        ),
    ],
)
def test_invalid_ai_system_is_a_problem_and_changes_nothing(client, db, write, body, status, field):
    before = _count(db, AISystem)
    response = client.post("/registry/ai-systems", json=body, headers=write)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {error["field"] for error in response.json()["errors"]}
    assert _count(db, AISystem) == before
    assert _count(db, AISystemOverseer) == 0


def test_duplicate_ai_system_name_is_409(client, db, write):
    make_ai_system(db, name="Copilot Chat")
    before = _count(db, AISystem)
    response = client.post(
        "/registry/ai-systems",
        json={
            "name": "Copilot Chat",
            "risk_class": "general_purpose",
            "deployment_status": "allowed",
        },
        headers=write,
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("duplicate-name")
    assert _count(db, AISystem) == before


def test_patch_with_null_required_field_is_422(client, db, write):
    system = make_ai_system(db)
    for body in ({"risk_class": None}, {"overseer_role_ids": None}):
        response = client.patch(f"/registry/ai-systems/{system.id}", json=body, headers=write)
        assert response.status_code == 422, body
    db.refresh(system)
    assert system.version == 1


def test_create_and_change_process(client, db, write):
    unit = make_org_unit(db)
    s1, s2 = make_ai_system(db), make_ai_system(db)
    response = client.post(
        "/registry/processes",
        json={
            "name": "Aanvraag bijstand beoordelen",
            "owner_org_unit_id": str(unit.id),
            "impact_level": "high",
            "impact_types": ["decision_making", "case_files"],
            "risk_register_ref": "RR-2026-014",
            "ai_system_ids": [str(s1.id)],
        },
        headers=write,
    )
    assert response.status_code == 201, response.text
    process = response.json()
    assert process["ai_system_ids"] == [str(s1.id)]
    changed = client.patch(
        f"/registry/processes/{process['id']}",
        json={"ai_system_ids": [str(s2.id), str(s1.id)], "impact_level": "medium"},
        headers=write,
    )
    assert changed.status_code == 200, changed.text
    assert set(changed.json()["ai_system_ids"]) == {str(s1.id), str(s2.id)}
    assert changed.json()["impact_level"] == "medium"
    assert changed.json()["impact_types"] == ["decision_making", "case_files"]
    listed = client.get("/registry/processes?impact_level=medium", headers=write).json()
    assert [p["id"] for p in listed["items"]] == [process["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "P", "impact_level": "severe"}, "impact_level"),
        ({"name": "P", "impact_level": "high", "impact_types": ["gossip"]}, "impact_types.0"),
        ({"name": "P", "impact_level": "high", "ai_system_ids": [UNKNOWN]}, "ai_system_ids"),
        (
            {"name": "P", "impact_level": "high", "risk_register_ref": "R" * 101},
            "risk_register_ref",
        ),
    ],
)
def test_invalid_process_is_422_and_changes_nothing(client, db, write, body, field):
    response = client.post("/registry/processes", json=body, headers=write)
    assert response.status_code == 422, response.text
    assert field in {error["field"] for error in response.json()["errors"]}
    assert _count(db, Process) == 0


def test_role_links_create_change_delete(client, db, write):
    role, process = make_role(db), make_process(db)
    response = client.post(
        "/registry/role-links",
        json={
            "role_id": str(role.id),
            "process_id": str(process.id),
            "involvement": "operates",
            "state": "planned",
            "planned_from_date": "2027-01-01",
        },
        headers=write,
    )
    assert response.status_code == 201, response.text
    link_id = response.json()["id"]
    duplicate = client.post(
        "/registry/role-links",
        json={"role_id": str(role.id), "process_id": str(process.id), "involvement": "operates"},
        headers=write,
    )
    assert duplicate.status_code == 409
    other = client.post(
        "/registry/role-links",
        json={"role_id": str(role.id), "process_id": str(process.id), "involvement": "oversees"},
        headers=write,
    )
    assert other.status_code == 201
    became_current = client.patch(
        f"/registry/role-links/{link_id}", json={"state": "current"}, headers=write
    )
    assert became_current.status_code == 200, became_current.text
    assert became_current.json()["planned_from_date"] is None
    listed = client.get(f"/registry/role-links?role_id={role.id}", headers=write).json()
    assert len(listed["items"]) == 2
    assert client.delete(f"/registry/role-links/{link_id}", headers=write).status_code == 204
    assert (
        client.get(f"/registry/role-links?process_id={process.id}", headers=write).json()["items"][
            0
        ]["involvement"]
        == "oversees"
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"state": "planned"},
        {"state": "current", "planned_from_date": "2027-01-01"},
        {"involvement": "watches"},
        {"role_id": UNKNOWN},
    ],
)
def test_invalid_role_link_is_422_and_changes_nothing(client, db, write, extra):
    role, process = make_role(db), make_process(db)
    body = {"role_id": str(role.id), "process_id": str(process.id), "involvement": "operates"}
    response = client.post("/registry/role-links", json={**body, **extra}, headers=write)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert _count(db, RoleProcessLink) == 0


def test_unknown_ids_are_404(client, write):
    for path in (
        f"/registry/ai-systems/{UNKNOWN}",
        f"/registry/processes/{UNKNOWN}",
        f"/registry/intake/{UNKNOWN}",
        f"/registry/roles/{UNKNOWN}/risk-overrides",
    ):
        assert client.get(path, headers=write).status_code == 404, path
    assert client.get("/registry/ai-systems/not-a-uuid", headers=write).status_code == 422
    assert uuid.UUID(UNKNOWN)
