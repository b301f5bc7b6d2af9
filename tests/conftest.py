"""Test fixtures: every test runs on SQLite and on PostgreSQL, on a migrated schema,
inside a transaction that is rolled back afterwards.

PostgreSQL is expected at AIDIPLOMA_TEST_PG_URL (default postgres@127.0.0.1:5432,
trust auth); a throwaway database is created per run. Without a server the
PostgreSQL half is skipped with a message, except under CI (CI=true), where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core import clock, migrations
from app.core.config import Settings
from app.core.db import create_db_engine, make_session_factory
from app.core.keys import SigningKey
from app.main import create_app

PG_ADMIN_URL = os.environ.get(
    "AIDIPLOMA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]
# One key for the whole run: RSA generation is slow and the key is not under test here.
TEST_SIGNING_KEY = SigningKey.generate()


@dataclass
class Database:
    backend: str
    url: str
    engine: sa.Engine


def _postgres_available() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to reach the server
        return str(exc).splitlines()[0]


def create_database(backend: str, tmp_dir: Path) -> Database:
    """A new, migrated database of the given kind."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / f'test-{uuid.uuid4().hex[:8]}.db'}"
    else:
        problem = _postgres_available()
        if problem:
            message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {problem}"
            if os.environ.get("CI"):
                pytest.fail(message + " (CI must run the PostgreSQL tests)")
            pytest.skip(message + "; the PostgreSQL half of the suite is skipped")
        name = f"aidiploma_test_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = (
            sa.engine.make_url(PG_ADMIN_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    migrations.upgrade(url)
    return Database(backend=backend, url=url, engine=create_db_engine(url))


def drop_database(database: Database) -> None:
    database.engine.dispose()
    if database.backend == "postgresql":
        name = database.engine.url.database
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def app_on_fresh_database(backend: str, tmp_dir: Path) -> Iterator[tuple[FastAPI, Database]]:
    """The app on a database of its own, outside the tests' joined connection: what a real
    process has (pooled connections, on PostgreSQL the async read pool). Dropped after."""
    fresh = create_database(backend, tmp_dir)
    try:
        settings = Settings(
            database_url=fresh.url,
            embedded_worker=False,
            log_json=False,
            log_level="WARNING",
            signing_key_path=tmp_dir / "key.pem",
        )
        yield create_app(settings, engine=fresh.engine, signing_key=TEST_SIGNING_KEY), fresh
    finally:
        drop_database(fresh)


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """The migrated test database of one backend, shared by the run."""
    db = create_database(request.param, tmp_path_factory.mktemp(request.param))
    yield db
    drop_database(db)


@pytest.fixture(scope="session")
def app(database: Database, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    settings = Settings(
        database_url=database.url,
        embedded_worker=False,
        auto_migrate=False,
        log_json=False,
        log_level="WARNING",
        signing_key_path=tmp_path_factory.mktemp("keys") / "key.pem",
    )
    return create_app(settings, engine=database.engine, signing_key=TEST_SIGNING_KEY)


@pytest.fixture(scope="session")
def http_session(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def connection(database: Database) -> Iterator[sa.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    connection = database.engine.connect()
    transaction = connection.begin()
    try:
        yield connection
    finally:
        transaction.rollback()
        connection.close()


@pytest.fixture
def client(
    app: FastAPI, http_session: TestClient, connection: sa.Connection
) -> Iterator[TestClient]:
    """The API, with every request's session joined to the test's rolled-back transaction."""
    app.state.session_factory = make_session_factory(
        connection, join_transaction_mode="create_savepoint"
    )
    http_session.headers.clear()
    yield http_session
    http_session.headers.clear()


@pytest.fixture
def db(client: TestClient, app: FastAPI) -> Iterator[Session]:
    """A session on the same transaction as the API's, for setting up and asserting."""
    session: Session = app.state.session_factory()
    session.info["actor"] = "test"
    yield session
    session.close()


class FrozenClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(datetime.fromisoformat("2026-06-01T09:00:00+00:00"))
    clock.set_clock(frozen)
    yield frozen
    clock.set_clock(None)


def pytest_report_header(config: Any) -> str:
    problem = _postgres_available()
    return f"PostgreSQL: {'reachable at ' + PG_ADMIN_URL if not problem else 'NOT reachable: ' + problem}"
