"""What a tier sets besides its requirements (issue 5, items 3 and 5): the shorter
recertification path that counts only inside the window, the date a renewal counts from,
and the due period per tier or per role. Each rule is checked through the API, and the
bulk evaluation is checked to decide the same as the one-by-one evaluation."""

from __future__ import annotations

import copy
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import select

from app.certification import bulk, service
from app.certification.models import Certification, PersonStatus
from app.certification.rules import add_months
from app.evidence.models import Evidence
from app.org.models import PersonRole
from tests.certification.factories import (
    evidence_body,
    make_person,
    make_role,
    model_content,
    publish_model,
)
from tests.factories import auth_headers

REFRESHER = [
    {
        "competency": "bias",
        "min_level": "basic",
        "accepted_forms": ["knowledge_test"],
        "min_score": 70,
    }
]


def _content(role_key: str, **advanced: Any) -> dict[str, Any]:
    content = copy.deepcopy(model_content(role_key))
    content["tiers"][1].update(advanced)
    return content


def _setup(client, db, app, frozen_clock, content_of):
    headers = auth_headers(db, app, "admin")
    role = make_role(db)
    publish_model(client, headers, role.key, content=content_of(role.key))
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
        "app": app,
    }


@pytest.fixture
def refresher(client, db, app, frozen_clock):
    return _setup(
        client, db, app, frozen_clock, lambda key: _content(key, refresher_requirements=REFRESHER)
    )


def _post(s, competency, *, level, form, days_ago=1, person=None, **extra):
    at = s["clock"].at - timedelta(days=days_ago)
    body = evidence_body(
        person or s["person"],
        competency,
        level=level,
        form=form,
        at=at,
        assessor=None if form == "knowledge_test" else s["assessor"],
        **extra,
    )
    response = s["client"].post("/evidence", json=body, headers=s["headers"])
    assert response.status_code == 201, response.text
    return response


def _certify(s, person=None):
    """The full advanced path: policy knowledge 10 days ago, checking output 2 days ago."""
    _post(
        s,
        "ai-policy",
        level="basic",
        form="knowledge_test",
        days_ago=10,
        score_scaled=0.8,
        person=person,
    )
    _post(
        s,
        "checking-output",
        level="advanced",
        form="practical_assessment",
        days_ago=2,
        person=person,
    )


def _bias_test(s, days_ago=1, person=None):
    _post(
        s,
        "bias",
        level="basic",
        form="knowledge_test",
        days_ago=days_ago,
        score_scaled=0.9,
        person=person,
    )


def _status(s, person=None):
    person = person or s["person"]
    response = s["client"].get(
        f"/people/employee:{person.employee_number}/certification", headers=s["headers"]
    )
    assert response.status_code == 200, response.text
    return response.json()


def _gaps(s):
    response = s["client"].get(f"/people/{s['person'].id}/gaps", headers=s["headers"])
    assert response.status_code == 200, response.text
    return response.json()


def _move_to(s, day: date) -> None:
    s["clock"].set(datetime.combine(day, time(9, 0), tzinfo=s["clock"].at.tzinfo))
    s["headers"] = auth_headers(s["db"], s["app"], "admin")


def _history(s, person=None):
    person = person or s["person"]
    response = s["client"].get(f"/people/{person.id}/certification/history", headers=s["headers"])
    assert response.status_code == 200, response.text
    return [c for c in response.json() if c["tier_key"] == "advanced"]


# --- the refresher path ---------------------------------------------------------------------


def test_refresher_inside_the_window_renews_from_the_old_expiry(refresher):
    s = refresher
    _certify(s)
    until = date.fromisoformat(_status(s)["valid_until"])
    assert until == add_months(date(2026, 5, 30), 24)
    _move_to(s, until - timedelta(days=30))
    assert _status(s)["status"] == "expiring"
    gaps = _gaps(s)
    assert gaps["path"] == "refresher"
    assert [(g["competency"], g["missing"]) for g in gaps["gaps"]] == [("bias", "no_evidence")]

    _bias_test(s)
    renewed = _status(s)
    assert (renewed["status"], renewed["tier"]) == ("certified", "advanced")
    assert renewed["valid_until"] == str(add_months(until, 24)), "no days lost"
    history = _history(s)
    assert [c["state"] for c in history] == ["active", "superseded"]
    assert history[0]["renews_id"] == history[1]["id"]
    assert [e["kind"] for e in history[0]["events"]] == ["renewed"]


def test_refresher_evidence_from_before_the_window_does_not_count(refresher):
    s = refresher
    _certify(s)
    until = date.fromisoformat(_status(s)["valid_until"])
    _move_to(s, until - timedelta(days=200))  # before the 90-day window opens
    _bias_test(s)
    assert _status(s)["valid_until"] == str(until), "outside the window nothing renews"
    _move_to(s, until - timedelta(days=30))
    assert [g["competency"] for g in _gaps(s)["gaps"]] == ["bias"]
    ctx = service.require_context(s["db"])
    result = bulk.evaluate_everyone(s["db"], ctx=ctx, person_ids=[s["person"].id])
    assert (result.awarded, result.renewed) == (0, 0)
    assert _status(s)["status"] == "expiring"


def test_after_expiry_only_the_full_path_counts(refresher):
    s = refresher
    _certify(s)
    until = date.fromisoformat(_status(s)["valid_until"])
    _move_to(s, until + timedelta(days=40))  # past the 30 days of grace
    assert _status(s)["status"] == "expired"
    assert _gaps(s)["path"] == "full"
    _bias_test(s)
    assert _status(s)["status"] == "expired", "the refresher does not revive an expired diploma"
    _certify(s)
    fresh = _status(s)
    assert fresh["status"] == "certified"
    completed = s["clock"].at.date() - timedelta(days=2)
    assert fresh["valid_until"] == str(add_months(completed, 24)), "counts from completion"


def test_bulk_refresher_renewal_decides_as_one_by_one(refresher):
    s = refresher
    twin = make_person(s["db"], role=s["role"], start=date(2026, 5, 1))
    other = make_person(s["db"], role=s["role"], start=date(2026, 5, 1))
    for person in (s["person"], twin, other):
        _certify(s, person=person)
    until = date.fromisoformat(_status(s)["valid_until"])
    _move_to(s, until - timedelta(days=20))
    now = s["clock"].at
    for person, days_ago in ((s["person"], 3), (twin, 3), (other, 100)):  # other: too early
        s["db"].add(
            Evidence(
                person_id=person.id,
                competency_key="bias",
                level_key="basic",
                assessment_form="knowledge_test",
                source="import",
                occurred_at=now - timedelta(days=days_ago),
                score_scaled=0.9,
            )
        )
    s["db"].flush()
    ctx = service.require_context(s["db"])
    result = bulk.evaluate_everyone(s["db"], ctx=ctx, person_ids=[s["person"].id, other.id])
    assert (result.renewed, result.awarded) == (1, 0)
    service.evaluate_person(s["db"], person=twin, ctx=ctx)
    s["db"].flush()
    s["db"].expire_all()

    def outcome(person):
        status = service.derive(s["db"].get(PersonStatus, person.id), now.date())
        rows = s["db"].exec(select(Certification).where(Certification.person_id == person.id)).all()
        return status, sorted((c.tier_key, str(c.state), c.valid_until) for c in rows)

    assert outcome(s["person"]) == outcome(twin)
    assert outcome(s["person"])[0]["valid_until"] == add_months(until, 24)
    assert outcome(other)[0]["valid_until"] == until
    again = bulk.evaluate_everyone(s["db"], ctx=ctx, person_ids=[s["person"].id, other.id])
    assert (again.changed, again.renewed) == (0, 0), "a re-run changes nothing"


def test_gaps_in_the_window_without_a_refresher_list_every_requirement_again(
    client, db, app, frozen_clock
):
    s = _setup(client, db, app, frozen_clock, model_content)
    _certify(s)
    assert _gaps(s)["gaps"] == []
    until = date.fromisoformat(_status(s)["valid_until"])
    _move_to(s, until - timedelta(days=45))
    gaps = _gaps(s)
    assert gaps["path"] == "renewal"
    assert {g["competency"] for g in gaps["gaps"]} == {"ai-policy", "checking-output"}
    _post(s, "checking-output", level="advanced", form="practical_assessment", days_ago=1)
    assert [g["competency"] for g in _gaps(s)["gaps"]] == ["ai-policy"]


# --- which date a renewal counts from -------------------------------------------------------


def test_full_path_renewal_needs_every_requirement_shown_in_the_window(refresher):
    s = refresher
    _certify(s)
    until = date.fromisoformat(_status(s)["valid_until"])
    _move_to(s, until - timedelta(days=45))
    # One practical assessment again; the policy test is old (though not yet too old).
    _post(s, "checking-output", level="advanced", form="practical_assessment", days_ago=1)
    assert (_status(s)["status"], _status(s)["valid_until"]) == ("expiring", str(until))
    _post(s, "ai-policy", level="basic", form="knowledge_test", days_ago=1, score_scaled=0.9)
    renewed = _status(s)
    assert (renewed["status"], renewed["valid_until"]) == ("certified", str(add_months(until, 24)))


def test_renewal_basis_completion_date_counts_from_the_new_evidence(client, db, app, frozen_clock):
    s = _setup(
        client, db, app, frozen_clock, lambda key: _content(key, renewal_basis="completion_date")
    )
    _certify(s)
    until = date.fromisoformat(_status(s)["valid_until"])
    _move_to(s, until - timedelta(days=60))
    _certify(s)
    completed = s["clock"].at.date() - timedelta(days=2)
    assert _status(s)["valid_until"] == str(add_months(completed, 24)), "58 days given up"
    assert [c["state"] for c in _history(s)] == ["active", "superseded"]


def test_renewal_basis_fixed_date_ends_every_diploma_on_that_day(client, db, app, frozen_clock):
    s = _setup(
        client,
        db,
        app,
        frozen_clock,
        lambda key: _content(key, renewal_basis="fixed_date", renewal_fixed_date="01-01"),
    )
    _certify(s)  # completed 2026-05-30: 24 months take it to 2028-05-30, then to 1 January
    assert _status(s)["valid_until"] == "2029-01-01"
    _move_to(s, date(2028, 12, 1))  # in the window; the 2026 evidence is too old by now
    _certify(s)
    assert _status(s)["valid_until"] == "2031-01-01"


# --- due periods per tier and per role --------------------------------------------------------


def test_due_period_from_the_role_assignment_else_the_tier(client, db, app, frozen_clock):
    headers = auth_headers(db, app, "admin")
    high_risk = make_role(db)
    plain = make_role(db)
    content = model_content(high_risk.key)
    content["tiers"][0]["due_days"] = 30
    content["tiers"][1]["due_days"] = 120
    content["role_tiers"] = [
        {"role": high_risk.key, "tier": "advanced", "reason": "high-risk", "due_days": 200},
        {"role": plain.key, "tier": "basic", "reason": "uses chat assistants"},
    ]
    publish_model(client, headers, high_risk.key, content=content)
    mover = make_person(db, role=high_risk, start=date(2026, 5, 1))
    starter = make_person(db, role=plain, start=date(2026, 4, 1))

    def requirement(role):
        response = client.get(f"/roles/{role.id}/requirement", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    assert (requirement(high_risk)["tier"], requirement(high_risk)["due_days"]) == ("advanced", 200)
    assert (requirement(plain)["tier"], requirement(plain)["due_days"]) == ("basic", 30)

    ctx = service.require_context(db)
    service.evaluate_person(db, person=starter, ctx=ctx)
    bulk.evaluate_everyone(db, ctx=ctx, person_ids=[mover.id])
    db.flush()
    for person, due in (
        (mover, date(2026, 5, 1) + timedelta(days=200)),
        (starter, date(2026, 4, 1) + timedelta(days=30)),
    ):
        response = client.get(
            f"/people/employee:{person.employee_number}/certification", headers=headers
        )
        assert response.json()["due_date"] == str(due)
    # 2026-05-01 + 30 days has passed on 2026-06-01: the basic starter is overdue.
    assert client.get(f"/people/{starter.id}/gaps", headers=headers).json()["overdue"] is True


def test_second_role_needing_the_same_tier_gives_its_own_due_date(client, db, app, frozen_clock):
    """Both evaluations take the latest deadline of the roles needing the required tier."""
    headers = auth_headers(db, app, "admin")
    first, second = make_role(db), make_role(db)
    content = model_content(first.key)
    content["role_tiers"] = [
        {"role": first.key, "tier": "advanced", "reason": "case files", "due_days": 90},
        {"role": second.key, "tier": "advanced", "reason": "case files", "due_days": 10},
    ]
    publish_model(client, headers, first.key, content=content)
    people = []
    for _ in range(2):
        person = make_person(db, role=first, start=date(2026, 1, 1))
        db.add(PersonRole(person_id=person.id, role_id=second.id, start_date=date(2026, 5, 1)))
        people.append(person)
    db.flush()
    ctx = service.require_context(db)
    service.evaluate_person(db, person=people[0], ctx=ctx)
    bulk.evaluate_everyone(db, ctx=ctx, person_ids=[people[1].id])
    db.flush()
    db.expire_all()
    expected = date(2026, 5, 11)  # second role: 1 May + 10 days, later than 1 Jan + 90 days
    assert [db.get(PersonStatus, p.id).due_date for p in people] == [expected, expected]


# --- validation ---------------------------------------------------------------------------


def _draft(client, headers, content):
    return client.post(
        "/competency-models",
        json={"key": f"m-{datetime.now().microsecond}", "name": "AI diploma", "content": content},
        headers=headers,
    )


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"renewal_basis": "fixed_date"}, "renewal_fixed_date is required"),
        ({"renewal_basis": "fixed_date", "renewal_fixed_date": "13-01"}, "renewal_fixed_date"),
        ({"renewal_fixed_date": "01-01"}, "renewal_fixed_date is required"),
        ({"renewal_basis": "next_tuesday"}, "renewal_basis"),
        ({"due_days": 0}, "due_days"),
    ],
)
def test_bad_tier_settings_are_refused_and_nothing_is_created(client, db, app, change, where):
    headers = auth_headers(db, app, "admin")
    role = make_role(db)
    before = client.get("/competency-models", headers=headers).json()["items"]
    response = _draft(client, headers, _content(role.key, **change))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert where in response.text
    assert client.get("/competency-models", headers=headers).json()["items"] == before


def test_refresher_needs_known_competencies_and_a_window(client, db, app):
    headers = auth_headers(db, app, "admin")
    role = make_role(db)
    unknown = [{**REFRESHER[0], "competency": "astrology"}]
    response = _draft(client, headers, _content(role.key, refresher_requirements=unknown))
    assert response.status_code == 422, response.text
    assert "astrology" in response.text
    no_window = _content(
        role.key,
        refresher_requirements=REFRESHER,
        recertification_window_days=0,
        grace_period_days=0,
    )
    created = _draft(client, headers, no_window)
    assert created.status_code == 201, created.text
    model_id = created.json()["model"]["id"]
    published = client.post(f"/competency-models/{model_id}/versions/1/publish", headers=headers)
    assert published.status_code == 422, published.text
    assert "refresher-without-window" in published.text


def test_tier_settings_are_stored_and_survive_case(client, db, app):
    headers = auth_headers(db, app, "admin")
    role = make_role(db)
    content = _content(
        role.key,
        refresher_requirements=REFRESHER,
        renewal_basis="fixed_date",
        renewal_fixed_date="09-01",
        due_days=150,
    )
    created = _draft(client, headers, content)
    assert created.status_code == 201, created.text
    url = f"/competency-models/{created.json()['model']['id']}/versions/1"
    stored = client.get(url, headers=headers).json()["content"]["tiers"][1]
    assert stored["refresher_requirements"][0]["competency"] == "bias"
    assert (stored["renewal_basis"], stored["renewal_fixed_date"], stored["due_days"]) == (
        "fixed_date",
        "09-01",
        150,
    )
    package = client.get(f"{url}/case", headers=headers).json()
    imported = client.post(
        "/competency-models:import-case", params={"key": "case-copy"}, json=package, headers=headers
    )
    assert imported.status_code == 201, imported.text
    copy_url = f"/competency-models/{imported.json()['model']['id']}/versions/1"
    tier = client.get(copy_url, headers=headers).json()["content"]["tiers"][1]
    for settings in (tier, stored):
        settings.pop("title")  # a CASE package carries one language
    assert tier == stored


# --- awards made in bulk, and re-awards after expiry -----------------------------------------


def test_voiding_unrelated_evidence_keeps_a_diploma_awarded_in_bulk(refresher):
    """Bulk awards (LMS batches) do not list their evidence; voiding evidence for a
    competency the tier does not ask must not withdraw them, voiding one it asks must."""
    s = refresher
    now = s["clock"].at
    rows = {}
    for competency, level, form, days in (
        ("ai-policy", "basic", "knowledge_test", 10),
        ("checking-output", "advanced", "practical_assessment", 5),
        ("bias", "expert", "knowledge_test", 20),  # in no tier's full path
    ):
        rows[competency] = Evidence(
            person_id=s["person"].id,
            competency_key=competency,
            level_key=level,
            assessment_form=form,
            source="import",
            occurred_at=now - timedelta(days=days),
            score_scaled=0.9,
        )
        s["db"].add(rows[competency])
    s["db"].flush()
    ctx = service.require_context(s["db"])
    assert bulk.evaluate_everyone(s["db"], ctx=ctx, person_ids=[s["person"].id]).awarded == 1
    # The refresher path names bias, so make the unrelated one a competency of no path.
    unrelated = Evidence(
        person_id=s["person"].id,
        competency_key="ai-policy-old",
        level_key="basic",
        assessment_form="knowledge_test",
        source="import",
        occurred_at=now - timedelta(days=30),
        score_scaled=0.9,
    )
    s["db"].add(unrelated)
    s["db"].flush()

    def void(evidence):
        response = s["client"].post(
            f"/evidence/{evidence.id}/void", json={"reason": "entered twice"}, headers=s["headers"]
        )
        assert response.status_code == 200, response.text

    void(unrelated)
    assert _status(s)["tier"] == "advanced"
    assert [c["state"] for c in _history(s)] == ["active"]
    void(rows["checking-output"])
    assert [c["state"] for c in _history(s)] == ["withdrawn"]


def test_a_fresh_award_after_expiry_is_announced_as_awarded(refresher):
    s = refresher
    _certify(s)
    until = date.fromisoformat(_status(s)["valid_until"])
    _move_to(s, until + timedelta(days=60))  # past the 30 days of grace
    _certify(s)
    history = _history(s)
    assert [c["state"] for c in history] == ["active", "superseded"]
    assert [e["kind"] for e in history[0]["events"]] == ["awarded"]
