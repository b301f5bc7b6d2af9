"""Benchmark: the nightly HR pull of 50,000 employees, as the worker runs it.

Creates a throwaway database per backend, migrates it, loads 20 org units and 25 roles with
the HR mapping rules for their department and function codes, and an HR source with a pull
schedule. An HR system is simulated in process (httpx.MockTransport) serving the listing as
JSON pages by next link. Then it times, per backend:

- the first scheduled pull (`pull.pull_due`: claim, read every page, upsert all as new);
- reading the listing alone (`pull.fetch`), the part during which no lock is held, and
  the memory the whole listing takes while it is held (tracemalloc);
- the next night's pull, in which nothing changed (on PostgreSQL after ANALYZE, which
  autovacuum will have run by then; the first pull plans its look-ups with the statistics
  of an empty table).

    .venv/bin/python bench/bench_hris_pull.py [--employees 50000] [--page-size 500]
        [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.demo.hris import FIELD_PATHS  # noqa: E402 - the demo's AFAS-style paths
from bench.common import create_database, drop_database  # noqa: E402

UNITS = 20
ROLES = 25
GIVEN = ["Anna", "Bram", "Cor", "Daan", "Eva", "Fleur", "Gijs", "Hanna", "Iris", "Joost"]
FAMILY = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder"]


def employees(count: int) -> list[dict[str, Any]]:
    return [
        {
            "Medewerker": f"B{i:06d}",
            "Roepnaam": GIVEN[i % len(GIVEN)],
            "Achternaam": FAMILY[i % len(FAMILY)],
            "EmailWerk": f"b{i:06d}@bench.example",
            "Afdeling": {"Code": f"D{i % UNITS:02d}"},
            "Functie": {"Code": f"F{i % ROLES:02d}"},
        }
        for i in range(count)
    ]


class HRSystem:
    """The HR system's listing: pages of `page_size` by next link, complete at the end."""

    def __init__(self, people: list[dict[str, Any]], page_size: int) -> None:
        self.people, self.page_size = people, page_size

    def __call__(self, request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        start = (page - 1) * self.page_size
        more = start + self.page_size < len(self.people)
        return httpx.Response(
            200,
            json={
                "medewerkers": self.people[start : start + self.page_size],
                "links": {"volgende": f"/api/medewerkers?page={page + 1}" if more else None},
                "volledig": True,
            },
        )


def setup(factory: Any) -> None:
    from app.core.db import unit_of_work
    from app.integrations.hris import service
    from app.integrations.hris.models import MappingKind
    from app.integrations.hris.schemas import MappingIn, SourceIn
    from app.org import service as org_service
    from app.org.schemas import JobFamilyIn

    with unit_of_work(factory) as session:
        session.info["actor"] = "bench"
        org_service.batch_upsert_org_units(
            session,
            records=[{"external_id": "root", "name": "Root", "kind": "business_unit"}]
            + [
                {"external_id": f"unit-{u}", "name": f"Unit {u}", "kind": "team", "parent": "root"}
                for u in range(UNITS)
            ],
        )
        org_service.create_job_family(session, data=JobFamilyIn(key="all", name="All"))
        org_service.batch_upsert_roles(
            session,
            records=[
                {"key": f"role-{r}", "name": f"Role {r}", "job_family": "all"} for r in range(ROLES)
            ],
        )
        for u in range(UNITS):
            service.put_mapping(
                session,
                data=MappingIn(
                    kind=MappingKind.org_unit, source_value=f"D{u:02d}", target_key=f"unit-{u}"
                ),
            )
        for r in range(ROLES):
            service.put_mapping(
                session,
                data=MappingIn(
                    kind=MappingKind.role, source_value=f"F{r:02d}", target_key=f"role-{r}"
                ),
            )
        service.put_source(
            session,
            data=SourceIn(
                name="bench-hr",
                field_paths=FIELD_PATHS,
                # An address, and internal addresses allowed (an HR system on the internal
                # network): no DNS look-up for the address check, which is not measured here.
                pull_url="https://192.0.2.10/api/medewerkers",
                items_path="medewerkers",
                next_link_path="links.volgende",
                complete_path="volledig",
                pull_every_minutes=24 * 60,
            ),
            allow_private=True,
        )


def measure(backend: str, *, count: int, page_size: int) -> list[tuple[str, str]]:
    from app.core import clock
    from app.core.db import create_db_engine, make_session_factory, unit_of_work
    from app.integrations.hris import pull, service

    url = create_database(backend)
    engine = create_db_engine(url)
    try:
        factory = make_session_factory(engine)
        setup(factory)
        hr = HRSystem(employees(count), page_size)
        transport = httpx.MockTransport(hr)
        results = []

        started = time.perf_counter()
        with unit_of_work(factory) as session:
            assert pull.pull_due(session, allow_private=True, transport=transport) == 1
        first = time.perf_counter() - started
        with unit_of_work(factory) as session:
            report = service.get_source(session, name="bench-hr").last_pull_report or {}
        assert report.get("created") == count, report
        results.append(("first pull, all new", f"{first:.2f} s, {count / first:,.0f} employees/s"))

        with unit_of_work(factory) as session:
            source = pull.detached(service.get_source(session, name="bench-hr"))
        started = time.perf_counter()
        with httpx.Client(transport=transport) as client:
            listing = pull.fetch(source, client=client, allow_private=True)
        reading = time.perf_counter() - started
        assert listing.seen == count
        results.append(("reading the listing alone (no lock held)", f"{reading:.2f} s"))
        tracemalloc.start()
        with httpx.Client(transport=transport) as client:
            held = pull.fetch(source, client=client, allow_private=True)
        size, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert held.seen == count
        results.append(
            (
                "memory: the listing held, peak while reading",
                f"{size / 2**20:.0f} MB, {peak / 2**20:.0f} MB",
            )
        )
        del held

        # The next night: nothing changed. By then PostgreSQL's autovacuum has analyzed the
        # grown table; the first pull ran on the statistics of an empty one (seq scans).
        if backend == "postgresql":
            with engine.connect() as connection:
                connection.execute(sa.text("ANALYZE"))
                connection.commit()
        now = clock.now()
        clock.set_clock(lambda: now + timedelta(days=1, minutes=1))
        try:
            started = time.perf_counter()
            with unit_of_work(factory) as session:
                assert pull.pull_due(session, allow_private=True, transport=transport) == 1
            second = time.perf_counter() - started
        finally:
            clock.set_clock(None)
        with unit_of_work(factory) as session:
            report = service.get_source(session, name="bench-hr").last_pull_report or {}
        assert report.get("unchanged") == count, report
        results.append(
            ("next night, nothing changed", f"{second:.2f} s, {count / second:,.0f} employees/s")
        )
        return results
    finally:
        engine.dispose()
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=50_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        print(f"\n{backend}: {args.employees} employees in pages of {args.page_size}")
        for name, figure in measure(backend, count=args.employees, page_size=args.page_size):
            print(f"  {name:<45} {figure}")


if __name__ == "__main__":
    main()
