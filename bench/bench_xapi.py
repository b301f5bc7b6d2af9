"""Benchmark: xAPI statements/s on PostgreSQL, next to a bare parse-and-insert endpoint.

Creates a throwaway PostgreSQL database, migrates it, publishes a model whose mapping
turns every benchmark statement into evidence, adds --people people, and serves the
app with uvicorn in its own process (one worker). Then, with 8 concurrent clients
using HTTP Basic: POST batches of 100 mapped statements (validation, storage, evidence,
evaluation), single-statement POSTs, GET by statementId, and the same batches against
/bench/bare, an endpoint that only parses the JSON and executemany-inserts it; GET by id
next to GET /bench/bare?statementId=, a plain endpoint selecting the row (no auth).

    .venv/bin/python bench/bench_xapi.py [--batches 200] [--singles 1600] [--gets 4000]
        [--people 1000] [--workers 1]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

The defaults make each phase a steady state of several seconds (20,000 statements in
batches). With --batches 40, the run earlier sessions reported, the batch phase lasts
~1.3 s: the evaluation that follows the last response is a tenth of it and two runs differ
by up to 8%. Every phase counts until the last queued evaluation has committed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import Request, Response

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import migrations  # noqa: E402

CONCURRENCY = 8
LMS = "https://lms.bench.example/xapi/activities/"


def make_app() -> Any:
    """The app plus the bare reference endpoint (uvicorn --factory, in the server process)."""
    from app.core.config import Settings
    from app.main import create_app

    settings = Settings(embedded_worker=False, log_level="WARNING")
    app = create_app(settings)
    bare = sa.table("bench_bare", sa.column("id", sa.Uuid()), sa.column("raw", sa.Text()))

    @app.post("/bench/bare", include_in_schema=False)
    async def bare_insert(request: Request) -> Response:
        import json

        statements = json.loads(await request.body())
        rows = [{"id": uuid.uuid4(), "raw": json.dumps(s)} for s in statements]
        with app.state.engine.begin() as connection:
            connection.execute(sa.insert(bare), rows)
        return Response(json.dumps([str(r["id"]) for r in rows]), media_type="application/json")

    read = sa.text("SELECT raw FROM xapi_statement WHERE id = :id")

    @app.get("/bench/bare", include_in_schema=False)
    def bare_get(statementId: str) -> Response:  # noqa: N803 - the xAPI parameter name
        with app.state.engine.connect() as connection:
            raw = connection.execute(read, {"id": statementId}).scalar_one()
        return Response(raw, media_type="application/json")

    # First in the route list, as in a bare app (matching walks the routes in order).
    app.router.routes.insert(0, app.router.routes.pop())
    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _content() -> dict[str, Any]:
    t = {"en": "x", "nl": "x"}
    return {
        "domains": [{"key": "knowledge", "title": t}],
        "levels": [{"key": "basic", "title": t}, {"key": "advanced", "title": t}],
        "competencies": [{"key": "ai-policy", "domain": "knowledge", "title": t}],
        "tiers": [
            {
                "key": "basic",
                "title": t,
                "validity_months": 24,
                "recertification_window_days": 90,
                "grace_period_days": 30,
                "requirements": [
                    {
                        "competency": "ai-policy",
                        "min_level": "basic",
                        "accepted_forms": ["knowledge_test"],
                        "min_score": 70,
                    }
                ],
            }
        ],
        "activity_mappings": [
            {
                "activity_id": LMS + "policy-test",
                "competency": "ai-policy",
                "level": "basic",
                "assessment_form": "knowledge_test",
                "pass_rule": "min_score",
                "min_scaled_score": 0.7,
            }
        ],
    }


def _statement(index: int, people: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {
            "objectType": "Agent",
            "name": f"Bench {index % people}",
            "mbox": f"mailto:b{index % people:05d}@bench.example",
        },
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
        "object": {
            "objectType": "Activity",
            "id": LMS + "policy-test",
            "definition": {
                "name": {"en-US": "AI policy test"},
                "type": "http://adlnet.gov/expapi/activities/assessment",
            },
        },
        "result": {
            "success": True,
            "completion": True,
            "score": {"scaled": 0.85, "raw": 85, "min": 0, "max": 100},
            "duration": "PT12M30S",
        },
        "context": {
            "registration": str(uuid.uuid4()),
            "platform": "Bench LMS",
            "language": "nl-NL",
            "contextActivities": {"parent": [{"id": LMS + "ai-course"}]},
        },
        "timestamp": "2026-05-04T10:00:00.000Z",
    }


def _cpu_seconds(server_pid: int, database: str) -> tuple[float, float]:
    """CPU seconds used so far by the app server and by the database's backends (Linux
    /proc): CPU per request is far less sensitive than throughput to a shared machine."""
    tick = os.sysconf("SC_CLK_TCK")

    def used(pid: str) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick

    def parent(pid: str) -> str:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            return ""

    backends = 0.0
    app = used(str(server_pid))
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            if parent(entry.name) == str(server_pid):  # uvicorn --workers N: its workers
                app += used(entry.name)
                continue
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres:") and f" {database} " in title:
                backends += used(entry.name)
    return app, backends


async def _run(tasks: list[Any], settle: Any = None) -> float:
    """Seconds until every task is done and, with `settle`, until it returns True: the
    xAPI phases count until the last queued evaluation has committed, so work moved after
    the response is still inside the figure."""
    started = time.perf_counter()
    await asyncio.gather(*tasks)
    while settle is not None and not settle():
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


class _Cpu:
    """CPU milliseconds of the app server and of PostgreSQL per unit of work in a phase."""

    def __init__(self, args: argparse.Namespace, results: dict[str, float]) -> None:
        self.args, self.results = args, results

    def start(self) -> None:
        self.before = _cpu_seconds(self.args.server_pid, self.args.database)
        self.client_before = time.process_time()

    def stop(self, label: str, units: int) -> None:
        after = _cpu_seconds(self.args.server_pid, self.args.database)
        app, db = (1000 * (a - b) / units for a, b in zip(after, self.before, strict=True))
        self.results[f"  cpu ms/{label}: app"] = app
        self.results[f"  cpu ms/{label}: db"] = db
        # The load generator shares the two cores: its CPU per request bounds what can be shown.
        client = 1000 * (time.process_time() - self.client_before) / units
        self.results[f"  cpu ms/{label}: bench client"] = client


async def _load(base: str, headers: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    counter = iter(range(10**9))
    results: dict[str, float] = {}
    probe = sa.create_engine(args.url, poolclass=sa.pool.NullPool)

    def evaluated() -> bool:
        """No evaluation request is waiting (certification.queue)."""
        with probe.connect() as connection:
            return not connection.execute(
                sa.text("SELECT EXISTS (SELECT 1 FROM evaluation_request)")
            ).scalar()

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
        # Warm up (Basic credential cache, connection pools).
        await http.post("/xapi/statements", json=[_statement(next(counter), args.people)])

        async def batches(path: str, count: int) -> None:
            for _ in range(count):
                batch = [_statement(next(counter), args.people) for _ in range(100)]
                response = await http.post(path, json=batch)
                assert response.status_code == 200, response.text[:300]

        cpu = _Cpu(args, results)
        per = args.batches // CONCURRENCY
        cpu.start()
        seconds = await _run([batches("/bench/bare", per) for _ in range(CONCURRENCY)])
        results["bare batch statements/s"] = per * CONCURRENCY * 100 / seconds
        cpu.stop("bare batch", per * CONCURRENCY)
        cpu.start()
        seconds = await _run(
            [batches("/xapi/statements", per) for _ in range(CONCURRENCY)], evaluated
        )
        results["xapi batch statements/s"] = per * CONCURRENCY * 100 / seconds
        cpu.stop("xapi batch", per * CONCURRENCY)

        ids: list[str] = []

        async def singles(path: str, count: int, keep: bool) -> None:
            for _ in range(count):
                body = [_statement(next(counter), args.people)]
                response = await http.post(
                    path, json=body if path.startswith("/bench") else body[0]
                )
                assert response.status_code == 200, response.text[:300]
                if keep:
                    ids.append(body[0]["id"])

        per = args.singles // CONCURRENCY
        seconds = await _run([singles("/bench/bare", per, False) for _ in range(CONCURRENCY)])
        results["bare single POSTs/s"] = per * CONCURRENCY / seconds
        cpu.start()
        seconds = await _run(
            [singles("/xapi/statements", per, True) for _ in range(CONCURRENCY)], evaluated
        )
        results["xapi single POSTs/s"] = per * CONCURRENCY / seconds
        cpu.stop("xapi single", per * CONCURRENCY)

        async def gets(path: str, count: int, offset: int) -> None:
            for n in range(count):
                sid = ids[(offset + n) % len(ids)]
                response = await http.get(path, params={"statementId": sid})
                assert response.status_code == 200, response.text[:300]

        per = args.gets // CONCURRENCY
        cpu.start()
        seconds = await _run([gets("/xapi/statements", per, i * per) for i in range(CONCURRENCY)])
        results["xapi GET by id req/s"] = per * CONCURRENCY / seconds
        cpu.stop("GET", per * CONCURRENCY)
        cpu.start()
        seconds = await _run([gets("/bench/bare", per, i * per) for i in range(CONCURRENCY)])
        results["bare GET by id req/s"] = per * CONCURRENCY / seconds
        cpu.stop("bare GET", per * CONCURRENCY)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--singles", type=int, default=1600)
    parser.add_argument("--gets", type=int, default=4000)
    parser.add_argument("--people", type=int, default=1000)
    # One process by default; 2 lets the app use both cores of a 2-core machine.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    name = f"aidiploma_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    server = None
    try:
        migrations.upgrade(url)
        engine = sa.create_engine(url)
        from app.auth import service as auth_service
        from app.auth.schemas import ApiClientCreate
        from app.competencies import service as competency_service
        from app.competencies.schemas import ModelDocument, VersionContent
        from app.core.db import make_session_factory, unit_of_work

        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE bench_bare (id uuid PRIMARY KEY, raw text)"))
            connection.execute(
                sa.text(
                    "INSERT INTO person (id, employee_number, given_name, family_name, email, "
                    "active, created_at, updated_at, version) SELECT gen_random_uuid(), "
                    "'B' || lpad(n::text, 5, '0'), 'Bench', 'Person', "
                    "'b' || lpad(n::text, 5, '0') || '@bench.example', true, now(), now(), 1 "
                    "FROM generate_series(0, :people - 1) AS n"
                ),
                {"people": args.people},
            )
        with unit_of_work(make_session_factory(engine)) as session:
            session.info["actor"] = "bench"
            model, version = competency_service.import_document(
                session,
                document=ModelDocument(
                    key="bench", name="Bench", content=VersionContent.model_validate(_content())
                ),
            )
            competency_service.publish(session, version=version)
            client, secret = auth_service.create_client(
                session, data=ApiClientCreate(name="bench-lms", scopes=["xapi:write", "xapi:read"])
            )
        port = _free_port()
        env = {**os.environ, "AIDIPLOMA_DATABASE_URL": url, "AIDIPLOMA_AUTO_MIGRATE": "false"}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench_xapi:make_app",
                "--factory",
                "--app-dir",
                str(ROOT / "bench"),
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        args.server_pid, args.database, args.url = server.pid, name, url
        token = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"}
        results = asyncio.run(_load(base, headers, args))
        with engine.connect() as connection:
            evidence = connection.execute(sa.text("SELECT count(*) FROM evidence")).scalar()
            certified = connection.execute(
                sa.text("SELECT count(*) FROM person_status WHERE held_tier_key IS NOT NULL")
            ).scalar()
        print(
            f"PostgreSQL, {CONCURRENCY} concurrent clients, {os.cpu_count()} CPUs, "
            f"{args.workers} app process(es), "
            f"{args.people} people; evidence rows written: {evidence}; "
            f"people certified: {certified}; "
            f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
        )
        for label, value in results.items():
            print(f"{label:32} {value:10.1f}" if "cpu" in label else f"{label:32} {value:10.0f}")
        engine.dispose()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
