"""HTTP for the xAPI Statement and About resources under /xapi (aidiploma as an LRS).

xAPI renders its own error statuses (400 for anything the spec says to reject, 409,
404): problems keep the problem+json envelope. Every response carries
X-Experience-API-Version, statement responses X-Experience-API-Consistent-Through
(Communication 2.1.3.s2.b5, 3.3).
"""

from __future__ import annotations

import contextlib
import json
import re
import urllib.parse
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.auth.dependencies import (
    CurrentIdentity,
    client_left_to_check,
    identity_without_database,
    inactive_client,
    require,
    require_leaving_active_check,
)
from app.core.db import after_commit
from app.core.errors import AppError, BadRequest, problem_response, problem_responses
from app.core.routing import AppRoute, commit_in_endpoint, get_session, release_unused
from app.integrations.xapi import combine, service
from app.integrations.xapi.schemas import EXAMPLE_STATEMENT, About, UnmappedActivity
from app.integrations.xapi.statement_read import StatementReader
from app.integrations.xapi.validation import StatementInvalid, parse_timestamp

VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT_HEADER = "X-Experience-API-Consistent-Through"
SUPPORTED = {"1": "1.0.3", "2": "2.0.0"}
VERSION_RE = re.compile(r"^([12])\.0(?:\.\d+)?$")
QUERY_PARAMS = frozenset(
    {
        "statementId",
        "voidedStatementId",
        "agent",
        "verb",
        "activity",
        "registration",
        "related_activities",
        "related_agents",
        "since",
        "until",
        "limit",
        "format",
        "attachments",
        "ascending",
        "cursor",
    }
)
SINGLE_PARAMS = frozenset({"statementId", "voidedStatementId", "format", "attachments"})


class XapiRoute(AppRoute):
    """AppRoute that renders errors itself so they carry the xAPI headers too."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = self.inner_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await inner(request)
            except AppError as exc:
                response = problem_response(
                    request,
                    exc.status,
                    slug=exc.slug,
                    title=exc.title,
                    detail=exc.detail,
                    errors=exc.errors,
                    headers=exc.headers,
                    extensions=exc.extensions,
                )
            except RequestValidationError as exc:
                # xAPI answers malformed requests with 400 (Communication 3.2).
                response = problem_response(
                    request, 400, slug="malformed-request", detail=str(exc.errors()[0]["msg"])
                )
            response.headers[VERSION_HEADER] = getattr(request.state, "xapi_version", "1.0.3")
            if request.url.path.endswith("/statements"):
                response.headers[CONSISTENT_HEADER] = service.consistent_through()
            return response

        return handler

    def inner_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The handler whose errors get rendered: AppRoute's (session, one commit)."""
        return super().get_route_handler()


def _refuse_non_json_numbers(body: bytes) -> None:
    """Python's json reads NaN, Infinity and -Infinity, which are not JSON (RFC 8259 6): a
    statement holding one would be stored, and served, as something no other client can
    parse. Only bodies that contain those words are read a second time."""
    if b"NaN" not in body and b"Infinity" not in body:
        return

    def refuse(constant: str) -> Any:
        raise BadRequest(
            f"{constant} is not a JSON number (RFC 8259 section 6); send valid JSON.",
            slug="malformed-request",
        )

    with contextlib.suppress(ValueError):  # not JSON at all: the route's parsing answers
        json.loads(body, parse_constant=refuse)


class StatementsGetRoute(XapiRoute):
    """GET /xapi/statements: a single statement by id is read on a lean path (one SQL
    statement, no ORM session, no thread hop: see statement_read.py); any other request,
    and any the lean path cannot answer without the full route's checks, goes the full way.
    """

    def inner_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        full = super().inner_handler()

        async def handler(request: Request) -> Response:
            response = await _single_statement_lean(request)
            return response if response is not None else await full(request)

        return handler


router = APIRouter(prefix="/xapi", tags=["xapi"], route_class=XapiRoute)


async def xapi_version(
    request: Request,
    version: Annotated[
        str | None,
        Header(alias=VERSION_HEADER, description="1.0.x or 2.0.x (Communication 3.3)"),
    ] = None,
) -> str:
    """The request's xAPI version; a request without a supported one is a 400."""
    match = VERSION_RE.match(version or "")
    if not match:
        raise BadRequest(
            f"Send the {VERSION_HEADER} header with a supported version (1.0.x or 2.0.x); "
            f"got {version!r} (xAPI Communication 3.3).",
            slug="unsupported-xapi-version",
        )
    request.state.xapi_version = SUPPORTED[match.group(1)]
    return request.state.xapi_version


Version = Annotated[str, Depends(xapi_version)]
SessionDep = Annotated[Session, Depends(get_session)]


def _caller(request: Request, identity: Any, version: str) -> service.Caller:
    settings = request.app.state.settings
    return service.Caller(
        client_id=identity.client_id,
        authority_homepage=str(request.base_url).rstrip("/") + "/api-clients",
        account_homepage=settings.xapi_account_homepage,
        version="2.0.0" if version.startswith("2") else "1.0.0",
    )


def _no_alternate_syntax(request: Request) -> None:
    if "method" in request.query_params:
        raise BadRequest(
            "The alternate request syntax (Communication 1.3) is not supported; send a plain "
            "request.",
            slug="alternate-syntax-unsupported",
        )


STATEMENTS_BODY = Body(
    description="One statement, or an array of statements (xAPI Data 2.4).",
    openapi_examples={
        "single": {"summary": "One statement", "value": EXAMPLE_STATEMENT},
        "batch": {"summary": "A batch", "value": [EXAMPLE_STATEMENT]},
    },
)


@router.post(
    "/statements",
    summary="Store statements",
    response_model=list[str],
    responses=problem_responses(400, 401, 403, 409, 415),
    dependencies=[require_leaving_active_check("xapi:write")],
)
async def post_statements(
    request: Request,
    session: SessionDep,
    identity: CurrentIdentity,
    version: Version,
    body: Annotated[Any, STATEMENTS_BODY],
) -> Response:
    """Store one statement or a batch; returns their ids in order (Communication 2.1.2).

    Statements that match an activity mapping become evidence in the same transaction; the
    people they concern are evaluated just after the response, so their certification
    status reflects the batch shortly after the 200 (`evaluated_at`)."""
    _no_alternate_syntax(request)
    _refuse_non_json_numbers(await request.body())
    statements = body if isinstance(body, list) else [body]
    if not statements:
        raise BadRequest("Send at least one statement.", slug="empty-batch")
    ids = await _store(request, session, statements, identity=identity, version=version)
    # A list of the ids just made: rendered here, not validated against list[str] again.
    return Response(json.dumps(ids, separators=(",", ":")), media_type="application/json")


@router.put(
    "/statements",
    summary="Store one statement with a given id",
    status_code=204,
    response_class=Response,
    responses=problem_responses(400, 401, 403, 409, 415),
    dependencies=[require_leaving_active_check("xapi:write")],
)
async def put_statement(
    request: Request,
    session: SessionDep,
    identity: CurrentIdentity,
    version: Version,
    body: Annotated[Any, STATEMENTS_BODY],
    statement_id: Annotated[str | None, Query(alias="statementId")] = None,
) -> Response:
    """Store a statement under statementId: 204, also when it is already stored (2.1.1)."""
    _no_alternate_syntax(request)
    _refuse_non_json_numbers(await request.body())
    if not statement_id:
        raise BadRequest(
            "PUT needs the statementId parameter (Communication 2.1.1).",
            slug="missing-statement-id",
        )
    try:
        canonical = str(uuid.UUID(statement_id))
    except ValueError as exc:
        raise BadRequest(
            f"statementId {statement_id!r} is not a UUID.", slug="invalid-parameter"
        ) from exc
    if not isinstance(body, dict):
        raise BadRequest("PUT takes a single statement object.", slug="invalid-statement")
    if "id" in body and str(body["id"]).lower() != canonical:
        raise BadRequest(
            "The statement's id differs from statementId (Communication 2.1.1.s3.b3).",
            slug="statement-id-mismatch",
        )
    body["id"] = canonical
    await _store(request, session, [body], identity=identity, version=version)
    return Response(status_code=204)


async def _store(
    request: Request, session: Session, statements: list[Any], *, identity: Any, version: str
) -> list[str]:
    """Store statements for POST and PUT: small requests of a client whose credentials the
    caches verified go through the app's write combiner (combine.py: concurrent requests
    of one client share a transaction), anything else in this request's session."""
    caller = _caller(request, identity, version)
    client_id = client_left_to_check(request)
    combiner = _combiner(request)
    try:
        if (
            combiner is not None
            and client_id is not None
            and len(statements) <= combine.SMALL_REQUEST
            and not session.in_transaction()
        ):
            release_unused(session)
            ids, callbacks = await combiner.store(
                request.app.state.session_factory,
                statements=statements,
                caller=caller,
                client_id=client_id,
                request_id=getattr(request.state, "request_id", None),
            )
            for callback in callbacks:  # run after the response, as for any request
                after_commit(session, callback)
            return ids
        return await run_in_threadpool(
            _store_in_session, session, statements, caller, identity.client_id, client_id
        )
    except service.ClientNotActive as exc:
        raise inactive_client(request) from exc


def _store_in_session(
    session: Session,
    statements: list[Any],
    caller: service.Caller,
    actor: str,
    client_to_check: str | None,
) -> list[str]:
    ids = service.store(
        session,
        statements=statements,
        caller=caller,
        actor=actor,
        client_to_check=client_to_check,
    )
    # Committed in this worker thread: one trip less for every LMS request.
    commit_in_endpoint(session)
    return ids


def _combiner(request: Request) -> combine.Combiner | None:
    """The app's write combiner; None on SQLite (one writer: nothing to combine)."""
    state = request.app.state
    combiner: combine.Combiner | None = getattr(state, "xapi_combiner", None)
    if combiner is None and state.engine.dialect.name == "postgresql":
        combiner = state.xapi_combiner = combine.Combiner()
    return combiner


def _bool_param(name: str, value: str | None) -> bool:
    if value is None:
        return False
    if value not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false.", slug="invalid-parameter")
    return value == "true"


def _timestamp_param(name: str, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_timestamp(value, name)
    except StatementInvalid as exc:
        raise BadRequest(f"{name}: {exc}", slug="invalid-parameter") from exc


def _statement_json(raw: str, fmt: str) -> str:
    if fmt == "ids":
        return json.dumps(service.ids_format(json.loads(raw)), separators=(",", ":"))
    return raw


def get_statements(
    request: Request,
    session: SessionDep,
    version: Version,
    statement_id: Annotated[str | None, Query(alias="statementId")] = None,
    voided_statement_id: Annotated[str | None, Query(alias="voidedStatementId")] = None,
    agent: Annotated[str | None, Query(description="Agent or Identified Group JSON")] = None,
    verb: Annotated[str | None, Query(description="Verb IRI")] = None,
    activity: Annotated[str | None, Query(description="Activity IRI")] = None,
    registration: Annotated[str | None, Query(description="Registration UUID")] = None,
    related_activities: Annotated[str | None, Query(description="true or false")] = None,
    related_agents: Annotated[str | None, Query(description="true or false")] = None,
    since: Annotated[str | None, Query(description="Stored after (exclusive)")] = None,
    until: Annotated[str | None, Query(description="Stored at or before")] = None,
    limit: Annotated[str | None, Query(description="0 = the server maximum (500)")] = None,
    format: Annotated[str | None, Query(description="ids, exact or canonical")] = None,
    attachments: Annotated[str | None, Query(description="Only false is supported")] = None,
    ascending: Annotated[str | None, Query(description="true or false")] = None,
    cursor: Annotated[str | None, Query(description="From `more`; do not build yourself")] = None,
) -> Response:
    """A statement by statementId / voidedStatementId, or a StatementResult (2.1.3)."""
    params = request.query_params
    unknown = set(params) - QUERY_PARAMS
    if unknown:
        raise BadRequest(f"Unknown parameter {sorted(unknown)[0]}.", slug="invalid-parameter")
    fmt = format or "exact"
    if fmt not in ("ids", "exact", "canonical"):
        raise BadRequest("format must be ids, exact or canonical.", slug="invalid-parameter")
    if _bool_param("attachments", attachments):
        raise BadRequest(
            "This LRS stores no attachments; use attachments=false.", slug="attachments-unsupported"
        )
    if statement_id is not None or voided_statement_id is not None:
        if statement_id is not None and voided_statement_id is not None:
            raise BadRequest(
                "Send statementId or voidedStatementId, not both (Communication 2.1.3.s2.b1).",
                slug="invalid-parameter",
            )
        if set(params) - SINGLE_PARAMS:
            raise BadRequest(
                "With statementId or voidedStatementId only format and attachments are "
                "allowed (Communication 2.1.3.s2.b2).",
                slug="invalid-parameter",
            )
        raw = service.get_statement(
            session,
            statement_id=statement_id or voided_statement_id or "",
            voided=voided_statement_id is not None,
        )
        return Response(_statement_json(raw, fmt), media_type="application/json")
    q = service.Query(
        agent=service.agent_filter(agent) if agent is not None else None,
        verb=verb,
        activity=activity,
        related_activities=_bool_param("related_activities", related_activities),
        related_agents=_bool_param("related_agents", related_agents),
        since=_timestamp_param("since", since),
        until=_timestamp_param("until", until),
        ascending=_bool_param("ascending", ascending),
        cursor=cursor,
    )
    if registration is not None:
        try:
            q.registration = uuid.UUID(registration)
        except ValueError as exc:
            raise BadRequest("registration must be a UUID.", slug="invalid-parameter") from exc
    if limit is not None:
        if not limit.isdigit():
            raise BadRequest("limit must be a non-negative integer.", slug="invalid-parameter")
        q.limit = int(limit)
    raws, next_cursor = service.query(session, q=q)
    more = ""
    if next_cursor:
        kept = [(k, v) for k, v in params.multi_items() if k != "cursor"]
        more = "/xapi/statements?" + urllib.parse.urlencode([*kept, ("cursor", next_cursor)])
    body = (
        '{"statements":['
        + ",".join(_statement_json(raw, fmt) for raw in raws)
        + '],"more":'
        + json.dumps(more)
        + "}"
    )
    return Response(body, media_type="application/json")


router.add_api_route(
    "/statements",
    get_statements,
    methods=["GET"],
    summary="Get one statement or query statements",
    responses=problem_responses(400, 401, 403, 404),
    dependencies=[require("xapi:read")],
    response_class=Response,
    route_class_override=StatementsGetRoute,
)


async def _single_statement_lean(request: Request) -> Response | None:
    """GET by statementId or voidedStatementId with a cheaply known caller; None when the
    request needs the full route, which then answers it (and every error) as always.

    The same rules as `get_statements`: the version header (Communication 3.3), only format
    and attachments beside the id (2.1.3.s2.b2), a voided statement only by
    voidedStatementId (Data 2.3.2), the scope xapi:read, and the client still active,
    checked in the same SQL statement as the read.
    """
    reader: StatementReader | None = getattr(request.app.state, "xapi_statement_reader", None)
    if reader is None:
        return None
    params = request.query_params
    if len(params.multi_items()) != len(params) or not set(params) <= SINGLE_PARAMS:
        return None
    statement_id, voided_id = params.get("statementId"), params.get("voidedStatementId")
    if (statement_id is None) == (voided_id is None):
        return None
    fmt = params.get("format", "exact")
    if fmt not in ("ids", "exact", "canonical") or params.get("attachments", "false") != "false":
        return None
    match = VERSION_RE.match(request.headers.get(VERSION_HEADER) or "")
    if not match:
        return None
    asked = statement_id if statement_id is not None else voided_id or ""
    try:
        key = uuid.UUID(asked)
    except ValueError:
        return None
    identity = identity_without_database(request, "xapi:read")
    if identity is None:
        return None
    raw, client_active = await reader.read(
        request.app.state,
        statement_id=key,
        voided=voided_id is not None,
        client_id=identity.client_id,
    )
    if identity.source == "local" and not client_active:
        return None  # the full route refuses it with its usual 401
    request.state.xapi_version = SUPPORTED[match.group(1)]
    request.state.identity = identity
    request.state.client_id = identity.client_id
    if raw is None:
        raise service.statement_not_found(asked, voided=voided_id is not None)
    return Response(_statement_json(raw, fmt), media_type="application/json")


@router.get(
    "/about",
    summary="xAPI versions this LRS speaks",
    response_model=About,
    responses=problem_responses(401, 403),
    dependencies=[require("xapi:read")],
)
def about(request: Request) -> About:
    """The About resource; needs no version header (Communication 2.8)."""
    request.state.xapi_version = "2.0.0"
    return About(version=["1.0.3", "2.0.0"], extensions={})


@router.get(
    "/unmapped-activities",
    summary="Activity ids seen without a mapping",
    response_model=list[UnmappedActivity],
    responses=problem_responses(401, 403),
    dependencies=[require("xapi:read")],
)
def unmapped_activities(session: SessionDep) -> list[Any]:
    """Activities statements arrived for that no mapping of the current model matches."""
    return service.unmapped_activities(session)
