"""The background worker: one loop that runs each periodic job when it is due.

Runs as `aidiploma worker`, or as a thread inside the API process in the
embedded (SQLite) mode so the one-command start is a complete system. Each job
opens its own session and commits per unit of work; on PostgreSQL several
workers share jobs through row locks (SKIP LOCKED).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col

from app.certification import jobs as certification_jobs
from app.certification import queue as evaluation_queue
from app.core import idempotency
from app.core.config import Settings
from app.core.db import unit_of_work

logger = logging.getLogger("aidiploma.worker")

# A failed job (say, the database was briefly away) is tried again soon, not after its interval.
RETRY_FAILED_JOB_SECONDS = 30.0


@dataclass
class Job:
    name: str
    every_seconds: float
    run: Callable[[Session], object]
    next_run: float = 0.0


def default_jobs(settings: Settings | None = None) -> list[Job]:
    """The jobs every worker runs; later capabilities add theirs here."""
    from app.integrations.hris import pull as hris_pull  # composition root
    from app.integrations.webhooks import delivery as webhooks  # composition root
    from app.integrations.xapi import jobs as xapi_jobs  # composition root
    from app.reports import schedules, snapshots  # composition root

    settings = settings or Settings()
    deliverer = webhooks.Deliverer(settings)
    lms_jobs = [Job("xapi-resolve-pending", 60, xapi_jobs.ResolvePending(settings))]
    if settings.xapi_sync_endpoint and settings.xapi_sync_key:
        lms_jobs.append(
            Job(
                "xapi-pull-remote-lrs",
                settings.xapi_sync_interval_seconds,
                xapi_jobs.PullRemoteLRS(settings),
            )
        )
    return [
        *lms_jobs,
        Job("purge-idempotency-records", 3600, idempotency.purge_expired),
        Job("webhooks-fan-out", 1, webhooks.fan_out),
        Job("webhooks-deliver", 1, deliverer),
        # What an API process queued but did not get to evaluate (it stopped, say).
        Job("evaluation-requests", 1, evaluation_queue.evaluate_next),
        Job("evaluation-jobs", 2, certification_jobs.work_on_next_job),
        Job("evaluation-reconcile", 30, certification_jobs.reconcile),
        Job("certification-expiry-events", 3600, certification_jobs.emit_expiry_events),
        Job("nightly-full-evaluation", 86400, _nightly_evaluation),
        # Hourly, idempotent per day: today's snapshot once, then each due report edition.
        Job("report-snapshot", 3600, snapshots.take_today),
        Job("report-schedules-publish", 3600, schedules.PublishDue(settings)),
        # HR sources with a pull schedule (pull_every_minutes); each keeps its last report.
        Job("hris-scheduled-pull", 60, hris_pull.PullDue(settings)),
    ]


def _nightly_evaluation(session: Session) -> object:
    """Everyone once a day: catches register and requirement changes no row change shows."""
    return certification_jobs.request_evaluation_unless_recent(
        session, reason="nightly re-evaluation", within=timedelta(hours=20)
    )


class Worker:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        settings: Settings,
        jobs: list[Job] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.jobs = jobs if jobs is not None else default_jobs(settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_due_jobs(self) -> int:
        """Run every job whose time has come; returns how many ran."""
        ran = 0
        for job in self.jobs:
            if time.monotonic() < job.next_run:
                continue
            interval = job.every_seconds
            try:
                with unit_of_work(self.session_factory) as session:
                    job.run(session)
            except Exception:  # a failing job must not stop the others
                logger.exception("job failed", extra={"job": job.name})
                interval = min(interval, RETRY_FAILED_JOB_SECONDS)
            job.next_run = time.monotonic() + interval
            ran += 1
        return ran

    def run_forever(self) -> None:
        logger.info("worker started", extra={"jobs": [job.name for job in self.jobs]})
        while not self._stop.is_set():
            self.run_due_jobs()
            self._stop.wait(self.settings.worker_poll_seconds)
        logger.info("worker stopped")

    def start_in_thread(self) -> None:
        self._thread = threading.Thread(
            target=self.run_forever, name="aidiploma-worker", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


class BacklogCollector:
    """Prometheus gauges of background work, read from the database at scrape time: the
    outbox's newest event, webhook deliveries waiting or dead, evaluation jobs queued or
    running and their progress, HR pulls failing or last successful. Stateless, so every
    replica reports the same figures."""

    def __init__(self, session_factory: Callable[[], sessionmaker[Session]]) -> None:
        self.session_factory = session_factory

    def describe(self) -> list[Metric]:
        # Lets the registry learn the names without querying the database at start-up.
        return [
            GaugeMetricFamily("aidiploma_webhook_deliveries", "", labels=["state"]),
            GaugeMetricFamily("aidiploma_evaluation_jobs", "", labels=["state"]),
            GaugeMetricFamily("aidiploma_evaluation_people_remaining", ""),
            GaugeMetricFamily("aidiploma_evaluation_requests_waiting", ""),
            GaugeMetricFamily("aidiploma_evaluation_requests_failed", ""),
            GaugeMetricFamily("aidiploma_outbox_last_seq", ""),
            GaugeMetricFamily("aidiploma_hris_pull_failing", "", labels=["source"]),
            GaugeMetricFamily("aidiploma_hris_last_pull_timestamp_seconds", "", labels=["source"]),
        ]

    def collect(self) -> Iterator[Metric]:
        import sqlalchemy as sa

        from app.certification.models import EvaluationJob
        from app.core.outbox import OutboxEvent
        from app.integrations.hris.models import HrisSource
        from app.integrations.webhooks.models import WebhookDelivery

        deliveries = GaugeMetricFamily(
            "aidiploma_webhook_deliveries", "Webhook deliveries by state", labels=["state"]
        )
        jobs = GaugeMetricFamily(
            "aidiploma_evaluation_jobs", "Evaluation jobs by state", labels=["state"]
        )
        progress = GaugeMetricFamily(
            "aidiploma_evaluation_people_remaining", "People still to evaluate in open jobs"
        )
        requests = GaugeMetricFamily(
            "aidiploma_evaluation_requests_waiting",
            "People queued for evaluation after an LMS request, not yet evaluated",
        )
        dead = GaugeMetricFamily(
            "aidiploma_evaluation_requests_failed",
            "Queued evaluations left aside after repeated failures (see their last_error)",
        )
        last_seq = GaugeMetricFamily("aidiploma_outbox_last_seq", "Sequence of the newest event")
        # For an alert on a nightly HR pull that failed, or has not succeeded for too long.
        pull_failing = GaugeMetricFamily(
            "aidiploma_hris_pull_failing",
            "1 when the HR source's last pull failed (its last_pull_error), else 0",
            labels=["source"],
        )
        last_pull = GaugeMetricFamily(
            "aidiploma_hris_last_pull_timestamp_seconds",
            "When the HR source's last pull succeeded (Unix time)",
            labels=["source"],
        )
        try:
            with self.session_factory()() as session:
                for state, count in session.execute(
                    sa.select(col(WebhookDelivery.state), sa.func.count()).group_by(
                        col(WebhookDelivery.state)
                    )
                ):
                    deliveries.add_metric([str(state)], count)
                remaining = 0
                for state, count, total, processed in session.execute(
                    sa.select(
                        col(EvaluationJob.state),
                        sa.func.count(),
                        sa.func.sum(EvaluationJob.total),
                        sa.func.sum(EvaluationJob.processed),
                    ).group_by(col(EvaluationJob.state))
                ):
                    jobs.add_metric([str(state)], count)
                    if str(state) in ("queued", "running"):
                        remaining += int(total or 0) - int(processed or 0)
                progress.add_metric([], remaining)
                requests.add_metric([], evaluation_queue.waiting(session))
                dead.add_metric([], evaluation_queue.failed(session))
                last_seq.add_metric(
                    [],
                    session.execute(
                        sa.select(sa.func.coalesce(sa.func.max(OutboxEvent.seq), 0))
                    ).scalar_one(),
                )
                for name, error, synced in session.execute(
                    sa.select(
                        col(HrisSource.name),
                        col(HrisSource.last_pull_error),
                        col(HrisSource.last_synced_at),
                    ).where(col(HrisSource.pull_url).is_not(None))
                ):
                    pull_failing.add_metric([name], 1 if error else 0)
                    if synced is not None:
                        last_pull.add_metric([name], synced.timestamp())
        except Exception:  # a scrape must never fail because the database is away
            logger.warning("backlog metrics unavailable", exc_info=True)
            return
        yield from (deliveries, jobs, progress, requests, dead, last_seq, pull_failing, last_pull)
