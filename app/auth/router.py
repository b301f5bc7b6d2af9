"""HTTP for the token endpoint, the public keys, API clients and the audit trail."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session

from app.auth import service
from app.auth.dependencies import require
from app.auth.schemas import (
    JWKS,
    ApiClientCreate,
    ApiClientPublic,
    ApiClientUpdate,
    ApiClientWithSecret,
    AuditChainReport,
    AuditEventPublic,
    OAuthError,
    TokenResponse,
)
from app.core import audit
from app.core.errors import PROBLEM_TYPE_PREFIX, problem_responses
from app.core.etag import check_if_match, set_etag
from app.core.health import metrics_response
from app.core.pagination import Page, PageParams, page_params
from app.core.routing import api_router, get_session

SessionDep = Annotated[Session, Depends(get_session)]

token_router = api_router(tags=["auth"])
keys_router = APIRouter(tags=["auth"])
clients_router = api_router(prefix="/api-clients", tags=["api-clients"])
audit_router = api_router(prefix="/audit-events", tags=["audit"])
metrics_router = api_router(tags=["health"])


def _oauth_error(status: int, error: str, description: str, *, basic: bool = False) -> JSONResponse:
    # RFC 6749 5.2 body; RFC 9457 members ride along so generic clients read it too.
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = (
            'Basic realm="aidiploma"' if basic else 'Bearer realm="aidiploma"'
        )
    return JSONResponse(
        {
            "error": error,
            "error_description": description,
            "type": f"{PROBLEM_TYPE_PREFIX}oauth-{error.replace('_', '-')}",
            "title": "OAuth 2.0 token request refused",
            "status": status,
        },
        status_code=status,
        headers=headers,
    )


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, sep, secret = decoded.partition(":")
    # RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding.
    return (unquote(client_id), unquote(secret)) if sep else ("", "")


@token_router.post(
    "/oauth/token",
    summary="Get an access token (OAuth 2.0 client credentials)",
    response_model=TokenResponse,
    responses={
        400: {"model": OAuthError, "description": "RFC 6749 5.2 error"},
        401: {"model": OAuthError, "description": "Client authentication failed"},
    },
)
def token(
    request: Request,
    session: SessionDep,
    grant_type: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> Any:
    """RFC 6749 4.4: authenticate by HTTP Basic or form fields, optionally narrow `scope`."""
    basic = _basic_credentials(request.headers.get("authorization"))
    if basic is not None and client_secret:
        return _oauth_error(400, "invalid_request", "Use one client authentication method.")
    if grant_type is None:
        return _oauth_error(400, "invalid_request", "grant_type is required.")
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported.")
    given_id, given_secret = basic if basic is not None else (client_id or "", client_secret or "")
    if not given_id or not given_secret:
        return _oauth_error(401, "invalid_client", "Client authentication is required.", basic=True)
    client = service.authenticate_client(session, client_id=given_id, secret=given_secret)
    if client is None:
        return _oauth_error(
            401,
            "invalid_client",
            "Unknown client, wrong secret or deactivated.",
            basic=basic is not None,
        )
    scopes = service.granted_scopes(client, scope)
    if scopes is None:
        return _oauth_error(
            400, "invalid_scope", "A requested scope is not granted to this client."
        )
    body = service.issue_token(
        client=client,
        scopes=scopes,
        key=request.app.state.signing_key,
        settings=request.app.state.settings,
    )
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@keys_router.get(
    "/.well-known/jwks.json",
    summary="Public keys that verify tokens and diplomas (JWKS)",
    response_model=JWKS,
)
def jwks(request: Request, response: Response) -> Any:
    """RFC 7517 key set of the service's signing key; public, cacheable."""
    response.headers["Cache-Control"] = "public, max-age=3600"
    return request.app.state.signing_key.jwks()


@clients_router.get(
    "",
    summary="List API clients",
    response_model=Page[ApiClientPublic],
    dependencies=[require("clients:manage")],
    responses=problem_responses(400, 401, 403),
)
def list_clients(session: SessionDep, page: Annotated[PageParams, Depends(page_params)]) -> Any:
    """All API clients, oldest id first."""
    items, next_cursor = service.list_clients(session, page=page)
    return {"items": items, "next_cursor": next_cursor}


@clients_router.post(
    "",
    summary="Create an API client",
    status_code=201,
    response_model=ApiClientWithSecret,
    dependencies=[require("clients:manage")],
    responses=problem_responses(401, 403, 409, 415),
)
def create_client(session: SessionDep, data: ApiClientCreate) -> Any:
    """The secret is in this response only; store it in the caller's secret store.

    No Idempotency-Key here on purpose: replaying this response would mean storing the secret.
    """
    client, secret = service.create_client(session, data=data)
    return {**ApiClientPublic.model_validate(client).model_dump(), "client_secret": secret}


@clients_router.get(
    "/{client_id}",
    summary="Get an API client",
    response_model=ApiClientPublic,
    dependencies=[require("clients:manage")],
    responses=problem_responses(401, 403, 404),
)
def get_client(session: SessionDep, client_id: str, response: Response) -> Any:
    """One API client by its client_id."""
    client = service.get_client(session, client_id=client_id)
    set_etag(response, client.version)
    return client


@clients_router.patch(
    "/{client_id}",
    summary="Change or deactivate an API client",
    response_model=ApiClientPublic,
    dependencies=[require("clients:manage")],
    responses=problem_responses(401, 403, 404, 412, 415),
)
def update_client(
    request: Request,
    session: SessionDep,
    client_id: str,
    data: ApiClientUpdate,
    response: Response,
) -> Any:
    """Deactivating a client makes its tokens stop working at once."""
    client = service.get_client(session, client_id=client_id)
    check_if_match(request, client.version)
    client = service.update_client(session, client=client, data=data)
    set_etag(response, client.version)
    return client


@clients_router.post(
    "/{client_id}/rotate-secret",
    summary="Issue a new secret for an API client",
    response_model=ApiClientWithSecret,
    dependencies=[require("clients:manage")],
    responses=problem_responses(401, 403, 404),
)
def rotate_secret(session: SessionDep, client_id: str) -> Any:
    """The old secret stops working; tokens already issued stay valid until they expire."""
    client = service.get_client(session, client_id=client_id)
    secret = service.rotate_secret(session, client=client)
    return {**ApiClientPublic.model_validate(client).model_dump(), "client_secret": secret}


@audit_router.get(
    "",
    summary="List audit events",
    response_model=Page[AuditEventPublic],
    dependencies=[require("audit:read")],
    responses=problem_responses(400, 401, 403),
)
def list_audit_events(
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    entity_type: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    """Who changed what and when, in commit order; filter by entity, actor or action."""
    items, next_cursor = audit.list_events(
        session,
        page=page,
        filters={
            "entity_type": entity_type,
            "entity_id": entity_id,
            "actor": actor,
            "action": action,
        },
    )
    return {"items": items, "next_cursor": next_cursor}


@audit_router.get(
    "/verify",
    summary="Verify the audit trail's hash chain",
    response_model=AuditChainReport,
    dependencies=[require("audit:read")],
    responses=problem_responses(401, 403),
)
def verify_audit_chain(session: SessionDep) -> Any:
    """Recomputes every entry's hash; `intact` is false from the first tampered entry."""
    return audit.verify_chain(session)


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    dependencies=[require("metrics:read")],
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
        **problem_responses(401, 403),
    },
)
def metrics(request: Request) -> Response:
    """Request counts and latency per route and status, in the Prometheus text format."""
    return metrics_response(request)
