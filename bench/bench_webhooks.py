"""Benchmark: webhook deliveries per second from the worker to a local receiver.

Creates a throwaway database (SQLite file by default, or PostgreSQL with --pg-url),
migrates it, commits --events outbox events spread over --persons people, starts a
receiver on 127.0.0.1 in its own process (uvicorn, a bare ASGI app answering 204) and
runs the delivery job as the worker does (fan-out, then claim / send signed in parallel
/ record) until every event is delivered. Prints deliveries/s.

    .venv/bin/python bench/bench_webhooks.py [--events 5000] [--persons 500] [--workers 1]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import migrations, outbox  # noqa: E402
from app.core.config import Settings  # noqa: E402
from app.core.db import create_db_engine, make_session_factory, unit_of_work  # noqa: E402
from app.integrations.webhooks import delivery, signing  # noqa: E402
from app.integrations.webhooks.models import WebhookSubscription  # noqa: E402


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The receiver: read the body, answer 204 (run by uvicorn in a separate process)."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_receiver(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "bench_webhooks:receiver_app"]
    command += ["--app-dir", str(ROOT / "bench"), "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(ROOT)})
    for _ in range(100):
        try:
            httpx.post(f"http://127.0.0.1:{port}/", content=b"{}")
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the receiver did not start")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--persons", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="worker threads (PostgreSQL)")
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args()

    admin = None
    if args.pg_url:
        name = f"aidiploma_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(args.pg_url).set(database=name).render_as_string(False)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    try:
        migrations.upgrade(url)
        engine = create_db_engine(url)
        factory = make_session_factory(engine)
        port = _free_port()
        receiver = _start_receiver(port)
        target = f"http://127.0.0.1:{port}/hooks"
        settings = Settings(database_url=url, webhooks_allow_private=True)
        with unit_of_work(factory) as session:
            session.add(
                WebhookSubscription(
                    url=target,
                    event_types=["*"],
                    secret=signing.new_secret(),
                    allow_private_network=True,
                )
            )
        with unit_of_work(factory) as session:
            for n in range(args.events):
                person = f"person-{n % args.persons}"
                outbox.emit(
                    session,
                    event_type="certification.awarded",
                    data={"employee_number": person, "tier": "basic", "n": n},
                    ordering_key=person,
                )

        delivered: list[int] = []

        def work() -> None:
            deliverer = delivery.Deliverer(settings, client=httpx.Client())
            while sum(delivered) < args.events:
                with unit_of_work(factory) as session:
                    delivery.fan_out(session)
                    delivered.append(deliverer(session))  # every attempt succeeds here
            deliverer.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=work) for _ in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        backend = "PostgreSQL" if args.pg_url else "SQLite"
        print(
            f"{backend}, {args.workers} worker(s): {sum(delivered)} deliveries "
            f"({args.persons} people) in {elapsed:.1f} s = {sum(delivered) / elapsed:,.0f} deliveries/s"
        )
        receiver.terminate()
        receiver.wait()
        engine.dispose()
    finally:
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
