"""Typed application errors and their single rendering as RFC 9457 problem+json.

Services raise AppError subclasses (never HTTPException); this module maps them,
framework errors (404/405 from routing, validation) and unexpected exceptions to
`application/problem+json` bodies. No stack trace or SQL ever reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("aidiploma.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:aidiploma:problem:"


class FieldProblem(BaseModel):
    """One offending input field of a validation problem."""

    pointer: str = Field(description="JSON Pointer (RFC 6901) into the request part, e.g. '#/name'")
    location: str = Field(description="body, query, path, header or cookie")
    field: str = Field(description="dotted path of the field inside that location")
    message: str
    type: str = Field(description="machine-readable error code")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[f"{PROBLEM_TYPE_PREFIX}not-found"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


class AppError(Exception):
    """Base of every error a service may raise; rendered as a problem response."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        slug: str | None = None,
        title: str | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title or self.title)
        if slug:
            self.slug = slug
        if title:
            self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions


class BadRequest(AppError):
    pass


class Unauthenticated(AppError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"

    def __init__(
        self, detail: str | None = None, *, error: str | None = "invalid_token", **kw: Any
    ) -> None:
        kw.setdefault("headers", {})
        # RFC 6750 3: the challenge names the scheme and, when a token was sent, why it failed.
        challenge = 'Bearer realm="aidiploma"'
        if error:
            challenge += f', error="{error}"'
            if detail:
                challenge += ', error_description="' + detail.replace('"', "'") + '"'
        kw["headers"].setdefault("WWW-Authenticate", challenge)
        super().__init__(detail, **kw)


class Forbidden(AppError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(AppError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(AppError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PreconditionFailed(AppError):
    status = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class PreconditionRequired(AppError):
    status = 428
    slug = "precondition-required"
    title = "Precondition required"


class UnsupportedMediaType(AppError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class Unprocessable(AppError):
    """A well-formed request that breaks a business rule."""

    status = 422
    slug = "unprocessable"
    title = "Business rule violated"


_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Validation error"),
    429: ("too-many-requests", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


def problem_response(
    request: Request | None,
    status: int,
    *,
    slug: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    """Build an application/problem+json response."""
    default_slug, default_title = _TITLES.get(status, ("error", "Error"))
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + (slug or default_slug),
        "title": title or default_title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    if extensions:
        body.update({k: v for k, v in extensions.items() if k not in body})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _field_problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc else "body"
        path = loc[1:]
        problems.append(
            {
                "pointer": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path),
                "location": location,
                "field": ".".join(path),
                "message": str(error.get("msg", "invalid")),
                "type": str(error.get("type", "invalid")),
            }
        )
    return problems


async def _app_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        request,
        exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(error.get("type") == "json_invalid" for error in exc.errors()):
        return problem_response(
            request,
            400,
            slug="malformed-json",
            title="Malformed JSON",
            detail="The request body is not valid JSON.",
        )
    return problem_response(
        request,
        422,
        detail="The request has invalid or missing fields.",
        errors=_field_problems(exc),
    )


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No resource at {request.url.path}."
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    return problem_response(request, exc.status_code, detail=detail, headers=exc.headers)


async def _integrity_handler(request: Request, exc: Exception) -> JSONResponse:
    # A unique or foreign-key constraint the service did not pre-check; the SQL stays in the log.
    logger.info("integrity error mapped to 409: %s", exc)
    return problem_response(
        request,
        409,
        detail="The change conflicts with existing data (a duplicate key or a "
        "reference to something that does not exist).",
    )


async def _operational_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.error("database unavailable", exc_info=exc, extra=_log_extra(request))
    return problem_response(
        request,
        503,
        detail="The database is unavailable or busy; retry later.",
        headers={"Retry-After": "5"},
    )


async def _unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled exception", exc_info=exc, extra=_log_extra(request))
    # This response is sent by the outermost middleware, past the one that adds X-Request-ID.
    request_id = getattr(request.state, "request_id", None)
    return problem_response(
        request,
        500,
        detail="An unexpected error occurred; it has been logged with the request id.",
        headers={"X-Request-ID": request_id} if request_id else None,
    )


def _log_extra(request: Request) -> dict[str, Any]:
    return {"request_id": getattr(request.state, "request_id", None), "path": request.url.path}


def install_error_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on an app."""
    app.add_exception_handler(AppError, _app_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(IntegrityError, _integrity_handler)
    app.add_exception_handler(OperationalError, _operational_handler)
    app.add_exception_handler(Exception, _unexpected_handler)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the problem statuses a route can return."""
    result: dict[int | str, dict[str, Any]] = {}
    for status in sorted(set(statuses) | {422}):
        _, title = _TITLES.get(status, ("error", "Error"))
        result[status] = {
            "description": title,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return result


def problem_schemas() -> dict[str, Any]:
    """JSON Schemas of Problem and FieldProblem for the OpenAPI components section."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {"Problem": schema, **definitions}
