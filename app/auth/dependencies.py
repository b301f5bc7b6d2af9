"""Request identity: `require(scope)` guards a route; `current_identity` reads who is calling."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from starlette.concurrency import run_in_threadpool

from app.auth import service
from app.auth.scopes import SCOPES
from app.auth.service import Identity
from app.auth.tokens import KeysNotAtHand
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
    return _authorize(request, security_scopes.scopes, authorization, may_fetch_keys=True)


def _authorize(
    request: Request, scopes: list[str], authorization: str | None, *, may_fetch_keys: bool
) -> Identity:
    identity = getattr(request.state, "identity", None)
    if identity is None:
        identity = _authenticate(request, authorization, may_fetch_keys=may_fetch_keys)
    for needed in scopes:
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


# LRS clients (xAPI Communication 4.0) and LMSs reporting SCORM results authenticate with
# HTTP Basic: an API client's id and secret. Elsewhere only Bearer tokens are accepted.
BASIC_AUTH_PATH_PREFIXES = ("/xapi/", "/integrations/scorm/")


def _authenticate(request: Request, authorization: str | None, *, may_fetch_keys: bool) -> Identity:
    if not authorization:
        raise Unauthenticated("This endpoint needs a Bearer access token.", error=None)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "basic" and request.url.path.startswith(BASIC_AUTH_PATH_PREFIXES):
        return _authenticate_basic(request, token.strip())
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Use the Bearer scheme: 'Authorization: Bearer <token>'.", error="invalid_request"
        )
    identity: Identity = request.app.state.token_verifier.verify(
        token.strip(), may_fetch_keys=may_fetch_keys
    )
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


def _authenticate_basic(request: Request, credentials: str) -> Identity:
    challenge = {"WWW-Authenticate": 'Basic realm="aidiploma"'}
    try:
        client_id, sep, secret = (
            base64.b64decode(credentials, validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        sep = ""
    if not sep:
        raise Unauthenticated("Malformed Basic credentials.", error=None, headers=challenge)
    session = getattr(request.state, "session", None)
    if session is None:  # pragma: no cover - Basic is only offered on AppRoute routers
        raise Unauthenticated("Basic credentials cannot be checked here.", error=None)
    cache = getattr(request.app.state, "basic_credential_cache", None)
    if cache is None:
        cache = request.app.state.basic_credential_cache = service.BasicCredentialCache()
    identity = service.authenticate_basic(session, client_id=client_id, secret=secret, cache=cache)
    # A cached identity is re-checked against the client's active flag on every request.
    if identity is None or not service.client_is_active(session, client_id=client_id):
        raise Unauthenticated("Unknown client or wrong secret.", error=None, headers=challenge)
    request.state.identity = identity
    request.state.client_id = identity.client_id
    session.info["actor"] = identity.client_id
    return identity


def identity_without_database(request: Request, scope: str) -> Identity | None:
    """The caller's identity if it holds `scope` and can be established without the
    database: a Bearer token, or HTTP Basic credentials verified recently (the
    BasicCredentialCache); None otherwise, and for anything `authorize` would refuse.

    For hot read routes that fall back to the full route (and `authorize`) on None. The
    caller must still check the client's active flag for local identities, in its own read.
    """
    identity = _identity_from_caches(request)
    if identity is None or not identity.has(scope):
        return None
    return identity


def _identity_from_caches(request: Request) -> Identity | None:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    token = token.strip()
    if not token:
        return None
    if scheme.lower() == "bearer":
        try:
            # On the event loop: a token whose issuer's keys must be fetched first is left
            # to the full route, in a thread (KeysNotAtHand), like any token refused here.
            identity: Identity = request.app.state.token_verifier.verify(
                token, may_fetch_keys=False
            )
        except Exception:
            return None
        return identity
    if scheme.lower() == "basic" and request.url.path.startswith(BASIC_AUTH_PATH_PREFIXES):
        cache = getattr(request.app.state, "basic_credential_cache", None)
        try:
            client_id, sep, secret = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if cache is None or not sep:
            return None
        return cache.get(client_id, secret)
    return None


async def authorize_leaving_active_check(
    request: Request,
    security_scopes: SecurityScopes,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Identity:
    """`authorize` for write routes whose service reads the client's active flag in its own
    first query (POST and PUT /xapi/statements), which saves a round trip per request.

    Credentials the caches verify (a Bearer token, Basic credentials verified recently) are
    checked here on the event loop, with no query and no thread hop, and
    `client_left_to_check` then names the client whose flag the route must have read;
    anything else goes through `authorize` in a worker thread, flag included."""
    session = getattr(request.state, "session", None)
    if session is not None and getattr(request.state, "identity", None) is None:
        identity = _identity_from_caches(request)
        if identity is not None and all(identity.has(s) for s in security_scopes.scopes):
            request.state.identity = identity
            request.state.client_id = identity.client_id
            session.info["actor"] = identity.client_id
            if identity.source == "local":
                request.state.client_left_to_check = identity.client_id
            return identity
    identity = await run_in_threadpool(authorize, request, security_scopes, authorization)
    return identity


def client_left_to_check(request: Request) -> str | None:
    """The API client whose active flag `authorize_leaving_active_check` left unread."""
    client_id: str | None = getattr(request.state, "client_left_to_check", None)
    return client_id


def inactive_client(request: Request) -> Unauthenticated:
    """The 401 `authorize` answers a deactivated client with, for the route that read the flag."""
    scheme = (request.headers.get("authorization") or "").partition(" ")[0].lower()
    if scheme == "basic":
        return Unauthenticated(
            "Unknown client or wrong secret.",
            error=None,
            headers={"WWW-Authenticate": 'Basic realm="aidiploma"'},
        )
    return Unauthenticated("The client of this token is deactivated or unknown.")


def require_leaving_active_check(scope: str) -> Any:
    """Like `require`, for routes that read the client's active flag themselves."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope}")
    return Security(authorize_leaving_active_check, scopes=[scope])


def require(scope: str) -> Any:
    """A route dependency demanding `scope` (documented in OpenAPI as an OAuth2 scope)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope}")
    return Security(authorize, scopes=[scope])


async def current_identity(request: Request) -> Identity:
    """The identity checked by the route's `require(...)`; use after it."""
    identity: Identity | None = getattr(request.state, "identity", None)
    if identity is None:  # pragma: no cover - a route without require() is a programming error
        raise Unauthenticated("This endpoint needs a Bearer access token.", error=None)
    return identity


CurrentIdentity = Annotated[Identity, Depends(current_identity)]


async def authorize_without_session(
    request: Request,
    security_scopes: SecurityScopes,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Identity:
    """`authorize` for hot read routes that run outside the per-request session: no thread
    hop and no database here; such a route must check the client's active flag in its own
    query (see app/certification/status_read.py). A token whose issuer's keys must be
    fetched first is verified in a thread: the fetch must not stall the event loop."""
    try:
        return _authorize(request, security_scopes.scopes, authorization, may_fetch_keys=False)
    except KeysNotAtHand:
        return await run_in_threadpool(
            _authorize, request, security_scopes.scopes, authorization, may_fetch_keys=True
        )


def require_on_hot_path(scope: str) -> Any:
    """Like `require`, for routes that check the client's active flag themselves."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope}")
    return Security(authorize_without_session, scopes=[scope])
