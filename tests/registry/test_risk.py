"""A role's derived risk class, IT/security overrides with history, and the service interface
the competency model uses (role_risk_class, role_involvements, all_role_risk_classes,
overseer_role_ids_of_high_risk_systems)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select

from app.core.audit import AuditEvent
from app.registry import service
from app.registry.models import RoleRiskOverride
from tests.factories import auth_headers
from tests.registry.factories import build_register, link, make_process, make_role


@pytest.fixture
def register(db, frozen_clock):
    return build_register(db)


def test_derived_class_is_the_highest_of_impact_and_ai_class(db, register):
    case = service.role_risk_class(db, role_id=register.roles["case"].id)
    assert case.derived_class == case.effective_class == "high"
    assert case.override_class is None
    assert case.reasons == [
        "process 'Bijstand' has high impact",
        "AI system 'Fraud scoring' (high risk under the AI Act) is used in process 'Bijstand'",
    ]
    idle = service.role_risk_class(db, role_id=register.roles["idle"].id)
    assert idle.derived_class == "minimal"
    assert "not linked" in idle.reasons[0]


def test_general_purpose_ai_in_a_low_impact_process_is_limited(db, register):
    role = make_role(db)
    process = make_process(db, impact_level="low", systems=[register.systems["s_gp"]])
    link(db, role, process, "uses_output")
    risk = service.role_risk_class(db, role_id=role.id)
    assert risk.derived_class == "limited"
    assert risk.reasons == [
        f"AI system 'Copilot' (general_purpose risk under the AI Act) is used in process "
        f"'{process.name}'"
    ]


def test_planned_links_count_and_say_so(db, register):
    risk = service.role_risk_class(db, role_id=register.roles["agent"].id)
    assert risk.derived_class == "high"
    assert "(planned from 2026-09-01)" in risk.reasons[0]


def test_override_is_effective_kept_in_history_and_withdrawable(client, db, app, register):
    headers = auth_headers(db, app, "registry:write", client_id="cl_ciso")
    read = auth_headers(db, app, "registry:read")
    agent = register.roles["agent"]
    url = f"/registry/roles/{agent.id}/risk-overrides"

    first = client.post(
        url,
        json={"risk_class": "limited", "reason": "CV screening pilot cancelled"},
        headers=headers,
    )
    assert first.status_code == 201, first.text
    assert first.json()["derived_class"] == "high"
    assert first.json()["override_class"] == "limited"
    assert first.json()["effective_class"] == "limited"
    assert "overridden to limited by cl_ciso" in first.json()["reasons"][-1]
    exposure = client.get(f"/registry/roles/{agent.id}/exposure", headers=read).json()
    assert exposure["risk"]["effective_class"] == "limited"

    second = client.post(
        url, json={"risk_class": "high", "reason": "Pilot back on"}, headers=headers
    )
    assert second.json()["effective_class"] == "high"
    withdrawn = client.post(
        url, json={"risk_class": None, "reason": "Derived is right"}, headers=headers
    )
    assert withdrawn.status_code == 201
    assert withdrawn.json()["override_class"] is None
    assert withdrawn.json()["effective_class"] == "high"

    history = client.get(url, headers=read).json()
    assert [h["override_class"] for h in history] == [None, "high", "limited"]
    assert history[-1]["reason"] == "CV screening pilot cancelled"
    assert history[-1]["decided_by"] == "cl_ciso"
    events = db.exec(
        select(AuditEvent.action).where(
            AuditEvent.entity_type == "role_risk_override", AuditEvent.entity_id == str(agent.id)
        )
    ).all()
    assert sorted(events) == ["override", "override", "withdraw_override"]


def test_withdrawing_without_override_is_409_and_changes_nothing(client, db, app, register):
    headers = auth_headers(db, app, "registry:write")
    response = client.post(
        f"/registry/roles/{register.roles['case'].id}/risk-overrides",
        json={"risk_class": None, "reason": "nothing to withdraw"},
        headers=headers,
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert db.exec(select(func.count()).select_from(RoleRiskOverride)).one() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"risk_class": "extreme", "reason": "not a class"},
        {"risk_class": "high"},
        {"risk_class": "high", "reason": ""},
        {"risk_class": "high", "reason": "fine", "extra": 1},
    ],
)
def test_invalid_override_is_422_and_changes_nothing(client, db, app, register, body):
    headers = auth_headers(db, app, "registry:write")
    response = client.post(
        f"/registry/roles/{register.roles['case'].id}/risk-overrides", json=body, headers=headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]
    assert db.exec(select(func.count()).select_from(RoleRiskOverride)).one() == 0


def test_override_of_unknown_role_is_404(client, db, app, register):
    headers = auth_headers(db, app, "registry:write")
    response = client.post(
        "/registry/roles/00000000-0000-4000-8000-000000000000/risk-overrides",
        json={"risk_class": "high", "reason": "no such role"},
        headers=headers,
    )
    assert response.status_code == 404


def test_all_role_risk_classes_matches_per_role_derivation(db, register):
    db.add(
        RoleRiskOverride(role_id=register.roles["lead"].id, override_class="limited", reason="x")
    )
    db.add(RoleRiskOverride(role_id=register.roles["idle"].id, override_class="high", reason="y"))
    db.add(RoleRiskOverride(role_id=register.roles["idle"].id, override_class=None, reason="z"))
    db.flush()
    bulk = service.all_role_risk_classes(db)
    for role in register.roles.values():
        assert bulk[role.id] == service.role_risk_class(db, role_id=role.id).effective_class
    assert {key: bulk[role.id] for key, role in register.roles.items()} == {
        "case": "high",
        "agent": "high",
        "lead": "limited",
        "idle": "minimal",
    }


def test_role_involvements_and_overseer_roles(db, register):
    involvements = service.role_involvements(db, role_id=register.roles["agent"].id)
    by_process = {i.process_id: i for i in involvements}
    werving = by_process[register.processes["P3"].id]
    assert (werving.involvement, werving.state, werving.planned_from_date) == (
        "operates",
        "planned",
        date(2026, 9, 1),
    )
    assert werving.ai_system_ids == [register.systems["s_high2"].id]
    assert by_process[register.processes["P2"].id].state == "current"
    assert service.overseer_role_ids_of_high_risk_systems(db) == {register.roles["lead"].id}
