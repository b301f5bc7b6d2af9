"""Benchmark: COPY against a multi-row INSERT for a few xapi_statement rows on PostgreSQL.

Picks `core.db.COPY_MIN_ROWS`: for each row count, the CPU milliseconds per insert of
the PostgreSQL backend (from /proc) and of this client, each insert in its own
transaction (rolled back, or committed with --commit), the two methods interleaved so load affects both alike.

    .venv/bin/python bench/bench_insert_rows.py [--repeat 1500] [--sizes 1,2,4,8,16,32,100]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import migrations  # noqa: E402


def _row() -> dict[str, Any]:
    statement_id = uuid.uuid4()
    raw = {
        "id": str(statement_id),
        "actor": {"objectType": "Agent", "mbox": "mailto:b00001@bench.example"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
        "object": {"objectType": "Activity", "id": "https://lms.bench.example/policy-test"},
        "result": {"success": True, "score": {"scaled": 0.85}},
        "timestamp": "2026-05-04T10:00:00.000Z",
    }
    now = datetime.now(UTC)
    return {
        "id": statement_id,
        "raw": json.dumps(raw),
        "verb_id": raw["verb"]["id"],
        "actor_ifi": "mbox:mailto:b00001@bench.example",
        "object_type": "Activity",
        "object_activity_id": raw["object"]["id"],
        "object_agent_ifi": None,
        "object_statement_id": None,
        "related_activities": "",
        "related_agents": "",
        "registration": uuid.uuid4(),
        "timestamp_at": now,
        "stored_at": now,
        "voided": False,
        "person_id": None,
        "resolution": "not_a_person",
        "authority_client_id": "bench",
    }


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1500)
    parser.add_argument("--sizes", default="1,2,4,8,16,32,100")
    parser.add_argument("--commit", action="store_true", help="commit instead of rolling back")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    from app.core.db import copy_rows
    from app.integrations.xapi.models import XapiStatement

    table = XapiStatement.__table__  # type: ignore[attr-defined]
    name = f"aidiploma_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(url)
        engine = sa.create_engine(url)
        methods = {
            "insert": lambda c, rows: c.execute(sa.insert(table), rows),
            "copy": lambda c, rows: copy_rows(c, table, rows),
        }
        with engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            connection.rollback()
            print(
                f"PostgreSQL, {args.repeat} inserts per cell, each its own transaction "
                f"({'committed' if args.commit else 'rolled back'}); "
                f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
            )
            print(f"{'rows':>5} {'method':>7} {'db ms':>7} {'client ms':>10} {'wall ms':>8}")
            for size in [int(s) for s in args.sizes.split(",")]:
                totals = {m: [0.0, 0.0, 0.0] for m in methods}
                for _ in range(args.repeat // 50):
                    for method, run in methods.items():  # interleaved in rounds of 50
                        batches = [[_row() for _ in range(size)] for _ in range(50)]
                        db0, cl0, w0 = _backend_cpu(pid), time.process_time(), time.perf_counter()
                        for rows in batches:
                            with connection.begin() as transaction:
                                run(connection, rows)
                                if not args.commit:
                                    transaction.rollback()
                        totals[method][0] += _backend_cpu(pid) - db0
                        totals[method][1] += time.process_time() - cl0
                        totals[method][2] += time.perf_counter() - w0
                n = args.repeat // 50 * 50
                for method, (db, client, wall) in totals.items():
                    print(
                        f"{size:5} {method:>7} {1000 * db / n:7.3f} {1000 * client / n:10.3f} "
                        f"{1000 * wall / n:8.3f}"
                    )
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
