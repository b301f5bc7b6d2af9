"""The demo's HR source, mapping rules and last night's pull load and show what they should."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.demo import hris as demo_hris
from app.demo import organisation
from tests.factories import auth_headers


def test_demo_hr_source_is_pulled_nightly_and_reports_last_nights_pull(
    client, db, app, frozen_clock
):
    db.info["actor"] = "demo"
    organisation.load(db, language="nl")
    counts = demo_hris.load(db, language="nl")
    assert counts == {"hris_mappings": 27, "hris_sources": 1, "hris_pull_seen": 300}
    headers = auth_headers(db, app, "hris:write")
    [source] = client.get("/integrations/hris/sources", headers=headers).json()
    assert (source["name"], source["pull_every_minutes"], source["has_secret"]) == (
        demo_hris.SOURCE,
        1440,
        True,
    )
    report = source["last_pull_report"]
    assert (report["seen"], report["unchanged"], report["updated"], report["created"]) == (
        300,
        299,
        1,
        0,
    )
    assert report["unmapped"] == [{"kind": "role", "value": demo_hris.TRAINEE_CODE}]
    unmapped = client.get("/integrations/hris/unmapped", headers=headers).json()["items"]
    assert [(u["kind"], u["value"], u["last_employee_number"]) for u in unmapped] == [
        ("role", demo_hris.TRAINEE_CODE, demo_hris.TRAINEE)
    ]
    people = auth_headers(db, app, "org:read")
    married = client.get(f"/people/employee:{demo_hris.MARRIED}", headers=people).json()
    assert married["family_name"].startswith("Hoekstra-")
    assert married["hr_source"] == demo_hris.SOURCE
    # The trainee keeps the role they had: an unmapped code changes nothing.
    trainee = client.get(f"/people/employee:{demo_hris.TRAINEE}", headers=people).json()
    assert len(trainee["roles"]) == 1
    # The worker pulls it again a day after last night's pull.
    synced, due = (
        datetime.fromisoformat(source[name].replace("Z", "+00:00"))
        for name in ("last_synced_at", "next_pull_at")
    )
    assert (synced, due) == (frozen_clock(), frozen_clock() + timedelta(days=1))
