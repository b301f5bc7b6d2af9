"""Background evaluation: jobs with progress, catching up with role changes and model
publications, and the once-only expiry events (issue 5, item 4)."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from app.certification import jobs
from app.core import clock
from app.core.outbox import OutboxEvent
from app.org.models import PersonRole
from tests.certification.factories import evidence_body, make_person, make_role, publish_model
from tests.factories import auth_headers


def _setup(client, db, app):
    headers = auth_headers(db, app, "admin")
    role = make_role(db)
    created = publish_model(client, headers, role.key)
    return headers, role, created


def test_evaluation_job_reports_progress_until_completed(client, db, app, frozen_clock):
    headers, role, _ = _setup(client, db, app)
    people = [make_person(db, role=role) for _ in range(3)]
    started = client.post(
        "/evaluations", json={"reason": "test run", "scope": {"role": role.key}}, headers=headers
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    assert started.json()["total"] == 3 and started.headers["location"] == f"/evaluations/{job_id}"
    while jobs.work_on_next_job(db) is not None:
        db.flush()
        if client.get(f"/evaluations/{job_id}", headers=headers).json()["state"] == "completed":
            break
    done = client.get(f"/evaluations/{job_id}", headers=headers).json()
    assert (done["state"], done["processed"], done["changed"]) == ("completed", 3, 3)
    for person in people:
        status = client.get(f"/people/{person.id}/certification", headers=headers).json()
        assert status["required_tier"] == "advanced"
    unknown = client.post(
        "/evaluations", json={"reason": "x" * 3, "scope": {"role": "nope"}}, headers=headers
    )
    assert unknown.status_code == 404


def test_role_change_is_picked_up_by_reconcile(client, db, app, frozen_clock):
    headers, role, _ = _setup(client, db, app)
    person = make_person(db)
    jobs.reconcile(db)
    db.flush()
    status = client.get(f"/people/{person.id}/certification", headers=headers).json()
    assert status["required_tier"] is None
    frozen_clock.set(frozen_clock.at + timedelta(minutes=5))
    db.add(PersonRole(person_id=person.id, role_id=role.id, start_date=date(2026, 5, 20)))
    person.updated_at = clock.now()
    db.add(person)
    db.flush()
    result = jobs.reconcile(db)
    db.flush()
    assert result["evaluated"] >= 1
    status = client.get(f"/people/{person.id}/certification", headers=headers).json()
    assert status["required_tier"] == "advanced"
    assert status["due_date"] == str(date(2026, 5, 20) + timedelta(days=183))
    assert jobs.reconcile(db)["evaluated"] == 0, "nothing changed since"


def test_publishing_a_new_model_version_queues_a_job_for_everyone(client, db, app, frozen_clock):
    headers, role, created = _setup(client, db, app)
    make_person(db, role=role)
    jobs.reconcile(db)
    while jobs.work_on_next_job(db) is not None:
        db.flush()
    model_id = created["model"]["id"]
    copy = client.post(f"/competency-models/{model_id}/versions/1/copy", headers=headers)
    assert copy.status_code in (200, 201), copy.text
    published = client.post(f"/competency-models/{model_id}/versions/2/publish", headers=headers)
    assert published.status_code == 200, published.text
    assert jobs.reconcile(db)["queued"] == 1
    assert jobs.reconcile(db)["queued"] == 0, "one job at a time"
    while (job := jobs.work_on_next_job(db)) is not None and job.state != "completed":
        db.flush()
    db.flush()
    version_2 = published.json()["version"]["id"]
    statuses = client.post(
        "/certifications:lookup",
        json={
            "keys": [
                str(p)
                for p in db.scalars(
                    sa.select(PersonRole.person_id).where(PersonRole.role_id == role.id)
                )
            ]
        },
        headers=headers,
    ).json()["items"]
    assert statuses and all(s["model_version_id"] == version_2 for s in statuses)


def test_expiry_events_are_emitted_once(client, db, app, frozen_clock):
    headers, role, _ = _setup(client, db, app)
    person = make_person(db, role=role)
    assessor = make_person(db)
    now = frozen_clock.at
    for body in (
        evidence_body(
            person,
            "ai-policy",
            level="basic",
            form="knowledge_test",
            at=now - timedelta(days=1),
            score_scaled=0.9,
        ),
        evidence_body(
            person,
            "checking-output",
            level="advanced",
            form="portfolio",
            at=now - timedelta(days=1),
            assessor=assessor,
        ),
    ):
        assert client.post("/evidence", json=body, headers=headers).status_code == 201
    status = client.get(f"/people/{person.id}/certification", headers=headers).json()
    valid_until = date.fromisoformat(status["valid_until"])

    def events(kind):
        return db.scalars(
            sa.select(OutboxEvent).where(
                OutboxEvent.event_type == f"certification.{kind}",
                OutboxEvent.ordering_key == str(person.id),
            )
        ).all()

    frozen_clock.set(frozen_clock.at + timedelta(days=(valid_until - now.date()).days - 10))
    jobs.emit_expiry_events(db)
    jobs.emit_expiry_events(db)
    db.commit()
    assert len(events("expiring")) == 2  # basic and advanced each once
    frozen_clock.set(frozen_clock.at + timedelta(days=60))
    jobs.emit_expiry_events(db)
    db.commit()
    assert len(events("expired")) == 2
    assert len(events("expiring")) == 2
