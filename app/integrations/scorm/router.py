"""HTTP for SCORM results reported by an LMS."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Depends, Response
from sqlmodel import Session

from app.auth.dependencies import CurrentIdentity, require
from app.core.errors import problem_responses
from app.core.routing import api_router, get_session
from app.integrations.scorm import service
from app.integrations.scorm.schemas import (
    SCORM12_EXAMPLE,
    SCORM2004_EXAMPLE,
    ScormResultIn,
    ScormResultOut,
)

router = api_router(prefix="/integrations/scorm", tags=["scorm"])


@router.post(
    "/results",
    summary="Report a SCORM attempt",
    status_code=201,
    response_model=ScormResultOut,
    responses={
        200: {"description": "Already reported with the same data (no-op)"},
        **problem_responses(401, 403, 409),
    },
    dependencies=[require("xapi:write")],
)
def post_result(
    response: Response,
    session: Annotated[Session, Depends(get_session)],
    identity: CurrentIdentity,
    data: Annotated[
        ScormResultIn,
        Body(
            openapi_examples={
                "scorm12": {"summary": "SCORM 1.2 (cmi.core.*)", "value": SCORM12_EXAMPLE},
                "scorm2004": {"summary": "SCORM 2004 (cmi.*)", "value": SCORM2004_EXAMPLE},
            }
        ),
    ],
) -> ScormResultOut:
    """Store one attempt and derive evidence through the activity mappings; the learner is
    evaluated just after the response (their status reflects it shortly after)."""
    attempt, created, evidence = service.record(session, data=data, client_id=identity.client_id)
    if not created:
        response.status_code = 200
    out = ScormResultOut.model_validate(attempt)
    out.evidence_created = evidence
    return out
