"""SCIM error responses (RFC 7644 3.12) for every error under /scim/v2, auth errors included."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import AppError

SCIM_MEDIA_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_PREFIX = "/scim/v2"


class ScimError(AppError):
    """An error with an RFC 7644 3.12 scimType (invalidFilter, uniqueness, noTarget, ...)."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None, **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.status = status
        self.scim_type = scim_type


def scim_error_response(
    status: int,
    detail: str | None,
    scim_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers, media_type=SCIM_MEDIA_TYPE)


def is_scim(request: Request) -> bool:
    return request.url.path.startswith(SCIM_PREFIX)


def wrap_handler(original: Any) -> Any:
    """Render errors of /scim/v2 paths as SCIM errors; leave every other path to `original`."""

    async def handler(request: Request, exc: Exception) -> Any:
        if not is_scim(request):
            return await original(request, exc)
        if isinstance(exc, AppError):
            scim_type = getattr(exc, "scim_type", None)
            if scim_type is None and exc.status == 400:
                scim_type = "invalidValue"
            return scim_error_response(exc.status, exc.detail or exc.title, scim_type, exc.headers)
        if isinstance(exc, RequestValidationError):
            if any(error.get("type") == "json_invalid" for error in exc.errors()):
                return scim_error_response(
                    400, "The request body is not valid JSON.", "invalidSyntax"
                )
            first = exc.errors()[0] if exc.errors() else {}
            where = ".".join(str(p) for p in first.get("loc", ()))
            return scim_error_response(
                400, f"{where}: {first.get('msg', 'invalid')}", "invalidValue"
            )
        if isinstance(exc, IntegrityError):
            # A race the service's own checks could not see (two requests at once): 409 as a
            # SCIM error, so the identity provider reports and retries it (RFC 7644 3.12).
            return scim_error_response(409, "The change conflicts with a concurrent change.")
        if isinstance(exc, StarletteHTTPException):
            detail = exc.detail if isinstance(exc.detail, str) else None
            return scim_error_response(exc.status_code, detail, None, dict(exc.headers or {}))
        return await original(request, exc)

    return handler


def install_scim_error_handlers(app: Any) -> None:
    """Wrap the app's registered handlers so that /scim/v2 paths answer in the SCIM format."""
    for exc_class in (AppError, RequestValidationError, StarletteHTTPException, IntegrityError):
        original = app.exception_handlers.get(exc_class)
        if original is not None:
            app.add_exception_handler(exc_class, wrap_handler(original))
