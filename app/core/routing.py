"""The route class every API router uses: the request's one commit point and body media-type check.

A request gets one session. Services only flush; after the endpoint returns a
success the session commits *before* the response is sent, so nothing
acknowledged is ever lost, and on an error response or exception it rolls back.
What the services asked to run after the commit (`core.db.after_commit`) runs
after the response has been sent, as its background task.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response, params
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.background import BackgroundTasks
from starlette.concurrency import run_in_threadpool

from app.core.db import WRITE_INTENT, take_after_commit
from app.core.errors import UnsupportedMediaType

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _is_json_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class AppRoute(APIRoute):
    """APIRoute with a session per request, one commit point, and 415 for non-JSON bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        expects_json_body = self.body_field is not None and not isinstance(
            self.body_field.field_info, params.Form
        )
        locks_late = getattr(self.endpoint, LOCKS_LATE, False)

        async def route_handler(request: Request) -> Response:
            if expects_json_body and request.method not in SAFE_METHODS:
                content_type = request.headers.get("content-type")
                if content_type and not _is_json_media_type(content_type):
                    raise UnsupportedMediaType(
                        f"This endpoint takes application/json, not {content_type}."
                    )
            session: Session = request.app.state.session_factory()
            session.info["request_id"] = getattr(request.state, "request_id", None)
            request.state.session = session
            try:
                if request.method not in SAFE_METHODS and not locks_late:
                    bind = session.get_bind()
                    if isinstance(bind, Engine) and bind.dialect.name == "sqlite":
                        # BEGIN IMMEDIATE waits for the write lock (busy_timeout): in a
                        # worker thread, as the writer holding it may need the event loop
                        # to finish (on the loop, two concurrent writes deadlocked until
                        # the timeout and the second got a 503).
                        await run_in_threadpool(session.connection, execution_options=WRITE_INTENT)
                response = await handler(request)
                if response.status_code < 400:
                    pending = getattr(request.state, "idempotency", None)
                    if session.info.get(_COMMITTED_BY_ENDPOINT):
                        if pending is not None:  # pragma: no cover - a programming error
                            raise RuntimeError("an idempotent route must leave the commit")
                    else:
                        if pending is not None:
                            pending.remember(session, response)
                        await run_in_threadpool(_commit_and_close, session)
                    _run_after_response(response, request, take_after_commit(session))
                else:
                    await run_in_threadpool(_rollback_and_close, session)
                return response
            except BaseException:
                await run_in_threadpool(_rollback_and_close, session)
                raise

        return route_handler


_COMMITTED_BY_ENDPOINT = "committed_by_endpoint"


LOCKS_LATE = "_aidiploma_locks_late"


def locks_late(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a write endpoint that first reads from elsewhere for long (an HR system's
    listing): on SQLite the route does not take the write lock before it (BEGIN
    IMMEDIATE), which would keep every other writer waiting meanwhile. The endpoint ends
    what it read and starts its writing transaction itself (core.db.begin_writing)."""
    setattr(endpoint, LOCKS_LATE, True)
    return endpoint


def commit_in_endpoint(session: Session) -> None:
    """Commit and close the request's session from the endpoint's work in a worker thread,
    instead of in a trip of the route's own after the endpoint: for the hottest write path
    (LMS statements). Call it last: nothing may touch the session after it, and the route
    answers once it returned, as for any route."""
    _commit_and_close(session)
    session.info[_COMMITTED_BY_ENDPOINT] = True


def release_unused(session: Session) -> None:
    """For an endpoint that writes through sessions of its own (xAPI write combining): the
    request's session was never used; it is closed here, which does no I/O, and the route
    spends no thread trip on committing nothing."""
    if session.in_transaction():  # pragma: no cover - a programming error
        raise RuntimeError("the request's session is in use")
    session.close()
    session.info[_COMMITTED_BY_ENDPOINT] = True


# Commit (or roll back) and close in one trip to a worker thread: each trip is a thread
# handoff under the GIL, and a single xAPI statement's request made four of them.
def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


def _run_after_response(response: Response, request: Request, callbacks: list[Any]) -> None:
    if not callbacks:
        return
    tasks = BackgroundTasks()
    if response.background is not None:
        tasks.add_task(response.background)
    factory = request.app.state.session_factory
    for callback in callbacks:
        # A callback may offer a coroutine for this (see certification.queue._Drainer):
        # deciding on the event loop that there is nothing to do saves a thread handoff.
        tasks.add_task(getattr(callback, "after_response", callback), factory)
    response.background = tasks


async def get_session(request: Request) -> Session:
    """The request's session (opened by AppRoute); use as a dependency. Async because it
    only reads request state: FastAPI runs a plain def dependency in a worker thread."""
    session: Session | None = getattr(request.state, "session", None)
    if session is None:  # pragma: no cover - a router without AppRoute is a programming error
        raise RuntimeError("route is not an AppRoute; build routers with api_router()")
    return session


def api_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose routes use AppRoute."""
    return APIRouter(route_class=AppRoute, **kwargs)
