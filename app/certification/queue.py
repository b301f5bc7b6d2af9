"""Evaluation requests: the people an LMS feed touched, evaluated just after its commit.

Evaluating inside every xAPI or SCORM request costs a fixed dozen-odd reads and writes
whatever the batch holds: ~85% of a single-statement POST. Instead the request writes one
`evaluation_request` row per person in its own transaction (so nothing acknowledged is
lost) and the evaluation runs after the commit: for a request after its response has been
sent, for background work right after its commit (`core.db.after_commit`). Requests
arriving while an evaluation runs share the next one, and a person named by many of them
is evaluated once, so under load the evaluation's cost is paid per drained chunk instead
of per request. A person's status is current a few milliseconds after the response,
not at it; under a steady stream of requests, within a gather pause (_Drainer) more.

Any process may drain: rows are claimed with FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite
has one writer) and deleted in the transaction that evaluates them, so a crash puts them
back. The worker's `evaluation-requests` job drains what a process left behind.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.certification import service
from app.certification.models import EvaluationRequest
from app.core import clock
from app.core.db import after_commit, unit_of_work

logger = logging.getLogger("aidiploma.evaluation")

# People per drained chunk: one evaluation (a few set-based queries) and one transaction.
CHUNK_SIZE = 2000
# Failed evaluations of a queued person before the request is left aside (a dead letter).
MAX_ATTEMPTS = 5


def request(session: Session, person_ids: Iterable[uuid.UUID], *, actor: str | None) -> None:
    """Queue these people for evaluation once this session commits."""
    people = sorted(set(person_ids))
    if not people:
        return
    dialect = session.get_bind().dialect.name
    values = {"requested_by": actor, "requested_at": clock.now()}
    if dialect == "postgresql":
        session.execute(_request_statement(dialect), {"people": people, **values})
    else:
        session.execute(_request_statement(dialect), [{"person_id": p, **values} for p in people])
    after_commit(session, drain_soon)


@functools.cache
def _request_statement(dialect: str) -> sa.Insert:
    """Built once per dialect (building it cost a single-statement request more CPU than
    running it). On PostgreSQL one statement with one array parameter, whatever the number
    of people: no per-row parameters (an executemany cost a batch ~8% of its time)."""
    table = EvaluationRequest.__table__  # type: ignore[attr-defined]
    if dialect != "postgresql":
        return sa.insert(table)
    return sa.insert(table).from_select(
        ["person_id", "requested_by", "requested_at"],
        sa.select(
            sa.func.unnest(sa.bindparam("people", type_=ARRAY(sa.Uuid()))),
            sa.bindparam("requested_by", type_=table.c.requested_by.type),
            sa.bindparam("requested_at", type_=table.c.requested_at.type),
        ),
    )


def evaluate_next(session: Session, *, limit: int = CHUNK_SIZE) -> int:
    """Claim up to `limit` requests, evaluate their people once each, and delete them in
    this transaction; returns how many requests were answered (0: none waiting).

    A person whose evaluation fails (a bug, bad data) must not hold up everyone queued
    behind them: the chunk is evaluated in a savepoint, and if that fails each person in
    one of their own; whoever still fails is queued again at the back with the error, up
    to MAX_ATTEMPTS times, and then left aside as a dead letter (logged, counted on
    /metrics as `aidiploma_evaluation_requests_failed`)."""
    table = EvaluationRequest.__table__  # type: ignore[attr-defined]
    claimed = (
        sa.select(table.c.id)
        .where(table.c.attempts < MAX_ATTEMPTS)
        .order_by(table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = session.execute(
        sa.delete(table)
        .where(table.c.id.in_(claimed))
        .returning(table.c.person_id, table.c.requested_by, table.c.attempts)
    ).all()
    if not rows:
        return 0
    ctx = service.load_context(session)
    if ctx is not None:
        # Audited as the first requester of each person (usually the one LMS client).
        by_actor: dict[str | None, list[uuid.UUID]] = {}
        attempts: dict[uuid.UUID, int] = {}
        for person_id, requested_by, tried in rows:
            if person_id not in attempts:
                by_actor.setdefault(requested_by, []).append(person_id)
            attempts[person_id] = max(attempts.get(person_id, 0), tried)
        before = session.info.get("actor")
        try:
            for requested_by, people in by_actor.items():
                session.info["actor"] = requested_by  # the audit names who sent the evidence
                failed = _evaluate_guarded(session, people, ctx, requested_by)
                if failed:
                    _requeue(session, failed, attempts, requested_by)
        finally:
            session.info["actor"] = before
    return len(rows)


def _evaluate_guarded(
    session: Session, people: list[uuid.UUID], ctx: service.ModelContext, actor: str | None
) -> dict[uuid.UUID, str]:
    """Evaluate `people`, each part in a savepoint; those whose evaluation fails, with the
    error. A part that fails is halved and each half tried again, down to one person: one
    failing person in a chunk of 2,000 costs about 22 evaluations, not 2,000 one by one."""
    try:
        with session.begin_nested():
            service.evaluate_people(session, person_ids=people, ctx=ctx, actor=actor)
        return {}
    except Exception as exc:
        if len(people) == 1:
            return {people[0]: _error_text(exc)}
    half = len(people) // 2
    return {
        **_evaluate_guarded(session, people[:half], ctx, actor),
        **_evaluate_guarded(session, people[half:], ctx, actor),
    }


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _requeue(
    session: Session,
    failed: dict[uuid.UUID, str],
    attempts: dict[uuid.UUID, int],
    actor: str | None,
) -> None:
    table = EvaluationRequest.__table__  # type: ignore[attr-defined]
    now = clock.now()
    rows = []
    for person_id, error in sorted(failed.items()):
        tried = attempts.get(person_id, 0) + 1
        log = logger.error if tried >= MAX_ATTEMPTS else logger.warning
        log(
            "evaluation of a queued person failed (attempt %d of %d)%s: %s",
            tried,
            MAX_ATTEMPTS,
            "; left aside" if tried >= MAX_ATTEMPTS else "; queued again",
            error,
            extra={"person_id": str(person_id)},
        )
        rows.append(
            {
                "person_id": person_id,
                "requested_by": actor,
                "requested_at": now,
                "attempts": tried,
                "last_error": error,
            }
        )
    session.execute(sa.insert(table), rows)


def evaluate_waiting(session: Session) -> int:
    """Answer every waiting request inside this transaction, for work that reads the
    statuses before it commits (loading the demo organisation)."""
    answered = 0
    while count := evaluate_next(session):
        answered += count
    return answered


def _drain_round(factory: sessionmaker[Session]) -> None:
    """Answer what is waiting now: chunks until one comes back short of CHUNK_SIZE."""
    while True:
        with unit_of_work(factory) as session:
            if evaluate_next(session) < CHUNK_SIZE:
                return


class _Drainer:
    """At most one drain per process at a time; callers that find one running leave their
    requests to it. `_again` is set before trying the lock and read after releasing it, so
    a request committed while a drain ends is either seen by that drain's next round or
    finds the lock free.

    A round asked for while the previous one ran (requests arriving concurrently) starts
    up to GATHER_SECONDS after that one started: a drain's cost is mostly fixed (~10 ms
    of CPU for 1 person or 50), and a person named by several requests in that time is
    evaluated once, so under load fewer, larger drains leave more of the process to the
    requests; a person's status lags at most that long. It starts as soon as no request
    has asked for QUIET_SECONDS (a burst that ended is not kept waiting), and a lone
    request (no drain running) is drained at once."""

    GATHER_SECONDS = 0.5
    QUIET_SECONDS = 0.05

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._again = False
        self._asked_at = 0.0

    def _ask(self) -> None:
        self._asked_at = time.monotonic()
        self._again = True

    def __call__(self, factory: sessionmaker[Session]) -> None:
        self._ask()
        while self._again:
            if not self._lock.acquire(blocking=False):
                return
            try:
                while True:
                    self._again = False
                    started = time.monotonic()
                    _drain_round(factory)
                    if not self._again:
                        break
                    self._gather(until=started + self.GATHER_SECONDS)
            except Exception:  # the rows stay; the worker's job answers them
                logger.exception("evaluation drain failed")
                return
            finally:
                self._lock.release()

    def _gather(self, *, until: float) -> None:
        """Sleep until `until`, or until no request has asked for QUIET_SECONDS."""
        while (now := time.monotonic()) < until:
            quiet_from = self._asked_at + self.QUIET_SECONDS
            if now >= quiet_from:
                return
            time.sleep(min(until, quiet_from) - now)

    async def after_response(self, factory: sessionmaker[Session]) -> None:
        """From a response's background task (core.routing): when a drain is running, its
        next round takes this request's rows, decided on the event loop without a trip to
        a worker thread."""
        self._ask()
        if self._lock.locked():
            return
        await run_in_threadpool(self, factory)


drain_soon = _Drainer()


def waiting(session: Session) -> int:
    """Requests not yet answered (the backlog metric; 0 in the steady state)."""
    table = EvaluationRequest.__table__  # type: ignore[attr-defined]
    return int(
        session.execute(
            sa.select(sa.func.count()).where(table.c.attempts < MAX_ATTEMPTS)
        ).scalar_one()
    )


def failed(session: Session) -> int:
    """Requests left aside after MAX_ATTEMPTS failed evaluations (0 unless something is
    wrong with those people's data or the code: their last_error says what)."""
    table = EvaluationRequest.__table__  # type: ignore[attr-defined]
    return int(
        session.execute(
            sa.select(sa.func.count()).where(table.c.attempts >= MAX_ATTEMPTS)
        ).scalar_one()
    )
