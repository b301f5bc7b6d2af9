"""Evidence to diploma through the API: awards, gaps, voiding, renewal, expiry, revocation,
alternative evidence, status reads and the change feed (issue 5)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.certification.rules import add_months
from tests.certification.factories import evidence_body, make_person, make_role, publish_model
from tests.factories import auth_headers


@pytest.fixture
def setup(client, db, app, frozen_clock):
    headers = auth_headers(db, app, "admin")
    role = make_role(db)
    publish_model(client, headers, role.key)
    assessor = make_person(db, employee_number=f"A{role.key[-6:]}")
    person = make_person(db, role=role, start=date(2026, 5, 1))
    return {
        "headers": headers,
        "role": role,
        "person": person,
        "assessor": assessor,
        "clock": frozen_clock,
        "client": client,
        "db": db,
    }


def _post(s, competency, *, level, form, days_ago=1, assessor=True, **extra):
    at = s["clock"].at - timedelta(days=days_ago)
    body = evidence_body(
        s["person"],
        competency,
        level=level,
        form=form,
        at=at,
        assessor=s["assessor"] if assessor else None,
        **extra,
    )
    return s["client"].post("/evidence", json=body, headers=s["headers"])


def _knowledge(s, days_ago=10, score=0.8):
    return _post(
        s,
        "ai-policy",
        level="basic",
        form="knowledge_test",
        days_ago=days_ago,
        assessor=False,
        score_scaled=score,
    )


def _practice(s, days_ago=2):
    return _post(
        s, "checking-output", level="advanced", form="practical_assessment", days_ago=days_ago
    )


def _status(s):
    response = s["client"].get(
        f"/people/employee:{s['person'].employee_number}/certification", headers=s["headers"]
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_not_started_then_in_progress_then_certified(setup):
    s = setup
    assert _status(s)["status"] == "not_started"
    assert _knowledge(s).status_code == 201
    status = _status(s)
    assert (status["tier"], status["status"], status["compliant"]) == ("basic", "certified", False)
    assert status["required_tier"] == "advanced"
    assert status["due_date"] == str(date(2026, 5, 1) + timedelta(days=183))
    assert _practice(s).status_code == 201
    status = _status(s)
    completed = (s["clock"].at - timedelta(days=2)).date()
    assert (status["tier"], status["status"], status["compliant"]) == (
        "advanced",
        "certified",
        True,
    )
    assert status["valid_until"] == str(add_months(completed, 24))


def test_gaps_name_what_is_missing_and_the_training_offer(setup):
    s = setup
    _knowledge(s, score=0.6)  # below the 70% minimum
    _post(s, "checking-output", level="basic", form="practical_assessment")  # level too low
    gaps = s["client"].get(f"/people/{s['person'].id}/gaps", headers=s["headers"]).json()
    by_competency = {g["competency"]: g for g in gaps["gaps"]}
    assert by_competency["ai-policy"]["missing"] == "score_too_low"
    assert by_competency["checking-output"]["missing"] == "level_too_low"
    assert [a["activity_id"] for a in by_competency["checking-output"]["activities"]] == [
        "https://lms.example/xapi/activities/checking-output-lab"
    ]
    assert gaps["compliant"] is False


def test_wrong_form_and_old_evidence_do_not_count(setup):
    s = setup
    _knowledge(s)
    _post(s, "checking-output", level="advanced", form="knowledge_test", assessor=False)
    gaps = s["client"].get(f"/people/{s['person'].id}/gaps", headers=s["headers"]).json()
    assert gaps["gaps"][0]["missing"] == "wrong_form"
    _practice(s, days_ago=800)
    gaps = s["client"].get(f"/people/{s['person'].id}/gaps", headers=s["headers"]).json()
    assert gaps["gaps"][0]["missing"] == "wrong_form", "the nearest gap is still the wrong form"
    assert _status(s)["tier"] == "basic"


def test_voiding_evidence_revokes_the_diploma_resting_on_it(setup):
    s = setup
    _knowledge(s)
    practice = _practice(s).json()
    assert _status(s)["tier"] == "advanced"
    voided = s["client"].post(
        f"/evidence/{practice['id']}/void", json={"reason": "wrong person"}, headers=s["headers"]
    )
    assert voided.status_code == 200 and voided.json()["voided_reason"] == "wrong person"
    status = _status(s)
    assert (status["tier"], status["compliant"]) == ("basic", False)
    history = (
        s["client"]
        .get(f"/people/{s['person'].id}/certification/history", headers=s["headers"])
        .json()
    )
    advanced = next(c for c in history if c["tier_key"] == "advanced")
    assert advanced["state"] == "withdrawn"
    assert [e["kind"] for e in advanced["events"]] == ["awarded", "withdrawn"]
    again = s["client"].post(
        f"/evidence/{practice['id']}/void", json={"reason": "twice"}, headers=s["headers"]
    )
    assert again.status_code == 409


def test_renewal_inside_the_window_keeps_the_remaining_days(setup):
    s = setup
    _knowledge(s)
    _practice(s)
    first_until = date.fromisoformat(_status(s)["valid_until"])
    s["clock"].set(s["clock"].at + timedelta(days=(first_until - s["clock"].at.date()).days - 30))
    s["headers"] = auth_headers(s["db"], s["client"].app, "admin")
    assert _status(s)["status"] == "expiring"
    _knowledge(s, days_ago=5)
    _practice(s, days_ago=1)
    status = _status(s)
    assert status["status"] == "certified"
    assert status["valid_until"] == str(add_months(first_until, 24))
    history = (
        s["client"]
        .get(f"/people/{s['person'].id}/certification/history", headers=s["headers"])
        .json()
    )
    advanced = [c for c in history if c["tier_key"] == "advanced"]
    assert [c["state"] for c in advanced] == ["active", "superseded"]
    assert advanced[0]["renews_id"] == advanced[1]["id"]


def test_grace_then_expiry_then_a_fresh_award(setup):
    s = setup
    _knowledge(s)
    _practice(s)
    until = date.fromisoformat(_status(s)["valid_until"])
    s["clock"].set(s["clock"].at + timedelta(days=(until - s["clock"].at.date()).days + 10))
    s["headers"] = auth_headers(s["db"], s["client"].app, "admin")
    in_grace = _status(s)
    assert (in_grace["status"], in_grace["compliant"]) == ("expiring", True)
    s["clock"].set(s["clock"].at + timedelta(days=25))
    s["headers"] = auth_headers(s["db"], s["client"].app, "admin")
    expired = _status(s)
    assert (expired["status"], expired["compliant"], expired["overdue"]) == ("expired", False, True)
    _knowledge(s, days_ago=3)
    _practice(s, days_ago=2)
    fresh = _status(s)
    assert fresh["status"] == "certified"
    assert fresh["valid_until"] == str(add_months((s["clock"].at - timedelta(days=2)).date(), 24))


def test_revoke_suspend_reinstate(setup):
    s = setup
    _knowledge(s)
    _practice(s)
    certification_id = _status(s)["certification_id"]
    base = f"/certifications/{certification_id}"
    suspended = s["client"].post(
        f"{base}/suspend", json={"reason": "investigation"}, headers=s["headers"]
    )
    assert suspended.status_code == 200 and suspended.json()["state"] == "suspended"
    assert (_status(s)["status"], _status(s)["compliant"]) == ("suspended", False)
    assert (
        s["client"]
        .post(f"{base}/reinstate", json={"reason": "cleared"}, headers=s["headers"])
        .json()["state"]
        == "active"
    )
    assert _status(s)["compliant"] is True
    assert (
        s["client"]
        .post(f"{base}/revoke", json={"reason": "fraud"}, headers=s["headers"])
        .status_code
        == 200
    )
    assert (
        s["client"]
        .post(f"{base}/reinstate", json={"reason": "x" * 5}, headers=s["headers"])
        .status_code
        == 409
    )
    assert _status(s)["tier"] == "basic", "the same evidence does not award it again"
    _practice(s, days_ago=0)
    assert _status(s)["tier"] == "advanced", "new evidence after the revocation does"


def test_alternative_evidence_award_is_marked_and_time_limited(setup):
    s = setup
    limit = s["clock"].at.date() + timedelta(days=200)
    response = s["client"].post(
        f"/people/{s['person'].id}/certifications",
        json={
            "tier": "advanced",
            "document_ref": "EXT-CERT-2026-77",
            "reason": "External AI governance certificate",
            "valid_until": str(limit),
        },
        headers=s["headers"],
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["kind"], body["document_ref"], body["valid_until"]) == (
        "alternative",
        "EXT-CERT-2026-77",
        str(limit),
    )
    assert _status(s)["compliant"] is True
    unknown = s["client"].post(
        f"/people/{s['person'].id}/certifications",
        json={"tier": "wizard", "document_ref": "x", "reason": "because"},
        headers=s["headers"],
    )
    assert unknown.status_code == 422


def test_evidence_validation_and_idempotency(setup):
    s = setup
    unknown = _post(s, "astrology", level="basic", form="knowledge_test", assessor=False)
    assert unknown.status_code == 422
    no_assessor = _post(
        s, "checking-output", level="advanced", form="practical_assessment", assessor=False
    )
    assert no_assessor.status_code == 422
    assert no_assessor.json()["errors"][0]["field"] == "assessor"
    first = _post(
        s,
        "ai-policy",
        level="basic",
        form="knowledge_test",
        assessor=False,
        score_scaled=0.9,
        source_ref="exam-1",
    )
    same = _post(
        s,
        "ai-policy",
        level="basic",
        form="knowledge_test",
        assessor=False,
        score_scaled=0.9,
        source_ref="exam-1",
    )
    assert first.status_code == same.status_code == 201
    assert first.json()["id"] == same.json()["id"]
    other = _post(
        s,
        "ai-policy",
        level="basic",
        form="knowledge_test",
        assessor=False,
        score_scaled=0.5,
        source_ref="exam-1",
    )
    assert other.status_code == 409


def test_status_etag_gives_304_until_something_changes(setup):
    s = setup
    url = f"/people/email:{s['person'].email}/certification"
    first = s["client"].get(url, headers=s["headers"])
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    cached = s["client"].get(url, headers={**s["headers"], "If-None-Match": etag})
    assert cached.status_code == 304
    _knowledge(s)
    changed = s["client"].get(url, headers={**s["headers"], "If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["tier"] == "basic"


def test_lookup_many_and_unknown_keys(setup):
    s = setup
    others = [make_person(s["db"], role=s["role"]) for _ in range(3)]
    keys = [f"employee:{p.employee_number}" for p in others] + [
        str(s["person"].id),
        "employee:NOPE",
        "garbage",
    ]
    body = (
        s["client"].post("/certifications:lookup", json={"keys": keys}, headers=s["headers"]).json()
    )
    assert [i["employee_number"] for i in body["items"]] == [
        *[p.employee_number for p in others],
        s["person"].employee_number,
    ]
    assert body["not_found"] == ["employee:NOPE", "garbage"]
    too_many = s["client"].post(
        "/certifications:lookup", json={"keys": ["x"] * 1001}, headers=s["headers"]
    )
    assert too_many.status_code == 422


def test_change_feed_lists_changes_once_in_commit_order(setup):
    s = setup
    start = (
        s["client"]
        .get("/certifications/changes", params={"limit": 1000}, headers=s["headers"])
        .json()["next_cursor"]
    )
    # Walk to the end first (other tests' rows may exist in a shared database).
    _knowledge(s)
    _practice(s)
    feed = (
        s["client"]
        .get("/certifications/changes", params={"cursor": start}, headers=s["headers"])
        .json()
    )
    mine = [e for e in feed["items"] if e["data"].get("person_id") == str(s["person"].id)]
    assert [e["type"] for e in mine] == [
        "certification.awarded",
        "person.compliance_changed",  # basic; first known status
        "certification.awarded",
        "person.compliance_changed",
    ]  # advanced; now compliant
    assert [e["data"].get("tier") for e in mine[::2]] == ["basic", "advanced"]
    # Issue 7, item 6: what HR stores on the employee record, as it stands after the change.
    advanced = mine[2]["data"]
    assert {
        key: advanced[key]
        for key in (
            "employee_number",
            "tier",
            "status",
            "compliant",
            "required_tier",
            "model_version",
        )
    } == {
        "employee_number": s["person"].employee_number,
        "tier": "advanced",
        "status": "certified",
        "compliant": True,
        "required_tier": "advanced",
        "model_version": 1,
    }
    assert advanced["valid_until"] and advanced["awarded_at"]
    assert (
        advanced["credential_url"] == f"/certifications/{advanced['certification_id']}/credential"
    )
    assert mine[0]["data"]["compliant"] is False, "basic alone does not meet the role"
    seqs = [e["seq"] for e in feed["items"]]
    assert seqs == sorted(seqs)
    after = (
        s["client"]
        .get(
            "/certifications/changes", params={"cursor": feed["next_cursor"]}, headers=s["headers"]
        )
        .json()
    )
    assert after["items"] == [] and after["next_cursor"] == feed["next_cursor"]


def test_status_read_refuses_deactivated_clients_and_unknown_keys(setup):
    s = setup
    from tests.factories import make_api_client, token_headers

    reader = make_api_client(s["db"], scopes=["certifications:read"])
    headers = token_headers(s["client"].app, reader)
    url = f"/people/{s['person'].id}/certification"
    assert s["client"].get(url, headers=headers).status_code == 200
    for missing in (
        "employee:NOPE",
        "email:nobody@example.nl",
        "not-a-key",
        "00000000-0000-4000-8000-000000000000",
    ):
        response = s["client"].get(f"/people/{missing}/certification", headers=headers)
        assert response.status_code == 404, missing
    reader.active = False
    s["db"].add(reader)
    s["db"].flush()
    assert s["client"].get(url, headers=headers).status_code == 401
    assert (
        s["client"].get("/people/employee:NOPE/certification", headers=headers).status_code == 401
    )


def test_gaps_is_a_read_and_awards_nothing(setup):
    """GET /people/{key}/gaps runs the rules in memory; awarding is left to writes and jobs."""
    from datetime import timedelta as days

    from sqlmodel import select

    from app.certification.models import Certification
    from app.evidence.models import Evidence

    s = setup
    s["db"].add(
        Evidence(
            person_id=s["person"].id,
            competency_key="ai-policy",
            level_key="basic",
            assessment_form="knowledge_test",
            source="import",
            occurred_at=s["clock"].at - days(days=3),
            score_scaled=0.9,
        )
    )
    s["db"].flush()
    gaps = s["client"].get(f"/people/{s['person'].id}/gaps", headers=s["headers"]).json()
    assert [g["competency"] for g in gaps["gaps"]] == ["checking-output"]
    awarded = (
        s["db"].exec(select(Certification).where(Certification.person_id == s["person"].id)).all()
    )
    assert awarded == []
