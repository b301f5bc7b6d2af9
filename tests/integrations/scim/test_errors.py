"""SCIM error envelopes (RFC 7644 3.12) for errors raised below the SCIM service."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request

from app.integrations.scim.errors import ERROR_SCHEMA, wrap_handler


def _request(path: str) -> Request:
    return Request({"type": "http", "method": "POST", "path": path, "headers": []})


def test_integrity_error_on_a_scim_path_is_a_scim_409_rfc7644_3_12():
    """A duplicate key two concurrent requests raced into is a SCIM 409, not problem+json."""

    async def original(request, exc):  # the app-wide problem+json handler
        return "problem+json"

    handler = wrap_handler(original)
    error = IntegrityError("INSERT ...", {}, Exception("duplicate key"))
    response = asyncio.run(handler(_request("/scim/v2/Users"), error))
    assert response.status_code == 409
    assert response.media_type == "application/scim+json"
    assert json.loads(response.body) == {
        "schemas": [ERROR_SCHEMA],
        "status": "409",
        "detail": "The change conflicts with a concurrent change.",
    }
    assert asyncio.run(handler(_request("/people"), error)) == "problem+json"
