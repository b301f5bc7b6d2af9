"""The demo register loads on top of the demo organisation's keys (built here directly, since
app.demo.organisation is tested by its own package) and shows the Art. 26 flag."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.demo import register
from app.registry import service
from app.registry.models import IntakeDeclaration
from tests.factories import auth_headers
from tests.registry.factories import make_org_unit, make_person, make_role

UNITS = [
    "gem",
    "dir-dv",
    "dir-sd",
    "dir-bv",
    "team-kcc",
    "team-bz",
    "team-wi",
    "team-wmo",
    "team-hr",
    "team-fin",
    "team-iv",
]
ROLES = [
    "klantcontactmedewerker",
    "medewerker-burgerzaken",
    "communicatieadviseur",
    "consulent-werk-inkomen",
    "wmo-consulent",
    "jeugdconsulent",
    "beleidsadviseur",
    "recruiter",
    "financieel-adviseur",
    "teamleider",
    "data-analist",
    "privacy-officer",
    "functioneel-beheerder",
]


@pytest.fixture
def demo_org(db):
    units = {key: make_org_unit(db, external_id=key, name=key) for key in UNITS}
    roles = {key: make_role(db, key=key, name=key) for key in ROLES}
    make_person(
        db,
        employee_number="HS0002",
        org_unit_id=units["team-iv"].id,
        roles=[(roles["privacy-officer"], None, None)],
    )
    make_person(
        db,
        employee_number="HS0001",
        org_unit_id=units["team-wi"].id,
        roles=[(roles["consulent-werk-inkomen"], None, None)],
    )
    make_person(
        db,
        employee_number="HS0003",
        org_unit_id=units["team-wi"].id,
        roles=[(roles["teamleider"], None, None)],
    )
    return roles


@pytest.mark.parametrize("language", ["nl", "en"])
def test_demo_register_loads_and_flags_cv_screening(client, db, app, demo_org, language):
    counts = register.load(db, language=language)
    db.flush()
    assert counts == {
        "ai_systems": 9,
        "processes": 10,
        "role_process_links": 17,
        "intake_declarations": 4,
    }
    statuses = sorted(d.status for d in db.exec(select(IntakeDeclaration)).all())
    assert statuses == ["existing_system", "new", "new", "rejected"]

    headers = auth_headers(db, app, "registry:read")
    body = client.get("/registry/critical-processes", headers=headers).json()
    assert len(body["items"]) == 10
    assert [item["impact_level"] for item in body["items"][:4]] == ["high"] * 4
    flagged = {item["name"]: item["flags"] for item in body["items"] if item["flags"]}
    recruitment = "Werving en selectie" if language == "nl" else "Recruitment and selection"
    assert flagged == {recruitment: ["art26_workers_not_informed"]}
    bijstand = next(i for i in body["items"] if i["risk_register_ref"] == "RR-2026-014")
    assert bijstand["active_people"]["total"] == 2  # the case handler and the team leader

    risks = service.all_role_risk_classes(db)
    assert risks[demo_org["consulent-werk-inkomen"].id] == "high"
    assert risks[demo_org["jeugdconsulent"].id] == "high"  # planned only, still counts
    assert risks[demo_org["medewerker-burgerzaken"].id] == "minimal"  # overridden from limited
    assert risks[demo_org["communicatieadviseur"].id] == "limited"
    assert demo_org["teamleider"].id in service.overseer_role_ids_of_high_risk_systems(db)
