"""Cursor pagination: `limit` and an opaque `cursor` in, `items` and `next_cursor` out.

The cursor encodes the sort key of the last item served, so pages stay stable
while rows are inserted (no OFFSET drift) and a sync job can resume anywhere.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from fastapi import Query
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.core.errors import BadRequest

T = TypeVar("T")

MAX_LIMIT = 1000


class Page(BaseModel, Generic[T]):
    """One page of a collection."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last page."
    )


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None
    updated_since: datetime | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=500, description="`next_cursor` of the previous page.")
    ] = None,
    updated_since: Annotated[
        datetime | None,
        Query(description="Only items created or changed at or after this instant (RFC 3339)."),
    ] = None,
) -> PageParams:
    """Dependency: the common query parameters of every list endpoint."""
    if updated_since is not None and updated_since.tzinfo is None:
        raise BadRequest("updated_since needs a timezone offset, e.g. 2026-01-01T00:00:00Z.")
    return PageParams(limit=limit, cursor=cursor, updated_since=updated_since)


def encode_cursor(value: Any) -> str:
    raw = json.dumps(value, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError) as exc:
        raise BadRequest(
            "The cursor is not valid; start again without one.", slug="bad-cursor"
        ) from exc


def paginate(
    session: Session,
    statement: sa.Select[Any],
    *,
    id_column: Any,
    params: PageParams,
    updated_at_column: Any | None = None,
) -> tuple[list[Any], str | None]:
    """Run `statement` ordered by `id_column`, one page after `params.cursor`."""
    if params.updated_since is not None:
        if updated_at_column is None:
            raise BadRequest("updated_since is not supported on this collection.")
        statement = statement.where(updated_at_column >= params.updated_since)
    if params.cursor:
        last = decode_cursor(params.cursor)
        try:
            last_id = _typed_key(id_column, last)
        except (ValueError, TypeError) as exc:
            raise BadRequest(
                "The cursor is not valid; start again without one.", slug="bad-cursor"
            ) from exc
        statement = statement.where(id_column > last_id)
    rows = list(session.scalars(statement.order_by(id_column).limit(params.limit + 1)).all())
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        next_cursor = encode_cursor(str(_id_of(rows[-1], id_column)))
    return rows, next_cursor


def _typed_key(column: Any, value: Any) -> Any:
    column_type = getattr(column, "type", None)
    if isinstance(column_type, sa.Uuid):
        return uuid.UUID(str(value))
    if isinstance(column_type, sa.Integer):
        return int(value)
    return str(value)


def _id_of(row: Any, id_column: Any) -> Any:
    return getattr(row, id_column.key)
