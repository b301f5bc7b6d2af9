"""The hot read: one person's status for LMS and HR systems, thousands of times a minute.

One SQL statement per read on the raw driver connection (the statement is compiled once
by SQLAlchemy; no ORM session, no per-call SQL compilation): the person by key joined
with their persisted status row, plus the calling client's active flag, so
authentication's database check rides along. Status is derived from the row's dates at
read time, so nothing here can go stale after a write.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from app.auth.models import ApiClient
from app.certification.models import PersonStatus
from app.certification.service import derive
from app.core.raw_reads import AsyncReads
from app.org.models import Person

_STATUS_COLUMNS = [
    "required_tier_key",
    "required_tier_rank",
    "due_date",
    "held_tier_key",
    "held_tier_rank",
    "certification_id",
    "valid_until",
    "window_opens_on",
    "grace_until",
    "suspended",
    "extras_met",
    "any_progress",
    "model_version_id",
    "evaluated_at",
    "version",
]
_DATES = {"due_date", "valid_until", "window_opens_on", "grace_until"}
_UUIDS = {"person_id", "certification_id", "model_version_id"}
_BOOLS = {"suspended", "extras_met", "any_progress", "client_active"}


class StatusReader:
    """Compiled once per dialect; `read` runs one statement on a DBAPI connection."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self.dialect = dialect
        self.sqlite = dialect.name == "sqlite"
        client_active = (
            sa.select(col(ApiClient.active))
            .where(col(ApiClient.client_id) == sa.bindparam("client_id"))
            .scalar_subquery()
        )
        base = (
            sa.select(
                col(Person.id).label("person_id"),
                col(Person.employee_number),
                *[getattr(PersonStatus, name) for name in _STATUS_COLUMNS],
                client_active.label("client_active"),
            )
            .select_from(Person)
            .outerjoin(PersonStatus, col(PersonStatus.person_id) == col(Person.id))
        )
        self._statements = {
            kind: self._compile(base.where(column == sa.bindparam("value")))
            for kind, column in (
                ("employee", col(Person.employee_number)),
                ("email", col(Person.email)),
                ("id", col(Person.id)),
            )
        }
        self._client_only = self._compile(
            sa.select(col(ApiClient.active).label("client_active")).where(
                col(ApiClient.client_id) == sa.bindparam("client_id")
            )
        )

    def _compile(self, statement: Any) -> tuple[str, Callable[[dict[str, Any]], Any]]:
        compiled = statement.compile(dialect=self.dialect)
        sql = str(compiled)
        if compiled.positional:
            order = list(compiled.positiontup or [])
            return sql, lambda params: tuple(params[name] for name in order)
        return sql, lambda params: params

    def plan(self, key: str, *, client_id: str) -> tuple[str, Any] | None:
        """The statement and parameters reading this key; None for a malformed key."""
        prefix, sep, value = key.partition(":")
        parsed: Any
        if sep and prefix in ("employee", "email"):
            kind, parsed = prefix, value.strip().lower() if prefix == "email" else value
        else:
            try:
                kind, parsed = "id", uuid.UUID(key)
            except ValueError:
                return None
            if self.sqlite:
                parsed = parsed.hex  # SQLAlchemy stores UUIDs as 32 hex digits on SQLite
        sql, params = self._statements[kind]
        return sql, params({"value": parsed, "client_id": client_id})

    def client_plan(self, client_id: str) -> tuple[str, Any]:
        sql, params = self._client_only
        return sql, params({"client_id": client_id})

    def finish(self, names: list[str], row: Any, today: date) -> tuple[dict[str, Any], bool]:
        values = {name: self._convert(name, value) for name, value in zip(names, row, strict=True)}
        return _document(values, today), bool(values["client_active"])

    def read(
        self, dbapi_connection: Any, key: str, *, client_id: str, today: date
    ) -> tuple[dict[str, Any] | None, bool]:
        """(status document or None when nobody has this key, whether the client is active)."""
        planned = self.plan(key, client_id=client_id)
        if planned is not None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(*planned)
                names = [d[0] for d in cursor.description]
                row = cursor.fetchone()
            finally:
                cursor.close()
            if row is not None:
                return self.finish(names, row, today)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(*self.client_plan(client_id))
            active = cursor.fetchone()
        finally:
            cursor.close()
        return None, bool(active and active[0])

    def _convert(self, name: str, value: Any) -> Any:
        if value is None or not self.sqlite:
            return value
        if name in _DATES:
            return date.fromisoformat(value)
        if name in _UUIDS:
            return uuid.UUID(value)
        if name in _BOOLS:
            return bool(value)
        if name == "evaluated_at":
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return value


def _document(values: dict[str, Any], today: date) -> dict[str, Any]:
    evaluated = values["version"] is not None
    status = SimpleNamespace(
        **{
            **values,
            "suspended": bool(values["suspended"]),
            "extras_met": values["extras_met"] is not False,
            "any_progress": bool(values["any_progress"]),
        }
    )
    derived = derive(status, today)
    evaluated_at = values["evaluated_at"]
    return {
        "person_id": str(values["person_id"]),
        "employee_number": values["employee_number"],
        "tier": derived["tier"],
        "status": derived["status"],
        "valid_until": _iso(derived["valid_until"]),
        "required_tier": derived["required_tier"],
        "due_date": _iso(derived["due_date"]),
        "compliant": derived["compliant"],
        "overdue": derived["overdue"],
        "certification_id": _str(values["certification_id"]),
        "model_version_id": _str(values["model_version_id"]),
        "evaluated_at": evaluated_at.astimezone(UTC).isoformat() if evaluated else None,
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None


class AsyncServerReads(AsyncReads):
    """Status reads on PostgreSQL without a thread, on the shared pool of async connections
    (core.raw_reads): a read is one round trip awaited on the loop."""

    async def read(
        self, reader: StatusReader, key: str, *, client_id: str, today: date
    ) -> tuple[dict[str, Any] | None, bool]:
        return await self.run(
            lambda connection: self._read(connection, reader, key, client_id, today)
        )

    @staticmethod
    async def _read(
        connection: Any, reader: StatusReader, key: str, client_id: str, today: date
    ) -> tuple[dict[str, Any] | None, bool]:
        planned = reader.plan(key, client_id=client_id)
        if planned is not None:
            cursor = await connection.execute(*planned)
            row = await cursor.fetchone()
            if row is not None:
                return reader.finish([d[0] for d in cursor.description], row, today)
        cursor = await connection.execute(*reader.client_plan(client_id))
        active = await cursor.fetchone()
        return None, bool(active and active[0])
