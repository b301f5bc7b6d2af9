"""The async read pool on PostgreSQL: a broken connection hands its slot on, so readers
waiting for a connection are served after a database restart instead of hanging."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from app.core.raw_reads import AsyncReads, CompiledRead


def test_a_waiting_reader_is_served_when_the_busy_connection_breaks(database):
    if database.backend != "postgresql":
        pytest.skip("the async pool serves PostgreSQL only; SQLite reads use the engine's pool")
    reads = AsyncReads(database.engine, size=1)
    one = CompiledRead(sa.select(sa.literal_column("1")), database.engine.dialect)

    async def scenario() -> list[object]:
        held = await reads._acquire()  # the pool's only connection, busy
        waiting = asyncio.create_task(reads.fetch_one(one, {}))
        await asyncio.sleep(0.05)
        assert not waiting.done(), "a second reader waits for the one slot"
        await held.close()  # the server dropped it mid-read
        reads._release(held, broken=True)
        row = await asyncio.wait_for(waiting, timeout=10)
        # Later reads reuse the fresh connection the waiter opened.
        again = await asyncio.wait_for(reads.fetch_one(one, {}), timeout=10)
        idle, _ = reads._pool()
        return [row, again, idle.qsize()]

    row, again, idle = asyncio.run(scenario())
    assert tuple(row) == (1,) and tuple(again) == (1,) and idle == 1
