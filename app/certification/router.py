"""HTTP for evidence entry, diploma status, history, gaps, lifecycle actions and evaluations.

Evidence routes live here rather than in app/evidence because recording evidence is a
certification use case: the person is re-evaluated in the same request.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlmodel import Session

from app.auth.dependencies import CurrentIdentity, require, require_on_hot_path
from app.auth.service import Identity
from app.certification import jobs, service
from app.certification.models import CertificationEventKind
from app.certification.schemas import (
    AlternativeAward,
    CertificationPublic,
    CertificationStatus,
    CertificationWithEvents,
    ChangeFeed,
    EvaluationJobPublic,
    EvaluationRequest,
    GapReport,
    LookupRequest,
    LookupResult,
    StateChange,
)
from app.certification.status_read import StatusReader
from app.core import clock
from app.core.errors import BadRequest, NotFound, Unauthenticated, problem_responses
from app.core.idempotency import idempotency_key
from app.core.pagination import Page, PageParams, page_params
from app.core.raw_reads import raw_connection
from app.core.routing import api_router, get_session
from app.evidence import service as evidence_service
from app.evidence.models import EvidenceSource
from app.evidence.schemas import AssessorEvidenceIn, EvidenceCreate, EvidencePublic, EvidenceVoid
from app.org import service as org_service

SessionDep = Annotated[Session, Depends(get_session)]
PersonKey = Annotated[str, "internal id, employee:{number} or email:{address}"]

evidence_router = api_router(tags=["evidence"])
router = api_router(tags=["certifications"])


@evidence_router.post(
    "/evidence",
    summary="Record evidence (assessor entry)",
    status_code=201,
    response_model=EvidencePublic,
    dependencies=[require("evidence:write"), Depends(idempotency_key)],
    responses=problem_responses(401, 403, 404, 409, 415),
)
def record_evidence(
    session: SessionDep, data: AssessorEvidenceIn, identity: CurrentIdentity
) -> Any:
    """An assessor's judgement that a person showed a competency; the person is re-evaluated now."""
    ctx = service.require_context(session)
    person = org_service.get_person_by_key(session, key=data.person)
    assessor = org_service.get_person_by_key(session, key=data.assessor) if data.assessor else None
    evidence, _created = evidence_service.record(
        session,
        data=EvidenceCreate(
            person_id=person.id,
            competency_key=data.competency,
            level_key=data.level,
            assessment_form=data.assessment_form,
            source=EvidenceSource.assessor,
            source_ref=data.source_ref,
            score_raw=data.score_raw,
            score_min=data.score_min,
            score_max=data.score_max,
            score_scaled=data.score_scaled,
            passed=data.passed,
            occurred_at=data.occurred_at,
            assessor_person_id=assessor.id if assessor else None,
            assessor_client_id=identity.client_id,
            notes=data.notes,
            evidence_url=str(data.evidence_url) if data.evidence_url else None,
        ),
        content=ctx.content,
    )
    service.evaluate_person(session, person=person, ctx=ctx, actor=identity.client_id)
    return evidence


@evidence_router.get(
    "/evidence",
    summary="List evidence",
    response_model=Page[EvidencePublic],
    dependencies=[require("evidence:read")],
    responses=problem_responses(400, 401, 403, 404),
)
def list_evidence(
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    person: Annotated[str | None, Query(max_length=400, description="Person key")] = None,
    competency: Annotated[str | None, Query(max_length=100)] = None,
    include_void: bool = True,
) -> Any:
    """Evidence records, optionally of one person or one competency."""
    person_id = org_service.get_person_by_key(session, key=person).id if person else None
    items, next_cursor = evidence_service.list_evidence(
        session,
        page=page,
        person_id=person_id,
        competency_key=competency,
        include_void=include_void,
    )
    return {"items": items, "next_cursor": next_cursor}


@evidence_router.get(
    "/evidence/{evidence_id}",
    summary="Get one piece of evidence",
    response_model=EvidencePublic,
    dependencies=[require("evidence:read")],
    responses=problem_responses(401, 403, 404),
)
def get_evidence(session: SessionDep, evidence_id: uuid.UUID) -> Any:
    """One evidence record, void or not."""
    return evidence_service.get(session, evidence_id=evidence_id)


@evidence_router.post(
    "/evidence/{evidence_id}/void",
    summary="Void evidence",
    response_model=EvidencePublic,
    dependencies=[require("evidence:write")],
    responses=problem_responses(401, 403, 404, 409, 415),
)
def void_evidence(
    session: SessionDep, evidence_id: uuid.UUID, data: EvidenceVoid, identity: CurrentIdentity
) -> Any:
    """Evidence is never edited: it is voided with a reason and the person is re-evaluated."""
    return service.void_evidence_and_reevaluate(
        session, evidence_id=evidence_id, reason=data.reason, actor=identity.client_id
    )


# The hot read runs outside the per-request ORM session (see status_read.py).
status_router = APIRouter(tags=["certifications"])


@status_router.get(
    "/people/{person_key}/certification",
    summary="A person's diploma status",
    response_model=CertificationStatus,
    responses={
        304: {"description": "Not modified (If-None-Match)"},
        **problem_responses(401, 403, 404),
    },
)
async def get_status(
    request: Request,
    person_key: str,
    identity: Annotated[Identity, require_on_hot_path("certifications:read")],
) -> Any:
    """Held tier, status, valid until, compliant and the required tier, as of today.

    Send the ETag back in If-None-Match to get a 304 while nothing changed; the ETag
    changes with every evaluation and with the date, so it is never stale.
    """
    reader: StatusReader = request.app.state.status_reader
    today = clock.now().date()
    factory = request.app.state.session_factory
    server_reads = getattr(request.app.state, "status_server_reads", None)

    if server_reads is not None and factory.kw["bind"] is server_reads.engine:
        # A server database: one round trip awaited on the event loop.
        body, client_active = await server_reads.read(
            reader, person_key, client_id=identity.client_id, today=today
        )
    else:
        # SQLite (microseconds, inline beats a thread hop) or a test's joined connection.
        with raw_connection(factory) as connection:
            body, client_active = reader.read(
                connection, person_key, client_id=identity.client_id, today=today
            )
    if identity.source == "local" and not client_active:
        raise Unauthenticated("The client of this token is deactivated or unknown.")
    if body is None:
        raise NotFound(
            f"No person {person_key}; use the id, employee:{{number}} or email:{{address}}."
        )
    payload = json.dumps(body).encode()
    etag = '"' + hashlib.sha256(payload).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(payload, media_type="application/json", headers=headers)


@router.post(
    "/certifications:lookup",
    summary="Status of up to 1,000 people at once",
    response_model=LookupResult,
    dependencies=[require("certifications:read")],
    responses=problem_responses(401, 403, 415),
)
def lookup(session: SessionDep, data: LookupRequest) -> Any:
    """For HR and LMS batch jobs: keys as for the single lookup; unknown keys are listed."""
    people, not_found = service.people_by_keys(session, keys=data.keys)
    return {"items": [service.status_of(session, person=p) for p in people], "not_found": not_found}


@router.get(
    "/certifications/changes",
    summary="Change feed of certification status, in commit order",
    response_model=ChangeFeed,
    dependencies=[require("certifications:read")],
    responses=problem_responses(400, 401, 403),
)
def change_feed(
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Poll with the returned cursor: every change comes exactly once, in commit order."""
    try:
        after = int(cursor) if cursor else 0
    except ValueError as exc:  # pragma: no cover - the pattern already guards it
        raise BadRequest("cursor must be a number") from exc
    events, last = service.changes(session, after_seq=after, limit=limit)
    return {
        "items": [
            {
                "seq": e.seq,
                "event_id": e.event_id,
                "type": e.event_type,
                "occurred_at": e.occurred_at,
                "data": e.data,
            }
            for e in events
        ],
        "next_cursor": str(last),
    }


@router.get(
    "/people/{person_key}/certification/history",
    summary="A person's diploma history",
    response_model=list[CertificationWithEvents],
    dependencies=[require("certifications:read")],
    responses=problem_responses(401, 403, 404),
)
def get_history(session: SessionDep, person_key: str) -> Any:
    """Every award, renewal, expiry, suspension and revocation, newest diploma first."""
    person = org_service.get_person_by_key(session, key=person_key)
    return service.history(session, person_id=person.id)


@router.get(
    "/people/{person_key}/gaps",
    summary="What a person still needs",
    response_model=GapReport,
    dependencies=[require("certifications:read")],
    responses=problem_responses(401, 403, 404, 422),
)
def get_gaps(session: SessionDep, person_key: str) -> Any:
    """Each unmet requirement, why, and the mapped activities the LMS can enrol them in."""
    person = org_service.get_person_by_key(session, key=person_key)
    return service.gaps(session, person=person)


@router.post(
    "/people/{person_key}/certifications",
    summary="Award a tier on alternative evidence",
    status_code=201,
    response_model=CertificationPublic,
    dependencies=[require("certifications:write"), Depends(idempotency_key)],
    responses=problem_responses(401, 403, 404, 415),
)
def award_alternative(
    session: SessionDep, person_key: str, data: AlternativeAward, identity: CurrentIdentity
) -> Any:
    """Recognised prior learning or an external certificate; marked as such everywhere."""
    person = org_service.get_person_by_key(session, key=person_key)
    return service.award_alternative(
        session,
        person=person,
        tier_key=data.tier,
        document_ref=data.document_ref,
        reason=data.reason,
        valid_until=data.valid_until,
        actor=identity.client_id,
    )


@router.get(
    "/certifications/{certification_id}",
    summary="Get one certification",
    response_model=CertificationPublic,
    dependencies=[require("certifications:read")],
    responses=problem_responses(401, 403, 404),
)
def get_certification(session: SessionDep, certification_id: uuid.UUID) -> Any:
    """One diploma with its state and dates."""
    return service.get_certification(session, certification_id=certification_id)


TRANSITION_RESPONSES = problem_responses(401, 403, 404, 409, 415)


def _change(
    session: Session,
    certification_id: uuid.UUID,
    event: CertificationEventKind,
    data: StateChange,
    identity: Any,
) -> Any:
    certification = service.get_certification(session, certification_id=certification_id)
    return service.change_state(
        session,
        certification=certification,
        event=event,
        reason=data.reason,
        actor=identity.client_id,
    )


@router.post(
    "/certifications/{certification_id}/revoke",
    summary="Revoke a certification",
    response_model=CertificationPublic,
    dependencies=[require("certifications:write")],
    responses=TRANSITION_RESPONSES,
)
def revoke(
    session: SessionDep, certification_id: uuid.UUID, data: StateChange, identity: CurrentIdentity
) -> Any:
    """Ends a diploma for good, with a reason; the person is re-evaluated at once."""
    return _change(session, certification_id, CertificationEventKind.revoked, data, identity)


@router.post(
    "/certifications/{certification_id}/suspend",
    summary="Suspend a certification",
    response_model=CertificationPublic,
    dependencies=[require("certifications:write")],
    responses=TRANSITION_RESPONSES,
)
def suspend(
    session: SessionDep, certification_id: uuid.UUID, data: StateChange, identity: CurrentIdentity
) -> Any:
    """Pauses a diploma (e.g. during an investigation); reinstating lifts it."""
    return _change(session, certification_id, CertificationEventKind.suspended, data, identity)


@router.post(
    "/certifications/{certification_id}/reinstate",
    summary="Reinstate a suspended certification",
    response_model=CertificationPublic,
    dependencies=[require("certifications:write")],
    responses=TRANSITION_RESPONSES,
)
def reinstate(
    session: SessionDep, certification_id: uuid.UUID, data: StateChange, identity: CurrentIdentity
) -> Any:
    """Lifts a suspension; the diploma counts again while within its dates."""
    return _change(session, certification_id, CertificationEventKind.reinstated, data, identity)


@router.post(
    "/evaluations",
    summary="Start a background re-evaluation",
    status_code=202,
    response_model=EvaluationJobPublic,
    dependencies=[require("evaluations:run"), Depends(idempotency_key)],
    responses=problem_responses(401, 403, 404, 415),
)
def start_evaluation(
    session: SessionDep, data: EvaluationRequest, identity: CurrentIdentity, response: Response
) -> Any:
    """Re-evaluates everyone, an org unit (with descendants), a role or some people; the worker
    does the work in chunks and GET /evaluations/{id} shows progress."""
    scope: dict[str, Any] = {}
    if data.scope.org_unit:
        scope["org_unit_id"] = str(
            org_service.get_org_unit_by_external_id(session, external_id=data.scope.org_unit).id
        )
    if data.scope.role:
        scope["role_id"] = str(org_service.get_role_by_key(session, key=data.scope.role).id)
    if data.scope.people:
        people, missing = service.people_by_keys(session, keys=data.scope.people)
        if missing:
            raise NotFound(f"Unknown people: {', '.join(missing[:20])}.")
        scope["person_ids"] = [str(p.id) for p in people]
    job = jobs.request_evaluation(
        session, reason=data.reason, scope=scope, requested_by=identity.client_id
    )
    response.headers["Location"] = f"/evaluations/{job.id}"
    return job


@router.get(
    "/evaluations/{job_id}",
    summary="Progress of a re-evaluation",
    response_model=EvaluationJobPublic,
    dependencies=[require("evaluations:run")],
    responses=problem_responses(401, 403, 404),
)
def get_evaluation(session: SessionDep, job_id: uuid.UUID) -> Any:
    """State, people processed of the total, and how many statuses changed."""
    return jobs.get_job(session, job_id=job_id)
