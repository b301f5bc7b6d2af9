"""Benchmark: bulk-upsert 50,000 people in batches of 1,000 through the HTTP API.

Creates a throwaway PostgreSQL database, migrates it, starts `aidiploma serve`
(uvicorn, one process) on 127.0.0.1 against it, and sends the batches with httpx
as a sync job would: POST /people:batch-upsert, one request after the other.
Prints people/s for the first load (all created) and for a re-sync (all unchanged).

    .venv/bin/python bench/bench_people_upsert.py [--people 50000] [--batch 1000]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEAMS = ["team-kcc", "team-bz", "team-wi", "team-wmo", "team-hr", "team-fin", "team-iv"]
ROLES = [
    "klantcontactmedewerker",
    "medewerker-burgerzaken",
    "consulent-werk-inkomen",
    "wmo-consulent",
    "recruiter",
    "financieel-adviseur",
    "data-analist",
    "teamleider",
]
GIVEN = ["Anna", "Bram", "Cor", "Daan", "Eva", "Fleur", "Gijs", "Hanna", "Iris", "Joost"]
FAMILY = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _create_database(admin_url: str) -> str:
    name = f"aidiploma_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(admin_url: str, url: str) -> None:
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _admin_client(url: str) -> tuple[str, str]:
    from app.auth import service
    from app.auth.schemas import ApiClientCreate
    from app.core.db import create_db_engine, make_session_factory, unit_of_work

    engine = create_db_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        client, secret = service.create_client(
            session, data=ApiClientCreate(name="bench", scopes=["org:read", "org:write"])
        )
    engine.dispose()
    return client.client_id, secret


def _people(count: int, seed: int = 42) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    people = []
    for i in range(count):
        number = f"B{i:06d}"
        # The first 1,000 form the management layers (managers earlier in the same batch);
        # everyone after reports to one of them, as in a real HR export.
        manager = None if i < 10 else f"B{(i // 10 if i < 1000 else rng.randrange(10, 1000)):06d}"
        roles = [{"role": rng.choice(ROLES), "start_date": "2023-01-01"}]
        if rng.random() < 0.2:
            extra = rng.choice(ROLES)
            if extra != roles[0]["role"]:
                roles.append({"role": extra})
        people.append(
            {
                "employee_number": number,
                "given_name": rng.choice(GIVEN),
                "family_name": rng.choice(FAMILY),
                "email": f"p{i}@bench.example",
                "org_unit": rng.choice(TEAMS),
                "location": rng.choice(["stadhuis", "noord", "zuid"]),
                "manager": manager,
                "roles": roles,
                "employment_start_date": "2020-01-01",
            }
        )
    return people


def _post_batches(
    http: httpx.Client, people: list[dict[str, Any]], batch: int, expect: str
) -> float:
    started = time.perf_counter()
    for start in range(0, len(people), batch):
        response = http.post(
            "/people:batch-upsert", json={"records": people[start : start + batch]}
        )
        if response.status_code != 200:
            raise SystemExit(f"batch at {start}: {response.status_code} {response.text[:500]}")
        counts = response.json()["counts"]
        if counts[expect] != len(people[start : start + batch]):
            raise SystemExit(f"batch at {start}: expected all {expect}, got {counts}")
    return time.perf_counter() - started


def _seed_reference_data(http: httpx.Client) -> None:
    units = [{"external_id": "gem", "name": "Gemeente", "kind": "business_unit"}]
    units += [{"external_id": t, "name": t, "kind": "team", "parent": "gem"} for t in TEAMS]
    for path, records in (
        ("/org-units:batch-upsert", units),
        ("/roles:batch-upsert", [{"key": key, "name": key} for key in ROLES]),
    ):
        http.post(path, json={"records": records}).raise_for_status()
    for key in ("stadhuis", "noord", "zuid"):
        http.post("/locations", json={"external_id": key, "name": key}).raise_for_status()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "AIDIPLOMA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    from app.core import migrations

    url = _create_database(args.pg_url)
    server = None
    try:
        migrations.upgrade(url)
        client_id, secret = _admin_client(url)
        port = _free_port()
        env = {
            **os.environ,
            "AIDIPLOMA_DATABASE_URL": url,
            "AIDIPLOMA_EMBEDDED_WORKER": "false",
            "AIDIPLOMA_LOG_LEVEL": "WARNING",
            "AIDIPLOMA_SIGNING_KEY_PATH": str(Path(tempfile.mkdtemp()) / "key.pem"),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=ROOT, env=env
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        token = httpx.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        ).json()["access_token"]
        people = _people(args.people)
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as http:
            _seed_reference_data(http)
            load = _post_batches(http, people, args.batch, "created")
            resync = _post_batches(http, people, args.batch, "unchanged")
        print(
            f"server: uvicorn on 127.0.0.1, PostgreSQL database {sa.engine.make_url(url).database}"
        )
        print(f"load:    {args.people} people in {load:.1f} s = {args.people / load:,.0f} people/s")
        print(
            f"re-sync: {args.people} people in {resync:.1f} s = {args.people / resync:,.0f} people/s"
        )
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if not args.keep:
            _drop_database(args.pg_url, url)


if __name__ == "__main__":
    sys.exit(main())
