"""The hot read of the LRS: one statement by statementId or voidedStatementId.

One SQL statement per read, outside the ORM session (see app/core/raw_reads.py): the
stored JSON of the statement if its voided flag is the one asked for (Data 2.3.2: a
voided statement only by voidedStatementId, a live one only by statementId), together
with the calling client's active flag, so authentication's database check rides along.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from app.auth.models import ApiClient
from app.core.raw_reads import AsyncReads, CompiledRead, raw_connection
from app.integrations.xapi.models import XapiStatement


class StatementReader:
    """Compiled once per dialect; reads (stored JSON or None, client active)."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self.sqlite = dialect.name == "sqlite"
        client_active = (
            sa.select(ApiClient.active)  # type: ignore[call-overload]
            .where(ApiClient.client_id == sa.bindparam("client_id"))
            .scalar_subquery()
        )
        raw = (
            sa.select(XapiStatement.raw)  # type: ignore[call-overload]
            .where(
                XapiStatement.id == sa.bindparam("statement_id"),
                XapiStatement.voided == sa.bindparam("voided"),
            )
            .scalar_subquery()
        )
        # Both as scalar subqueries: exactly one row, also when there is no such statement.
        self._read = CompiledRead(
            sa.select(raw.label("raw"), client_active.label("client_active")), dialect
        )

    def _values(self, statement_id: uuid.UUID, voided: bool, client_id: str) -> dict[str, Any]:
        # SQLAlchemy stores UUIDs as 32 hex digits and booleans as 0/1 on SQLite.
        return {
            "statement_id": statement_id.hex if self.sqlite else statement_id,
            "voided": int(voided) if self.sqlite else voided,
            "client_id": client_id,
        }

    async def read(
        self,
        app_state: Any,
        *,
        statement_id: uuid.UUID,
        voided: bool,
        client_id: str,
    ) -> tuple[str | None, bool]:
        """(the statement as stored or None, whether the client is active)."""
        values = self._values(statement_id, voided, client_id)
        factory = app_state.session_factory
        server_reads: AsyncReads | None = getattr(app_state, "xapi_server_reads", None)
        if server_reads is not None and server_reads.serves(factory):
            # A server database: one round trip awaited on the event loop.
            row = await server_reads.fetch_one(self._read, values)
        else:
            # SQLite (microseconds, inline beats a thread hop) or a test's joined connection.
            with raw_connection(factory) as connection:
                row = self._read.fetch_one(connection, values)
        raw, active = row
        return (str(raw) if raw is not None else None), bool(active)
