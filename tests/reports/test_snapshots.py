"""The reporting rhythm (issue 8 item 4): daily snapshots are immutable and once per day;
schedules publish an immutable edition on their due date and emit `report.published`."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from app.certification.models import PersonStatus
from app.cli import main
from app.core.audit import AuditEvent
from app.core.outbox import OutboxEvent
from app.reports import schedules, snapshots
from app.reports.models import (
    Cadence,
    CoverageSnapshot,
    ReportEdition,
    ReportSchedule,
)
from app.worker import default_jobs
from tests.core.test_cli import fresh_database  # noqa: F401 - the CLI's own database
from tests.factories import auth_headers
from tests.reports.factories import Org, build_org


@pytest.fixture
def org(db, client, app, frozen_clock) -> Org:
    return build_org(db, client, app)


@pytest.fixture
def read(db, app):
    return auth_headers(db, app, "reports:read")


@pytest.fixture
def manage(db, app):
    return auth_headers(db, app, "reports:manage")


def _count(db, table) -> int:
    return db.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


# --- snapshots ------------------------------------------------------------------------------


def test_snapshot_holds_the_coverage_figures(client, db, org, read):
    snapshot, created = snapshots.take(db)
    assert created and snapshot.snapshot_date == date(2026, 6, 1)
    # Hand-computed from the fixture: P1..P6 in scope; P1, P2, P6 compliant; P3, P5 overdue.
    assert (snapshot.people, snapshot.in_scope, snapshot.compliant) == (8, 6, 3)
    assert (snapshot.overdue, snapshot.expired, snapshot.expiring_30) == (2, 1, 1)
    total = client.get("/reports/coverage", headers=read).json()["total"]
    assert snapshot.certified == total["certified"] and snapshot.expiring_90 == total["expiring_90"]
    units = {g["key"]: g for g in snapshot.groups["org_unit"]}
    assert units[org.units["team-a1"].external_id]["compliant"] == 2
    assert {g["key"] for g in snapshot.groups["role"]} == {r.key for r in org.roles.values()}
    assert snapshot.groups["risk_class"], "per risk class too"

    body = client.get("/reports/snapshots", headers=read).json()
    assert [s["snapshot_date"] for s in body["items"]] == ["2026-06-01"]
    assert body["items"][0]["compliant_pct"] == 50.0
    assert body["items"][0]["groups"]["org_unit"]


def test_snapshot_is_once_per_day_and_never_rewritten(client, db, org, read):
    first, created = snapshots.take(db)
    assert created
    before = snapshots.headline(first) | {"groups": first.groups, "id": first.id}
    # The figures change during the day: P4 becomes compliant.
    db.execute(
        sa.update(PersonStatus)
        .where(PersonStatus.person_id == org.people["P4"].id)
        .values(held_tier_key="basic", held_tier_rank=1, valid_until=date(2027, 6, 1))
    )
    db.flush()
    again, created_again = snapshots.take(db)
    assert not created_again and again.id == first.id
    db.expire_all()
    stored = db.execute(sa.select(CoverageSnapshot)).scalars().all()
    assert len(stored) == 1
    assert (
        snapshots.headline(stored[0]) | {"groups": stored[0].groups, "id": stored[0].id} == before
    )
    assert stored[0].compliant == 3, "the second call did not recompute"


def test_snapshot_api_is_read_only(client, db, org, read, manage):
    snapshot, _ = snapshots.take(db)
    admin = auth_headers(db, client.app, "admin")
    for method in ("post", "put", "patch", "delete"):
        for path in ("/reports/snapshots", f"/reports/snapshots/{snapshot.id}"):
            response = client.request(method, path, headers=admin, json={})
            assert response.status_code in (404, 405), (method, path)
    assert _count(db, CoverageSnapshot) == 1


def test_snapshot_of_a_future_day_is_refused(client, db, org):
    from app.core.errors import Unprocessable

    with pytest.raises(Unprocessable):
        snapshots.take(db, on=date(2026, 6, 2))
    assert _count(db, CoverageSnapshot) == 0


def test_worker_job_takes_todays_snapshot_once(client, db, org, frozen_clock):
    job = next(j for j in default_jobs() if j.name == "report-snapshot")
    first = job.run(db)
    second = job.run(db)
    assert first.id == second.id and _count(db, CoverageSnapshot) == 1
    frozen_clock.set(datetime.fromisoformat("2026-06-02T01:00:00+00:00"))
    job.run(db)
    assert _count(db, CoverageSnapshot) == 2


def test_snapshots_filter_by_period(client, db, org, read):
    for day in (date(2026, 4, 30), date(2026, 5, 15), date(2026, 5, 31)):
        snapshots.take(db, on=day)
    body = client.get("/reports/snapshots?from=2026-05-01&to=2026-05-31", headers=read).json()
    assert [s["snapshot_date"] for s in body["items"]] == ["2026-05-15", "2026-05-31"]
    bad = client.get("/reports/snapshots?from=2026-06-01&to=2026-05-01", headers=read)
    assert bad.status_code == 422
    assert (
        client.get(
            "/reports/snapshots", headers=auth_headers(db, client.app, "reports:team")
        ).status_code
        == 403
    )


def _history(db, months: list[tuple[date, int, int]]) -> None:
    for on, in_scope, compliant in months:
        db.add(
            CoverageSnapshot(
                snapshot_date=on,
                people=in_scope,
                in_scope=in_scope,
                certified=compliant,
                compliant=compliant,
                expiring_30=0,
                expiring_90=0,
                expired=0,
                overdue=0,
                groups={},
            )
        )
    db.flush()


def test_trend_takes_the_last_snapshot_of_each_month(client, db, org):
    _history(
        db,
        [
            (date(2025, 6, 30), 10, 1),  # 12 months back: outside the 12-month window
            (date(2025, 7, 31), 10, 2),
            (date(2026, 4, 1), 10, 5),
            (date(2026, 4, 30), 10, 6),
            (date(2026, 5, 31), 10, 7),
        ],
    )
    points = snapshots.trend(db, to_date=date(2026, 6, 1))
    assert [(p.on, p.compliant_pct) for p in points] == [
        (date(2025, 7, 31), 20.0),
        (date(2026, 4, 30), 60.0),
        (date(2026, 5, 31), 70.0),
    ]


# --- schedules and editions --------------------------------------------------------------------


def test_next_and_last_occurrence():
    monday = date(2026, 6, 1)
    assert schedules.next_occurrence(Cadence.weekly, 5, on_or_after=monday) == date(2026, 6, 5)
    assert schedules.next_occurrence(Cadence.weekly, 1, on_or_after=monday) == monday
    assert schedules.next_occurrence(Cadence.monthly, 1, on_or_after=date(2026, 6, 2)) == date(
        2026, 7, 1
    )
    assert schedules.next_occurrence(Cadence.quarterly, 15, on_or_after=monday) == date(2026, 7, 15)
    assert schedules.next_occurrence(Cadence.quarterly, 1, on_or_after=date(2026, 11, 2)) == date(
        2027, 1, 1
    )
    assert schedules.last_occurrence(Cadence.quarterly, 1, on_or_before=monday) == date(2026, 4, 1)
    assert schedules.last_occurrence(Cadence.weekly, 7, on_or_before=monday) == date(2026, 5, 31)


def _create(client, headers, **overrides):
    body = {
        "name": "Board monthly",
        "audience": "board",
        "report": "board",
        "cadence": "monthly",
        "day": 1,
        **overrides,
    }
    return client.post("/reports/schedules", headers=headers, json=body)


def test_schedule_crud_and_scopes(client, db, org, read, manage):
    assert _create(client, read).status_code == 403
    created = _create(client, manage)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["next_due_date"] == "2026-06-01" and schedule["version"] == 1
    assert client.get(f"/reports/schedules/{schedule['id']}", headers=read).status_code == 200
    listed = client.get("/reports/schedules", headers=read).json()["items"]
    assert [s["name"] for s in listed] == ["Board monthly"]
    assert _create(client, manage).status_code == 409, "names are unique"

    changed = client.patch(
        f"/reports/schedules/{schedule['id']}",
        headers=manage,
        json={"cadence": "quarterly", "day": 15},
    )
    assert changed.status_code == 200
    assert changed.json()["next_due_date"] == "2026-07-15" and changed.json()["version"] == 2
    assert (
        client.patch(
            f"/reports/schedules/{schedule['id']}", headers=read, json={"active": False}
        ).status_code
        == 403
    )
    deleted = client.delete(f"/reports/schedules/{schedule['id']}", headers=manage)
    assert deleted.status_code == 204
    assert client.get(f"/reports/schedules/{schedule['id']}", headers=read).status_code == 404


@pytest.mark.parametrize(
    "overrides",
    [
        {"cadence": "weekly", "day": 8},
        {"cadence": "monthly", "day": 31},
        {"report": "works-council", "filters": {"group_by": "role"}},
        {"filters": {"unknown": 1}},
        {"audience": "everyone"},
    ],
)
def test_bad_schedules_are_refused(client, db, org, manage, overrides):
    response = _create(client, manage, **overrides)
    assert response.status_code == 422, response.text
    assert _count(db, ReportSchedule) == 0


def test_schedule_filter_naming_nothing_is_404(client, db, org, manage):
    response = _create(
        client, manage, filters={"org_unit_id": "00000000-0000-0000-0000-000000000001"}
    )
    assert response.status_code == 404


def _events(db) -> list[OutboxEvent]:
    return list(
        db.execute(
            sa.select(OutboxEvent)
            .where(OutboxEvent.event_type == "report.published")
            .order_by(OutboxEvent.seq)
        ).scalars()
    )


def test_due_schedule_publishes_an_immutable_edition_and_an_event(
    client, db, org, read, manage, frozen_clock
):
    board = _create(client, manage).json()
    council = _create(
        client,
        manage,
        name="Works council quarterly",
        audience="works_council",
        report="works-council",
        cadence="quarterly",
        day=1,
    ).json()
    assert council["next_due_date"] == "2026-07-01"

    assert schedules.publish_due(db, min_group_size=5) == 1, "only the board is due today"
    db.commit()
    events = _events(db)
    assert len(events) == 1
    edition_id = events[0].data["edition_id"]
    assert events[0].data["link"] == f"/reports/editions/{edition_id}"
    assert events[0].data["report"] == "board" and events[0].data["as_of_date"] == "2026-06-01"

    edition = client.get(f"/reports/editions/{edition_id}", headers=read).json()
    assert edition["schedule_id"] == board["id"] and edition["as_of_date"] == "2026-06-01"
    assert edition["content"]["compliant"] == 3 and edition["content"]["in_scope"] == 6
    assert edition["content_sha256"] == schedules.content_hash(edition["content"])
    assert edition["link"] == f"/reports/editions/{edition_id}"

    # The same day again: nothing new, nothing rewritten, even though the figures changed.
    db.execute(sa.update(PersonStatus).values(due_date=None))
    assert schedules.publish_due(db, min_group_size=5) == 0
    db.commit()
    again = client.get(f"/reports/editions/{edition_id}", headers=read).json()
    assert again == edition and len(_events(db)) == 1
    stored = client.get(f"/reports/schedules/{board['id']}", headers=read).json()
    assert stored["next_due_date"] == "2026-07-01" and stored["last_published_date"] == "2026-06-01"

    frozen_clock.set(datetime.fromisoformat("2026-07-01T06:00:00+00:00"))
    assert schedules.publish_due(db, min_group_size=5) == 2, "board monthly and council quarterly"
    db.commit()
    read = auth_headers(db, client.app, "reports:read")  # a month on: fresh tokens
    manage = auth_headers(db, client.app, "reports:manage")
    listed = client.get("/reports/editions", headers=read).json()["items"]
    assert sorted((e["report"], e["as_of_date"]) for e in listed) == [
        ("board", "2026-06-01"),
        ("board", "2026-07-01"),
        ("works-council", "2026-07-01"),
    ]
    only_council = client.get(
        f"/reports/editions?schedule_id={council['id']}", headers=read
    ).json()["items"]
    assert [e["report"] for e in only_council] == ["works-council"]
    assert len(_events(db)) == 3
    # A schedule with editions is kept: deactivate it instead.
    assert client.delete(f"/reports/schedules/{board['id']}", headers=manage).status_code == 409


def test_edition_api_is_read_only_and_404s(client, db, org, read, manage):
    _create(client, manage)
    schedules.publish_due(db, min_group_size=5)
    edition = db.execute(sa.select(ReportEdition)).scalar_one()
    for method in ("put", "patch", "delete"):
        response = client.request(
            method, f"/reports/editions/{edition.id}", headers=manage, json={}
        )
        assert response.status_code == 405
    missing = client.get("/reports/editions/00000000-0000-0000-0000-000000000001", headers=read)
    assert missing.status_code == 404


def test_a_schedule_that_cannot_publish_does_not_stop_the_others(client, db, org, read, manage):
    """A schedule whose filter names an org unit that no longer exists fails on its own:
    the other audience gets its edition, the broken one stays due and is tried again."""
    board = _create(client, manage).json()
    team = _create(
        client,
        manage,
        name="Team A monthly",
        audience="line_management",
        report="coverage",
        filters={"org_unit_id": str(org.units["dir-a"].id)},
    ).json()
    gone = "00000000-0000-0000-0000-00000000dead"
    db.execute(
        sa.update(ReportSchedule)
        .where(ReportSchedule.id == uuid.UUID(team["id"]))
        .values(filters={"org_unit_id": gone})
    )
    # The board's edition is due first (a day overdue), so it is published before the
    # broken schedule's savepoint fails in the same transaction.
    db.execute(
        sa.update(ReportSchedule)
        .where(ReportSchedule.id == uuid.UUID(board["id"]))
        .values(next_due_date=date(2026, 5, 31))
    )
    assert schedules.publish_due(db, min_group_size=5) == 1
    db.commit()
    [edition] = db.execute(sa.select(ReportEdition)).scalars().all()
    assert str(edition.schedule_id) == board["id"]
    # Its webhook event is kept: the failing savepoint takes back only what it queued.
    published = (
        db.execute(sa.select(OutboxEvent.data).where(OutboxEvent.event_type == "report.published"))
        .scalars()
        .all()
    )
    assert [event["edition_id"] for event in published] == [str(edition.id)]
    # And so is its audit entry.
    audited = (
        db.execute(
            sa.select(AuditEvent.entity_id).where(
                AuditEvent.entity_type == "report_edition", AuditEvent.action == "publish"
            )
        )
        .scalars()
        .all()
    )
    assert audited == [str(edition.id)]
    broken = client.get(f"/reports/schedules/{team['id']}", headers=read).json()
    assert broken["next_due_date"] == "2026-06-01" and broken["last_published_date"] is None


def test_a_reactivated_schedule_is_due_from_today_not_for_what_it_missed(
    client, db, org, manage, frozen_clock
):
    board = _create(client, manage).json()
    off = client.patch(f"/reports/schedules/{board['id']}", headers=manage, json={"active": False})
    assert off.status_code == 200, off.text
    frozen_clock.set(datetime.fromisoformat("2026-09-15T08:00:00+00:00"))
    manage = auth_headers(db, client.app, "reports:manage")
    on = client.patch(f"/reports/schedules/{board['id']}", headers=manage, json={"active": True})
    assert on.status_code == 200 and on.json()["next_due_date"] == "2026-10-01"
    assert schedules.publish_due(db, min_group_size=5) == 0


def test_worker_publishes_due_editions(client, db, org, manage):
    _create(client, manage)
    job = next(j for j in default_jobs() if j.name == "report-schedules-publish")
    assert job.run(db) == 1 and job.run(db) == 0


def test_board_report_json_has_a_trend_via_the_snapshot_wrapper(client, db, org):
    _history(db, [(date(2026, 5, 31), 10, 7)])
    from app.reports.schemas import OversightSummary
    from app.reports.scope import ReportFilters

    oversight = OversightSummary(
        high_risk_systems=0,
        systems_without_overseers=0,
        overseers=0,
        overseers_qualified=0,
        systems_without_informed_workers=0,
    )
    report = snapshots.board(db, filters=ReportFilters(), oversight=oversight)
    assert [p.on for p in report.trend] == [date(2026, 5, 31)]
    narrowed = snapshots.board(
        db, filters=ReportFilters(org_unit_id=org.units["dir-a"].id), oversight=oversight
    )
    assert narrowed.trend == [], "snapshots are organisation-wide"


def test_cli_snapshot_once_per_day(fresh_database, capsys):  # noqa: F811
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["snapshot", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["created"] is True and first["in_scope"] == 0
    assert main(["snapshot", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["created"] is False and second["snapshot_date"] == first["snapshot_date"]
    assert main(["snapshot", "--as-of", "2999-01-01"]) == 2
