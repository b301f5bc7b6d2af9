"""One-statement reads for hot GET routes, outside the per-request ORM session.

A statement is compiled once per dialect; a read runs it on a pooled DBAPI connection
(SQLite, or a test's joined connection) or, on PostgreSQL, on a psycopg async connection
awaited on the event loop, so a read costs one round trip and no thread hop.
(app/certification/status_read.py reads diploma status on the same pool.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")


class CompiledRead:
    """A SELECT compiled once for a dialect: its SQL text and its parameters in driver form."""

    def __init__(self, statement: Any, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._params: Callable[[dict[str, Any]], Any]
        if compiled.positional:
            order = list(compiled.positiontup or [])
            self._params = lambda params: tuple(params[name] for name in order)
        else:
            self._params = lambda params: params

    def params(self, values: dict[str, Any]) -> Any:
        return self._params(values)

    def fetch_one(self, dbapi_connection: Any, values: dict[str, Any]) -> Any:
        """The first row (a tuple) or None, on a DBAPI connection."""
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(self.sql, self.params(values))
            return cursor.fetchone()
        finally:
            cursor.close()


@contextmanager
def raw_connection(session_factory: Any) -> Iterator[Any]:
    """The DBAPI connection of the factory's bind: a pooled one for an engine, or the
    connection a test has joined its sessions to."""
    bind = session_factory.kw["bind"]
    if isinstance(bind, sa.Engine):
        connection = bind.raw_connection()
        try:
            yield connection
        finally:
            connection.close()  # back to the pool, which rolls back the read
    else:
        yield bind.connection.driver_connection


class AsyncReads:
    """Reads on PostgreSQL without a thread: a few psycopg async connections in autocommit
    mode, kept per event loop, so a read is one round trip awaited on the loop.

    Per loop, a semaphore of `size` slots bounds the connections in use and a queue keeps
    the idle ones. A read holds a slot; giving it back wakes the next waiter whether the
    connection went back to the queue or was broken and closed (the waiter then opens a
    fresh one), so a database restart cannot leave readers waiting for a connection that
    will never be returned."""

    def __init__(self, engine: sa.Engine, *, size: int = 8) -> None:
        self.engine = engine
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self.size = size
        self._pools: dict[
            asyncio.AbstractEventLoop, tuple[asyncio.Queue[Any], asyncio.Semaphore]
        ] = {}

    def serves(self, session_factory: Any) -> bool:
        """Whether requests of this session factory read the database this pool reads."""
        return bool(session_factory.kw["bind"] is self.engine)

    async def fetch_one(self, read: CompiledRead, values: dict[str, Any]) -> Any:
        """The first row (a tuple) or None."""

        async def first_row(connection: Any) -> Any:
            cursor = await connection.execute(read.sql, read.params(values))
            return await cursor.fetchone()

        return await self.run(first_row)

    async def run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """`work(connection)` on a pooled connection; once more on a fresh connection when
        it fails (a connection the server dropped), then the error."""
        for attempt in (1, 2):
            connection = await self._acquire()
            broken = True
            try:
                result = await work(connection)
                broken = False
                return result
            except Exception:
                if attempt == 2:
                    raise
            finally:
                self._release(connection, broken=broken)
        raise AssertionError("unreachable")

    def _pool(self) -> tuple[asyncio.Queue[Any], asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = (asyncio.Queue(), asyncio.Semaphore(self.size))
        return pool

    async def _acquire(self) -> Any:
        import psycopg

        idle, slots = self._pool()
        await slots.acquire()
        try:
            while not idle.empty():
                connection = idle.get_nowait()
                if not connection.closed:
                    return connection
            return await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        except BaseException:
            slots.release()
            raise

    def _release(self, connection: Any, *, broken: bool) -> None:
        idle, slots = self._pool()
        if broken or connection.closed:
            with suppress(Exception):
                asyncio.get_running_loop().create_task(connection.close())
        else:
            idle.put_nowait(connection)
        slots.release()
