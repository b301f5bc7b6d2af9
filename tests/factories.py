"""Plain factory functions for tests: make_x(session, **overrides)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from sqlmodel import Session

from app.auth import service as auth_service
from app.auth.models import ApiClient


def make_api_client(session: Session, *, scopes: list[str], **overrides: Any) -> ApiClient:
    """An API client row; its secret hash is a placeholder (tests sign tokens directly)."""
    values: dict[str, Any] = {
        "client_id": "cl_test_" + uuid.uuid4().hex[:8],
        "name": "test client",
        "scopes": scopes,
        "secret_hash": "not-a-hash",
    }
    values.update(overrides)
    client = ApiClient(**values)
    session.add(client)
    session.flush()
    return client


def auth_headers(session: Session, app: FastAPI, *scopes: str, **overrides: Any) -> dict[str, str]:
    """Authorization headers of a fresh client holding `scopes`."""
    return token_headers(app, make_api_client(session, scopes=list(scopes), **overrides))


def token_headers(app: FastAPI, client: ApiClient) -> dict[str, str]:
    """Authorization headers with a token for an existing client, issued now (by the clock)."""
    token = auth_service.issue_token(
        client=client, scopes=client.scopes, key=app.state.signing_key, settings=app.state.settings
    )["access_token"]
    return {"Authorization": f"Bearer {token}"}
