"""Manager isolation (a manager never sees outside their tree, by any filter or id) and works
council suppression, including the subtraction case."""

from __future__ import annotations

import uuid

import pytest

from app.reports.service import suppress
from tests.factories import auth_headers
from tests.reports.factories import Org, build_org, make_person, make_unit, set_status

OUTSIDER = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def org(db, client, app, frozen_clock) -> Org:
    return build_org(db, client, app)


def _manager(db, app, person):
    return auth_headers(db, app, "reports:team", person_id=person.id)


def _numbers(body):
    return sorted(p["employee_number"] for p in body["people"])


def test_team_shows_the_whole_tree_with_status_and_gaps(client, db, app, org):
    p = org.people
    body = client.get("/reports/team", headers=_manager(db, app, p["M"])).json()
    assert _numbers(body) == sorted(p[k].employee_number for k in ("P1", "P2", "P3", "P4"))
    members = {m["employee_number"]: m for m in body["people"]}
    p3 = members[p["P3"].employee_number]
    assert (p3["status"], p3["compliant"], p3["overdue"]) == ("certified", False, True)
    assert p3["missing"] == ["checking-output"]
    assert members[p["P4"].employee_number]["missing"] == ["ai-policy"]
    assert members[p["P4"].employee_number]["status"] == "not_started"
    summary = body["summary"]
    assert (summary["in_scope"], summary["compliant"], summary["overdue"]) == (4, 2, 1)
    csv_text = client.get(
        "/reports/team", headers={**_manager(db, app, p["M"]), "Accept": "text/csv"}
    ).text
    assert "checking-output" in csv_text


def test_manager_cannot_see_outside_their_tree(client, db, app, org):
    p, headers = org.people, _manager(db, app, org.people["M"])
    # Filters narrow inside the tree, never widen it.
    outside_unit = client.get(
        f"/reports/team?org_unit_id={org.units['dir-b'].id}", headers=headers
    ).json()
    assert outside_unit["people"] == [] and outside_unit["summary"]["people"] == 0
    root = client.get(f"/reports/team?org_unit_id={org.units['gem'].id}", headers=headers).json()
    assert len(root["people"]) == 4
    admin_role = client.get(
        f"/reports/team?role_id={org.roles['admin'].id}", headers=headers
    ).json()
    assert _numbers(admin_role) == [p["P4"].employee_number]  # not P5 or P6
    north = client.get(
        f"/reports/team?location_id={org.locations['north'].id}", headers=headers
    ).json()
    assert _numbers(north) == sorted([p["P1"].employee_number, p["P3"].employee_number])
    # A sub-manager inside the tree narrows to their part of it.
    sub = client.get(f"/reports/team?manager={p['P1'].id}", headers=headers).json()
    assert _numbers(sub) == [p["P3"].employee_number]
    # Ids outside the tree are 404, like ids that do not exist: existence does not leak.
    for manager in (p["P5"].id, p["P6"].id, OUTSIDER):
        response = client.get(f"/reports/team?manager={manager}", headers=headers)
        assert response.status_code == 404, manager
        assert response.headers["content-type"] == "application/problem+json"
    # The sub-manager cannot climb up to their own manager.
    up = client.get(f"/reports/team?manager={p['M'].id}", headers=_manager(db, app, p["P1"]))
    assert up.status_code == 404
    # The organisation-wide reports are not open to a manager's client.
    assert client.get("/reports/coverage", headers=headers).status_code == 403
    assert client.get(f"/reports/team/{p['M'].id}", headers=headers).status_code == 403


def test_team_needs_a_person_link(client, db, app, org):
    response = client.get("/reports/team", headers=auth_headers(db, app, "reports:team"))
    assert response.status_code == 403


def test_org_wide_team_report_by_manager(client, db, app, org):
    headers = auth_headers(db, app, "reports:read")
    body = client.get(f"/reports/team/{org.people['P1'].id}", headers=headers).json()
    assert _numbers(body) == [org.people["P3"].employee_number]
    assert client.get(f"/reports/team/{OUTSIDER}", headers=headers).status_code == 404


# --- works council ----------------------------------------------------------------------------


def _rows(**sizes):
    return [{"key": key, "people": n} for key, n in sizes.items()]


def test_suppress_one_small_group_hides_the_next_smallest_too():
    rows = _rows(a=10, b=7, c=2)
    suppress(rows, total_people=19, k=5)
    assert {r["key"]: r.get("suppression") for r in rows} == {
        "a": None,
        "b": "complementary",
        "c": "small-group",
    }


def test_suppress_small_groups_adding_up_to_less_than_k_hide_more():
    rows = _rows(a=10, b=8, c=1, d=2)
    suppress(rows, total_people=21, k=5)
    assert {r["key"]: r.get("suppression") for r in rows} == {
        "a": None,
        "b": "complementary",
        "c": "small-group",
        "d": "small-group",
    }


def test_suppress_small_groups_adding_up_to_k_need_nothing_more():
    rows = _rows(a=10, c=2, d=3)
    suppress(rows, total_people=15, k=5)
    assert [r.get("suppression") for r in rows] == [None, "small-group", "small-group"]


def test_suppress_nothing_small_nothing_hidden():
    rows = _rows(a=10, b=5)
    suppress(rows, total_people=15, k=5)
    assert [r.get("suppression") for r in rows] == [None, None]


def test_works_council_subtraction_case(client, db, app, frozen_clock):
    """Units of 10, 7 and 2 people: the 2 are hidden, and so are the 7, or total - 10 - 7 = 2."""
    root = make_unit(db, "root")
    units = {name: make_unit(db, name, root) for name in ("big", "mid", "small")}
    for name, size in (("big", 10), ("mid", 7), ("small", 2)):
        for i in range(size):
            person = make_person(db, f"{name}{i}", unit=units[name])
            set_status(db, person, required="basic", due_date=None)
    headers = auth_headers(db, app, "reports:aggregate")
    body = client.get(f"/reports/works-council?org_unit_id={root.id}", headers=headers).json()
    assert body["min_group_size"] == 5
    groups = {g["name"]: g for g in body["groups"]}
    assert groups["big"]["suppressed"] is False and groups["big"]["people"] == 10
    for name, reason in (("mid", "complementary"), ("small", "small-group")):
        assert groups[name]["suppressed"] is True and groups[name]["suppression"] == reason
        assert all(
            groups[name][f] is None
            for f in ("people", "in_scope", "certified", "compliant", "compliant_pct", "overdue")
        )
    assert body["total"]["people"] == 19
    # No hidden group can be recomputed: total minus the visible rows is the sum of two groups.
    visible = sum(g["people"] for g in body["groups"] if not g["suppressed"])
    assert body["total"]["people"] - visible == 9
    csv_text = client.get(
        f"/reports/works-council?org_unit_id={root.id}",
        headers={**headers, "Accept": "text/csv"},
    ).text
    assert "complementary" in csv_text and ",7," not in csv_text and ",2," not in csv_text
    # A population below the minimum hides everything, the total too.
    small = client.get(
        f"/reports/works-council?org_unit_id={units['small'].id}", headers=headers
    ).json()
    assert small["total"]["suppressed"] is True and small["total"]["people"] is None
    # The works council gets aggregates only: no people lists.
    assert client.get("/reports/coverage", headers=headers).status_code == 403
    assert client.get("/reports/team/" + str(uuid.uuid4()), headers=headers).status_code == 403
