"""HR pull sync: page through an HR REST listing, upsert what it lists, and deactivate people
it no longer lists only when the source says the listing is complete.

The whole listing is read first (`fetch`, no transaction open, so on SQLite no write lock
while the HR system answers), then applied in one unit of work (`apply`: each page as one
set-based batch). A failure half-way (after retries) changes nothing, so a rerun starts
clean. A run is started by hand (`aidiploma sync hris`, POST .../sync) or by the worker
for the sources with a schedule (`pull_due`), which keeps each source's last report or
error.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import sqlalchemy as sa
from sqlmodel import Session, col

from app.core import clock, urls
from app.core.config import Settings
from app.core.db import begin_writing
from app.integrations.hris import mapping
from app.integrations.hris.events import get_path, record_from
from app.integrations.hris.models import HrisSource, PaginationKind
from app.integrations.hris.schemas import SyncReport
from app.org.models import Person

logger = logging.getLogger("aidiploma.hris.pull")
MAX_PAGES = 100_000
RETRIES = 3
BACKOFF = 0.2
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
KEPT_PROBLEMS = 50
# A pull that has created this many people refreshes PostgreSQL's statistics, then again at
# twice as many (_analyze_people).
ANALYZE_FIRST = 2_000


class SyncFailed(Exception):
    """The HR listing could not be read to the end; nothing was changed."""


MAX_REDIRECTS = 5


def _checked(url: str, origin: str, allow_private: bool, verified: set[str]) -> str:
    """`url` if the source's credentials may go there: the pull_url's scheme and host, and
    not an internal address unless the server allows it (hris_allow_private). The address
    check resolves the host, once per pull (`verified`: the hosts checked so far) rather
    than once per page: every page is on the pull_url's host."""
    parts = urlsplit(url)
    if parts[:2] != urlsplit(origin)[:2]:
        raise SyncFailed(
            f"{url} leaves {origin}; refusing to send the source's credentials to another host."
        )
    if parts.netloc in verified:
        return url
    try:
        urls.check(url, allow_private=allow_private, must_resolve=False)
    except urls.UnsafeURL as exc:
        raise SyncFailed(f"{url} is refused: {exc}.") from None
    verified.add(parts.netloc)
    return url


@dataclass(frozen=True)
class _Remote:
    """Where a pull reads: the HTTP client, the source's origin (its pull_url) and headers,
    and whether internal addresses are allowed (hris_allow_private)."""

    client: httpx.Client
    origin: str
    headers: dict[str, str]
    allow_private: bool
    verified: set[str] = field(default_factory=set)  # hosts whose addresses passed the check

    def get(self, url: str, params: dict[str, Any]) -> httpx.Response:
        """GET, following redirects by hand so every hop passes `_checked` (httpx would
        carry the source's own headers, e.g. an API key, to wherever a redirect points)."""
        first = url
        for _ in range(MAX_REDIRECTS + 1):
            response = self.client.get(
                _checked(url, self.origin, self.allow_private, self.verified),
                params=params or None,
                headers=self.headers,
                timeout=TIMEOUT,
                follow_redirects=False,
            )
            if not response.is_redirect:
                return response
            url, params = urljoin(str(response.url), response.headers["location"]), {}
        raise SyncFailed(f"{first} redirected more than {MAX_REDIRECTS} times.")

    def fetch(self, url: str, params: dict[str, Any]) -> Any:
        """GET a page with retries on transport errors, 429 and 5xx (exponential back-off)."""
        last: str = ""
        for attempt in range(RETRIES + 1):
            try:
                response = self.get(url, params)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise SyncFailed(f"{url} did not return JSON.") from None
                last = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    break
            if attempt < RETRIES:
                time.sleep(min(BACKOFF * 2**attempt, 5.0))
        raise SyncFailed(f"Reading {url} failed: {last}.")


@dataclass
class Listing:
    """An HR source's whole listing as read, before anything is written: its records page by
    page, the items that could not be read as a record, and whether it says it is complete."""

    records: list[list[mapping.HrRecord]] = field(default_factory=list)  # one list a page
    problems: list[dict[str, Any]] = field(default_factory=list)  # items that were no record
    complete: bool = False

    @property
    def pages(self) -> int:
        return len(self.records)

    @property
    def errors(self) -> int:
        return len(self.problems)

    @property
    def seen(self) -> int:
        return sum(len(page) for page in self.records) + self.errors


def detached(source: HrisSource) -> HrisSource:
    """A copy of the source's settings that belongs to no session: to read its listing with
    fetch() after the transaction that loaded it has ended."""
    return HrisSource.model_validate(source.model_dump(warnings=False))


def fetch(source: HrisSource, *, client: httpx.Client, allow_private: bool = False) -> Listing:
    """Read every page of the source's listing; writes nothing and touches no session, so
    a caller can hold no transaction meanwhile (`sync`). `allow_private`: the server's
    hris_allow_private (internal HR systems)."""
    if not source.pull_url:
        raise SyncFailed(f"HR source {source.name} has no pull_url.")
    remote = _Remote(
        client=client,
        origin=source.pull_url,
        headers={str(k): str(v) for k, v in (source.pull_headers or {}).items()},
        allow_private=allow_private,
    )
    url: str | None = source.pull_url
    params: dict[str, Any] = {}
    if source.pagination == PaginationKind.page:
        params[source.page_param] = 1
    listing = Listing()
    body: Any = None
    while url is not None and listing.pages < MAX_PAGES:
        body = remote.fetch(url, params)
        items = get_path(body, source.items_path) or []
        if not isinstance(items, list):
            raise SyncFailed(f"{source.items_path} in the page is not a list.")
        records = []
        for position, item in enumerate(items):
            try:
                records.append(record_from(item, source.field_paths))
            except Exception as exc:  # a bad item is reported, the rest goes on
                listing.problems.append(
                    {"page": listing.pages + 1, "item": position, "message": str(exc)}
                )
        listing.records.append(records)
        url, params = _next(source, body, url, items, params)
    listing.complete = bool(source.complete_path and get_path(body, source.complete_path) is True)
    return listing


def apply(session: Session, *, source: HrisSource, listing: Listing) -> SyncReport:
    """Upsert what the listing holds, page by page as set-based batches, deactivate the
    people this source keeps that it no longer lists when it says it is complete, and keep
    the report on the source."""
    report = SyncReport(
        source=source.name, pages=listing.pages, seen=listing.seen, created=0, updated=0,
        unchanged=0, deactivated=0, errors=listing.errors, complete=listing.complete,
        unmapped=[], problems=list(listing.problems),
    )  # fmt: skip
    seen: set[str] = set()
    unmapped: set[tuple[str, str]] = set()
    analyze_at = ANALYZE_FIRST
    for records in listing.records:
        if not records:
            continue
        if report.created >= analyze_at:
            _analyze_people(session)
            analyze_at *= 2
        applied = mapping.apply_hr_records(
            session, records=records, source=source.name, partial=True
        )
        for outcome in applied.outcomes:
            seen.add(outcome.employee_number)
            unmapped.update(outcome.unmapped)
            if outcome.status == "error":
                report.errors += 1
                report.problems.append(
                    {"employee_number": outcome.employee_number, "problems": outcome.problems}
                )
            else:
                setattr(report, outcome.status, getattr(report, outcome.status) + 1)
    if report.complete and report.errors == 0:
        report.deactivated = _deactivate_missing(session, seen=seen, source=source.name)
    report.unmapped = [{"kind": k, "value": v} for k, v in sorted(unmapped)]
    now = clock.now()
    source.last_synced_at = now
    source.last_pull_error = None
    # Kept on the source for GET .../sources: the counts in full, the problems only the first.
    kept = report.model_dump(mode="json")
    kept["problems"] = kept["problems"][:KEPT_PROBLEMS]
    source.last_pull_report = kept
    if source.pull_every_minutes is not None:
        source.next_pull_at = now + timedelta(minutes=source.pull_every_minutes)
    session.add(source)
    session.flush()
    return report


def _analyze_people(session: Session) -> None:
    """PostgreSQL: refresh the planner's statistics of the tables a first import is filling.
    Autovacuum cannot see the rows of a transaction still running, so the look-ups of each
    next page were planned for an empty person table (sequential scans): a first pull of
    50,000 employees took 31 s instead of 13. ANALYZE within the transaction counts its own
    rows; the statistics roll back with it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("ANALYZE person, person_role"))


def run(
    session: Session, *, source: HrisSource, client: httpx.Client, allow_private: bool = False
) -> SyncReport:
    """Read the source's whole listing, then apply it in the caller's transaction (see fetch
    and apply); `sync` is the same with the transactions a server needs."""
    return apply(
        session, source=source, listing=fetch(source, client=client, allow_private=allow_private)
    )


def sync(
    session: Session, *, source: HrisSource, client: httpx.Client, allow_private: bool = False
) -> SyncReport:
    """What the CLI, POST .../sync and the worker run. `source` as the caller read it; the
    caller's transaction, which has only read, ends here, so nothing is held while the HR
    system answers (on PostgreSQL no connection idle in a transaction, on SQLite no write
    lock or pinned snapshot). The listing is then applied in a writing transaction to the
    source as it is by then; the caller commits."""
    settings = detached(source)
    session.rollback()
    listing = fetch(settings, client=client, allow_private=allow_private)
    begin_writing(session)
    current = session.get(HrisSource, settings.id, populate_existing=True)
    if current is None:
        raise SyncFailed(f"HR source {settings.name} was deleted while it was pulled.")
    return apply(session, source=current, listing=listing)


def _next(
    source: HrisSource, body: Any, url: str, items: list[Any], params: dict[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    if source.pagination == PaginationKind.cursor:
        cursor = get_path(body, source.cursor_path)
        return (source.pull_url, {source.cursor_param: cursor}) if cursor and items else (None, {})
    if source.pagination == PaginationKind.page:
        if not items:
            return None, {}
        return url, {source.page_param: int(params.get(source.page_param, 1)) + 1}
    link = get_path(body, source.next_link_path)
    if not link:
        return None, {}
    # The source's headers carry its credentials: a next link may page, not send them
    # away (_checked refuses another host before the request).
    return urljoin(url, str(link)), {}


def _deactivate_missing(session: Session, *, seen: set[str], source: str) -> int:
    """People this source keeps, active here but absent from its complete listing, are
    deactivated (never deleted). People it does not keep (entered by hand, provisioned by
    SCIM, kept by another HR source) are not its to deactivate."""
    active = session.execute(
        sa.select(col(Person.employee_number)).where(
            col(Person.active).is_(True),
            col(Person.hr_source) == source,
        )
    ).scalars()
    missing = sorted(set(active) - seen)
    if not missing:
        return 0
    records = [mapping.HrRecord(employee_number=n, active=False) for n in missing]
    report = mapping.apply_hr_records(session, records=records, source=source, partial=True)
    return sum(1 for o in report.outcomes if o.status == "updated")


def pull_due(
    session: Session, *, allow_private: bool = False, transport: httpx.BaseTransport | None = None
) -> int:
    """Pull every HR source whose schedule says it is due; returns how many pulls succeeded.

    The due sources are claimed first (row locks with SKIP LOCKED, so several workers share
    them on PostgreSQL) by moving their next_pull_at on, and that is committed: no lock is
    held while an HR system answers, which on SQLite would keep every other writer waiting.
    Each listing is then applied in a transaction of its own. A pull that fails (the HR
    system is down, a page is malformed) changes nothing, keeps its error on the source and
    waits its interval; it does not stop the others.
    """
    now = clock.now()
    due = list(
        session.execute(
            sa.select(HrisSource)
            .where(
                col(HrisSource.pull_every_minutes).is_not(None),
                col(HrisSource.pull_url).is_not(None),
                col(HrisSource.next_pull_at) <= now,
            )
            .order_by(col(HrisSource.next_pull_at))
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not due:
        return 0
    for source in due:
        source.next_pull_at = now + timedelta(minutes=source.pull_every_minutes or 0)
        session.add(source)
    claimed = [detached(source) for source in due]
    session.commit()
    pulled = 0
    with httpx.Client(timeout=TIMEOUT, transport=transport) as client:
        for settings in claimed:
            try:
                report = sync(session, source=settings, client=client, allow_private=allow_private)
            except Exception as exc:  # kept on the source, tried again after the interval
                session.rollback()
                _record_failure(session, source_id=settings.id, error=exc)
                logger.warning(
                    "scheduled HR pull failed; nothing was changed, tried again next interval",
                    extra={"source": settings.name, "error": str(exc)},
                )
                continue
            session.commit()
            pulled += 1
            logger.info(
                "scheduled HR pull done",
                extra={
                    "source": settings.name,
                    "seen": report.seen,
                    "created": report.created,
                    "updated": report.updated,
                    "deactivated": report.deactivated,
                },
            )
    return pulled


def _record_failure(session: Session, *, source_id: Any, error: Exception) -> None:
    begin_writing(session)
    source = session.get(HrisSource, source_id, populate_existing=True)
    if source is not None:
        source.last_pull_error = str(error) or type(error).__name__
        session.add(source)
    session.commit()


class PullDue:
    """Worker job: pull the HR sources that are due (hris_allow_private from the settings)."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.allow_private = settings.hris_allow_private
        self.transport = transport

    def __call__(self, session: Session) -> int:
        return pull_due(session, allow_private=self.allow_private, transport=self.transport)
