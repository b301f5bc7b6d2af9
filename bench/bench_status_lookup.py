"""Benchmark: GET /people/employee:{n}/certification for random people out of 100,000, under 32
concurrent connections, next to two references served by the same process in the same run:
a bare endpoint returning constant JSON of the same size (the stack's ceiling) and a naive
endpoint that reads one row by primary key through a SQLModel session.

    .venv/bin/python bench/bench_status_lookup.py --backend postgresql [--people 100000]
        [--seconds 10] [--connections 32]

Needs `wrk` (Debian package). Prints requests/s and p99 per endpoint.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import create_database, drop_database, free_port, serve, wrk  # noqa: E402

LUA = """
math.randomseed(os.time())
request = function()
  local n = math.random(1, {people})
  return wrk.format("GET", {path})
end
"""


def populate(url: str, people: int) -> None:
    from app.certification.models import PersonStatus
    from app.core.db import create_db_engine
    from app.org.models import Person

    engine = create_db_engine(url)
    now = datetime.now(UTC)
    today = now.date()
    with engine.begin() as connection:
        for start in range(0, people, 10_000):
            batch = range(start + 1, min(start + 10_000, people) + 1)
            connection.execute(
                sa.insert(Person),
                [
                    {
                        "id": uuid.UUID(int=n),
                        "employee_number": f"B{n:06d}",
                        "given_name": "Bench",
                        "family_name": f"Person {n}",
                        "email": f"b{n:06d}@bench.example",
                        "active": True,
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                    for n in batch
                ],
            )
            connection.execute(
                sa.insert(PersonStatus),
                [
                    {
                        "person_id": uuid.UUID(int=n),
                        "required_tier_key": "advanced",
                        "required_tier_rank": 2,
                        "due_date": today + timedelta(days=30),
                        "held_tier_key": "advanced" if n % 3 else None,
                        "held_tier_rank": 2 if n % 3 else None,
                        "valid_until": today + timedelta(days=n % 700) if n % 3 else None,
                        "window_opens_on": today + timedelta(days=n % 700 - 90) if n % 3 else None,
                        "grace_until": today + timedelta(days=n % 700 + 30) if n % 3 else None,
                        "suspended": False,
                        "extras_met": True,
                        "any_progress": bool(n % 2),
                        "evaluated_at": now,
                        "version": 1,
                    }
                    for n in batch
                ],
            )
    engine.dispose()


def token(url: str, key_path: Path) -> str:
    from app.auth import service
    from app.auth.schemas import ApiClientCreate
    from app.core.config import Settings
    from app.core.db import create_db_engine, make_session_factory, unit_of_work
    from app.core.keys import SigningKey

    factory = make_session_factory(create_db_engine(url))
    with unit_of_work(factory) as session:
        client, _secret = service.create_client(
            session, data=ApiClientCreate(name="bench", scopes=["certifications:read"])
        )
    key = SigningKey.load_or_create(key_path)
    return service.issue_token(
        client=client,
        scopes=["certifications:read"],
        key=key,
        settings=Settings(token_lifetime_seconds=86400),
    )["access_token"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    url = create_database(args.backend)
    tmp = Path(tempfile.mkdtemp())
    try:
        populate(url, args.people)
        bearer = token(url, tmp / "key.pem")
        port = free_port()
        server = serve(
            "bench.status_app:build",
            {"BENCH_DATABASE_URL": url, "BENCH_KEY": str(tmp / "key.pem")},
            port,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            scripts = {}
            for name, path in (
                ("naive", '"/bench/naive/" .. string.format("00000000-0000-0000-0000-%012x", n)'),
                ("status", '"/people/employee:B" .. string.format("%06d", n) .. "/certification"'),
            ):
                script = tmp / f"{name}.lua"
                script.write_text(LUA.replace("{people}", str(args.people)).replace("{path}", path))
                scripts[name] = str(script)
            wrk(f"{base}/bench/ceiling", connections=args.connections, seconds=2)  # warm up
            results = {
                "ceiling (constant JSON)": wrk(
                    f"{base}/bench/ceiling", connections=args.connections, seconds=args.seconds
                ),
                "naive ORM lookup by id": wrk(
                    base,
                    connections=args.connections,
                    seconds=args.seconds,
                    script=scripts["naive"],
                ),
                "GET /people/employee:{n}/certification": wrk(
                    base,
                    connections=args.connections,
                    seconds=args.seconds,
                    script=scripts["status"],
                    headers={"Authorization": f"Bearer {bearer}"},
                ),
            }
        finally:
            server.terminate()
            server.wait()
        naive = results["naive ORM lookup by id"]["rps"]
        print(f"backend={args.backend} people={args.people} connections={args.connections}")
        for name, result in results.items():
            print(
                f"{name:42s} {result['rps']:9.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                f"p99 {result['p99_ms']:6.2f} ms  non-2xx {result['errors']:.0f}  "
                f"x naive {result['rps'] / naive:4.2f}"
            )
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
