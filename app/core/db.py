"""Database engine, sessions and the portable column types every table uses.

SQLite (a file in WAL mode, foreign keys on) is the embedded default and
PostgreSQL (psycopg 3) is production; nothing on the default path is
PostgreSQL-only.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker
from sqlmodel import Field, Session, SQLModel

from app.core import clock, jsontext

# Stable constraint names, so Alembic diffs and batch migrations on SQLite work.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite stores it naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use app.core.clock.now() or an aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Portable JSON that becomes JSONB on PostgreSQL.
PortableJSON = sa.JSON().with_variant(JSONB(), "postgresql")


def utc_field(**kwargs: Any) -> Any:
    """A UTCDateTime column field."""
    return Field(sa_type=UTCDateTime, **kwargs)


class TimestampedTable(SQLModel):
    """Fields shared by every mutable table: a UUID key, creation and update times and a version.

    The version feeds ETag / If-Match; updated_at feeds `updated_since` filters of sync jobs.
    """

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=clock.now, sa_type=UTCDateTime, nullable=False, index=True
    )
    version: int = Field(default=1, nullable=False)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # The pysqlite driver's own transaction handling breaks SAVEPOINTs; we emit BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Reads through the OS page cache instead of copying pages into each connection's 2 MB
    # cache: a report's join over 100,000 people looks rows up in random order, and took
    # 0.7 s instead of 0.45 s through the small cache (docs/benchmarks.md, coverage report).
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


WRITE_INTENT = {"aidiploma_write_intent": True}


def _sqlite_on_begin(conn: sa.Connection) -> None:
    # A transaction that will write takes the write lock up front (BEGIN IMMEDIATE), so two
    # writers queue on busy_timeout instead of failing when both upgrade from a read lock.
    # Readers stay deferred and run concurrently under WAL.
    if conn.get_execution_options().get("aidiploma_write_intent"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def begin_writing(session: Session) -> None:
    """Start the session's next transaction as a writer (BEGIN IMMEDIATE on SQLite), for work
    that ends transactions of its own midway (a delivery round, an HR pull)."""
    if not session.in_transaction():
        session.connection(execution_options=WRITE_INTENT)


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Build the engine for a database URL, with SQLite made safe for a web server."""
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


def _ensure_sqlite_dir(url: str) -> None:
    from pathlib import Path

    path = sa.engine.make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_session_factory(bind: Engine | sa.Connection, **kwargs: Any) -> sessionmaker[Session]:
    """Sessions that do not expire objects on commit and write the audit trail on commit."""
    from app.core import audit  # audit's table uses this module's types

    factory = sessionmaker(bind=bind, class_=Session, expire_on_commit=False, **kwargs)
    audit.install(factory)
    return factory


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success, rolls back on error and is closed after; what
    its work asked to run after the commit stays in it (`take_after_commit`), for a caller
    that runs it elsewhere (xAPI write combining hands it to the requests it answers)."""
    session = factory()
    session.connection(execution_options=WRITE_INTENT)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for background work: commits on success, rolls back on error, then runs
    what the work asked to run after its commit (see `after_commit`)."""
    with transaction(factory) as session:
        yield session
    run_after_commit(session, factory)


AfterCommit = Callable[[sessionmaker[Session]], None]


def after_commit(session: Session, callback: AfterCommit) -> None:
    """Ask for `callback(session_factory)` once this session's work has committed.

    Work that can wait for the commit (evaluating the people an LMS batch touched) runs
    there: the caller is answered first, and concurrent callers can share one run. The
    commit point runs the callbacks: after the response for a request (`core.routing`),
    after the commit for `unit_of_work`. Whatever a callback must not lose is written in the
    session's own transaction first; a callback that fails or never runs loses nothing.
    Registering the same callback twice runs it once; a rollback drops them all."""
    callbacks: list[AfterCommit] = session.info.setdefault("after_commit", [])
    if callback not in callbacks:
        callbacks.append(callback)


def take_after_commit(session: Session) -> list[AfterCommit]:
    """The callbacks `after_commit` registered on this session, removed from it."""
    return list(session.info.pop("after_commit", []))


def run_after_commit(session: Session, factory: sessionmaker[Session]) -> None:
    for callback in take_after_commit(session):
        callback(factory)


def one_of(column: Any, values: Iterable[Any], *, dialect: str) -> Any:
    """`column IN (values)`. On PostgreSQL one array parameter (`column = ANY(:values)`):
    the SQL text is the same for any number of values, so it is compiled once and the
    server can prepare it; an expanded IN list is rendered, parsed and planned per call."""
    values = list(values)
    if dialect == "postgresql":
        item_type = sa.String() if column.type._isnull else column.type  # e.g. lower(...)
        return column == sa.any_(sa.bindparam(None, values, type_=ARRAY(item_type)))
    return column.in_(values)


def one_of_param(column: Any, name: str, *, dialect: str) -> Any:
    """`one_of` with the values bound at execution under `name`, for a statement built once
    and reused: building a statement and its cache key costs more client CPU than running a
    small one (issue 6)."""
    if dialect == "postgresql":
        item_type = sa.String() if column.type._isnull else column.type
        return column == sa.any_(sa.bindparam(name, type_=ARRAY(item_type)))
    return column.in_(sa.bindparam(name, expanding=True))


# Below this many rows an INSERT costs PostgreSQL less than COPY (bench/bench_insert_rows.py:
# one row ~10% less server and client CPU; from two rows on COPY is cheaper, 15-40%; figures
# in docs/benchmarks.md).
COPY_MIN_ROWS = 2


def insert_rows(session: OrmSession, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: on PostgreSQL with COPY from
    COPY_MIN_ROWS rows on (a third of the client CPU of an executemany and one round trip),
    otherwise as one multi-row INSERT (SQLAlchemy's insertmanyvalues). Every row has every
    column; values pass through the columns' bind processors as with an INSERT."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS:
        connection.execute(_insert(table), rows)
        return
    copy_rows(connection, table, rows)


@functools.cache
def _insert(table: sa.Table) -> sa.Insert:
    """One INSERT statement per table, so its cache key is computed once."""
    return sa.insert(table)


def copy_rows(connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """COPY rows into a table on PostgreSQL; a duplicate key raises IntegrityError."""
    import psycopg

    columns = list(table.columns)
    converters = [_copy_converter(column, connection.dialect) for column in columns]
    names = ", ".join(connection.dialect.identifier_preparer.quote(c.name) for c in columns)
    statement = (
        f"COPY {connection.dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
    )
    driver_connection: Any = connection.connection.driver_connection
    try:
        with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [
                        value if convert is None or value is None else convert(value)
                        for convert, value in zip(
                            converters, [row[c.key] for c in columns], strict=True
                        )
                    ]
                )
    except psycopg.Error as exc:
        # As SQLAlchemy would raise it: a duplicate key is an IntegrityError (409).
        raise sa.exc.DBAPIError.instance(
            statement, None, exc, psycopg.Error, dialect=connection.dialect
        ) from exc


def _copy_converter(column: sa.Column[Any], dialect: sa.Dialect) -> Any:
    if isinstance(column.type, sa.JSON):
        return jsontext.dumps  # COPY takes json and jsonb as their text
    processor = column.type.bind_processor(dialect)
    if processor is not None:
        return processor
    if isinstance(column.type, sa.String):
        return lambda value: value.value if isinstance(value, Enum) else value
    return None
