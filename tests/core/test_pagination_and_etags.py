"""Cursor pagination, updated_since, and ETag / If-Match on updates."""

from __future__ import annotations

from datetime import timedelta

from app.core import clock
from tests.factories import auth_headers, make_api_client


def test_cursor_pagination_walks_every_item_once(client, db, app):
    headers = auth_headers(db, app, "clients:manage")
    made = {make_api_client(db, scopes=["org:read"], name=f"page-{i}").client_id for i in range(7)}
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api-clients", params=params, headers=headers).json()
        seen += [item["client_id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert made <= set(seen)
    assert len(seen) == len(set(seen)), "no item twice"
    assert pages == -(-len(seen) // 3) or pages == len(seen) // 3 + 1


def test_bad_cursor_and_limit_are_4xx(client, db, app):
    headers = auth_headers(db, app, "clients:manage")
    bad = client.get("/api-clients", params={"cursor": "!!!"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["type"].endswith("bad-cursor")
    assert client.get("/api-clients", params={"limit": 0}, headers=headers).status_code == 422
    assert client.get("/api-clients", params={"limit": 5000}, headers=headers).status_code == 422


def test_updated_since_returns_only_later_changes(client, db, app, frozen_clock):
    headers = auth_headers(db, app, "clients:manage")
    make_api_client(db, scopes=["org:read"], name="old")
    frozen_clock.set(frozen_clock.at + timedelta(hours=1))
    cutoff = clock.now()
    newer = make_api_client(db, scopes=["org:read"], name="new")
    response = client.get(
        "/api-clients", params={"updated_since": cutoff.isoformat()}, headers=headers
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["client_id"] for item in items] == [newer.client_id]
    naive = client.get(
        "/api-clients", params={"updated_since": "2026-01-01T00:00:00"}, headers=headers
    )
    assert naive.status_code == 400


def test_if_match_guards_updates(client, db, app):
    headers = auth_headers(db, app, "clients:manage")
    target = make_api_client(db, scopes=["org:read"], name="etag")
    got = client.get(f"/api-clients/{target.client_id}", headers=headers)
    etag = got.headers["etag"]
    assert etag == 'W/"1"'
    ok = client.patch(
        f"/api-clients/{target.client_id}",
        json={"name": "etag-2"},
        headers={**headers, "If-Match": etag},
    )
    assert ok.status_code == 200 and ok.headers["etag"] == 'W/"2"'
    stale = client.patch(
        f"/api-clients/{target.client_id}",
        json={"name": "etag-3"},
        headers={**headers, "If-Match": etag},
    )
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == 'W/"2"'
    assert (
        client.get(f"/api-clients/{target.client_id}", headers=headers).json()["name"] == "etag-2"
    )
