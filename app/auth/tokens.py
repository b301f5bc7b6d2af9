"""Bearer token verification for our own tokens and an external identity provider's.

Both sources work side by side: the `iss` claim picks the verifier. Algorithms
are pinned (RS256 for ours; RS256/ES256/PS256 for the external IdP), so `alg: none`
and HS256 tokens made with a public key are refused.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import httpx
from jose import JWTError, jwt
from jose.exceptions import JWTClaimsError

from app.auth.scopes import SCOPES
from app.auth.service import Identity
from app.core import clock
from app.core.config import Settings
from app.core.errors import Unauthenticated
from app.core.keys import SigningKey

EXTERNAL_ALGORITHMS = ["RS256", "ES256", "PS256"]


class ExternalJWKS:
    """The external IdP's JWKS, fetched with httpx and cached; refetched on an unknown kid
    at most once a minute so a flood of bad tokens cannot hammer the IdP."""

    def __init__(self, url: str, *, client: httpx.Client, cache_seconds: int = 3600) -> None:
        self.url = url
        self.client = client
        self.cache_seconds = cache_seconds
        self._keys: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def keys(self, kid: str | None, *, may_fetch: bool = True) -> dict[str, Any]:
        """The key set; `may_fetch=False` (code on the event loop) raises KeysNotAtHand
        instead of fetching, or of waiting for another thread's fetch."""
        if not self._lock.acquire(blocking=may_fetch):
            raise KeysNotAtHand
        try:
            age = time.monotonic() - self._fetched_at
            known = self._keys is not None and (
                kid is None or any(k.get("kid") == kid for k in self._keys.get("keys", []))
            )
            if self._keys is None or age > self.cache_seconds or (not known and age > 60):
                if not may_fetch:
                    raise KeysNotAtHand
                response = self.client.get(self.url, timeout=10)
                response.raise_for_status()
                self._keys = response.json()
                self._fetched_at = time.monotonic()
            assert self._keys is not None
            return self._keys
        finally:
            self._lock.release()


class KeysNotAtHand(Exception):
    """Verifying this token means fetching the identity provider's keys first: a blocking
    HTTP call that code running on the event loop must leave to a thread."""


class TokenVerifier:
    """Turns a bearer token into an Identity or raises Unauthenticated."""

    def __init__(
        self, *, settings: Settings, key: SigningKey, external_jwks: ExternalJWKS | None = None
    ) -> None:
        self.settings = settings
        self.key = key
        self.external_jwks = external_jwks
        self._cache: dict[str, tuple[Identity, float]] = {}

    def verify(self, token: str, *, may_fetch_keys: bool = True) -> Identity:
        """Verify a token; a token verified before is answered from a small cache until it
        expires (signature checks dominate the cost of a fast read). `may_fetch_keys=False`
        for callers on the event loop: raises KeysNotAtHand rather than fetch a JWKS."""
        cached = self._cache.get(token)
        if cached is not None:
            identity, expires = cached
            if clock.now().timestamp() <= expires + CLOCK_SKEW_SECONDS:
                return identity
            self._cache.pop(token, None)
        identity, expires = self._verify_uncached(token, may_fetch_keys=may_fetch_keys)
        if len(self._cache) >= TOKEN_CACHE_SIZE:
            self._cache.clear()  # crude but bounded; tokens are re-verified on the next use
        self._cache[token] = (identity, expires)
        return identity

    def _verify_uncached(self, token: str, *, may_fetch_keys: bool) -> tuple[Identity, float]:
        try:
            unverified = jwt.get_unverified_claims(token)
        except JWTError as exc:
            raise Unauthenticated("The token is not a well-formed JWT.") from exc
        issuer = unverified.get("iss")
        if issuer == self.settings.token_issuer:
            return self._verify_local(token)
        if self.external_jwks is not None and issuer == self.settings.external_issuer:
            return self._verify_external(token, may_fetch_keys=may_fetch_keys)
        raise Unauthenticated("The token's issuer is not trusted.")

    def _verify_local(self, token: str) -> tuple[Identity, float]:
        # Only access tokens (RFC 9068 typ at+jwt) with our audience: the same key also signs
        # diplomas, which must never pass as access tokens.
        try:
            header = jwt.get_unverified_header(token)
        except JWTError as exc:
            raise Unauthenticated("The token is not a well-formed JWT.") from exc
        if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
            raise Unauthenticated("The token is not an access token (typ at+jwt).")
        claims = _decode(
            lambda: self.key.decode(
                token,
                audience=self.settings.token_audience,
                issuer=self.settings.token_issuer,
                options=_TIME_CHECKED_BY_US,
            )
        )
        if claims.get("aud") != self.settings.token_audience:
            raise Unauthenticated("The token is not meant for this API (aud).")
        client_id = claims.get("client_id") or claims.get("sub")
        if not isinstance(client_id, str):
            raise Unauthenticated("The token names no client.")
        person = claims.get("person_id")
        identity = Identity(
            client_id=client_id,
            scopes=frozenset(str(claims.get("scope", "")).split()),
            person_id=uuid.UUID(person) if person else None,
        )
        return identity, float(claims["exp"])

    def _verify_external(self, token: str, *, may_fetch_keys: bool) -> tuple[Identity, float]:
        assert self.external_jwks is not None
        try:
            header = jwt.get_unverified_header(token)
            keys = self.external_jwks.keys(header.get("kid"), may_fetch=may_fetch_keys)
        except (JWTError, httpx.HTTPError, ValueError) as exc:
            raise Unauthenticated("The identity provider's keys could not be used.") from exc
        claims = _decode(
            lambda: jwt.decode(
                token,
                keys,
                algorithms=EXTERNAL_ALGORITHMS,
                audience=self.settings.external_audience or self.settings.token_audience,
                issuer=self.settings.external_issuer,
                options={"verify_at_hash": False, **_TIME_CHECKED_BY_US},
            )
        )
        client_id = (
            claims.get(self.settings.external_client_claim)
            or claims.get("appid")
            or claims.get("client_id")
            or claims.get("sub")
        )
        if not isinstance(client_id, str):
            raise Unauthenticated("The token names no client.")
        identity = Identity(
            client_id=f"ext:{client_id}",
            scopes=frozenset(self._map_external_scopes(claims)),
            source="external",
        )
        return identity, float(claims["exp"])

    def _map_external_scopes(self, claims: dict[str, Any]) -> set[str]:
        values: list[str] = []
        for claim in ("scp", "scope"):
            if isinstance(claims.get(claim), str):
                values.extend(claims[claim].split())
        if isinstance(claims.get("roles"), list):
            values.extend(str(role) for role in claims["roles"])
        mapping = self.settings.external_scope_map
        scopes: set[str] = set()
        for value in values:
            if value in mapping:
                scopes.update(s for s in mapping[value] if s in SCOPES)
            elif value in SCOPES:
                scopes.add(value)
        return scopes


# exp and nbf are checked against app.core.clock, the one clock of the service.
_TIME_CHECKED_BY_US = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}
CLOCK_SKEW_SECONDS = 30
TOKEN_CACHE_SIZE = 10_000


def _decode(decode: Any) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = decode()
    except JWTClaimsError as exc:
        raise Unauthenticated(f"The token's claims are not valid here: {exc}.") from exc
    except JWTError as exc:
        raise Unauthenticated("The token's signature or algorithm is not accepted.") from exc
    now = clock.now().timestamp()
    expires = claims.get("exp")
    if not isinstance(expires, int | float):
        raise Unauthenticated("The token has no expiry (exp).")
    if now > expires + CLOCK_SKEW_SECONDS:
        raise Unauthenticated("The token has expired.")
    not_before = claims.get("nbf")
    if isinstance(not_before, int | float) and now < not_before - CLOCK_SKEW_SECONDS:
        raise Unauthenticated("The token is not valid yet (nbf).")
    return claims
