"""GET /registry/critical-processes and GET /registry/roles/{id}/exposure, JSON and CSV,
on the hand-computed fixture of tests/registry/factories.py."""

from __future__ import annotations

import csv
import io

import pytest

from tests.factories import auth_headers
from tests.registry.factories import build_register


@pytest.fixture
def register(db, frozen_clock):
    return build_register(db)


@pytest.fixture
def read(db, app):
    return auth_headers(db, app, "registry:read")


def test_critical_processes_order_and_counts(client, register, read):
    response = client.get("/registry/critical-processes", headers=read)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["as_of_date"] == "2026-06-01"
    items = {item["name"]: item for item in body["items"]}
    # Impact first, then the riskiest AI system: medium+high before medium+general_purpose.
    assert [item["name"] for item in body["items"]] == [
        "Bijstand",
        "Werving",
        "Klantvragen",
        "Notulen",
    ]
    bijstand = items["Bijstand"]
    assert bijstand["highest_ai_risk_class"] == "high"
    assert bijstand["risk_register_ref"] == "RR-1"
    # p1, p3, p5 (case) and p7 (lead); p2 ended, p4 inactive.
    assert bijstand["active_people"]["total"] == 4
    per_unit = {
        c["org_unit_external_id"]: c["count"] for c in bijstand["active_people"]["per_org_unit"]
    }
    assert per_unit == {"unit-b": 2, "unit-a": 1, None: 1}
    roles = {r["role_key"]: r for r in bijstand["roles"]}
    assert roles["t-case"]["active_people"] == 3
    assert roles["t-case"]["involvements"] == [
        {"involvement": "operates", "state": "current", "planned_from_date": None}
    ]
    assert roles["t-lead"]["active_people"] == 1
    assert roles["t-lead"]["involvements"][0]["involvement"] == "oversees"
    assert bijstand["flags"] == []

    # p5 holds both agent and case: counted once.
    assert items["Klantvragen"]["active_people"]["total"] == 3
    assert {r["role_key"]: r["active_people"] for r in items["Klantvragen"]["roles"]} == {
        "t-agent": 1,
        "t-case": 3,
    }
    # p6 starts in the agent role on 2026-07-01: not counted yet.
    werving = items["Werving"]
    assert werving["active_people"]["total"] == 1
    assert werving["roles"][0]["involvements"][0] == {
        "involvement": "operates",
        "state": "planned",
        "planned_from_date": "2026-09-01",
    }
    assert items["Notulen"]["active_people"] == {"total": 0, "per_org_unit": []}
    assert items["Notulen"]["roles"] == []


def test_high_risk_system_without_overseers_or_informed_date_is_flagged(client, register, read):
    """AI Act Art. 26(2) overseers and Art. 26(7) informing workers, for high-risk systems in use."""
    body = client.get("/registry/critical-processes", headers=read).json()
    werving = next(item for item in body["items"] if item["name"] == "Werving")
    assert werving["flags"] == ["art26_no_overseers", "art26_workers_not_informed"]
    assert werving["ai_systems"][0]["flags"] == [
        "art26_no_overseers",
        "art26_workers_not_informed",
    ]
    system = client.get(
        f"/registry/ai-systems/{register.systems['s_high2'].id}", headers=read
    ).json()
    assert system["in_use"] is True
    assert system["flags"] == ["art26_no_overseers", "art26_workers_not_informed"]
    overseen = client.get(
        f"/registry/ai-systems/{register.systems['s_high'].id}", headers=read
    ).json()
    assert overseen["flags"] == []
    assert overseen["overseer_role_ids"] == [str(register.roles["lead"].id)]


def test_critical_processes_as_csv(client, register, read):
    response = client.get("/registry/critical-processes", headers={**read, "Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    # Bijstand 2 roles, Werving 1, Klantvragen 2, Notulen none -> one row.
    assert [(r["process_name"], r["role_key"]) for r in rows] == [
        ("Bijstand", "t-case"),
        ("Bijstand", "t-lead"),
        ("Werving", "t-agent"),
        ("Klantvragen", "t-agent"),
        ("Klantvragen", "t-case"),
        ("Notulen", ""),
    ]
    assert rows[0]["process_active_people"] == "4"
    assert rows[0]["role_active_people"] == "3"
    assert rows[2]["involvements"] == "operates (planned from 2026-09-01)"
    assert rows[2]["flags"] == "art26_no_overseers; art26_workers_not_informed"
    assert rows[0]["ai_systems"] == "Fraud scoring (high)"


def test_json_is_the_default_and_preferred_over_csv_when_weighted(client, register, read):
    weighted = {**read, "Accept": "text/csv;q=0.5, application/json"}
    assert (
        client.get("/registry/critical-processes", headers=weighted)
        .headers["content-type"]
        .startswith("application/json")
    )
    assert (
        client.get("/registry/critical-processes", headers=read)
        .headers["content-type"]
        .startswith("application/json")
    )


def test_role_exposure_lists_processes_systems_and_reason(client, register, read):
    agent = register.roles["agent"]
    response = client.get(f"/registry/roles/{agent.id}/exposure", headers=read)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["role_key"] == "t-agent"
    assert {p["name"] for p in body["processes"]} == {"Klantvragen", "Werving"}
    assert {s["name"] for s in body["ai_systems"]} == {"Copilot", "CV screening"}
    assert body["risk"]["derived_class"] == "high"
    assert body["risk"]["reasons"] == [
        "AI system 'CV screening' (high risk under the AI Act) is used in process 'Werving' "
        "(planned from 2026-09-01)"
    ]


def test_role_exposure_as_csv(client, register, read):
    case = register.roles["case"]
    response = client.get(
        f"/registry/roles/{case.id}/exposure", headers={**read, "Accept": "text/csv"}
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["process_name"], r["involvement"], r["effective_class"]) for r in rows] == [
        ("Bijstand", "operates", "high"),
        ("Klantvragen", "uses_output", "high"),
    ]


def test_role_exposure_of_unknown_role_is_404(client, register, read):
    response = client.get(
        "/registry/roles/00000000-0000-4000-8000-000000000000/exposure", headers=read
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_exposure_of_a_role_without_links_is_minimal_in_json_and_csv(client, register, read):
    idle = register.roles["idle"]
    body = client.get(f"/registry/roles/{idle.id}/exposure", headers=read).json()
    assert body["processes"] == [] and body["ai_systems"] == []
    assert body["risk"]["effective_class"] == "minimal"
    response = client.get(
        f"/registry/roles/{idle.id}/exposure", headers={**read, "Accept": "text/csv"}
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    assert (rows[0]["role_key"], rows[0]["effective_class"], rows[0]["process_name"]) == (
        "t-idle",
        "minimal",
        "",
    )
