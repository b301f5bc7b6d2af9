"""Agents: their canonical inverse functional identifier (IFI) and the person they are.

An IFI key is one string per Agent or Identified Group (xAPI 1.0.3 Data 2.4.2.3), used
for the `agent` filter and to match statements to people: `mbox` is the work email,
`mbox_sha1sum` the SHA1 of that mailto IRI, `account` the HR employee number on the
configured home page (AIDIPLOMA_XAPI_ACCOUNT_HOMEPAGE).
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.core.db import one_of_param
from app.integrations.xapi.models import PersonResolution, XapiStatement
from app.org.models import Person


def ifi_key(agent: dict[str, Any]) -> str | None:
    """The canonical IFI of an Agent or Identified Group; None for an Anonymous Group."""
    if "mbox" in agent:
        return "mbox:" + str(agent["mbox"]).lower()
    if "mbox_sha1sum" in agent:
        return "sha1:" + str(agent["mbox_sha1sum"]).lower()
    if "openid" in agent:
        return "openid:" + str(agent["openid"])
    account = agent.get("account")
    if isinstance(account, dict):
        return f"account:{str(account.get('homePage', '')).rstrip('/')}|{account.get('name')}"
    return None


def anonymous_key(group: dict[str, Any]) -> str:
    """An Anonymous Group has no IFI; it is keyed by its sorted member IFIs (never a person)."""
    members = sorted(filter(None, (ifi_key(m) for m in group.get("member", []))))
    return "group:" + ",".join(members)


def agents_in(agent: dict[str, Any] | None) -> list[str]:
    """The IFIs of an Agent or Group and of a Group's members."""
    if not isinstance(agent, dict):
        return []
    keys = [k for k in [ifi_key(agent)] if k]
    for member in agent.get("member", []) or []:
        key = ifi_key(member)
        if key:
            keys.append(key)
    return keys


def person_key(ifi: str, *, account_homepage: str) -> tuple[str, str] | None:
    """What an IFI can tell about a person: ('email', e) | ('sha1', h) | ('employee', n)."""
    if ifi.startswith("mbox:mailto:"):
        return ("email", ifi[len("mbox:mailto:") :])
    if ifi.startswith("sha1:"):
        return ("sha1", ifi[5:])
    if ifi.startswith("account:"):
        home, _, name = ifi[len("account:") :].partition("|")
        if home == account_homepage.rstrip("/"):
            return ("employee", name)
    return None


def mbox_sha1(email: str) -> str:
    return hashlib.sha1(f"mailto:{email}".encode()).hexdigest()


def resolve(
    session: Session, ifis: Iterable[str], *, account_homepage: str
) -> dict[str, uuid.UUID]:
    """Map IFIs to person ids in at most two queries (one more when SHA1 sums are present)."""
    return _resolve(session, ifis, account_homepage=account_homepage, note_pending=False)[0]


def resolve_noting_pending(
    session: Session, ifis: Iterable[str], *, account_homepage: str
) -> tuple[dict[str, uuid.UUID], bool]:
    """`resolve`, and whether statements of any of these IFIs may be waiting as pending.

    Asked in the same query as the people, so storing a statement of a known person with
    nothing pending (nearly every statement) costs no query for earlier pending ones. The
    answer leans to True: it is exact when the people query found someone, and True when
    only a SHA1 sum resolved (that path has no room for the question)."""
    return _resolve(session, ifis, account_homepage=account_homepage, note_pending=True)


def _resolve(
    session: Session, ifis: Iterable[str], *, account_homepage: str, note_pending: bool
) -> tuple[dict[str, uuid.UUID], bool]:
    wanted: dict[str, tuple[str, str]] = {}
    for ifi in set(ifis):
        key = person_key(ifi, account_homepage=account_homepage)
        if key is not None:
            wanted[ifi] = key
    if not wanted:
        return {}, False
    emails = sorted({v for kind, v in wanted.values() if kind == "email"})
    numbers = sorted({v for kind, v in wanted.values() if kind == "employee"})
    by_email: dict[str, uuid.UUID] = {}
    by_number: dict[str, uuid.UUID] = {}
    pending_seen: bool | None = None
    if emails or numbers:
        query = _people_query(
            session.get_bind().dialect.name,
            by_email=bool(emails),
            by_number=bool(numbers),
            note_pending=note_pending,
        )
        values = {"emails": emails, "numbers": numbers, "ifis": sorted(wanted)}
        for row in session.execute(query, values):
            person_id, email, number = row[:3]
            if email:
                by_email[email.lower()] = person_id
            by_number[number] = person_id
            if note_pending:
                pending_seen = bool(row[3])
    by_sha1: dict[str, uuid.UUID] = {}
    table = Person.__table__  # type: ignore[attr-defined]
    if any(kind == "sha1" for kind, _ in wanted.values()):
        # SQLite has no SHA1 function: hash the addresses here. Rare in practice (LMSs
        # that hide addresses use accounts), so a scan of (id, email) is acceptable.
        rows = session.execute(
            sa.select(table.c.id, table.c.email).where(table.c.email.is_not(None))
        ).all()
        by_sha1 = {mbox_sha1(email.lower()): person_id for person_id, email in rows}
    found: dict[str, uuid.UUID] = {}
    for ifi, (kind, value) in wanted.items():
        source = by_email if kind == "email" else by_number if kind == "employee" else by_sha1
        if value in source:
            found[ifi] = source[value]
    return found, (pending_seen if pending_seen is not None else bool(found))


@functools.cache
def _people_query(
    dialect: str, *, by_email: bool, by_number: bool, note_pending: bool
) -> sa.Select[Any]:
    """Built once per shape: the people with one of :emails or :numbers and, with
    note_pending, whether any statement of :ifis waits as pending."""
    table = Person.__table__  # type: ignore[attr-defined]
    conditions = []
    if by_email:
        # Stored emails are lower-case (org.schemas normalises every write), so the unique
        # index on email answers this; lower(email) would scan every person.
        conditions.append(one_of_param(table.c.email, "emails", dialect=dialect))
    if by_number:
        conditions.append(one_of_param(table.c.employee_number, "numbers", dialect=dialect))
    columns = [table.c.id, table.c.email, table.c.employee_number]
    if note_pending:
        # Uncorrelated: evaluated once per query, on ix_xapi_statement_pending.
        columns.append(
            sa.exists()
            .where(
                XapiStatement.resolution == PersonResolution.pending,  # type: ignore[arg-type]
                one_of_param(XapiStatement.actor_ifi, "ifis", dialect=dialect),
            )
            .label("pending")
        )
    return sa.select(*columns).where(sa.or_(*conditions))
