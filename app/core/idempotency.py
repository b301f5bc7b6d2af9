"""Idempotency-Key for POSTs that create: same key and body replays the first response,
a different body under the same key is a 409 (draft-ietf-httpapi-idempotency-key-header).

The stored response is written in the same transaction as the change it answers.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import sqlalchemy as sa
from fastapi import Header, Request, Response
from sqlmodel import Field, Session, SQLModel, col, select

from app.core import clock
from app.core.db import UTCDateTime
from app.core.errors import BadRequest, Conflict

RETENTION = timedelta(hours=24)


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("client_id", "key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: str = Field(max_length=200)
    key: str = Field(max_length=255)
    method: str = Field(max_length=10)
    path: str = Field(max_length=2000)
    request_hash: str = Field(max_length=64)
    response_status: int
    response_body: str = Field(sa_type=sa.Text)
    response_content_type: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class IdempotentReplay(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised to answer a request with the stored response of its first attempt."""

    def __init__(self, record: IdempotencyRecord) -> None:
        # Plain values: the session (and the row) are gone by the time the handler runs.
        self.status = record.response_status
        self.body = record.response_body
        self.content_type = record.response_content_type


@dataclass
class PendingIdempotency:
    client_id: str
    key: str
    method: str
    path: str
    request_hash: str

    def remember(self, session: Session, response: Response) -> None:
        session.add(
            IdempotencyRecord(
                client_id=self.client_id,
                key=self.key,
                method=self.method,
                path=self.path,
                request_hash=self.request_hash,
                response_status=response.status_code,
                response_body=bytes(response.body).decode("utf-8"),
                response_content_type=response.media_type or "application/json",
            )
        )


async def idempotency_key(
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="A unique key per intended create; a retry with the same key and body "
            "gets the first response again, a different body under it gets 409.",
        ),
    ] = None,
) -> None:
    """Dependency for create endpoints; declare it after the scope check."""
    if key is None:
        return
    if not key.strip():
        raise BadRequest("Idempotency-Key must not be empty.")
    client_id = getattr(request.state, "client_id", None) or "anonymous"
    body = await request.body()
    request_hash = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
    ).hexdigest()
    session: Session = request.state.session
    # A key past retention is free again, even before the worker's purge has run.
    session.execute(
        sa.delete(IdempotencyRecord).where(
            col(IdempotencyRecord.client_id) == client_id,
            col(IdempotencyRecord.key) == key,
            col(IdempotencyRecord.created_at) <= clock.now() - RETENTION,
        )
    )
    record = session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key
        )
    ).first()
    if record is not None:
        if record.request_hash != request_hash:
            raise Conflict(
                "This Idempotency-Key was already used with a different request.",
                slug="idempotency-key-reused",
            )
        raise IdempotentReplay(record)
    request.state.idempotency = PendingIdempotency(
        client_id=client_id,
        key=key,
        method=request.method,
        path=request.url.path,
        request_hash=request_hash,
    )


async def replay_handler(_request: Request, exc: Exception) -> Response:
    """Exception handler answering a replayed request with the first attempt's response."""
    assert isinstance(exc, IdempotentReplay)
    return Response(
        content=exc.body,
        status_code=exc.status,
        media_type=exc.content_type,
        headers={"Idempotent-Replayed": "true"},
    )


def purge_expired(session: Session) -> int:
    """Delete records past retention (a worker job); returns how many."""
    result = session.execute(
        sa.delete(IdempotencyRecord).where(
            col(IdempotencyRecord.created_at) <= clock.now() - RETENTION
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
