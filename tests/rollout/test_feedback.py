"""Structured feedback per phase and its summary with small-group suppression of free text."""

from __future__ import annotations

import uuid

from sqlmodel import select

from app.core.audit import AuditEvent
from tests.factories import auth_headers
from tests.rollout.factories import make_org, make_person


def _phase_url(client, headers, org):
    programme = client.post(
        "/programmes", json={"name": f"P {uuid.uuid4().hex[:6]}"}, headers=headers
    ).json()
    phase = client.post(
        f"/programmes/{programme['id']}/phases",
        json={
            "name": "Pilot",
            "kind": "pilot",
            "start_date": "2026-03-01",
            "end_date": "2026-05-31",
            "scope": {"org_units": [org.key("dir-a")]},
        },
        headers=headers,
    ).json()
    return f"/programmes/{programme['id']}/phases/{phase['id']}"


def _give(client, headers, url, group, ratings, comment=None, respondent=None):
    body = {"respondent_group": group, **ratings}
    if comment is not None:
        body["comment"] = comment
    if respondent is not None:
        body["respondent"] = respondent
    response = client.post(f"{url}/feedback", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_summary_suppresses_free_text_of_small_groups(client, db, app, frozen_clock):
    org = make_org(db)
    headers = auth_headers(db, app, "rollout:write", "rollout:read")
    url = _phase_url(client, headers, org)
    people = [make_person(db, org, unit="team-a1") for _ in range(5)]
    for index, person in enumerate(people):
        _give(
            client,
            headers,
            url,
            "employee",
            {"workload": 2 + index % 2, "clarity": 4, "relevance": 5, "assessment_fairness": 4},
            comment=f"employee comment {index}",
            respondent=f"employee:{person.employee_number}",
        )
    _give(client, headers, url, "auditor", {"workload": 3, "clarity": 2}, comment="Only me")
    _give(client, headers, url, "auditor", {"clarity": 4})

    response = client.get(f"{url}/feedback/summary", headers=headers)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["min_group_size"] == 5
    assert summary["respondents"] == 7
    groups = {g["respondent_group"]: g for g in summary["groups"]}
    assert set(groups) == {"employee", "auditor"}
    employees = groups["employee"]
    assert employees["respondents"] == 5
    assert employees["comments_suppressed"] is False
    assert employees["comments"] == [f"employee comment {i}" for i in range(5)]
    assert employees["dimensions"]["workload"] == {
        "answered": 5,
        "mean": 2.4,
        "distribution": {"1": 0, "2": 3, "3": 2, "4": 0, "5": 0},
    }
    auditors = groups["auditor"]
    assert auditors["respondents"] == 2
    assert auditors["comments"] is None
    assert auditors["comments_suppressed"] is True
    assert auditors["dimensions"]["clarity"]["mean"] == 3.0
    assert auditors["dimensions"]["workload"]["answered"] == 1
    assert auditors["dimensions"]["relevance"] == {
        "answered": 0,
        "mean": None,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
    }
    # Nobody's identity appears anywhere in the summary.
    text = response.text
    for person in people:
        assert person.employee_number not in text and str(person.id) not in text


def test_min_group_size_comes_from_settings(client, db, app, frozen_clock):
    org = make_org(db)
    headers = auth_headers(db, app, "rollout:write", "rollout:read")
    url = _phase_url(client, headers, org)
    _give(client, headers, url, "hr", {"workload": 3}, comment="Clear plan")
    _give(client, headers, url, "hr", {"workload": 4}, comment="Too much at once")
    original = app.state.settings.min_group_size
    app.state.settings.min_group_size = 2
    try:
        summary = client.get(f"{url}/feedback/summary", headers=headers).json()
    finally:
        app.state.settings.min_group_size = original
    assert summary["groups"][0]["comments"] == ["Clear plan", "Too much at once"]


def test_bad_feedback_is_refused(client, db, app, frozen_clock):
    org = make_org(db)
    headers = auth_headers(db, app, "rollout:write", "rollout:read")
    url = _phase_url(client, headers, org)
    person = make_person(db, org, unit="team-a1")
    bad = [
        {"respondent_group": "employee", "workload": 6},
        {"respondent_group": "employee", "clarity": 0},
        {"workload": 3},
        {"respondent_group": "board", "workload": 3},
        {"respondent_group": "employee"},
        {"respondent_group": "employee", "workload": 3, "respondent": "employee:NOPE"},
    ]
    for body in bad:
        response = client.post(f"{url}/feedback", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    respondent = f"employee:{person.employee_number}"
    first = _give(client, headers, url, "employee", {"workload": 3}, respondent=respondent)
    assert "respondent" not in first and "respondent_person_id" not in first
    trail = db.exec(select(AuditEvent).where(AuditEvent.entity_id == first["id"])).one()
    assert trail.after["respondent_recorded"] is True
    assert str(person.id) not in str(trail.after)
    again = client.post(
        f"{url}/feedback",
        json={"respondent_group": "employee", "workload": 4, "respondent": respondent},
        headers=headers,
    )
    assert again.status_code == 409
    summary = client.get(f"{url}/feedback/summary", headers=headers).json()
    assert summary["respondents"] == 1


def test_feedback_needs_rollout_write(client, db, app, frozen_clock):
    org = make_org(db)
    writer = auth_headers(db, app, "rollout:write")
    url = _phase_url(client, writer, org)
    reader = auth_headers(db, app, "rollout:read")
    response = client.post(
        f"{url}/feedback", json={"respondent_group": "hr", "workload": 3}, headers=reader
    )
    assert response.status_code == 403
