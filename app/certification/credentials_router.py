"""HTTP for verifiable diplomas: fetch a certification as a signed Open Badges 3.0 credential,
and the public status and verification endpoints a relying party uses without a token."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from app.auth.dependencies import require
from app.certification import credentials
from app.core import clock
from app.core.errors import problem_responses
from app.core.routing import api_router, get_session

SessionDep = Annotated[Session, Depends(get_session)]

router = api_router(tags=["credentials"])

MAX_TOKEN_LENGTH = 200_000
JwtString = Annotated[
    str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH, description="A VC-JWT (compact JWS)")
]


class CredentialEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential: JwtString


def _issuer(request: Request) -> credentials.IssuerConfig:
    settings = request.app.state.settings
    return credentials.IssuerConfig(
        public_base_url=settings.public_base_url, organisation_name=settings.organisation_name
    )


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and credentials.VC_JWT_MEDIA_TYPE not in accept


@router.get(
    "/certifications/{certification_id}/credential",
    summary="A diploma as a signed Open Badges 3.0 credential (VC-JWT)",
    response_model=credentials.OpenBadgeCredential,
    response_model_exclude_none=True,
    dependencies=[require("certifications:read")],
    responses={
        200: {
            "description": "The OpenBadgeCredential signed as a VC-JWT (default), or the "
            "credential itself with `Accept: application/json`.",
            "content": {credentials.VC_JWT_MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 404),
    },
)
def get_credential(
    request: Request,
    session: SessionDep,
    certification_id: uuid.UUID,
    lang: Annotated[
        str, Query(pattern=r"^[a-z]{2,3}$", description="Language of names and criteria")
    ] = "en",
) -> Any:
    """Signed with the service key (RS256, kid in /.well-known/jwks.json); a renewal has its own."""
    token, credential = credentials.issue(
        session,
        certification_id=certification_id,
        issuer=_issuer(request),
        key=request.app.state.signing_key,
        now=clock.now(),
        language=lang,
    )
    headers = {"Cache-Control": "private, no-store", "Vary": "Accept"}
    if _wants_json(request):
        return Response(
            credentials.OpenBadgeCredential.model_validate(credential).model_dump_json(
                by_alias=True, exclude_none=True
            ),
            media_type="application/json",
            headers=headers,
        )
    return Response(token, media_type=credentials.VC_JWT_MEDIA_TYPE, headers=headers)


@router.get(
    "/credentials/status/{certification_id}",
    summary="The revocation status of a diploma credential (public)",
    response_model=credentials.CredentialStatusDocument,
    responses=problem_responses(404),
)
def get_credential_status(
    request: Request, response: Response, session: SessionDep, certification_id: uuid.UUID
) -> Any:
    """The credentialStatus URL: only the state (active, revoked, ...), never who or why."""
    response.headers["Cache-Control"] = "no-cache"
    return credentials.status_document(
        session, certification_id=certification_id, issuer=_issuer(request)
    )


@router.post(
    "/credentials/verify",
    summary="Verify a diploma credential (public)",
    response_model=credentials.VerificationResult,
    responses=problem_responses(415),
)
def verify_credential(
    request: Request,
    session: SessionDep,
    body: Annotated[
        JwtString | CredentialEnvelope,
        Body(description='The VC-JWT as a JSON string, or {"credential": "<VC-JWT>"}'),
    ],
) -> Any:
    """Checks signature, algorithm, key, claims, dates and the state now; says why not valid."""
    token = body.credential if isinstance(body, CredentialEnvelope) else body
    return credentials.verify(
        session,
        token=token.strip(),
        issuer=_issuer(request),
        key=request.app.state.signing_key,
        now=clock.now(),
    )
