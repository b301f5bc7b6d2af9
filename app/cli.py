"""The `aidiploma` command: serve, migrate, worker, demo, clients, import, openapi, audit.

Command names, flags and `--json` outputs are a public interface for
integration scripts: keep them stable. Every command honours AIDIPLOMA_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from datetime import date
from pathlib import Path
from typing import Any

from app.core.config import Settings

OPENAPI_PATH = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def _session_factory(settings: Settings) -> Any:
    from app.core.db import create_db_engine, make_session_factory

    return make_session_factory(create_db_engine(settings.database_url))


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.main import create_app

    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips="*" if args.behind_proxy else None,
    )
    return 0


def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    from app.core import migrations

    migrations.upgrade(settings.database_url)
    print(f"database at {migrations.head_revision()}", file=sys.stderr)
    return 0


def cmd_worker(_args: argparse.Namespace, settings: Settings) -> int:
    from app.core.logging import configure_logging
    from app.worker import Worker

    configure_logging(settings.log_level, settings.log_json)
    worker = Worker(_session_factory(settings), settings=settings)
    # Containers stop with SIGTERM: finish the current job and exit cleanly.
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    try:
        worker.run_forever()
    except KeyboardInterrupt:
        worker.stop()
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from app import demo
    from app.core import migrations

    migrations.upgrade(settings.database_url)
    result = demo.load(
        _session_factory(settings),
        settings=settings,
        language=args.language,
        if_empty=args.if_empty,
    )
    if args.json:
        _print_json(result)
    else:
        demo.print_summary(result)
    return 0


def cmd_snapshot(args: argparse.Namespace, settings: Settings) -> int:
    from app.core.db import unit_of_work
    from app.core.errors import AppError
    from app.reports import snapshots

    try:
        with unit_of_work(_session_factory(settings)) as session:
            session.info["actor"] = "cli"
            snapshot, created = snapshots.take(session, on=args.as_of)
            figures = {**snapshots.headline(snapshot), "created": created}
    except AppError as exc:
        print(f"aidiploma: {exc.detail or exc}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(figures)
    else:
        print(
            f"snapshot {figures['snapshot_date']} {'taken' if created else 'already taken'}: "
            f"{figures['compliant']}/{figures['in_scope']} compliant, "
            f"{figures['overdue']} overdue, {figures['expiring_90']} expiring within 90 days"
        )
    return 0


def cmd_clients_create(args: argparse.Namespace, settings: Settings) -> int:
    from app.auth import service
    from app.auth.schemas import ApiClientCreate
    from app.core.db import unit_of_work

    data = ApiClientCreate(name=args.name, scopes=args.scope, person_id=args.person_id)
    with unit_of_work(_session_factory(settings)) as session:
        session.info["actor"] = "cli"
        client, secret = service.create_client(session, data=data)
    if args.json:
        print(
            json.dumps(
                {"client_id": client.client_id, "client_secret": secret, "scopes": client.scopes}
            )
        )
    else:
        print(
            f"client_id:     {client.client_id}\nclient_secret: {secret}\n"
            f"scopes:        {' '.join(client.scopes)}\n(the secret is shown only now)"
        )
    return 0


def cmd_openapi(args: argparse.Namespace, settings: Settings) -> int:
    from app.openapi_export import render_openapi

    text = render_openapi()
    if args.check:
        current = OPENAPI_PATH.read_text() if OPENAPI_PATH.exists() else ""
        if current != text:
            print("openapi/openapi.json is stale; run `aidiploma openapi`", file=sys.stderr)
            return 1
        return 0
    OPENAPI_PATH.parent.mkdir(parents=True, exist_ok=True)
    OPENAPI_PATH.write_text(text)
    print(f"wrote {OPENAPI_PATH}", file=sys.stderr)
    return 0


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from app.core import audit

    with _session_factory(settings)() as session:
        report = audit.verify_chain(session)
    if args.json:
        print(json.dumps(report))
    else:
        print(
            "intact"
            if report["intact"]
            else f"BROKEN at entry {report['first_broken_seq']}: {report['reason']}"
        )
        print(f"{report['checked']} entries checked")
    return 0 if report["intact"] else 1


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from app.core.db import unit_of_work
    from app.core.errors import AppError
    from app.org import csv_import

    data = Path(args.file).read_bytes()
    try:
        with unit_of_work(_session_factory(settings)) as session:
            session.info["actor"] = "cli"
            report = csv_import.import_csv(
                session,
                kind=args.kind,
                data=data,
                delimiter=args.delimiter,
                mapping=csv_import.parse_mapping(args.map, kind=args.kind),
                dry_run=args.dry_run,
            )
    except AppError as exc:
        print(f"aidiploma: {exc.detail or exc}", file=sys.stderr)
        return 2
    if args.json:
        print(report.model_dump_json(indent=2, exclude={"results"}))
    else:
        counts = report.counts
        verb = "would change" if report.dry_run or not report.applied else "imported"
        print(
            f"{args.kind}: {report.rows} rows; {verb}: {counts.created} created, "
            f"{counts.updated} updated, {counts.unchanged} unchanged"
        )
        if report.ignored_columns:
            print(f"ignored columns: {', '.join(report.ignored_columns)}")
        for error in report.errors:
            print(f"line {error.line}: {error.field or '(line)'}: {error.message}")
        if report.errors:
            print("nothing was written", file=sys.stderr)
    return 1 if report.errors else 0


def cmd_sync_lrs(args: argparse.Namespace, settings: Settings) -> int:
    from app.integrations.xapi import sync

    try:
        result = sync.pull(
            _session_factory(settings),
            endpoint=args.endpoint,
            key=args.key,
            secret=args.secret,
            account_homepage=settings.xapi_account_homepage,
        )
    except sync.RemoteLRSError as exc:
        print(f"aidiploma: {exc}; rerun to continue from the checkpoint", file=sys.stderr)
        return 1
    if args.json:
        _print_json(result.__dict__)
    else:
        print(f"{result.statements} statements in {result.pages} pages; checkpoint {result.since}")
    return 0


def cmd_sync_hris(args: argparse.Namespace, settings: Settings) -> int:
    import httpx

    from app.core.db import unit_of_work
    from app.core.errors import AppError
    from app.integrations.hris import pull, service

    try:
        # One unit of work, whose read ends before the HR system is asked (pull.sync): a
        # failure half-way changes nothing, so a rerun starts clean.
        with (
            unit_of_work(_session_factory(settings)) as session,
            httpx.Client(timeout=pull.TIMEOUT) as client,
        ):
            session.info["actor"] = "cli"
            report = pull.sync(
                session,
                source=service.get_source(session, name=args.source),
                client=client,
                allow_private=settings.hris_allow_private,
            )
    except pull.SyncFailed as exc:
        print(
            f"aidiploma: {exc} Nothing was changed; rerun when the source is back.", file=sys.stderr
        )
        return 1
    except AppError as exc:
        print(f"aidiploma: {exc.detail or exc}", file=sys.stderr)
        return 2
    if args.json:
        print(report.model_dump_json())
    else:
        print(
            f"{report.source}: {report.seen} employees in {report.pages} pages; "
            f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.deactivated} deactivated, {report.errors} errors"
            + ("" if report.complete else " (listing not complete: nobody deactivated)")
        )
        for value in report.unmapped:
            print(f"unmapped {value['kind']}: {value['value']}")
        for problem in report.problems:
            print(f"problem: {json.dumps(problem, default=str)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aidiploma", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--behind-proxy", action="store_true", help="trust X-Forwarded-* headers from any proxy"
    )
    serve.set_defaults(handler=cmd_serve)

    commands.add_parser("migrate", help="upgrade the database schema to head").set_defaults(
        handler=cmd_migrate
    )
    commands.add_parser("worker", help="run the background worker").set_defaults(handler=cmd_worker)

    demo = commands.add_parser("demo", help="load the demo organisation")
    demo.add_argument("--language", choices=["nl", "en"], default="nl")
    demo.add_argument(
        "--if-empty", action="store_true", help="only load when no demo organisation is there yet"
    )
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(handler=cmd_demo)

    snapshot = commands.add_parser(
        "snapshot", help="take the daily coverage snapshot (once per day; never rewritten)"
    )
    snapshot.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="the day (YYYY-MM-DD); default today"
    )
    snapshot.add_argument("--json", action="store_true")
    snapshot.set_defaults(handler=cmd_snapshot)

    clients = commands.add_parser("clients", help="API clients").add_subparsers(
        dest="clients_command", required=True
    )
    create = clients.add_parser("create", help="create an API client and print its secret once")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--scope", action="append", required=True, help="a scope; repeat for several"
    )
    create.add_argument("--person-id", default=None, help="link to a person (manager clients)")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=cmd_clients_create)

    openapi = commands.add_parser("openapi", help="write openapi/openapi.json")
    openapi.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    openapi.set_defaults(handler=cmd_openapi)

    imports = commands.add_parser("import", help="import people, org units or roles from CSV")
    imports.add_argument("kind", choices=["people", "org-units", "roles"])
    imports.add_argument("file", help="a CSV file (UTF-8, with or without BOM)")
    imports.add_argument(
        "--dry-run", action="store_true", help="report what would change; write nothing"
    )
    imports.add_argument(
        "--delimiter", default=None, help="',', ';', '|' or 'tab'; default: guessed"
    )
    imports.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="CSVHEADER=FIELD",
        help="map a CSV header to a field; repeat for several",
    )
    imports.add_argument("--json", action="store_true")
    imports.set_defaults(handler=cmd_import)

    sync_commands = commands.add_parser("sync", help="pull from other systems").add_subparsers(
        dest="sync_command", required=True
    )
    lrs = sync_commands.add_parser("lrs", help="pull xAPI statements from an existing LRS")
    lrs.add_argument(
        "--endpoint", required=True, help="the LRS's xAPI base, e.g. https://lrs/xapi/"
    )
    lrs.add_argument("--key", required=True, help="Basic auth user (LRS key)")
    lrs.add_argument("--secret", required=True, help="Basic auth password (LRS secret)")
    lrs.add_argument("--json", action="store_true")
    lrs.set_defaults(handler=cmd_sync_lrs)
    hris = sync_commands.add_parser("hris", help="pull employees from an HR system's REST API")
    hris.add_argument(
        "--source", required=True, help="the HR source's name (PUT /integrations/hris/sources)"
    )
    hris.add_argument("--json", action="store_true")
    hris.set_defaults(handler=cmd_sync_hris)

    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(
        dest="audit_command", required=True
    )
    verify = audit.add_parser("verify", help="verify the hash chain; exit 1 if broken")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=cmd_audit_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args, Settings()))
    except ValueError as exc:  # pydantic validation of CLI input
        print(f"aidiploma: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
