"""Pull statements from an existing LRS: page with `since`, `ascending` and `more`,
apply each page exactly as a POST would, and checkpoint after every page.

A page is applied and its checkpoint written in one transaction, so after a remote
error (retried with backoff) or a crash the rerun continues at the last committed
page: nothing is skipped; a statement seen twice is an idempotent no-op (same id).
"""

from __future__ import annotations

import logging
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.core import clock
from app.core.db import unit_of_work
from app.integrations.xapi import service
from app.integrations.xapi.models import LrsSyncCheckpoint

logger = logging.getLogger("aidiploma.xapi.sync")
SYNC_CLIENT_ID = "lrs-sync"


@dataclass
class SyncResult:
    pages: int = 0
    statements: int = 0
    since: str | None = None


class RemoteLRSError(RuntimeError):
    pass


def _get(
    client: httpx.Client,
    url: str,
    params: dict[str, str] | None,
    *,
    retries: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    for attempt in range(retries + 1):
        try:
            response = client.get(url, params=params)
            if response.status_code == 200:
                data: dict[str, Any] = response.json()
                return data
            if response.status_code < 500 and response.status_code != 429:
                raise RemoteLRSError(
                    f"{url} answered {response.status_code}: {response.text[:200]}"
                )
            problem = f"{url} answered {response.status_code}"
        except httpx.TransportError as exc:
            problem = f"{url}: {exc}"
        if attempt < retries:
            delay = backoff * 2**attempt
            logger.warning(
                "remote LRS failed, retrying", extra={"problem": problem, "delay": delay}
            )
            sleep(delay)
    raise RemoteLRSError(problem)


def _next_since(statements: list[dict[str, Any]], since: str | None) -> str | None:
    """The checkpoint after a page: the latest `stored` strictly before the page's last one.

    `since` is exclusive, and more statements may share the last `stored` on the next page;
    stopping one instant earlier re-reads those on a rerun (no-ops) instead of skipping them.
    """
    stored = sorted({s["stored"] for s in statements if "stored" in s})
    if len(stored) < 2:
        return since
    return str(stored[-2])


def pull(
    factory: sessionmaker[Session],
    *,
    endpoint: str,
    key: str,
    secret: str,
    account_homepage: str,
    client: httpx.Client | None = None,
    page_size: int = 200,
    retries: int = 5,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    max_pages: int | None = None,
) -> SyncResult:
    """Pull everything stored at `endpoint` since the checkpoint; returns what was applied."""
    base = endpoint.rstrip("/") + "/"
    http = client or httpx.Client(timeout=30)
    http.auth = httpx.BasicAuth(key, secret)
    http.headers["X-Experience-API-Version"] = "1.0.3"
    result = SyncResult()
    with unit_of_work(factory) as session:
        checkpoint = session.get(LrsSyncCheckpoint, endpoint)
        since = checkpoint.since if checkpoint else None
    url = base + "statements"
    params: dict[str, str] | None = {"ascending": "true", "limit": str(page_size)}
    if since and params is not None:
        params["since"] = since
    caller = service.Caller(
        client_id=SYNC_CLIENT_ID,
        authority_homepage=urllib.parse.urljoin(base, "/"),
        account_homepage=account_homepage,
    )
    while url:
        page = _get(http, url, params, retries=retries, backoff=backoff, sleep=sleep)
        statements = page.get("statements") or []
        with unit_of_work(factory) as session:
            session.info["actor"] = SYNC_CLIENT_ID
            if statements:
                since = _next_since(statements, since)
                # Remote-set properties are the remote's; ours are set again (Data 2.4.8/2.4.9).
                for statement in statements:
                    statement.pop("stored", None)
                    statement.pop("authority", None)
                service.store(session, statements=statements, caller=caller, actor=SYNC_CLIENT_ID)
            checkpoint = session.get(LrsSyncCheckpoint, endpoint) or LrsSyncCheckpoint(
                endpoint=endpoint
            )
            checkpoint.statements_applied += len(statements)
            if statements:
                checkpoint.last_statement_id = uuid.UUID(statements[-1]["id"])
            checkpoint.since = since
            checkpoint.updated_at = clock.now()
            session.add(checkpoint)
        result.pages += 1
        result.statements += len(statements)
        more = page.get("more") or ""
        url = urllib.parse.urljoin(base, more) if more else ""
        params = None
        if max_pages is not None and result.pages >= max_pages:
            break
    result.since = since
    return result
