"""POST /people:batch-upsert, /org-units:batch-upsert and /roles:batch-upsert."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.org.models import OrgUnit, Person
from tests.factories import auth_headers
from tests.org.factories import make_org, person


@pytest.fixture
def org(db):
    return make_org(db)


@pytest.fixture
def rw(db, app):
    return auth_headers(db, app, "org:read", "org:write")


def _count(db, model) -> int:
    return db.exec(select(func.count()).select_from(model)).one()


def test_created_updated_unchanged(client, db, org, rw):
    records = [person("HS0001"), person("HS0002", manager="HS0003"), person("HS0003")]
    first = client.post("/people:batch-upsert", json={"records": records}, headers=rw)
    assert first.status_code == 200, first.text
    assert first.json()["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "error": 0}
    records[0]["given_name"] = "Bea"
    records[2]["roles"] = [{"role": "teamleider"}]
    second = client.post("/people:batch-upsert", json={"records": records}, headers=rw).json()
    assert [r["status"] for r in second["results"]] == ["updated", "unchanged", "updated"]
    assert second["results"][0]["id"] == first.json()["results"][0]["id"]
    hs2 = client.get("/people/employee:HS0002", headers=rw).json()
    assert hs2["manager"] == "HS0003"
    hs3 = client.get("/people/employee:HS0003", headers=rw).json()
    assert {r["role"]: r["end_date"] is None for r in hs3["roles"]} == {
        "klantcontactmedewerker": False,
        "teamleider": True,
    }


def test_all_or_nothing_by_default(client, db, org, rw):
    records = [person("HS0001"), person("HS0002", org_unit="nope"), person("HS0003", email="bad")]
    response = client.post("/people:batch-upsert", json={"records": records}, headers=rw)
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("batch-rejected")
    problems = {r["index"]: r["problems"][0]["field"] for r in body["results"]}
    assert problems == {1: "org_unit", 2: "email"}
    assert body["results"][0]["problems"][0]["type"] == "unknown_reference"
    assert _count(db, Person) == 0


def test_partial_applies_the_valid_ones(client, db, org, rw):
    records = [
        person("HS0001"),
        person("HS0002", org_unit="nope"),
        person("HS0003", manager="HS0002"),  # its manager is rejected in this batch
        person("HS0004", manager="HS9999"),
    ]
    response = client.post(
        "/people:batch-upsert?partial=true", json={"records": records}, headers=rw
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["applied"] is True
    assert [r["status"] for r in body["results"]] == ["created", "error", "error", "error"]
    assert body["results"][3]["problems"][0]["field"] == "manager"
    assert [p.employee_number for p in db.exec(select(Person)).all()] == ["HS0001"]


def test_duplicates_and_cycles_within_a_batch(client, db, org, rw):
    records = [
        person("HS0001", manager="HS0002"),
        person("HS0002", manager="HS0001"),
        person("HS0001", email="x@havenstad.nl"),
    ]
    body = client.post("/people:batch-upsert", json={"records": records}, headers=rw).json()
    types = {r["index"]: {p["type"] for p in r["problems"]} for r in body["results"]}
    assert "cycle" in types[0] | types[1]
    assert "duplicate_in_batch" in types[2]


def test_1001_records_rejected(client, db, org, rw):
    records = [person(f"HS{i:05d}") for i in range(1001)]
    response = client.post("/people:batch-upsert", json={"records": records}, headers=rw)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "records"
    assert _count(db, Person) == 0


def test_org_units_batch_with_parents_later_in_the_batch(client, db, org, rw):
    records = [
        {"external_id": "team-wi", "name": "Werk en Inkomen", "kind": "team", "parent": "dir-new"},
        {"external_id": "dir-new", "name": "Nieuw", "kind": "department", "parent": "gem"},
        {"external_id": "gem", "name": "Gemeente", "kind": "business_unit"},
    ]
    body = client.post("/org-units:batch-upsert", json={"records": records}, headers=rw).json()
    assert [r["status"] for r in body["results"]] == ["created", "created", "unchanged"]
    cycle = [
        {"external_id": "gem", "name": "Gemeente", "kind": "business_unit", "parent": "team-wi"}
    ]
    rejected = client.post("/org-units:batch-upsert", json={"records": cycle}, headers=rw)
    assert rejected.status_code == 422
    assert rejected.json()["results"][0]["problems"][0]["type"] == "cycle"
    assert db.exec(select(OrgUnit).where(OrgUnit.external_id == "gem")).one().parent_id is None


def test_roles_batch_unknown_job_family_reported(client, db, org, rw):
    records = [
        {"key": "recruiter", "name": "Recruiter", "job_family": "hr"},
        {"key": "teamleider", "name": "Teamleider (nieuw)"},
    ]
    body = client.post(
        "/roles:batch-upsert?partial=true", json={"records": records}, headers=rw
    ).json()
    assert [r["status"] for r in body["results"]] == ["error", "updated"]
    assert body["results"][0]["problems"][0]["field"] == "job_family"
    assert (
        client.get(f"/roles/{org['roles']['teamleider']}", headers=rw).json()["name"]
        == "Teamleider (nieuw)"
    )
