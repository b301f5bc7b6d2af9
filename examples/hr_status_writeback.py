"""Write AI diploma status back to an HR system from the certification change feed.

Polls GET /certifications/changes with the cursor kept in a file and, for each change,
PUTs the status to the HR system at {HR_URL}/employees/{employee_number}/ai-diploma.
The cursor file is advanced only after the HR system accepted the change, one change at a
time, so a crash or an HR outage never skips a change: the next run resumes after the last
change HR acknowledged. The one change that may be sent again (a crash between HR's answer
and the cursor write) carries the same Idempotency-Key (the event id), and the PUT states
the whole status, so applying it twice has the effect of once.

Run it (an API client with scope certifications:read):

    AIDIPLOMA_CLIENT_ID=cl_... AIDIPLOMA_CLIENT_SECRET=... \\
        python examples/hr_status_writeback.py https://hr.example.org/api \\
        --base-url https://aidiploma.example.org --cursor-file /var/lib/hr-writeback/cursor

Add --once to stop when the feed is drained (for cron); without it, it polls every
--interval seconds. Exit code: 0 done, 1 the HR system or the service failed (rerun).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx


def token(client: httpx.Client, client_id: str, secret: str, scope: str) -> str:
    """OAuth 2.0 client credentials (RFC 6749 4.4) at POST /oauth/token."""
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def read_cursor(path: Path) -> str | None:
    return path.read_text().strip() or None if path.exists() else None


def write_cursor(path: Path, cursor: str) -> None:
    """Atomically: a crash leaves either the old or the new cursor, never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cursor-")
    with os.fdopen(fd, "w") as handle:
        handle.write(cursor)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def hr_status(change: dict[str, Any]) -> dict[str, Any]:
    """The fields HR stores on the employee record, from one change (issue 7 item 6)."""
    return {
        "event_id": change["event_id"],
        "event_type": change["type"],
        "occurred_at": change["occurred_at"],
        **change["data"],
    }


def apply_changes(
    api: httpx.Client, hr: httpx.Client, cursor_file: Path, *, limit: int = 100
) -> int:
    """Drain the feed once; returns how many changes HR accepted."""
    applied = 0
    while True:
        params = {"limit": limit}
        cursor = read_cursor(cursor_file)
        if cursor:
            params["cursor"] = cursor
        response = api.get("/certifications/changes", params=params)
        response.raise_for_status()
        page = response.json()
        for change in page["items"]:
            number = change["data"].get("employee_number")
            if number:
                written = hr.put(
                    f"employees/{number}/ai-diploma",
                    json=hr_status(change),
                    headers={"Idempotency-Key": change["event_id"]},
                )
                written.raise_for_status()
                applied += 1
            write_cursor(cursor_file, str(change["seq"]))
        if not page["items"]:
            return applied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hr_url", help="the HR system's API base URL")
    parser.add_argument(
        "--base-url", default=os.environ.get("AIDIPLOMA_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument("--client-id", default=os.environ.get("AIDIPLOMA_CLIENT_ID"))
    parser.add_argument("--client-secret", default=os.environ.get("AIDIPLOMA_CLIENT_SECRET"))
    parser.add_argument("--cursor-file", type=Path, default=Path("hr_writeback.cursor"))
    parser.add_argument("--once", action="store_true", help="exit when the feed is drained")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between polls")
    args = parser.parse_args(argv)
    if not args.client_id or not args.client_secret:
        parser.error(
            "set --client-id/--client-secret or AIDIPLOMA_CLIENT_ID/AIDIPLOMA_CLIENT_SECRET"
        )
    with (
        httpx.Client(base_url=args.base_url, timeout=30) as api,
        httpx.Client(base_url=args.hr_url.rstrip("/") + "/", timeout=30) as hr,
    ):
        try:
            while True:
                # A fresh token per poll: access tokens are short-lived.
                api.headers["Authorization"] = "Bearer " + token(
                    api, args.client_id, args.client_secret, "certifications:read"
                )
                applied = apply_changes(api, hr, args.cursor_file)
                print(
                    f"{applied} changes written to HR; cursor {read_cursor(args.cursor_file)}",
                    flush=True,
                )
                if args.once:
                    return 0
                time.sleep(args.interval)
        except httpx.HTTPError as exc:
            print(f"stopped: {exc}; the cursor is at the last change HR accepted", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
