"""Pulling from an existing LRS (issue 6 item 4) against a simulated remote that fails
half-way: the rerun continues at the checkpoint, nothing skipped, nothing applied twice."""

from __future__ import annotations

import json
import urllib.parse
import uuid

import httpx
import pytest
import sqlalchemy as sa

from app.integrations.xapi import sync
from app.integrations.xapi.models import LrsSyncCheckpoint, XapiStatement
from tests.integrations.xapi.factories import LMS, statement

ENDPOINT = "https://remote-lrs.example/xapi/"


class RemoteLRS:
    """A minimal LRS: ascending pages by `since` with `more`, failing while `broken`."""

    def __init__(self, statements: list[dict], page_size: int = 3) -> None:
        self.statements = statements
        self.page_size = page_size
        self.broken_after_pages: int | None = None
        self.pages_served = 0
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(str(request.url))
        assert request.headers["X-Experience-API-Version"].startswith("1.0")
        assert request.headers["Authorization"].startswith("Basic ")
        if self.broken_after_pages is not None and self.pages_served >= self.broken_after_pages:
            return httpx.Response(503, text="maintenance")
        params = dict(urllib.parse.parse_qsl(request.url.query.decode()))
        start = int(params.get("cursor", 0))
        rows = [
            s for s in self.statements if not params.get("since") or s["stored"] > params["since"]
        ]
        if "cursor" in params:
            rows = self.statements
        page = rows[start : start + self.page_size]
        more = ""
        if start + self.page_size < len(rows):
            more = f"/xapi/statements?cursor={start + self.page_size}"
            if params.get("since"):
                more += "&since=" + urllib.parse.quote(params["since"])
        self.pages_served += 1
        return httpx.Response(200, json={"statements": page, "more": more})


def _remote_statements(count: int) -> list[dict]:
    out = []
    for index in range(count):
        body = statement(f"r{index}@example.nl", "experienced", LMS + "remote")
        body["stored"] = f"2026-05-04T10:00:{index:02d}.000Z"
        body["authority"] = {"objectType": "Agent", "mbox": "mailto:remote@example.nl"}
        out.append(body)
    return out


def test_pull_survives_a_remote_failure_midway(app, client, db):
    remote = RemoteLRS(_remote_statements(7))
    remote.broken_after_pages = 1
    http = httpx.Client(transport=httpx.MockTransport(remote))
    factory = app.state.session_factory
    endpoint = ENDPOINT + uuid.uuid4().hex[:6]
    with pytest.raises(sync.RemoteLRSError):
        sync.pull(
            factory,
            endpoint=endpoint,
            key="k",
            secret="s",
            account_homepage="https://hr.example.org",
            client=http,
            retries=2,
            sleep=lambda _s: None,
            page_size=3,
        )
    db.expire_all()
    checkpoint = db.get(LrsSyncCheckpoint, endpoint)
    assert checkpoint.statements_applied == 3
    remote.broken_after_pages = None
    result = sync.pull(
        factory,
        endpoint=endpoint,
        key="k",
        secret="s",
        account_homepage="https://hr.example.org",
        client=http,
        sleep=lambda _s: None,
        page_size=3,
    )
    assert result.statements >= 4
    ids = [s["id"] for s in remote.statements]
    stored = db.execute(
        sa.select(XapiStatement.id).where(XapiStatement.id.in_([uuid.UUID(i) for i in ids]))
    ).all()
    assert len(stored) == 7  # every statement once
    # The rerun asked from the checkpoint, not from the start.
    assert "since=" in remote.requests[-1] or "since" in remote.requests[len(remote.requests) - 3]
    raw = json.loads(db.get(XapiStatement, uuid.UUID(ids[0])).raw)
    assert raw["authority"]["account"]["name"] == sync.SYNC_CLIENT_ID
