"""Write combining: small POSTs of one API client that arrive together are stored together.

LRS clients send statements one by one as learners act, and most of what storing one
costs is per transaction, not per statement: the round trips, the audit chain's lock and
entry, the commit (~2 ms of CPU for one statement, ~0.3 ms for each more in the same
transaction). So requests of one client that arrive while that client's previous group is
being written wait for it, and are then written together: one transaction, each request
answered with its own ids once that transaction has committed (nothing acknowledged is
lost). A request that arrives when nothing is being written is written at once, alone.

If a group's store fails for any reason (a statement conflicts with a stored one, two
requests send one statement id, an invalid statement, a database error), nothing of it is
kept and each of its requests is stored alone, so each gets exactly the answer it would
have had on its own. PostgreSQL only: SQLite has one writer, so there is nothing to win.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core.db import AfterCommit, take_after_commit, transaction
from app.integrations.xapi import service

logger = logging.getLogger("aidiploma.xapi")

# Requests of at most this many statements are combined (LMS batches are efficient alone).
SMALL_REQUEST = 10
# A group holds at most this many statements.
GROUP_STATEMENTS = 200


@dataclass
class _Waiting:
    """One request's statements, and what its request awaits: their ids or its error."""

    statements: list[Any]
    request_id: str | None
    future: asyncio.Future[tuple[list[str], list[AfterCommit]]]


@dataclass(frozen=True)
class _Writer:
    """Who writes where: requests are combined only with those of the same client and
    caller, into the same database."""

    factory: sessionmaker[Session]
    caller: service.Caller
    client_id: str


@dataclass
class Combiner:
    """Per app: the requests waiting per writer, and one writing task per writer."""

    _waiting: dict[_Writer, list[_Waiting]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def store(
        self,
        factory: sessionmaker[Session],
        *,
        statements: list[Any],
        caller: service.Caller,
        client_id: str,
        request_id: str | None,
    ) -> tuple[list[str], list[AfterCommit]]:
        """Store these statements (as service.store would) in a transaction shared with the
        requests of the same client waiting with them; their ids, and what is to run after
        that commit (the evaluation drain: for the request to run after its response, as
        core.routing does). The client's active flag is read in that transaction
        (service.ClientNotActive)."""
        writer = _Writer(factory=factory, caller=caller, client_id=client_id)
        waiting = _Waiting(statements, request_id, asyncio.get_running_loop().create_future())
        queue = self._waiting.get(writer)
        if queue is not None:  # a group of this writer is being written: join the next
            queue.append(waiting)
        else:
            self._waiting[writer] = [waiting]
            self._spawn(self._write(writer))
        return await waiting.future

    def waiting(self) -> int:
        """Requests waiting for the write in progress of their client to end."""
        return sum(len(queue) for queue in self._waiting.values())

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    def _next_group(self, writer: _Writer) -> list[_Waiting]:
        """The requests to write next (up to GROUP_STATEMENTS statements); none: the writer
        is done, and the next request starts it again."""
        queue = self._waiting[writer]
        if not queue:
            del self._waiting[writer]
            return []
        group: list[_Waiting] = []
        statements = 0
        while queue and (not group or statements + len(queue[0].statements) <= GROUP_STATEMENTS):
            statements += len(queue[0].statements)
            group.append(queue.pop(0))
        return group

    async def _write(self, writer: _Writer) -> None:
        group: list[_Waiting] = []
        try:
            while group := self._next_group(writer):
                outcomes, callbacks = await run_in_threadpool(_store_group, writer, group)
                for waiting, outcome in zip(group, outcomes, strict=True):
                    if waiting.future.done():  # its request was cancelled
                        continue
                    if isinstance(outcome, BaseException):
                        waiting.future.set_exception(outcome)
                    else:
                        waiting.future.set_result((outcome, callbacks))
        except BaseException as exc:  # pragma: no cover - cancelled at shutdown
            # No request is left waiting: the group in hand and those queued behind it.
            for waiting in [*group, *self._waiting.pop(writer, [])]:
                if waiting.future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    waiting.future.cancel()
                else:
                    waiting.future.set_exception(exc)
            raise


def _store_group(
    writer: _Writer, group: list[_Waiting]
) -> tuple[list[list[str] | BaseException], list[AfterCommit]]:
    """In a worker thread: the group in one transaction, or, if that fails, each request in
    a transaction of its own. Per request its ids or the exception it answers with; and the
    after-commit callbacks of what committed."""
    if len(group) > 1:
        try:
            statements = [s for waiting in group for s in waiting.statements]
            # The entry serves several requests: its request_id stays empty and it names
            # each request with the number of statements it brought.
            requests = [
                {"request_id": waiting.request_id, "statements": len(waiting.statements)}
                for waiting in group
            ]
            ids, callbacks = _store(writer, statements, request_id=None, requests=requests)
        except Exception:
            logger.debug("combined xAPI store failed; storing its requests one by one")
        else:
            outcomes: list[list[str] | BaseException] = []
            start = 0
            for waiting in group:
                outcomes.append(ids[start : start + len(waiting.statements)])
                start += len(waiting.statements)
            return outcomes, callbacks
    outcomes, callbacks = [], []
    for waiting in group:
        try:
            ids, committed = _store(writer, waiting.statements, request_id=waiting.request_id)
        except Exception as exc:
            outcomes.append(exc)
        else:
            outcomes.append(ids)
            callbacks.extend(c for c in committed if c not in callbacks)
    return outcomes, callbacks


def _store(
    writer: _Writer,
    statements: list[Any],
    *,
    request_id: str | None,
    requests: list[dict[str, Any]] | None = None,
) -> tuple[list[str], list[AfterCommit]]:
    with transaction(writer.factory) as session:
        session.info["actor"] = writer.client_id
        session.info["request_id"] = request_id
        if requests is not None:
            session.info[service.COMBINED_REQUESTS] = requests
        ids = service.store(
            session,
            statements=statements,
            caller=writer.caller,
            actor=writer.client_id,
            client_to_check=writer.client_id,
        )
    return ids, take_after_commit(session)
