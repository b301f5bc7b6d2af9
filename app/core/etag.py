"""ETag and If-Match for updates of mutable resources (RFC 9110 8.8.3, 13.1.1).

A resource's ETag is its row version; an update with a stale If-Match gets 412,
so two HR scripts editing the same record cannot silently overwrite each other.
"""

from __future__ import annotations

from fastapi import Request, Response

from app.core.errors import PreconditionFailed


def etag_of(version: int) -> str:
    return f'W/"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_of(version)


def check_if_match(request: Request, version: int) -> None:
    """Raise 412 when If-Match is present and names none of the current version's tags."""
    header = request.headers.get("if-match")
    if header is None:
        return
    candidates = {tag.strip() for tag in header.split(",")}
    if "*" in candidates:
        return
    current = etag_of(version)
    # Weak comparison (RFC 9110 8.8.3.2): W/"3" and "3" match.
    if current not in candidates and current.removeprefix("W/") not in candidates:
        raise PreconditionFailed(
            f"The resource changed; its current ETag is {current}. Fetch it and retry.",
            current_etag=current,
        )
