"""Liveness, readiness and metrics."""

from __future__ import annotations

from tests.factories import auth_headers


def test_healthz_and_readyz(client, app):
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["schema_revision"] == app.state.head_revision


def test_readyz_is_503_when_schema_is_behind(client, app):
    real = app.state.head_revision
    app.state.head_revision = "some-future-revision"
    try:
        response = client.get("/readyz")
    finally:
        app.state.head_revision = real
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"


def test_metrics_count_requests_per_route_template(client, db, app):
    headers = auth_headers(db, app, "metrics:read")
    client.get("/api-clients/does-not-exist")  # 401, counted under its route template
    text = client.get("/metrics", headers=headers).text
    assert (
        'aidiploma_http_requests_total{method="GET",route="/api-clients/{client_id}",status="401"}'
        in text
    )
    assert "aidiploma_http_request_duration_seconds_bucket" in text


def test_metrics_report_the_background_backlog(client, db, app):
    from app.certification.models import EvaluationJob

    db.add(EvaluationJob(reason="metrics test", scope={}, total=7, processed=2))
    db.flush()
    text = client.get("/metrics", headers=auth_headers(db, app, "metrics:read")).text
    assert 'aidiploma_evaluation_jobs{state="queued"}' in text
    remaining = [
        line
        for line in text.splitlines()
        if line.startswith("aidiploma_evaluation_people_remaining ")
    ]
    assert remaining and float(remaining[0].split()[1]) >= 5
    assert "aidiploma_outbox_last_seq" in text
