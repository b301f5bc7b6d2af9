"""Fixtures of the webhook tests: a live receiver, private targets allowed, a deliverer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.integrations.webhooks.delivery import Deliverer
from tests.factories import auth_headers
from tests.integrations.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    live = Receiver().start()
    yield live
    live.stop()


@pytest.fixture
def private_allowed(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """AIDIPLOMA_WEBHOOKS_ALLOW_PRIVATE=true, so tests can target the receiver on 127.0.0.1."""
    monkeypatch.setattr(app.state.settings, "webhooks_allow_private", True)


@pytest.fixture
def deliverer(app: FastAPI) -> Iterator[Deliverer]:
    worker = Deliverer(app.state.settings, client=httpx.Client())
    yield worker
    worker.close()


@pytest.fixture
def now(frozen_clock: Any) -> datetime:
    """Freeze the clock at the real time, so the standardwebhooks tolerance check passes."""
    at = datetime.now(UTC).replace(microsecond=0)
    frozen_clock.set(at)
    return at


@pytest.fixture
def manage(client: TestClient, db: Session, app: FastAPI) -> dict[str, str]:
    return auth_headers(db, app, "webhooks:manage")
