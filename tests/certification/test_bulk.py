"""The set-based evaluation agrees with the pure rules and with the one-person evaluation."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from app.certification import bulk, rules, service
from app.certification.models import Certification, PersonStatus
from app.evidence.models import Evidence
from tests.certification.factories import make_person, make_role, model_content, publish_model
from tests.factories import auth_headers

COMPETENCIES = ["ai-policy", "checking-output", "bias"]
LEVELS = ["basic", "advanced", "expert"]
FORMS = ["knowledge_test", "practical_assessment", "portfolio", "interview", "course_completion"]

evidence_strategy = st.lists(
    st.tuples(
        st.integers(0, 4),  # person
        st.sampled_from(COMPETENCIES),
        st.sampled_from(LEVELS),
        st.sampled_from(FORMS),
        st.integers(-5, 900),  # days ago (negative: in the future)
        st.booleans(),  # passed
        st.one_of(st.none(), st.floats(0, 1)),  # scaled score
        st.booleans(),  # voided
    ),
    max_size=30,
)


def _store_evidence(db, ctx, people, evidence, now) -> dict[uuid.UUID, list[rules.Evidence]]:
    """The generated evidence as rows for the SQL, and as the pure rules' input per person."""
    by_person: dict[uuid.UUID, list[rules.Evidence]] = {p.id: [] for p in people}
    for index, competency, level, form, days, passed, score, voided in evidence:
        person = people[index]
        at = now - timedelta(days=days)
        db.add(
            Evidence(
                person_id=person.id,
                competency_key=competency,
                level_key=level,
                assessment_form=form,
                source="import",
                occurred_at=at,
                passed=passed,
                score_scaled=score,
                voided_at=now if voided else None,
            )
        )
        by_person[person.id].append(
            rules.Evidence(competency, ctx.level_rank[level], form, at, passed, score, voided)
        )
    db.flush()
    return by_person


@pytest.fixture
def model(client, db, app, frozen_clock):
    headers = auth_headers(db, app, "admin")
    role = make_role(db)
    publish_model(client, headers, role.key)
    people = [make_person(db, role=role, start=date(2026, 1, 1)) for _ in range(5)]
    return service.require_context(db), people


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(evidence=evidence_strategy)
def test_sql_tier_completion_agrees_with_the_pure_rules(db, model, evidence):
    ctx, people = model
    now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    savepoint = db.begin_nested()
    try:
        by_person = _store_evidence(db, ctx, people, evidence, now)
        completions, _progress = bulk.tier_completions(
            db, ctx=ctx, now=now, person_ids=[p.id for p in people]
        )
        for person in people:
            for tier in ctx.tiers:
                expected = rules.evaluate_tier(
                    ctx.tier_requirements[tier.key],
                    by_person[person.id],
                    now=now,
                    validity_months=tier.validity_months or 24,
                )
                got = completions.get(person.id, {}).get(tier.key)
                assert (got.met if got else False) == expected.met, (person.id, tier.key)
                if expected.met:
                    assert got.completed_at == expected.completed_at
                    assert got.earliest_at == expected.earliest_at
    finally:
        savepoint.rollback()


@pytest.fixture
def refresher_model(client, db, app, frozen_clock):
    """Advanced has a refresher path (bias, and checking output at the advanced level), and
    every person holds an advanced diploma whose window opened 0-89 days ago."""
    headers = auth_headers(db, app, "admin")
    role = make_role(db)
    content = model_content(role.key)
    content["tiers"][1]["refresher_requirements"] = [
        {
            "competency": "bias",
            "min_level": "basic",
            "accepted_forms": ["knowledge_test"],
            "min_score": 50,
        },
        {
            "competency": "checking-output",
            "min_level": "advanced",
            "accepted_forms": ["practical_assessment", "portfolio"],
        },
    ]
    publish_model(client, headers, role.key, content=content)
    ctx = service.require_context(db)
    people = [make_person(db, role=role, start=date(2026, 1, 1)) for _ in range(5)]
    return ctx, people


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    evidence=st.lists(  # the refresher's competencies, mostly recent, so windows are met often
        st.tuples(
            st.integers(0, 1),  # two people with evidence, three without
            st.sampled_from(["bias", "checking-output"]),
            st.sampled_from(LEVELS),
            st.sampled_from(["knowledge_test", "practical_assessment"]),
            st.integers(-5, 120),
            st.sampled_from([True, True, True, False]),  # passed
            st.one_of(st.floats(0, 1), st.none()),
            st.sampled_from([False, False, False, True]),  # voided
        ),
        max_size=30,
    ),
    opened=st.lists(st.integers(0, 89), min_size=5, max_size=5),
)
# The boundaries random lists seldom reach: both requirements met with the refresher test on
# the day the window opens (counts), and the same a day earlier (does not).
@example(
    evidence=[
        (0, "bias", "basic", "knowledge_test", 10, True, 0.9, False),
        (0, "checking-output", "advanced", "practical_assessment", 1, True, None, False),
        (1, "bias", "expert", "knowledge_test", 11, True, 0.5, False),
        (1, "checking-output", "expert", "practical_assessment", 2, True, None, False),
        (1, "bias", "basic", "knowledge_test", 3, True, 0.4, False),  # score too low
        (1, "bias", "basic", "knowledge_test", 4, True, 0.8, True),  # voided
    ],
    opened=[10, 10, 0, 0, 0],
)
def test_sql_refresher_completion_agrees_with_the_pure_rules(db, refresher_model, evidence, opened):
    ctx, people = refresher_model
    now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    savepoint = db.begin_nested()
    try:
        window_of: dict[uuid.UUID, date] = {}
        for person, days in zip(people, opened, strict=True):
            window_of[person.id] = now.date() - timedelta(days=days)
            until = window_of[person.id] + timedelta(days=90)
            db.add(
                Certification(
                    person_id=person.id,
                    tier_key="advanced",
                    tier_rank=2,
                    model_version_id=ctx.version.id,
                    awarded_at=now - timedelta(days=600),
                    completed_on=until - timedelta(days=730),
                    valid_from=until - timedelta(days=730),
                    valid_until=until,
                    window_opens_on=window_of[person.id],
                    grace_until=until + timedelta(days=30),
                )
            )
        by_person = _store_evidence(db, ctx, people, evidence, now)
        completed = bulk.refresher_completions(
            db, ctx=ctx, now=now, person_ids=[p.id for p in people]
        )
        for person in people:
            expected = rules.evaluate_in_window(
                ctx.refresher_requirements["advanced"],
                by_person[person.id],
                now=now,
                window_opens_on=window_of[person.id],
                validity_months=24,
            )
            got = completed.get(person.id, {}).get(("advanced", window_of[person.id]))
            assert got == expected.completed_at, person.id
    finally:
        savepoint.rollback()


def test_bulk_evaluation_matches_one_by_one(client, db, app, frozen_clock):
    """Two identical groups: one evaluated in bulk, one person by person; same outcome."""
    headers = auth_headers(db, app, "admin")
    role = make_role(db)
    publish_model(client, headers, role.key)
    ctx = service.require_context(db)
    now = frozen_clock.at
    plan = [  # per person: evidence (competency, level, form, days ago, score)
        [("ai-policy", "basic", "knowledge_test", 10, 0.9)],
        [
            ("ai-policy", "basic", "knowledge_test", 10, 0.9),
            ("checking-output", "advanced", "portfolio", 3, None),
        ],
        [("ai-policy", "basic", "knowledge_test", 10, 0.5)],
        [],
        [
            ("checking-output", "expert", "interview", 40, None),
            ("ai-policy", "advanced", "knowledge_test", 800, 0.9),
        ],
        [
            ("ai-policy", "expert", "knowledge_test", 1, 1.0),
            ("checking-output", "advanced", "practical_assessment", 2, None),
        ],
    ]
    groups = []
    for _ in range(2):
        people = [make_person(db, role=role, start=date(2026, 1, 1)) for _ in plan]
        for person, items in zip(people, plan, strict=True):
            for competency, level, form, days, score in items:
                db.add(
                    Evidence(
                        person_id=person.id,
                        competency_key=competency,
                        level_key=level,
                        assessment_form=form,
                        source="import",
                        occurred_at=now - timedelta(days=days),
                        score_scaled=score,
                    )
                )
        groups.append(people)
    db.flush()
    in_bulk, one_by_one = groups
    result = bulk.evaluate_everyone(db, ctx=ctx, person_ids=[p.id for p in in_bulk])
    assert (result.evaluated, result.awarded, result.changed) == (6, 3, 6)
    for person in one_by_one:
        service.evaluate_person(db, person=person, ctx=ctx)
    db.flush()
    db.expire_all()

    def outcome(person):
        status = service.derive(db.get(PersonStatus, person.id), now.date())
        tiers = sorted(
            (c.tier_key, sorted(behind(c)))
            for c in db.exec(select(Certification).where(Certification.person_id == person.id))
        )
        return status, tiers

    def behind(certification):
        """The evidence a diploma records it rests on, comparable across the two groups."""
        records = [db.get(Evidence, uuid.UUID(i)) for i in certification.evidence_ids]
        return [(e.competency_key, e.level_key, e.assessment_form, e.occurred_at) for e in records]

    for a, b in zip(in_bulk, one_by_one, strict=True):
        assert outcome(a) == outcome(b)
    awarded = [outcome(p)[1] for p in in_bulk]
    assert [len(evidence) for tiers in awarded for _, evidence in tiers] == [1, 2, 2]
    again = bulk.evaluate_everyone(db, ctx=ctx, person_ids=[p.id for p in in_bulk])
    assert (again.changed, again.awarded, again.renewed) == (0, 0, 0), "a re-run changes nothing"


def test_an_inactive_role_asks_nothing_on_either_path(client, db, app, frozen_clock):
    """A retired role (inactive) no longer requires its tier: one-by-one evaluation agrees
    with the set-based one, so a person's required tier does not flip with the path."""
    headers = auth_headers(db, app, "admin")
    role = make_role(db)
    publish_model(client, headers, role.key)
    one, other = (make_person(db, role=role, start=date(2026, 1, 1)) for _ in range(2))
    role.active = False
    db.add(role)
    db.flush()
    ctx = service.require_context(db)
    service.evaluate_person(db, person=one, ctx=ctx)
    bulk.evaluate_everyone(db, ctx=ctx, person_ids=[other.id])
    db.flush()
    db.expire_all()
    for person in (one, other):
        status = db.get(PersonStatus, person.id)
        assert status.required_tier_key is None and status.due_date is None
