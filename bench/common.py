"""Shared plumbing of the benchmarks: throwaway databases, a served app, wrk runs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get(
    "AIDIPLOMA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_database(backend: str) -> str:
    """A new, migrated database; returns its URL."""
    sys.path.insert(0, str(ROOT))
    from app.core import migrations

    if backend == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    else:
        name = f"aidiploma_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = (
            sa.engine.make_url(PG_ADMIN_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    migrations.upgrade(url)
    return url


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def serve(factory: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """Run `uvicorn --factory` in its own process (one worker) and wait until it answers."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    script: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """Requests/s and latency percentiles from wrk (Debian package `wrk`)."""
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    percentiles = {}
    for label in ("50", "99"):
        match = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", output)
        if match:
            value, unit = float(match.group(1)), match.group(2)
            percentiles[label] = (
                value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
            )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "p50_ms": percentiles.get("50", 0.0),
        "p99_ms": percentiles.get("99", 0.0),
        "errors": float(non_2xx.group(1)) if non_2xx else 0.0,
    }
