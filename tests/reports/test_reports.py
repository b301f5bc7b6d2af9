"""Each report's figures against the hand-computed fixture of tests/reports/factories.py."""

from __future__ import annotations

import csv
import io

import pytest
from jose import jwt

from app.registry.models import (
    AIRiskClass,
    AISystem,
    AISystemOverseer,
    DeploymentStatus,
    ImpactLevel,
    Involvement,
    LinkState,
    Process,
    ProcessAISystem,
    RoleProcessLink,
)
from tests.factories import auth_headers
from tests.reports.factories import Org, build_org, by_key


@pytest.fixture
def org(db, client, app, frozen_clock) -> Org:
    return build_org(db, client, app)


@pytest.fixture
def read(db, app):
    return auth_headers(db, app, "reports:read")


def _figures(group, *names):
    return tuple(group[name] for name in names)


FIG = ("people", "in_scope", "certified", "compliant", "compliant_pct")
SLIP = ("expiring_30", "expiring_60", "expiring_90", "expired", "overdue")


def test_coverage_by_org_unit(client, org, read):
    body = client.get("/reports/coverage", headers=read).json()
    groups = by_key(body["groups"])
    a1, a2 = groups[org.units["team-a1"].external_id], groups[org.units["team-a2"].external_id]
    b, dir_a = groups[org.units["dir-b"].external_id], groups[org.units["dir-a"].external_id]
    assert _figures(a1, *FIG) == (2, 2, 2, 2, 100.0)
    assert _figures(a1, *SLIP) == (1, 1, 1, 0, 0)
    assert a1["required_tiers"] == {"advanced": 2} and a1["top_missing"] == []
    assert _figures(a2, *FIG) == (2, 2, 1, 0, 0.0)
    assert _figures(a2, *SLIP) == (0, 0, 0, 0, 1)
    assert a2["required_tiers"] == {"advanced": 1, "basic": 1}
    assert a2["top_missing"] == [
        {"competency": "ai-policy", "people": 1},
        {"competency": "checking-output", "people": 1},
    ]
    assert _figures(b, *FIG) == (3, 2, 1, 1, 50.0)
    assert _figures(b, *SLIP) == (0, 0, 1, 1, 1)
    assert _figures(dir_a, *FIG) == (1, 0, 0, 0, None)
    total = body["total"]
    assert _figures(total, *FIG) == (8, 6, 4, 3, 50.0)
    assert _figures(total, *SLIP) == (1, 1, 2, 1, 2)
    assert total["top_missing"][0] == {"competency": "ai-policy", "people": 2}


def test_coverage_by_role_job_family_location_and_risk_class(client, org, read):
    roles = by_key(client.get("/reports/coverage?group_by=role", headers=read).json()["groups"])
    case, admin = roles[org.roles["case"].key], roles[org.roles["admin"].key]
    assert _figures(case, *FIG) == (3, 3, 3, 2, 66.7)
    assert _figures(admin, *FIG) == (3, 3, 1, 1, 33.3)
    families = by_key(
        client.get("/reports/coverage?group_by=job_family", headers=read).json()["groups"]
    )
    assert _figures(families[org.families["x"].key], *FIG) == (3, 3, 3, 2, 66.7)
    places = by_key(
        client.get("/reports/coverage?group_by=location", headers=read).json()["groups"]
    )
    # north: P1 (ok), P3 (overdue), P5 (expired)
    assert _figures(places[org.locations["north"].external_id], *FIG) == (3, 3, 2, 1, 33.3)
    risk = client.get("/reports/coverage?group_by=risk_class", headers=read).json()
    assert [g["key"] for g in risk["groups"]] == ["minimal"]
    assert risk["groups"][0]["in_scope"] == 6


def test_coverage_filters_and_as_of(client, org, read):
    unit = org.units["dir-a"].id
    total = client.get(f"/reports/coverage?org_unit_id={unit}", headers=read).json()["total"]
    assert _figures(total, *FIG) == (5, 4, 3, 2, 50.0)
    role = org.roles["admin"].id
    location = org.locations["south"].id
    both = client.get(
        f"/reports/coverage?role_id={role}&location_id={location}", headers=read
    ).json()["total"]
    assert _figures(both, *FIG) == (2, 2, 1, 1, 50.0)  # P4, P6
    family = org.families["x"].id
    assert (
        client.get(f"/reports/coverage?job_family_id={family}", headers=read).json()["total"][
            "in_scope"
        ]
        == 3
    )
    # On 2026-07-25 P2's grace period has ended: expired, not compliant.
    later = client.get("/reports/coverage?as_of=2026-07-25", headers=read).json()
    assert later["filters"]["as_of"] == "2026-07-25"
    assert _figures(later["total"], "certified", "compliant", "expired") == (3, 2, 2)


def test_coverage_unknown_filter_is_404(client, org, read):
    response = client.get(
        "/reports/coverage?org_unit_id=00000000-0000-4000-8000-000000000000", headers=read
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_coverage_csv(client, org, read):
    response = client.get("/reports/coverage", headers={**read, "Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    total = lines[-1]
    assert total["key"] == "total" and total["in_scope"] == "6" and total["compliant_pct"] == "50.0"
    assert total["top_missing"].startswith("ai-policy:2")


def test_expiring(client, org, read):
    body = client.get("/reports/expiring?days=30", headers=read).json()
    assert [p["employee_number"] for p in body["people"]] == [org.people["P2"].employee_number]
    assert body["people"][0]["days_left"] == 19 and body["people"][0]["status"] == "expiring"
    ninety = client.get("/reports/expiring?days=90", headers=read).json()
    assert [p["employee_number"] for p in ninety["people"]] == [
        org.people["P2"].employee_number,
        org.people["P6"].employee_number,
    ]
    csv_text = client.get("/reports/expiring?days=90", headers={**read, "Accept": "text/csv"}).text
    assert csv_text.count("\r\n") == 3  # header and two people
    assert client.get("/reports/expiring?days=-1", headers=read).status_code == 422


def _register(db, org):
    system = AISystem(
        name="Sys H",
        risk_class=AIRiskClass.high,
        deployment_status=DeploymentStatus.restricted,
    )
    process = Process(
        name="Proc A",
        impact_level=ImpactLevel.high,
        impact_types=["decision_making"],
        risk_register_ref="RR-2026-001",
    )
    db.add_all([system, process])
    db.flush()
    db.add(ProcessAISystem(process_id=process.id, ai_system_id=system.id))
    db.add(
        RoleProcessLink(
            role_id=org.roles["case"].id,
            process_id=process.id,
            involvement=Involvement.operates,
            state=LinkState.current,
        )
    )
    db.add(AISystemOverseer(ai_system_id=system.id, person_id=org.people["P1"].id))
    db.add(AISystemOverseer(ai_system_id=system.id, role_id=org.roles["admin"].id))
    db.flush()
    return system, process


def test_process_risk(client, db, org, read):
    _register(db, org)
    body = client.get("/reports/process-risk", headers=read).json()
    row = body["processes"][0]
    assert row["risk_register_ref"] == "RR-2026-001"
    assert [s["name"] for s in row["ai_systems"]] == ["Sys H"]
    assert [r["key"] for r in row["roles"]] == [org.roles["case"].key]
    assert (row["people"], row["in_scope"], row["compliant"], row["compliant_pct"]) == (
        3,
        3,
        2,
        66.7,
    )
    assert (row["non_compliant"], row["overdue"]) == (1, 1)


def test_art26_oversight_and_board(client, db, org, read):
    _register(db, org)
    body = client.get("/reports/art26-oversight", headers=read).json()
    (system,) = body["systems"]
    holds = {o["employee_number"]: o["holds_required_tier"] for o in system["overseers"]}
    people = org.people
    assert holds == {
        people["P1"].employee_number: True,
        people["P4"].employee_number: False,
        people["P5"].employee_number: False,
        people["P6"].employee_number: True,
    }
    assert system["qualified_overseers"] == 2
    assert system["issues"] == ["workers-not-informed"]
    assert body["systems_without_informed_workers"] == ["Sys H"]

    board = client.get("/reports/board", headers=read).json()
    assert board["headline_compliant_pct"] == 50.0
    assert (board["in_scope"], board["compliant"], board["overdue"]) == (6, 3, 2)
    assert (board["expiring_30"], board["expiring_90"], board["expired"]) == (1, 2, 1)
    # The case role works in a high-impact process: the register makes it a high-risk role.
    assert [(r["key"], r["compliant_pct"]) for r in board["high_risk_roles"]] == [
        (org.roles["case"].key, 66.7)
    ]
    assert board["high_risk_roles_compliant_pct"] == 66.7
    assert board["oversight"] == {
        "high_risk_systems": 1,
        "systems_without_overseers": 0,
        "overseers": 4,
        "overseers_qualified": 2,
        "systems_without_informed_workers": 1,
    }
    assert board["trend"] == []
    assert client.get("/reports/board", headers={**read, "Accept": "text/csv"}).status_code == 200


def test_art4_dossier_signed(client, db, app, org, read):
    _register(db, org)
    body = client.get("/reports/art4-dossier?as_of=2026-06-01", headers=read).json()
    assert body["as_of"] == "2026-06-01"
    assert len(body["people"]) == 8
    overdue = {p["employee_number"]: p["missing"] for p in body["exceptions"]["overdue"]}
    assert overdue == {
        org.people["P5"].employee_number: ["ai-policy"],
        org.people["P3"].employee_number: ["checking-output"],
    }
    p3 = next(p for p in body["exceptions"]["overdue"] if p["missing"] == ["checking-output"])
    assert p3["remediation"][0]["activities"] == [
        "https://lms.example/xapi/activities/checking-output-lab"
    ]
    forms = {m["key"]: m for m in body["measures"]["by_assessment_form"]}
    assert forms["knowledge_test"]["records"] == 4 and forms["knowledge_test"]["passed"] == 3
    (in_use,) = body["ai_systems_in_use"]
    assert len(in_use["people"]) == 3 and in_use["people_compliant"] == 2
    assert body["role_matrix"]["roles"]

    signed = client.get("/reports/art4-dossier?signed=true", headers=read).json()
    key = app.state.signing_key
    claims = jwt.decode(signed["jws"], key.public_pem.decode(), algorithms=["RS256"])
    assert signed["kid"] == key.kid == jwt.get_unverified_header(signed["jws"])["kid"]
    assert claims["as_of"] == "2026-06-01" and len(claims["people"]) == 8


def test_effectiveness(client, org, read):
    body = client.get("/reports/effectiveness", headers=read).json()
    scores = {s["competency"]: {m["month"]: m for m in s["months"]} for s in body["scores"]}
    june, may = scores["ai-policy"]["2025-06"], scores["ai-policy"]["2026-05"]
    assert (june["count"], june["mean"], june["buckets"][8]) == (1, 0.8, 1)
    assert (may["count"], may["mean"]) == (2, 0.775)
    assert may["buckets"][6] == 1 and may["buckets"][9] == 1
    assert scores["bias"]["2026-05"]["buckets"][7] == 1
    assert body["activities"] == [
        {
            "activity_id": "https://lms.example/act-1",
            "people": 2,
            "passed_first_time": 1,
            "first_time_pass_pct": 50.0,
        }
    ]
    response = client.get("/reports/effectiveness", headers={**read, "Accept": "text/csv"})
    assert "first_time_pass" in response.text
