"""Nightly HR sync: push an HR export (CSV or JSON) through POST /people:batch-upsert.

Sends the people in batches of 1,000 (the endpoint's maximum) and prints every record the
service rejected with the field and the reason. By default each batch is applied partially
(valid records are written, bad ones reported); --all-or-nothing rejects a batch with any
bad record. Exit code: 0 all applied, 1 some records had problems, 2 the run failed.

Run it (an API client with scope org:write; `aidiploma clients create --name hr-sync
--scope org:write`):

    AIDIPLOMA_CLIENT_ID=cl_... AIDIPLOMA_CLIENT_SECRET=... \\
        python examples/hr_nightly_sync.py export.csv --base-url https://aidiploma.example.org

CSV: a header row with employee_number, given_name, family_name and optionally
display_name, email, org_unit, location, manager, roles (role keys separated by ";"),
employment_start_date, employment_end_date, active. JSON: a list of such objects (or
{"records": [...]}); roles may be a list of keys or of {"role": key} objects.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

BATCH_SIZE = 1000
OPTIONAL = ("display_name", "email", "org_unit", "location", "manager")
DATES = ("employment_start_date", "employment_end_date")


def token(client: httpx.Client, client_id: str, secret: str, scope: str) -> str:
    """OAuth 2.0 client credentials (RFC 6749 4.4) at POST /oauth/token."""
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _roles(value: Any) -> list[dict[str, Any]]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [part.strip() for part in value.replace("|", ";").split(";") if part.strip()]
    return [item if isinstance(item, dict) else {"role": str(item)} for item in value]


def to_record(row: dict[str, Any]) -> dict[str, Any]:
    """One HR row as a PersonIn record; empty CSV cells are left out, not sent as ''."""
    record: dict[str, Any] = {
        "employee_number": str(row.get("employee_number", "")).strip(),
        "given_name": row.get("given_name"),
        "family_name": row.get("family_name"),
        "roles": _roles(row.get("roles")),
    }
    for field in (*OPTIONAL, *DATES):
        if row.get(field) not in (None, ""):
            record[field] = row[field]
    active = row.get("active")
    if isinstance(active, str) and active.strip():
        record["active"] = active.strip().lower() in ("1", "true", "yes", "y", "ja")
    elif isinstance(active, bool):
        record["active"] = active
    return record


def read_export(path: Path) -> list[dict[str, Any]]:
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data["records"] if isinstance(data, dict) else data
    else:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    return [to_record(row) for row in rows]


def push(
    client: httpx.Client, records: list[dict[str, Any]], *, partial: bool, batch_size: int
) -> tuple[dict[str, int], list[str]]:
    """POST the records batch by batch; returns the totals and one line per problem."""
    totals = {"created": 0, "updated": 0, "unchanged": 0, "error": 0}
    problems: list[str] = []
    for offset in range(0, len(records), batch_size):
        batch = records[offset : offset + batch_size]
        response = client.post(
            "/people:batch-upsert",
            params={"partial": "true" if partial else "false"},
            json={"records": batch},
        )
        if response.status_code == 422 and response.json().get("results") is not None:
            body = response.json()  # all-or-nothing batch rejected: nothing of it was written
            results, counts = body["results"], body.get("counts", {})
            counts = {"error": counts.get("error", len(results))}
        elif response.is_success:
            body = response.json()
            results, counts = body["results"], body["counts"]
        else:
            raise RuntimeError(
                f"batch at record {offset}: HTTP {response.status_code} {response.text}"
            )
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + int(value)
        for result in results:
            if result["status"] != "error":
                continue
            for problem in result["problems"]:
                problems.append(
                    f"record {offset + result['index'] + 1} ({result.get('key') or '?'}): "
                    f"{problem['field'] or '(record)'}: {problem['message']}"
                )
    return totals, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="a .csv or .json HR export")
    parser.add_argument(
        "--base-url", default=os.environ.get("AIDIPLOMA_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument("--client-id", default=os.environ.get("AIDIPLOMA_CLIENT_ID"))
    parser.add_argument("--client-secret", default=os.environ.get("AIDIPLOMA_CLIENT_SECRET"))
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument(
        "--all-or-nothing", action="store_true", help="reject a batch with any bad record"
    )
    args = parser.parse_args(argv)
    if not args.client_id or not args.client_secret:
        parser.error(
            "set --client-id/--client-secret or AIDIPLOMA_CLIENT_ID/AIDIPLOMA_CLIENT_SECRET"
        )
    records = read_export(args.export)
    # Connection errors are retried by the transport; a batch upsert is safe to resend.
    transport = httpx.HTTPTransport(retries=3)
    with httpx.Client(base_url=args.base_url, timeout=120, transport=transport) as client:
        try:
            client.headers["Authorization"] = "Bearer " + token(
                client, args.client_id, args.client_secret, "org:write"
            )
            totals, problems = push(
                client, records, partial=not args.all_or_nothing, batch_size=args.batch_size
            )
        except (httpx.HTTPError, RuntimeError) as exc:
            print(f"sync failed: {exc}", file=sys.stderr)
            return 2
    print(
        f"{len(records)} records: {totals['created']} created, {totals['updated']} updated, "
        f"{totals['unchanged']} unchanged, {totals['error']} with problems"
    )
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
