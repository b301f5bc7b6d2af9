"""Derived scope (HR changes flow in) and the progress counts of a phase."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from tests.certification.factories import publish_model
from tests.factories import auth_headers
from tests.rollout.factories import add_evidence, add_status, make_org, make_person

ACTIVITY = "https://lms.example/xapi/activities/checking-output-lab"


def _phase(client, headers, scope, **extra):
    programme = client.post(
        "/programmes", json={"name": f"P {uuid.uuid4().hex[:6]}"}, headers=headers
    ).json()
    body = {
        "name": "Wave 1",
        "kind": "rollout",
        "start_date": "2026-05-01",
        "end_date": "2026-07-31",
        "scope": scope,
        **extra,
    }
    response = client.post(f"/programmes/{programme['id']}/phases", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return f"/programmes/{programme['id']}/phases/{response.json()['id']}"


def _in_scope(client, headers, url):
    page = client.get(f"{url}/people?limit=1000", headers=headers)
    assert page.status_code == 200, page.text
    return {item["employee_number"] for item in page.json()["items"]}


def test_scope_is_derived_so_hr_changes_flow_in(client, db, app, frozen_clock):
    org = make_org(db)
    headers = auth_headers(db, app, "rollout:write", "rollout:read")
    url = _phase(client, headers, {"org_units": [org.key("dir-a")]})
    in_team = make_person(db, org, unit="team-a1")
    elsewhere = make_person(db, org, unit="team-b1")
    assert _in_scope(client, headers, url) == {in_team.employee_number}
    # HR moves a person into a team below the scoped department: in scope, no sync needed.
    elsewhere.org_unit_id = org.units["team-a2"].id
    db.add(elsewhere)
    # HR deactivates a person: out of scope.
    in_team.active = False
    db.add(in_team)
    db.flush()
    assert _in_scope(client, headers, url) == {elsewhere.employee_number}
    # A new team under the department is covered by the subtree too.
    newcomer = make_person(db, org, unit="dir-a")
    assert _in_scope(client, headers, url) == {
        elsewhere.employee_number,
        newcomer.employee_number,
    }


def test_dimensions_combine_with_and_values_with_or(client, db, app, frozen_clock):
    org = make_org(db)
    headers = auth_headers(db, app, "rollout:write", "rollout:read")
    url = _phase(
        client,
        headers,
        {
            "org_units": [org.key("team-a1"), org.key("team-b1")],
            "locations": [org.key("north")],
            "job_families": [org.key("it")],
            "roles": [org.key("case-handler")],
        },
    )
    match_role = make_person(db, org, unit="team-a1", role="case-handler")
    match_family = make_person(db, org, unit="team-b1", role="analyst")
    make_person(db, org, unit="team-a1", role="lead")  # function does not match
    make_person(db, org, unit="team-a1", location="south")  # location does not match
    make_person(db, org, unit="team-a2")  # org unit does not match
    make_person(db, org, unit="team-a1", role_end=date(2026, 5, 1))  # role ended
    assert _in_scope(client, headers, url) == {
        match_role.employee_number,
        match_family.employee_number,
    }


def test_progress_counts_per_org_unit_and_timeline(client, db, app, frozen_clock):
    """Today 2026-06-01; phase 2026-05-01..2026-07-31 (91 days, 31 elapsed: 34.1% expected)."""
    org = make_org(db)
    headers = auth_headers(db, app, "rollout:write", "rollout:read", "competencies:write")
    publish_model(client, headers, org.key("case-handler"))
    url = _phase(client, headers, {"org_units": [org.key("dir-a")]}, training_offer=[ACTIVITY])
    before = datetime(2026, 4, 1, tzinfo=UTC)
    during = datetime(2026, 5, 15, tzinfo=UTC)
    # team-a1: four people.
    a = make_person(db, org, unit="team-a1")  # trained by the offer, assessed, certified
    add_evidence(db, a, at=during, form="practical_assessment", activity_id=ACTIVITY)
    add_status(db, a, valid_until=date(2028, 5, 15))
    b = make_person(db, org, unit="team-a1")  # course completion only
    add_evidence(db, b, at=during, form="course_completion")
    add_status(db, b, valid_until=None)
    c = make_person(db, org, unit="team-a1")  # evidence before the phase only; expired diploma
    add_evidence(db, c, at=before, form="knowledge_test")
    add_status(db, c, valid_until=date(2026, 1, 1))
    d = make_person(db, org, unit="team-a1")  # voided evidence; certified below the requirement
    add_evidence(db, d, at=during, form="knowledge_test", voided=True)
    add_status(db, d, valid_until=date(2027, 1, 1), held_rank=1, required_rank=2)
    # team-a2: one person with a knowledge test and no status row at all.
    e = make_person(db, org, unit="team-a2")
    add_evidence(db, e, at=during, form="knowledge_test")
    # Out of scope, with everything: must not count.
    f = make_person(db, org, unit="team-b1")
    add_evidence(db, f, at=during, form="course_completion")
    add_status(db, f, valid_until=date(2028, 1, 1))

    response = client.get(f"{url}/progress", headers=headers)
    assert response.status_code == 200, response.text
    progress = response.json()
    units = {u["org_unit"]: u for u in progress["org_units"]}
    assert set(units) == {org.key("team-a1"), org.key("team-a2")}
    counts = ("in_scope", "started", "trained", "assessed", "certified", "compliant")
    assert [units[org.key("team-a1")][k] for k in counts] == [4, 2, 2, 1, 2, 1]
    assert [units[org.key("team-a2")][k] for k in counts] == [1, 1, 0, 1, 0, 0]
    assert [progress["totals"][k] for k in counts] == [5, 3, 2, 2, 2, 1]
    timeline = progress["timeline"]
    assert timeline["days_total"] == 91
    assert timeline["days_elapsed"] == 31
    assert timeline["days_left"] == 60
    assert timeline["certified_pct"] == 40.0
    assert timeline["expected_certified_pct"] == 34.1
    assert timeline["on_track"] is True


def test_progress_of_a_scope_nobody_is_in(client, db, app, frozen_clock):
    org = make_org(db)
    headers = auth_headers(db, app, "rollout:write", "rollout:read")
    url = _phase(client, headers, {"org_units": [org.key("team-b1")]})
    progress = client.get(f"{url}/progress", headers=headers).json()
    assert progress["totals"]["in_scope"] == 0
    assert progress["org_units"] == []
    assert progress["timeline"]["on_track"] is None
