"""Benchmark: SCIM provisioning, 10,000 users created one request each, 8 in flight.

Creates a throwaway PostgreSQL database, migrates it, starts the app as `aidiploma serve`
does (uvicorn, one process, `app.main:create_app`) on 127.0.0.1, seeds the org units the
users' departments name, and POSTs /scim/v2/Users (core + Enterprise User extension, as
Microsoft Entra ID sends them) with an httpx async client, 8 requests concurrently, as an
identity provider's initial provisioning cycle does. Prints users/s.

    .venv/bin/python bench/bench_scim.py [--users 10000] [--concurrency 8]
        [--backend postgresql|sqlite] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import create_database, drop_database, free_port, serve  # noqa: E402

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
TEAMS = ["team-kcc", "team-bz", "team-wi", "team-wmo", "team-hr", "team-fin", "team-iv"]


def _client(url: str) -> tuple[str, str]:
    from app.auth import service
    from app.auth.schemas import ApiClientCreate
    from app.core.db import create_db_engine, make_session_factory, unit_of_work

    engine = create_db_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        client, secret = service.create_client(
            session, data=ApiClientCreate(name="bench-scim", scopes=["scim", "org:write"])
        )
    engine.dispose()
    return client.client_id, secret


def user(i: int) -> dict[str, Any]:
    number = f"S{i:06d}"
    return {
        "schemas": [CORE, ENTERPRISE],
        "userName": f"user{i}@bench.example",
        "externalId": f"entra-{i:08d}",
        "name": {"givenName": "Anna", "familyName": f"Jansen {i}"},
        "displayName": f"Anna Jansen {i}",
        "title": "Klantcontactmedewerker",
        "active": True,
        "emails": [{"value": f"user{i}@bench.example", "type": "work", "primary": True}],
        ENTERPRISE: {"employeeNumber": number, "department": TEAMS[i % len(TEAMS)]},
    }


async def provision(base: str, token: str, users: int, concurrency: int) -> tuple[float, list[str]]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(users):
        queue.put_nowait(i)
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as http:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                response = await http.post("/scim/v2/Users", json=user(i))
                if response.status_code != 201:
                    failures.append(f"user {i}: {response.status_code} {response.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    url = create_database(args.backend)
    server = None
    try:
        client_id, secret = _client(url)
        port = free_port()
        env = {
            "AIDIPLOMA_DATABASE_URL": url,
            "AIDIPLOMA_SIGNING_KEY_PATH": str(Path(tempfile.mkdtemp()) / "key.pem"),
            "AIDIPLOMA_AUTO_MIGRATE": "false",
            "AIDIPLOMA_EMBEDDED_WORKER": "false",
            "AIDIPLOMA_LOG_LEVEL": "WARNING",
        }
        server = serve("app.main:create_app", env, port)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as http:
            grant = http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, secret),
            )
            grant.raise_for_status()
            token = grant.json()["access_token"]
            units = [{"external_id": "gem", "name": "Gemeente", "kind": "business_unit"}]
            units += [{"external_id": t, "name": t, "kind": "team", "parent": "gem"} for t in TEAMS]
            http.post(
                "/org-units:batch-upsert",
                json={"records": units},
                headers={"Authorization": f"Bearer {token}"},
            ).raise_for_status()
        seconds, failures = asyncio.run(provision(base, token, args.users, args.concurrency))
        with httpx.Client(base_url=base, timeout=60) as http:
            listed = http.get(
                "/scim/v2/Users", params={"count": 0}, headers={"Authorization": f"Bearer {token}"}
            ).json()
        print(
            f"SCIM create: {args.users} users, {args.concurrency} concurrent, {args.backend}: "
            f"{seconds:.1f} s, {args.users / seconds:.0f} users/s; "
            f"{len(failures)} failed; {listed['totalResults']} users listed"
        )
        for line in failures[:10]:
            print(line)
        return 1 if failures or listed["totalResults"] != args.users else 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
