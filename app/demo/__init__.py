"""The demo organisation: believable data for every capability, loaded by `aidiploma demo`.

It grows with every capability, so that a newcomer running the first README
command sees each feature with data. The demo admin client's credentials are
kept in a 0600 file beside the database so every start can print them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, select

from app.auth import service as auth_service
from app.auth.models import ApiClient
from app.auth.schemas import ApiClientCreate
from app.core.config import Settings
from app.core.db import unit_of_work
from app.demo import (
    certification,
    competencies,
    hris,
    organisation,
    register,
    reports,
    rollout,
    xapi,
)

DEMO_ADMIN_NAME = "demo-admin"


def credentials_path(settings: Settings) -> Path:
    return settings.signing_key_path.parent.parent / "demo-client.json"


def load(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    language: str = "nl",
    if_empty: bool = False,
) -> dict[str, Any]:
    """Load the demo organisation; with if_empty, do nothing when it is already there."""
    with unit_of_work(factory) as session:
        session.info["actor"] = "demo"
        existing = session.exec(select(ApiClient).where(ApiClient.name == DEMO_ADMIN_NAME)).first()
        if existing is not None and if_empty:
            return {"loaded": False, "client": _saved_credentials(settings)}
        client, secret = auth_service.create_client(
            session, data=ApiClientCreate(name=DEMO_ADMIN_NAME, scopes=["admin"])
        )
        counts: dict[str, int] = {}
        # Order matters: the register links roles, the model's requirements follow the register.
        parts = (organisation, register, competencies, certification, xapi, rollout, reports, hris)
        for part in parts:
            counts.update(part.load(session, language=language))
    credentials = {"client_id": client.client_id, "client_secret": secret, "scopes": client.scopes}
    _save_credentials(settings, credentials)
    return {"loaded": True, "language": language, "client": credentials, "counts": counts}


def _save_credentials(settings: Settings, credentials: dict[str, Any]) -> None:
    path = credentials_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(credentials, handle)


def _saved_credentials(settings: Settings) -> dict[str, Any] | None:
    path = credentials_path(settings)
    if not path.exists():
        return None
    saved: dict[str, Any] = json.loads(path.read_text())
    return saved


def print_summary(result: dict[str, Any]) -> None:
    client = result.get("client")
    print("demo organisation loaded" if result["loaded"] else "demo organisation already loaded")
    for name, count in result.get("counts", {}).items():
        print(f"  {name}: {count}")
    if client:
        print("demo admin client (scope admin):")
        print(f"  client_id:     {client['client_id']}")
        print(f"  client_secret: {client['client_secret']}")
        print(
            '  token: curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials '
            "http://127.0.0.1:8000/oauth/token"
        )
