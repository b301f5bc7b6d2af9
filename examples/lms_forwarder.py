"""Forward xAPI statements from an LMS export (JSON Lines) to aidiploma's LRS endpoint.

Reads one xAPI statement per line and POSTs them to /xapi/statements in batches, with
HTTP Basic auth (an API client's id and secret, scope xapi:write) and the
X-Experience-API-Version header. A statement without an id gets a stable one (a UUID
derived from its content), so a rerun after a failure resends the same ids and the LRS
treats them as no-ops (xAPI: same id, same content). Lines that are not JSON objects are
reported with their line number and skipped. Exit code: 0 all sent, 1 some lines were
skipped or rejected, 2 the run failed.

Run it (`aidiploma clients create --name lms --scope xapi:write`):

    python examples/lms_forwarder.py statements.jsonl --base-url https://aidiploma.example.org \\
        --key cl_... --secret ...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

BATCH_SIZE = 100
XAPI_VERSION = "1.0.3"
NAMESPACE = uuid.UUID("6f1a2c1e-3a4b-4c5d-9e8f-0a1b2c3d4e5f")


def read_statements(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    statements: list[dict[str, Any]] = []
    problems: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                statement = json.loads(line)
            except ValueError as exc:
                problems.append(f"line {number}: not JSON ({exc})")
                continue
            if not isinstance(statement, dict):
                problems.append(f"line {number}: not a statement object")
                continue
            if "id" not in statement:
                canonical = json.dumps(statement, sort_keys=True, separators=(",", ":"))
                statement["id"] = str(uuid.uuid5(NAMESPACE, canonical))
            statements.append(statement)
    return statements, problems


def forward(
    client: httpx.Client, statements: list[dict[str, Any]], batch_size: int
) -> tuple[int, list[str]]:
    """POST the statements in batches; a rejected batch is reported, the rest goes on."""
    stored = 0
    problems: list[str] = []
    for offset in range(0, len(statements), batch_size):
        batch = statements[offset : offset + batch_size]
        response = client.post("/xapi/statements", json=batch)
        if response.is_success:
            stored += len(response.json())
        elif response.status_code < 500:
            problems.append(
                f"statements {offset + 1}-{offset + len(batch)}: HTTP {response.status_code} {response.text[:300]}"
            )
        else:
            response.raise_for_status()
    return stored, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="xAPI statements, one JSON object per line")
    parser.add_argument(
        "--base-url", default=os.environ.get("AIDIPLOMA_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument("--key", default=os.environ.get("AIDIPLOMA_LRS_KEY"), help="API client id")
    parser.add_argument(
        "--secret", default=os.environ.get("AIDIPLOMA_LRS_SECRET"), help="API client secret"
    )
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    args = parser.parse_args(argv)
    if not args.key or not args.secret:
        parser.error("set --key/--secret or AIDIPLOMA_LRS_KEY/AIDIPLOMA_LRS_SECRET")
    statements, problems = read_statements(args.file)
    with httpx.Client(
        base_url=args.base_url,
        auth=(args.key, args.secret),
        headers={"X-Experience-API-Version": XAPI_VERSION},
        timeout=60,
        transport=httpx.HTTPTransport(retries=3),
    ) as client:
        try:
            stored, rejected = forward(client, statements, args.batch_size)
        except httpx.HTTPError as exc:
            print(f"forwarding failed: {exc}; rerun: resent statements are no-ops", file=sys.stderr)
            return 2
    problems += rejected
    print(f"{stored} of {len(statements)} statements stored")
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
