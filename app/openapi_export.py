"""Renders the app's OpenAPI document deterministically, for openapi/openapi.json and its test."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from app.core.config import Settings
from app.core.db import create_db_engine
from app.core.keys import SigningKey


def render_openapi() -> str:
    from app.main import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'openapi.db'}",
            embedded_worker=False,
            log_json=False,
        )
        app = create_app(
            settings,
            engine=create_db_engine(settings.database_url),
            signing_key=SigningKey.generate(),
        )
        return json.dumps(app.openapi(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
