"""The demo's pilot and waves load and show what the issue asks for."""

from __future__ import annotations

from app.demo import competencies, organisation, register
from app.demo import rollout as demo_rollout
from tests.factories import auth_headers


def test_demo_programme_pilot_waves_and_feedback(client, db, app, frozen_clock):
    db.info["actor"] = "demo"
    for part in (organisation, register, competencies):
        part.load(db, language="nl")
    counts = demo_rollout.load(db, language="nl")
    assert counts == {"programmes": 1, "programme_phases": 4, "phase_feedback": 24}
    headers = auth_headers(db, app, "rollout:read")
    programmes = client.get("/programmes", headers=headers).json()["items"]
    programme = next(p for p in programmes if p["name"] == "AI-diploma Gemeente Havenstad")
    phases = programme["phases"]
    assert [(p["kind"], p["status"]) for p in phases] == [
        ("pilot", "completed"),
        ("rollout", "completed"),
        ("rollout", "running"),
        ("rollout", "planned"),
    ]
    assert phases[0]["scope"]["org_units"] == ["team-kcc", "team-wi"]
    base = f"/programmes/{programme['id']}/phases"
    for phase in phases:
        progress = client.get(f"{base}/{phase['id']}/progress", headers=headers)
        assert progress.status_code == 200, progress.text
        assert progress.json()["totals"]["in_scope"] > 0
    summary = client.get(f"{base}/{phases[0]['id']}/feedback/summary", headers=headers).json()
    shown = {g["respondent_group"]: g["comments_suppressed"] for g in summary["groups"]}
    assert shown == {"employee": False, "manager": False, "hr": False, "auditor": True}
