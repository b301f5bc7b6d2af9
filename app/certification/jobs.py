"""Background evaluation: jobs for everyone or a scope, re-evaluation of what changed, and the
daily expiry events.

A job is worked in chunks, each its own transaction, so progress is visible and a
crashed worker loses one chunk at most. On PostgreSQL several workers share jobs:
a chunk is claimed with SELECT ... FOR UPDATE SKIP LOCKED on the job row.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.certification import bulk, service
from app.certification.models import (
    Certification,
    CertificationEvent,
    CertificationEventKind,
    CertificationState,
    EvaluationJob,
    JobState,
    PersonStatus,
)
from app.core import audit, clock, outbox
from app.core.errors import NotFound
from app.org import service as org_service
from app.org.models import Person, PersonRole

CHUNK_SIZE = 5000
CHANGED_PEOPLE_PER_TICK = 2000


def request_evaluation(
    session: Session, *, reason: str, scope: dict[str, Any], requested_by: str | None
) -> EvaluationJob:
    """Queue a job; the scope may name an org unit (with descendants), a role, or people."""
    job = EvaluationJob(reason=reason, scope=scope, requested_by=requested_by)
    job.total = session.execute(
        sa.select(sa.func.count()).select_from(_scope_query(session, scope).subquery())
    ).scalar_one()
    session.add(job)
    session.flush()
    audit.record(
        session,
        entity_type="evaluation_job",
        entity_id=job.id,
        action="create",
        after=job.model_dump(mode="json"),
    )
    return job


def request_evaluation_unless_recent(
    session: Session, *, reason: str, within: timedelta
) -> EvaluationJob | None:
    """Queue a job for everyone unless one with this reason was queued recently (several
    workers each run the schedule; one job is enough)."""
    recent = session.execute(
        sa.select(col(EvaluationJob.id))
        .where(
            col(EvaluationJob.reason) == reason,
            col(EvaluationJob.created_at) > clock.now() - within,
        )
        .limit(1)
    ).first()
    if recent:
        return None
    return request_evaluation(session, reason=reason, scope={}, requested_by="worker")


def get_job(session: Session, *, job_id: uuid.UUID) -> EvaluationJob:
    job = session.get(EvaluationJob, job_id)
    if job is None:
        raise NotFound(f"No evaluation job {job_id}.")
    return job


def _scope_query(session: Session, scope: dict[str, Any]) -> sa.Select[Any]:
    query = sa.select(col(Person.id))
    if scope.get("org_unit_id"):
        units = org_service.descendant_org_unit_ids(
            session, org_unit_id=uuid.UUID(str(scope["org_unit_id"]))
        )
        query = query.where(col(Person.org_unit_id).in_(units))
    if scope.get("role_id"):
        query = query.where(
            col(Person.id).in_(
                sa.select(col(PersonRole.person_id)).where(
                    col(PersonRole.role_id) == uuid.UUID(str(scope["role_id"]))
                )
            )
        )
    if scope.get("person_ids"):
        query = query.where(col(Person.id).in_([uuid.UUID(str(p)) for p in scope["person_ids"]]))
    return query


def work_on_next_job(session: Session) -> EvaluationJob | None:
    """Evaluate the next chunk of the oldest unfinished job; None when there is nothing to do."""
    claim = (
        select(EvaluationJob)
        .where(EvaluationJob.state.in_([JobState.queued, JobState.running]))  # type: ignore[attr-defined]
        .order_by(EvaluationJob.created_at)  # type: ignore[arg-type]
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    job = session.exec(claim).first()
    if job is None:
        return None
    ctx = service.load_context(session)
    now = clock.now()
    if job.state == JobState.queued:
        job.state = JobState.running
        job.started_at = now
    if ctx is None:
        job.state, job.finished_at, job.error = JobState.failed, now, "no published model"
        session.add(job)
        return job
    query = _scope_query(session, job.scope).order_by(col(Person.id)).limit(CHUNK_SIZE)
    if job.last_person_id is not None:
        query = query.where(col(Person.id) > job.last_person_id)
    person_ids = list(session.scalars(query))
    if person_ids:
        result = bulk.evaluate_everyone(
            session, ctx=ctx, person_ids=person_ids, actor=f"job:{job.id}"
        )
        job.processed += result.evaluated
        job.changed += result.changed
        job.awarded += result.awarded
        job.renewed += result.renewed
        job.last_person_id = person_ids[-1]
    if len(person_ids) < CHUNK_SIZE:
        job.state = JobState.completed
        job.finished_at = clock.now()
        outbox.emit(
            session,
            event_type="evaluation.completed",
            data={
                "job_id": str(job.id),
                "reason": job.reason,
                "processed": job.processed,
                "changed": job.changed,
                "awarded": job.awarded,
                "renewed": job.renewed,
            },
        )
    session.add(job)
    return job


def reconcile(session: Session) -> dict[str, int]:
    """Catch up with changes made elsewhere: a newly published model version queues a job for
    everyone; people changed since their last evaluation (roles, joining, leaving) are
    evaluated now."""
    ctx = service.load_context(session)
    if ctx is None:
        return {"queued": 0, "evaluated": 0}
    queued = 0
    outdated = session.execute(
        sa.select(col(PersonStatus.person_id))
        .where(
            sa.or_(
                col(PersonStatus.model_version_id).is_(None),
                col(PersonStatus.model_version_id) != ctx.version.id,
            )
        )
        .limit(1)
    ).first()
    pending = session.execute(
        sa.select(col(EvaluationJob.id))
        .where(col(EvaluationJob.state).in_([JobState.queued, JobState.running]))
        .limit(1)
    ).first()
    if outdated and not pending:
        request_evaluation(
            session,
            reason=f"model version {ctx.version.number} published",
            scope={},
            requested_by="worker",
        )
        queued = 1
    changed = list(
        session.scalars(
            sa.select(col(Person.id))
            .outerjoin(PersonStatus, col(PersonStatus.person_id) == col(Person.id))
            .where(
                sa.or_(
                    sa.and_(col(PersonStatus.person_id).is_(None), col(Person.active).is_(True)),
                    col(Person.updated_at) > col(PersonStatus.evaluated_at),
                )
            )
            .limit(CHANGED_PEOPLE_PER_TICK)
        )
    )
    if changed:
        bulk.evaluate_everyone(session, ctx=ctx, person_ids=changed, actor="worker")
        # A person whose status did not change still counts as evaluated now.
        session.execute(
            sa.update(PersonStatus)
            .where(PersonStatus.person_id.in_(changed))  # type: ignore[attr-defined]
            .values(evaluated_at=clock.now())
        )
    return {"queued": queued, "evaluated": len(changed)}


def emit_expiry_events(session: Session) -> dict[str, int]:
    """Once per diploma: certification.expiring when its window opens, certification.expired
    after its grace period. Status itself needs no job; these events tell HR and the LMS."""
    today = clock.now().date()
    counts = {}
    for kind, condition in (
        (CertificationEventKind.expiring, Certification.window_opens_on <= today),
        (CertificationEventKind.expired, Certification.grace_until < today),
    ):
        already = sa.select(col(CertificationEvent.certification_id)).where(
            col(CertificationEvent.kind) == kind.value
        )
        rows = session.exec(
            select(Certification).where(
                Certification.state == CertificationState.active,
                condition,
                col(Certification.id).not_in(already),
            )
        ).all()
        for certification in rows:
            session.add(
                CertificationEvent(
                    certification_id=certification.id,
                    person_id=certification.person_id,
                    kind=kind,
                    occurred_at=clock.now(),
                    actor="worker",
                    valid_until=certification.valid_until,
                )
            )
            person = session.get(Person, certification.person_id)
            assert person is not None
            outbox.emit(
                session,
                event_type=f"certification.{kind.value}",
                ordering_key=str(person.id),
                data=service.hr_payload(
                    person,
                    certification,
                    ctx=None,
                    status=session.get(PersonStatus, person.id),
                    today=today,
                ),
            )
        counts[kind.value] = len(rows)
    return counts
