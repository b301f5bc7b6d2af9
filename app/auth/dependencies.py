"""Request identity: `require(scope)` guards a route; `current_identity` reads who is calling."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes

from app.auth import service
from app.auth.scopes import SCOPES
from app.auth.service import Identity
from app.core.errors import Forbidden, Unauthenticated

oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth/token", scopes=SCOPES)
    ),
    scheme_name="oauth2",
    description="OAuth 2.0 client credentials (RFC 6749 4.4); send the JWT as a Bearer token.",
    auto_error=False,
)


def authorize(
    request: Request,
    security_scopes: SecurityScopes,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Identity:
    """Verify the bearer token and that it carries every scope the route declares."""
    identity = getattr(request.state, "identity", None)
    if identity is None:
        identity = _authenticate(request, authorization)
    for needed in security_scopes.scopes:
        if not identity.has(needed):
            raise Forbidden(
                f"This needs the scope {needed}.",
                slug="insufficient-scope",
                required_scope=needed,
                headers={
                    "WWW-Authenticate": f'Bearer realm="aidiploma", error="insufficient_scope", '
                    f'scope="{needed}"'
                },
            )
    return identity


def _authenticate(request: Request, authorization: str | None) -> Identity:
    if not authorization:
        raise Unauthenticated("This endpoint needs a Bearer access token.", error=None)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Use the Bearer scheme: 'Authorization: Bearer <token>'.", error="invalid_request"
        )
    identity: Identity = request.app.state.token_verifier.verify(token.strip())
    session = getattr(request.state, "session", None)
    if (
        identity.source == "local"
        and session is not None
        and not service.client_is_active(session, client_id=identity.client_id)
    ):
        raise Unauthenticated("The client of this token is deactivated or unknown.")
    request.state.identity = identity
    request.state.client_id = identity.client_id
    if session is not None:
        session.info["actor"] = identity.client_id
    return identity


def require(scope: str) -> Any:
    """A route dependency demanding `scope` (documented in OpenAPI as an OAuth2 scope)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope}")
    return Security(authorize, scopes=[scope])


def current_identity(request: Request) -> Identity:
    """The identity checked by the route's `require(...)`; use after it."""
    identity: Identity | None = getattr(request.state, "identity", None)
    if identity is None:  # pragma: no cover - a route without require() is a programming error
        raise Unauthenticated("This endpoint needs a Bearer access token.", error=None)
    return identity


CurrentIdentity = Annotated[Identity, Depends(current_identity)]
