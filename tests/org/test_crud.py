"""Org units, locations, job families, roles and people over HTTP: CRUD, keys, cycles, filters."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from app.core.audit import AuditEvent
from app.org import service
from app.org.models import PersonRole
from tests.factories import auth_headers
from tests.org.factories import make_org, person


@pytest.fixture
def org(db):
    return make_org(db)


@pytest.fixture
def rw(db, app):
    return auth_headers(db, app, "org:read", "org:write")


def test_org_unit_crud_and_descendants(client, db, org, rw):
    response = client.post(
        "/org-units",
        json={"external_id": "team-bz", "name": "Burgerzaken", "kind": "team", "parent": "dir-dv"},
        headers=rw,
    )
    assert response.status_code == 201, response.text
    unit = response.json()
    assert unit["parent"] == "dir-dv" and unit["parent_id"] == str(org["units"]["dir-dv"])
    assert response.headers["etag"] == 'W/"1"'
    got = client.get(f"/org-units/{unit['id']}", headers=rw)
    assert got.json()["name"] == "Burgerzaken"
    changed = client.patch(
        f"/org-units/{unit['id']}", json={"name": "Burgerzaken en Publiek"}, headers=rw
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    ids = service.descendant_org_unit_ids(db, org_unit_id=org["units"]["dir-dv"])
    assert set(ids) == {org["units"]["dir-dv"], org["units"]["team-kcc"], uuid.UUID(unit["id"])}
    within = client.get(f"/org-units?within_id={org['units']['dir-dv']}", headers=rw).json()
    assert {u["external_id"] for u in within["items"]} == {"dir-dv", "team-kcc", "team-bz"}
    gone = client.delete(f"/org-units/{unit['id']}", headers=rw)
    assert gone.status_code == 200 and gone.json()["active"] is False


def test_org_unit_cycle_rejected(client, org, rw):
    gem = org["units"]["gem"]
    response = client.patch(f"/org-units/{gem}", json={"parent": "team-kcc"}, headers=rw)
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "cycle"
    itself = client.patch(f"/org-units/{gem}", json={"parent": "gem"}, headers=rw)
    assert itself.status_code == 422


def test_org_unit_duplicate_external_id_409(client, org, rw):
    response = client.post(
        "/org-units", json={"external_id": "gem", "name": "x", "kind": "team"}, headers=rw
    )
    assert response.status_code == 409


def test_unknown_parent_reported_not_invented(client, org, rw):
    response = client.post(
        "/org-units",
        json={"external_id": "team-x", "name": "X", "kind": "team", "parent": "nope"},
        headers=rw,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "parent"


def test_role_crud_and_unique_key(client, org, rw):
    response = client.post(
        "/roles",
        json={"key": "data-analist", "name": "Data-analist", "external_job_code": "F123"},
        headers=rw,
    )
    assert response.status_code == 201, response.text
    role_id = response.json()["id"]
    assert (
        client.post("/roles", json={"key": "data-analist", "name": "x"}, headers=rw).status_code
        == 409
    )
    patched = client.patch(f"/roles/{role_id}", json={"job_family": "dienstverlening"}, headers=rw)
    assert patched.json()["job_family"] == "dienstverlening"
    unknown = client.patch(f"/roles/{role_id}", json={"job_family": "nope"}, headers=rw)
    assert unknown.status_code == 422
    assert client.delete(f"/roles/{role_id}", headers=rw).json()["active"] is False


def test_locations_and_job_families(client, org, rw):
    created = client.post("/locations", json={"external_id": "zuid", "name": "Zuid"}, headers=rw)
    assert created.status_code == 201
    loc = created.json()["id"]
    assert (
        client.patch(f"/locations/{loc}", json={"name": "Servicepunt Zuid"}, headers=rw).json()[
            "version"
        ]
        == 2
    )
    assert (
        client.post("/locations", json={"external_id": "zuid", "name": "Z"}, headers=rw).status_code
        == 409
    )
    assert client.delete(f"/locations/{loc}", headers=rw).status_code == 204
    assert client.get(f"/locations/{loc}", headers=rw).status_code == 404
    family = client.post("/job-families", json={"key": "ict", "name": "ICT"}, headers=rw)
    assert family.status_code == 201
    families = client.get("/job-families", headers=rw).json()["items"]
    assert {f["key"] for f in families} == {"dienstverlening", "ict"}
    in_use = [f for f in families if f["key"] == "dienstverlening"][0]
    assert client.delete(f"/job-families/{in_use['id']}", headers=rw).status_code == 409


def test_person_crud_and_keys(client, db, org, rw):
    response = client.post("/people", json=person("HS0001", display_name="Anna J."), headers=rw)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["org_unit"] == "team-kcc" and body["location"] == "stadhuis"
    assert body["roles"][0]["role"] == "klantcontactmedewerker"
    by_number = client.get("/people/employee:HS0001", headers=rw)
    assert by_number.json()["id"] == body["id"]
    by_email = client.get("/people/email:HS0001@Havenstad.nl", headers=rw)
    assert by_email.json()["id"] == body["id"]
    assert client.get("/people/employee:NOPE", headers=rw).status_code == 404
    assert service.get_person_by_key(db, key=body["id"]).employee_number == "HS0001"
    stale = client.patch(
        f"/people/{body['id']}", json={"given_name": "Ann"}, headers={**rw, "If-Match": 'W/"9"'}
    )
    assert stale.status_code == 412
    changed = client.patch(
        f"/people/{body['id']}", json={"given_name": "Ann"}, headers={**rw, "If-Match": 'W/"1"'}
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert changed.json()["roles"] == body["roles"]


def test_person_unique_employee_number_and_email(client, org, rw):
    assert client.post("/people", json=person("HS0001"), headers=rw).status_code == 201
    again = client.post("/people", json=person("HS0001", email=None), headers=rw)
    assert again.status_code == 409
    same_email = client.post(
        "/people", json=person("HS0002", email="hs0001@havenstad.nl"), headers=rw
    )
    assert same_email.status_code == 409
    assert same_email.json()["errors"][0]["field"] == "email"
    no_email = client.post("/people", json=person("HS0003", email=None), headers=rw)
    also_none = client.post("/people", json=person("HS0004", email=None), headers=rw)
    assert no_email.status_code == 201 and also_none.status_code == 201


def test_person_needs_a_role_and_known_references(client, org, rw):
    assert client.post("/people", json=person("HS0001", roles=[]), headers=rw).status_code == 422
    bad = client.post(
        "/people",
        json=person("HS0001", org_unit="nope", location="nope", roles=[{"role": "nope"}]),
        headers=rw,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"org_unit", "location", "roles.0.role"}


def test_manager_cycle_rejected(client, org, rw):
    client.post("/people", json=person("HS0001"), headers=rw)
    client.post("/people", json=person("HS0002", manager="HS0001"), headers=rw)
    client.post("/people", json=person("HS0003", manager="HS0002"), headers=rw)
    cycle = client.patch("/people/employee:HS0001", json={"manager": "HS0003"}, headers=rw)
    assert cycle.status_code == 422
    assert cycle.json()["errors"][0]["type"] == "cycle"
    own = client.patch("/people/employee:HS0001", json={"manager": "HS0001"}, headers=rw)
    assert own.status_code == 422


def test_role_change_ends_old_role_and_deactivation_keeps_history(
    frozen_clock, client, db, org, rw
):
    created = client.post("/people", json=person("HS0001"), headers=rw).json()
    changed = client.patch(
        "/people/employee:HS0001",
        json={"roles": [{"role": "teamleider"}]},
        headers=rw,
    )
    assert changed.status_code == 200, changed.text
    changed = changed.json()
    roles = {r["role"]: r for r in changed["roles"]}
    assert roles["klantcontactmedewerker"]["end_date"] == "2026-05-31"
    assert roles["teamleider"]["end_date"] is None
    assert roles["teamleider"]["start_date"] == "2020-01-01"  # the employment start
    gone = client.delete("/people/employee:HS0001", headers=rw)
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert client.get("/people/employee:HS0001", headers=rw).json()["roles"] == changed["roles"]
    rows = db.exec(select(PersonRole).where(PersonRole.person_id == uuid.UUID(created["id"]))).all()
    assert len(rows) == 2
    inactive = client.get("/people?active=false", headers=rw).json()["items"]
    assert [p["employee_number"] for p in inactive] == ["HS0001"]
    actions = [
        e.action
        for e in db.exec(select(AuditEvent).where(AuditEvent.entity_id == created["id"])).all()
    ]
    assert actions == ["create", "update", "update"]


def test_people_filters_and_pagination(frozen_clock, client, org, rw):
    client.post(
        "/people",
        json=person("HS0001", org_unit="dir-dv", roles=[{"role": "teamleider"}]),
        headers=rw,
    )
    client.post("/people", json=person("HS0002", manager="HS0001"), headers=rw)
    client.post("/people", json=person("HS0003", manager="HS0001", location="noord"), headers=rw)
    client.post(
        "/people",
        json=person("HS0004", org_unit="dir-sd", roles=[{"role": "beleidsadviseur"}]),
        headers=rw,
    )
    frozen_clock.set(frozen_clock.at + timedelta(hours=1))
    client.patch("/people/employee:HS0004", json={"active": False}, headers=rw)

    def numbers(query: str) -> list[str]:
        response = client.get(f"/people?{query}", headers=rw)
        assert response.status_code == 200, response.text
        return sorted(p["employee_number"] for p in response.json()["items"])

    people = {p["employee_number"]: p for p in client.get("/people", headers=rw).json()["items"]}
    assert numbers(f"org_unit_id={org['units']['dir-dv']}") == ["HS0001", "HS0002", "HS0003"]
    assert numbers(f"org_unit_id={org['units']['gem']}") == ["HS0001", "HS0002", "HS0003", "HS0004"]
    assert numbers(f"role_id={org['roles']['teamleider']}") == ["HS0001"]
    assert numbers(f"location_id={people['HS0003']['location_id']}") == ["HS0003"]
    assert numbers(f"manager_id={people['HS0001']['id']}") == ["HS0002", "HS0003"]
    assert numbers("active=true") == ["HS0001", "HS0002", "HS0003"]
    since = (frozen_clock.at - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert numbers(f"updated_since={since}") == ["HS0004"]
    seen, cursor = [], None
    while True:
        page = client.get(
            "/people?limit=3" + (f"&cursor={cursor}" if cursor else ""), headers=rw
        ).json()
        seen += [p["employee_number"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == ["HS0001", "HS0002", "HS0003", "HS0004"]
    assert datetime.fromisoformat(people["HS0001"]["created_at"]).tzinfo is not None


def test_scopes(client, db, app, org):
    read_only = auth_headers(db, app, "org:read")
    assert client.get("/people", headers=read_only).status_code == 200
    assert client.post("/people", json=person("HS0001"), headers=read_only).status_code == 403
