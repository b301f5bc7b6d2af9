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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.certification import jobs as certification_jobs
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
    from app.integrations.webhooks import delivery as webhooks  # composition root

    deliverer = webhooks.Deliverer(settings or Settings())
    return [
        Job("purge-idempotency-records", 3600, idempotency.purge_expired),
        Job("webhooks-fan-out", 1, webhooks.fan_out),
        Job("webhooks-deliver", 1, deliverer),
        Job("evaluation-jobs", 2, certification_jobs.work_on_next_job),
        Job("evaluation-reconcile", 30, certification_jobs.reconcile),
        Job("certification-expiry-events", 3600, certification_jobs.emit_expiry_events),
        Job("nightly-full-evaluation", 86400, _nightly_evaluation),
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
