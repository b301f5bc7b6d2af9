"""API clients and the OAuth 2.0 client-credentials grant (RFC 6749 4.4)."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from app.auth.models import ApiClient
from app.auth.schemas import ApiClientCreate, ApiClientUpdate
from app.auth.scopes import ADMIN, SCOPES
from app.core import audit, clock
from app.core.config import Settings
from app.core.errors import NotFound
from app.core.keys import SigningKey
from app.core.pagination import PageParams, paginate

_hasher = PasswordHasher()
# Verified against when the client id is unknown, so timing does not reveal which ids exist.
_DUMMY_HASH = _hasher.hash("not-a-real-secret")


@dataclass(frozen=True)
class Identity:
    """Who is calling: an API client, the scopes its token carries, an optional person link."""

    client_id: str
    scopes: frozenset[str]
    person_id: uuid.UUID | None = None
    source: str = "local"

    def has(self, scope: str) -> bool:
        return ADMIN in self.scopes or scope in self.scopes


def _snapshot(client: ApiClient) -> dict[str, Any]:
    return client.model_dump(mode="json", exclude={"secret_hash"})


def create_client(session: Session, *, data: ApiClientCreate) -> tuple[ApiClient, str]:
    """Create a client; returns it with its secret, which is not stored in clear."""
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id="cl_" + secrets.token_hex(8),
        name=data.name,
        scopes=data.scopes,
        person_id=data.person_id,
        secret_hash=_hasher.hash(secret),
    )
    session.add(client)
    session.flush()
    audit.record(
        session,
        entity_type="api_client",
        entity_id=client.client_id,
        action="create",
        after=_snapshot(client),
    )
    return client, secret


def get_client(session: Session, *, client_id: str) -> ApiClient:
    client = session.exec(select(ApiClient).where(ApiClient.client_id == client_id)).first()
    if client is None:
        raise NotFound(f"No API client {client_id}.")
    return client


def list_clients(session: Session, *, page: PageParams) -> tuple[list[ApiClient], str | None]:
    return paginate(
        session,
        select(ApiClient),
        id_column=ApiClient.id,
        params=page,
        updated_at_column=ApiClient.updated_at,
    )


def update_client(session: Session, *, client: ApiClient, data: ApiClientUpdate) -> ApiClient:
    before = _snapshot(client)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(client, field, value)
    client.updated_at = clock.now()
    client.version += 1
    session.add(client)
    session.flush()
    audit.record(
        session,
        entity_type="api_client",
        entity_id=client.client_id,
        action="update",
        before=before,
        after=_snapshot(client),
    )
    return client


def rotate_secret(session: Session, *, client: ApiClient) -> str:
    secret = secrets.token_urlsafe(32)
    client.secret_hash = _hasher.hash(secret)
    client.updated_at = clock.now()
    client.version += 1
    session.add(client)
    audit.record(
        session, entity_type="api_client", entity_id=client.client_id, action="rotate_secret"
    )
    return secret


def authenticate_client(session: Session, *, client_id: str, secret: str) -> ApiClient | None:
    """The active client with this id and secret, or None (constant-ish time either way)."""
    client = session.exec(select(ApiClient).where(ApiClient.client_id == client_id)).first()
    try:
        _hasher.verify(client.secret_hash if client else _DUMMY_HASH, secret)
    except (VerificationError, InvalidHashError):
        return None
    if client is None or not client.active:
        return None
    return client


class BasicCredentialCache:
    """Successful HTTP Basic verifications, kept briefly: argon2 takes ~50 ms per check and
    LRS clients send the id and secret on every request. Keyed by a hash of id and secret,
    so a wrong secret never hits; failures are never cached."""

    def __init__(self, ttl_seconds: float = 30.0, max_entries: int = 1024) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Identity]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(client_id: str, secret: str) -> str:
        return hashlib.sha256(f"{client_id}\0{secret}".encode()).hexdigest()

    def get(self, client_id: str, secret: str) -> Identity | None:
        key = self._key(client_id, secret)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, client_id: str, secret: str, identity: Identity) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[self._key(client_id, secret)] = (
                time.monotonic() + self.ttl_seconds,
                identity,
            )


def authenticate_basic(
    session: Session, *, client_id: str, secret: str, cache: BasicCredentialCache
) -> Identity | None:
    """The identity of an API client sending its id and secret with HTTP Basic, or None."""
    identity = cache.get(client_id, secret)
    if identity is not None:
        return identity
    client = authenticate_client(session, client_id=client_id, secret=secret)
    if client is None:
        return None
    identity = Identity(
        client_id=client.client_id, scopes=frozenset(client.scopes), person_id=client.person_id
    )
    cache.put(client_id, secret, identity)
    return identity


def granted_scopes(client: ApiClient, requested: str | None) -> list[str] | None:
    """RFC 6749 3.3: the requested scopes if all are the client's, its own when none asked;
    None when a requested scope is not the client's."""
    held = set(client.scopes)
    if not requested:
        return sorted(held)
    wanted = set(requested.split())
    if ADMIN in held:
        return sorted(wanted) if wanted <= set(SCOPES) else None
    return sorted(wanted) if wanted <= held else None


def issue_token(
    *, client: ApiClient, scopes: list[str], key: SigningKey, settings: Settings
) -> dict[str, Any]:
    """Sign an access token (RFC 9068 JWT profile claims) for a client."""
    issued_at = int(clock.now().timestamp())
    claims: dict[str, Any] = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "sub": client.client_id,
        "client_id": client.client_id,
        "scope": " ".join(scopes),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + settings.token_lifetime_seconds,
        "jti": uuid.uuid4().hex,
    }
    if client.person_id:
        claims["person_id"] = str(client.person_id)
    token = key.sign(claims, headers={"typ": "at+jwt"})
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": settings.token_lifetime_seconds,
        "scope": claims["scope"],
    }


def client_is_active(session: Session, *, client_id: str) -> bool:
    active = session.exec(select(ApiClient.active).where(ApiClient.client_id == client_id)).first()
    return bool(active)
