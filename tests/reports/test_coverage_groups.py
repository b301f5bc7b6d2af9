"""Coverage grouped through role assignments: each person counted once per group and once in
the total, and a role or job family filter narrowing the groups shown (fixture: factories.py).
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from app.certification.models import PersonStatus
from app.certification.service import derive
from app.org.models import Person, PersonRole, Role
from app.reports.scope import MEASURES
from tests.factories import auth_headers
from tests.reports.factories import TODAY, Org, build_org, by_key, make_person

FIG = ("people", "in_scope", "certified", "compliant", "compliant_pct")


@pytest.fixture
def org(db, client, app, frozen_clock) -> Org:
    return build_org(db, client, app)


@pytest.fixture
def read(db, app):
    return auth_headers(db, app, "reports:read")


def _figures(group):
    return tuple(group[name] for name in FIG)


def test_a_person_with_two_roles_in_a_family_counts_once(client, db, org, read):
    # P1 also holds a second role of family x (current), and an ended role of family y.
    extra = Role(
        key=f"lead-{uuid.uuid4().hex[:6]}", name="Lead", job_family_id=org.families["x"].id
    )
    db.add(extra)
    db.flush()
    p1 = org.people["P1"]
    db.add(PersonRole(person_id=p1.id, role_id=extra.id, start_date=date(2025, 1, 1)))
    db.add(
        PersonRole(
            person_id=p1.id,
            role_id=org.roles["admin"].id,
            start_date=date(2024, 1, 1),
            end_date=date(2025, 1, 1),
        )
    )
    db.flush()
    body = client.get("/reports/coverage?group_by=job_family", headers=read).json()
    families = by_key(body["groups"])
    assert _figures(families[org.families["x"].key]) == (3, 3, 3, 2, 66.7)
    assert _figures(families[org.families["y"].key]) == (3, 3, 1, 1, 33.3)
    assert _figures(body["total"]) == (8, 6, 4, 3, 50.0)
    roles = by_key(client.get("/reports/coverage?group_by=role", headers=read).json()["groups"])
    assert _figures(roles[extra.key]) == (1, 1, 1, 1, 100.0)
    assert _figures(roles[org.roles["admin"].key]) == (3, 3, 1, 1, 33.3)  # ended role not counted


@pytest.mark.parametrize("group_by", ["role", "job_family", "risk_class"])
def test_role_filter_with_a_role_grouping(client, org, read, group_by):
    role = org.roles["case"].id
    response = client.get(f"/reports/coverage?group_by={group_by}&role_id={role}", headers=read)
    assert response.status_code == 200
    body = response.json()
    assert [_figures(g) for g in body["groups"]] == [(3, 3, 3, 2, 66.7)]
    assert _figures(body["total"]) == (3, 3, 3, 2, 66.7)


def test_job_family_filter_shows_only_that_familys_groups(client, org, read):
    family = org.families["y"].id
    body = client.get(
        f"/reports/coverage?group_by=role&job_family_id={family}", headers=read
    ).json()
    assert [g["key"] for g in body["groups"]] == [org.roles["admin"].key]
    body = client.get(
        f"/reports/coverage?group_by=job_family&job_family_id={family}", headers=read
    ).json()
    assert [g["key"] for g in body["groups"]] == [org.families["y"].key]
    assert body["groups"][0]["top_missing"] == [{"competency": "ai-policy", "people": 2}]


def test_two_roles_in_a_family_count_once_under_filters(client, db, org, read):
    # P1 (north, team-a1) also holds a second current role of family x.
    extra = Role(
        key=f"lead-{uuid.uuid4().hex[:6]}", name="Lead", job_family_id=org.families["x"].id
    )
    db.add(extra)
    db.flush()
    db.add(PersonRole(person_id=org.people["P1"].id, role_id=extra.id, start_date=date(2026, 1, 1)))
    db.flush()
    family_x = org.families["x"].key
    for query, people, minimal in (
        (f"location_id={org.locations['north'].id}", 2, 3),  # family x: P1 once, P3; and P5
        (f"job_family_id={org.families['x'].id}&org_unit_id={org.units['team-a1'].id}", 2, 2),
    ):
        families = client.get(f"/reports/coverage?group_by=job_family&{query}", headers=read)
        roles = client.get(f"/reports/coverage?group_by=role&{query}", headers=read)
        classes = client.get(f"/reports/coverage?group_by=risk_class&{query}", headers=read)
        by_family, by_role = by_key(families.json()["groups"]), by_key(roles.json()["groups"])
        # Every person of family x holds case: the family's figures are case's, P1 once.
        assert by_family[family_x]["people"] == people
        assert _figures(by_family[family_x]) == _figures(by_role[org.roles["case"].key])
        assert by_role[extra.key]["people"] == 1
        assert by_family[family_x]["top_missing"] == by_role[org.roles["case"].key]["top_missing"]
        # The register names no role: all are minimal, P1 counts once there too.
        assert [(g["key"], g["people"]) for g in classes.json()["groups"]] == [("minimal", minimal)]


def _expected(people, statuses, roles_of, group_of, as_of):
    """The coverage figures per group and in total, person by person with service.derive()
    (the Python rules), for checking the report's SQL against."""
    groups: dict[Any, dict[str, int]] = {}
    total = dict.fromkeys(MEASURES, 0)
    for person in people:
        status = statuses.get(person.id)
        derived = derive(status, as_of) if status else None
        scoped = bool(status and status.required_tier_key)
        valid = bool(derived and derived["status"] in ("certified", "expiring"))
        flags = {
            "people": 1,
            "in_scope": scoped,
            "certified": scoped and valid,
            "compliant": scoped and derived["compliant"],
            **{
                f"expiring_{days}": scoped
                and valid
                and status.valid_until <= as_of + timedelta(days=days)
                for days in (30, 60, 90)
            },
            "expired": scoped and derived["status"] == "expired",
            "overdue": scoped and derived["overdue"],
        }
        for key in group_of(person, roles_of(person, as_of)):
            figures = groups.setdefault(key, dict.fromkeys(MEASURES, 0))
            for name in MEASURES:
                figures[name] += int(flags[name])
        for name in MEASURES:
            total[name] += int(flags[name])
    return groups, total


def test_every_grouping_agrees_with_the_rules_person_by_person(client, db, org, read):
    """Statuses on and beside every day the rules compare with (expiry horizons, grace, due
    date), people with one, two or no roles, a role ended before an as-of date: each
    grouping's figures must be what derive() says of each person, on several dates."""
    rng = random.Random(5)
    extra = Role(
        key=f"lead-{uuid.uuid4().hex[:6]}", name="Lead", job_family_id=org.families["x"].id
    )
    db.add(extra)
    db.flush()
    roles = [org.roles["case"], org.roles["admin"], extra]
    units = [org.units["team-a1"], org.units["team-a2"], org.units["dir-b"]]
    places = list(org.locations.values())
    days = [0, -1, 1, 29, 30, 31, 59, 60, 61, 89, 90, 91, 200, -40]
    for number in range(60):
        person = make_person(db, f"X{number}", unit=rng.choice(units), location=rng.choice(places))
        for role in rng.sample(roles, rng.choice([0, 1, 1, 2])):
            ended = rng.random() < 0.2
            db.add(
                PersonRole(
                    person_id=person.id,
                    role_id=role.id,
                    start_date=date(2025, 1, 1),
                    end_date=date(2026, 7, 1) if ended else None,
                )
            )
        if number % 7 == 0:
            continue  # no status row
        required = rng.choice([None, "basic", "advanced"])
        until = None if number % 5 == 0 else TODAY + timedelta(days=rng.choice(days))
        db.add(
            PersonStatus(
                person_id=person.id,
                required_tier_key=required,
                required_tier_rank={"basic": 1, "advanced": 2}.get(required),
                held_tier_key="basic" if until else None,
                held_tier_rank=rng.choice([1, 2]) if until else None,
                valid_until=until,
                window_opens_on=until - timedelta(days=90) if until else None,
                grace_until=until + timedelta(days=rng.choice([0, 1, 30])) if until else None,
                due_date=TODAY + timedelta(days=rng.choice([-1, 0, 1, 45])),
                suspended=number % 11 == 0,
                extras_met=number % 13 != 0,
                any_progress=until is not None,
            )
        )
    db.flush()

    people = db.exec(select(Person).where(Person.active == True)).all()  # noqa: E712
    statuses = {s.person_id: s for s in db.exec(select(PersonStatus)).all()}
    assignments = db.exec(select(PersonRole)).all()
    role_by_id = {role.id: role for role in db.exec(select(Role)).all()}

    def roles_of(person, as_of):
        return [
            role_by_id[a.role_id]
            for a in assignments
            if a.person_id == person.id
            and (a.start_date is None or a.start_date <= as_of)
            and (a.end_date is None or a.end_date >= as_of)
        ]

    group_of = {
        "org_unit": lambda person, _roles: [person.org_unit_id],
        "location": lambda person, _roles: [person.location_id],
        "role": lambda _person, held: [role.key for role in held],
        "job_family": lambda _person, held: {role.job_family_id for role in held},
        "risk_class": lambda _person, held: {"minimal"} if held else set(),
    }
    unit_keys = {unit.id: unit.external_id for unit in org.units.values()}
    place_keys = {place.id: place.external_id for place in org.locations.values()}
    family_keys = {family.id: family.key for family in org.families.values()}
    renamed = {"org_unit": unit_keys, "location": place_keys, "job_family": family_keys}
    for as_of in (TODAY, TODAY + timedelta(days=31), TODAY + timedelta(days=61)):
        for group_by, members in group_of.items():
            expected, total = _expected(people, statuses, roles_of, members, as_of)
            names = renamed.get(group_by, {})
            expected = {names.get(key, key): figures for key, figures in expected.items()}
            body = client.get(
                f"/reports/coverage?group_by={group_by}&as_of={as_of}", headers=read
            ).json()
            got = {g["key"]: {name: g[name] for name in MEASURES} for g in body["groups"]}
            assert got == expected, (group_by, as_of)
            assert {name: body["total"][name] for name in MEASURES} == total, (group_by, as_of)
