"""Coverage grouped through role assignments: each person counted once per group and once in
the total, and a role or job family filter narrowing the groups shown (fixture: factories.py).
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from app.org.models import PersonRole, Role
from tests.factories import auth_headers
from tests.reports.factories import Org, build_org, by_key

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
