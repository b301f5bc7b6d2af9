"""The Statement resource: store batches, void, query, and turn statements into evidence.

A batch is validated in one pass, existing ids are looked up in one query (which also
reads the calling client's active flag when the route leaves that to it), actors are
resolved in one or two (which also say whether earlier statements wait as pending), rows
are inserted in bulk (COPY on PostgreSQL), evidence is derived with the version's mappings
matched in memory and recorded with `record_many`, and each affected person is queued for
one evaluation just after the request commits (`certification.queue`; issue 6, throughput).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.auth.models import ApiClient
from app.certification import queue as evaluation_queue
from app.certification import service as certification_service
from app.competencies.models import ActivityMapping, CompetencyModelVersion
from app.core import audit, clock, jsontext
from app.core.db import insert_rows, one_of, one_of_param
from app.core.errors import BadRequest, Conflict, NotFound
from app.evidence import service as evidence_service
from app.evidence.models import Evidence
from app.integrations.xapi import actors, derivation
from app.integrations.xapi.models import (
    PersonResolution,
    XapiStatement,
    XapiUnmappedActivity,
)
from app.integrations.xapi.validation import StatementInvalid, parse_timestamp, validate_statement

MAX_BATCH = 1000
MAX_PAGE = 500
# session.info key: the requests a combined write serves (xapi/combine.py), for its audit.
COMBINED_REQUESTS = "xapi_combined_requests"
# Exceptions to statement immutability, ignored when comparing (Data 2.3.1.b1-b3, s9.b1).
LRS_SET = ("id", "stored", "authority", "version")


@dataclass(frozen=True)
class Caller:
    """Who sends statements: the API client, as the statements' authority (Data 2.4.9)."""

    client_id: str
    authority_homepage: str
    account_homepage: str
    version: str = "1.0.0"

    @property
    def authority(self) -> dict[str, Any]:
        return {
            "objectType": "Agent",
            "account": {"homePage": self.authority_homepage, "name": self.client_id},
        }


def _invalid(exc: StatementInvalid) -> BadRequest:
    return BadRequest(str(exc), slug="invalid-statement", rule=exc.rule, path=exc.path)


def _comparable(statement: dict[str, Any], *, keep_timestamp: bool) -> dict[str, Any]:
    data = {k: v for k, v in statement.items() if k not in LRS_SET}
    if "timestamp" in data:
        if keep_timestamp:
            data["timestamp"] = parse_timestamp(data["timestamp"], "timestamp").isoformat(
                timespec="milliseconds"
            )
        else:
            data.pop("timestamp")
    verb = dict(data.get("verb") or {})
    verb.pop("display", None)  # Data 2.3.1.b3
    data["verb"] = verb
    obj = data.get("object")
    if isinstance(obj, dict) and obj.get("objectType", "Activity") == "Activity":
        data["object"] = {"id": obj.get("id")}  # Data 2.3.1.b2: definitions are not part of it
    context = data.get("context")
    if isinstance(context, dict) and isinstance(context.get("contextActivities"), dict):
        context = dict(context)
        context["contextActivities"] = {
            key: sorted(a.get("id") for a in (v if isinstance(v, list) else [v]))
            for key, v in context["contextActivities"].items()
        }
        data["context"] = context
    return data


def same_statement(received: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Statement comparison (Data 2.3.1.s9): differences allowed by immutability are ignored."""
    had_timestamp = "timestamp" in received
    return _comparable(received, keep_timestamp=had_timestamp) == _comparable(
        stored, keep_timestamp=had_timestamp
    )


def _row(statement: dict[str, Any], caller: Caller, stored_at: datetime) -> dict[str, Any]:
    stored = stored_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    statement["stored"] = stored  # Data 2.4.8.s3.b2: set by the LRS, overwriting
    statement["authority"] = caller.authority  # Data 2.4.9.s3.b4
    statement.setdefault("timestamp", stored)  # Data 2.4.7.s3.b2
    statement.setdefault("version", caller.version)  # Data 2.4.10
    actor = statement["actor"]
    actor_ifi = actors.ifi_key(actor) or actors.anonymous_key(actor)
    obj = statement["object"]
    object_type = obj.get("objectType", "Activity")
    context = statement.get("context") or {}
    registration = context.get("registration")
    related_activities: list[str] = []
    related_agents: list[str] = actors.agents_in(actor) + actors.agents_in(statement["authority"])
    for part in (statement, obj if object_type == "SubStatement" else None):
        if part is None:
            continue
        part_obj = part["object"]
        part_type = part_obj.get("objectType", "Activity")
        if part_type == "Activity":
            related_activities.append(part_obj["id"])
        elif part_type in ("Agent", "Group"):
            related_agents += actors.agents_in(part_obj)
        part_context = part.get("context") or {}
        for entries in (part_context.get("contextActivities") or {}).values():
            for entry in entries if isinstance(entries, list) else [entries]:
                related_activities.append(entry["id"])
        for key in ("instructor", "team"):
            related_agents += actors.agents_in(part_context.get(key))
        if part is not statement:
            related_agents += actors.agents_in(part.get("actor"))
    return {
        "id": uuid.UUID(statement["id"]),
        # As stored and served (core.jsontext). NaN and Infinity, which orjson would write
        # as null, never get here: the route refuses them as not JSON.
        "raw": jsontext.dumps(statement),
        "verb_id": statement["verb"]["id"],
        "actor_ifi": actor_ifi,
        "object_type": object_type,
        "object_activity_id": obj["id"] if object_type == "Activity" else None,
        "object_agent_ifi": actors.ifi_key(obj) if object_type in ("Agent", "Group") else None,
        "object_statement_id": uuid.UUID(obj["id"]) if object_type == "StatementRef" else None,
        "related_activities": "\n" + "\n".join(related_activities) + "\n",
        "related_agents": "\n" + "\n".join(related_agents) + "\n",
        "registration": uuid.UUID(registration) if registration else None,
        "timestamp_at": parse_timestamp(statement["timestamp"], "timestamp"),
        "stored_at": stored_at,
        "voided": False,
        "person_id": None,
        "resolution": PersonResolution.pending
        if actors.person_key(actor_ifi, account_homepage=caller.account_homepage)
        or actor_ifi.startswith("sha1:")
        else PersonResolution.not_a_person,
        "authority_client_id": caller.client_id,
    }


class ClientNotActive(Exception):
    """The API client `store` was asked to check is deactivated or unknown."""


def store(
    session: Session,
    *,
    statements: Sequence[Any],
    caller: Caller,
    actor: str | None = None,
    client_to_check: str | None = None,
) -> list[str]:
    """Store statements (POST/PUT /xapi/statements); returns their ids in order.

    Same id and same content: a no-op; other content: 409 (Communication 2.1.2.s2.b4-b5).
    With `client_to_check`, the route left reading that API client's active flag to this
    function: it is read with the existing statements, and ClientNotActive raised before
    anything is compared or written.
    """
    if len(statements) > MAX_BATCH:
        raise BadRequest(
            f"Send at most {MAX_BATCH} statements per request.", slug="batch-too-large"
        )
    for index, statement in enumerate(statements):
        try:
            validate_statement(statement, f"$[{index}]" if len(statements) > 1 else "$")
        except StatementInvalid as exc:
            raise _invalid(exc) from exc
    ids: list[str] = []
    for statement in statements:
        # Data 2.4.1.s2.b1: the LRS assigns an id when there is none. UUIDs compare lower-case.
        statement["id"] = (
            str(uuid.UUID(statement["id"])) if "id" in statement else str(uuid.uuid4())
        )
        ids.append(statement["id"])
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    if duplicates:
        raise BadRequest(
            f"The batch holds statement {duplicates[0]} more than once (xAPI Communication "
            "2.1.2.s2.b6).",
            slug="duplicate-statement-id",
        )
    existing, client_active, version_key = _stored(session, ids, client_to_check=client_to_check)
    if not client_active:
        raise ClientNotActive(client_to_check)
    new: list[dict[str, Any]] = []
    for statement in statements:
        if statement["id"] in existing:
            if not same_statement(statement, json.loads(existing[statement["id"]])):
                raise Conflict(
                    f"Statement {statement['id']} exists with other content (xAPI "
                    "Communication 2.1.2.s2.b5).",
                    slug="statement-conflict",
                )
            continue
        new.append(statement)
    if not new:
        return ids
    now = clock.now()
    # `stored` is served with millisecond precision (Data 4.5.s1.b3); keep the column equal
    # so `since`/`until` with a served value behave exactly.
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    rows = [_row(statement, caller, now) for statement in new]
    resolved, pending_seen = actors.resolve_noting_pending(
        session,
        (r["actor_ifi"] for r in rows if r["resolution"] == PersonResolution.pending),
        account_homepage=caller.account_homepage,
    )
    for row in rows:
        person_id = resolved.get(row["actor_ifi"])
        if person_id is not None:
            row["person_id"] = person_id
            row["resolution"] = PersonResolution.resolved
    insert_rows(session, XapiStatement.__table__, rows)  # type: ignore[attr-defined]
    audit.record(
        session,
        entity_type="xapi_batch",
        entity_id=rows[0]["id"],
        action="store",
        after={
            "statements": len(rows),
            "client_id": caller.client_id,
            # Combined requests (combine.py): which request brought how many statements.
            **(
                {"requests": session.info[COMBINED_REQUESTS]}
                if COMBINED_REQUESTS in session.info
                else {}
            ),
        },
    )
    voiding = [r for r in rows if r["verb_id"] == derivation.VOIDED]
    voided_ids = {r["object_statement_id"] for r in voiding}
    _void(session, voided_ids, actor=actor)
    parsed = [
        _parsed(row, statement)
        for row, statement in zip(rows, new, strict=True)
        if row["verb_id"] != derivation.VOIDED and row["id"] not in voided_ids
    ]
    # The model version is read once per request: with the existing statements, or else
    # only when a statement may need it.
    if version_key is not _UNSET:
        version = certification_service.version_of_key(session, version_key)
    elif any(p.activity_id for p in parsed) or resolved:
        version = certification_service.current_version(session)
    else:
        version = None
    mapping_index = _mapping_index(session, version)
    _track_unmapped(session, parsed, now, mapping_index)
    # Statements stored earlier for actors this batch resolved (the person appeared since);
    # the people query said whether there can be any.
    earlier = _attach_pending(session, resolved) if pending_seen else []
    people = _derive(
        session, [p for p in parsed if p.person_id] + earlier, actor=actor, index=mapping_index
    )
    # Evaluated once this request has committed and been answered (certification.queue).
    evaluation_queue.request(session, people, actor=actor)
    return ids


# Not given / not read (None is a value: no model version, no index).
_UNSET: Any = object()


def _stored(
    session: Session, ids: list[str], *, client_to_check: str | None
) -> tuple[dict[str, str], bool, Any]:
    """The stored JSON of those of `ids` that exist and, with `client_to_check`, whether that
    API client is active and the current model version's key (CURRENT_VERSION_KEY), in the
    same round trip; the key is _UNSET without `client_to_check`."""
    query = _stored_query(session.get_bind().dialect.name, with_client=client_to_check is not None)
    values: dict[str, Any] = {"ids": [uuid.UUID(i) for i in ids]}
    if client_to_check is None:
        rows = session.execute(query, values).all()
        return {str(r.id): r.raw for r in rows}, True, _UNSET
    rows = session.execute(query, {**values, "client_id": client_to_check}).all()
    head = rows[0]
    return (
        {str(r.id): r.raw for r in rows if r.id is not None},
        bool(head.client_active),
        (head.version_id, head.version_edit, head.version_published_at),
    )


@functools.cache
def _stored_query(dialect: str, *, with_client: bool) -> sa.Select[Any]:
    """Built once per dialect: the statements of :ids; with_client, one row carrying the
    active flag of :client_id and the current model version's key (NULLs when none is
    published), left-joined to those statements (a row also when none exist). Asking for
    the version here saves a round trip of every request that may derive evidence."""
    table = XapiStatement.__table__  # type: ignore[attr-defined]
    found = one_of_param(table.c.id, "ids", dialect=dialect)
    if not with_client:
        return sa.select(table.c.id, table.c.raw).where(found)
    active = (
        sa.select(ApiClient.active)  # type: ignore[call-overload]
        .where(ApiClient.client_id == sa.bindparam("client_id"))
        .scalar_subquery()
    )
    current = certification_service.CURRENT_VERSION_KEY.subquery("current")
    one = sa.select(sa.literal(1).label("one")).subquery("one")
    caller = (
        sa.select(
            active.label("client_active"),
            current.c.id.label("version_id"),
            current.c.version.label("version_edit"),
            current.c.published_at.label("version_published_at"),
        )
        .select_from(one.outerjoin(current, sa.true()))
        .subquery("caller")
    )
    return sa.select(
        caller.c.client_active,
        caller.c.version_id,
        caller.c.version_edit,
        caller.c.version_published_at,
        table.c.id,
        table.c.raw,
    ).select_from(caller.outerjoin(table, found))


def _parsed(row: dict[str, Any], statement: dict[str, Any]) -> derivation.Parsed:
    return derivation.Parsed(
        id=row["id"],
        person_id=row["person_id"],
        actor_ifi=row["actor_ifi"],
        verb_id=row["verb_id"],
        activity_id=row["object_activity_id"],
        registration=row["registration"],
        timestamp_at=row["timestamp_at"],
        stored_at=row["stored_at"],
        statement=statement,
        authority_client_id=row["authority_client_id"],
    )


def _parsed_rows(rows: Sequence[Any]) -> list[derivation.Parsed]:
    return [
        derivation.Parsed(
            id=r.id,
            person_id=r.person_id,
            actor_ifi=r.actor_ifi,
            verb_id=r.verb_id,
            activity_id=r.object_activity_id,
            registration=r.registration,
            timestamp_at=r.timestamp_at,
            stored_at=r.stored_at,
            statement=json.loads(r.raw),
            authority_client_id=r.authority_client_id,
        )
        for r in rows
    ]


def _void(session: Session, targets: set[uuid.UUID], *, actor: str | None) -> None:
    """Mark statements voided (not voiding ones, Data 2.3.2.s2.b3) and void their evidence;
    the people concerned are re-evaluated here, not queued: a withdrawal shows at once."""
    if not targets:
        return
    table = XapiStatement.__table__  # type: ignore[attr-defined]
    session.execute(
        sa.update(table)
        .where(table.c.id.in_(targets), table.c.verb_id != derivation.VOIDED)
        .values(voided=True)
    )
    refs = list(
        session.scalars(
            sa.select(Evidence.source_ref).where(  # type: ignore[call-overload]
                Evidence.source == "xapi",
                sa.or_(*(col(Evidence.source_ref).startswith(f"{t}#") for t in targets)),
            )
        )
    )
    if refs:
        # Voids the evidence, withdraws diplomas resting on it and re-evaluates those people.
        certification_service.void_by_source_and_reevaluate(
            session,
            source="xapi",
            source_refs=refs,
            reason="voided by an xAPI voiding statement",
            actor=actor,
        )


# Mappings of a published version never change (edits need a draft): one read per
# version and process. Keyed like certification_service.published_content.
_INDEX_CACHE: dict[tuple[uuid.UUID, int, datetime | None], derivation.MappingIndex] = {}
_INDEX_LOCK = threading.Lock()


def _mapping_index(
    session: Session, version: CompetencyModelVersion | None = _UNSET
) -> derivation.MappingIndex | None:
    if version is _UNSET:
        version = certification_service.current_version(session)
    if version is None:
        return None
    key = (version.id, version.version, version.published_at)
    with _INDEX_LOCK:
        index = _INDEX_CACHE.get(key)
    if index is None:
        mappings = session.exec(
            select(ActivityMapping).where(ActivityMapping.version_id == version.id)
        ).all()
        # Transient copies: the cached index outlives this session.
        columns = [c.key for c in ActivityMapping.__table__.columns]  # type: ignore[attr-defined]
        index = derivation.MappingIndex(
            ActivityMapping(**{k: getattr(m, k) for k in columns}) for m in mappings
        )
        with _INDEX_LOCK:
            if len(_INDEX_CACHE) >= 16:
                _INDEX_CACHE.clear()
            _INDEX_CACHE[key] = index
    return index


def _derive(
    session: Session,
    targets: list[derivation.Parsed],
    *,
    actor: str | None,
    index: derivation.MappingIndex | None = _UNSET,
) -> set[uuid.UUID]:
    """Record the evidence these statements produce; returns the people who got some."""
    targets = [t for t in targets if t.activity_id and t.verb_id != derivation.VOIDED]
    if not targets:
        return set()
    if index is _UNSET:
        index = _mapping_index(session)
    if index is None:
        return set()
    cmi5 = [t for t in targets if t.is_cmi5 and index.match(t.activity_id or "")]
    history: list[derivation.Parsed] = []
    if cmi5:
        rows = session.exec(
            select(XapiStatement).where(
                col(XapiStatement.registration).in_(list({t.registration for t in cmi5})),
                col(XapiStatement.verb_id).in_(
                    [derivation.LAUNCHED, derivation.COMPLETED, derivation.PASSED]
                ),
                col(XapiStatement.voided).is_(False),
            )
        ).all()
        history = _parsed_rows(rows)
    items = derivation.derive(targets, index, history)
    if not items:
        return set()
    # Evidence refs are "<statement id>#<competency>": new statements, or pending ones only
    # now given a person, have none stored yet.
    evidence_service.record_many(session, items=items, refs_are_new=True)
    return {item.person_id for item in items}


def _track_unmapped(
    session: Session,
    parsed: list[derivation.Parsed],
    now: datetime,
    index: derivation.MappingIndex | None,
) -> None:
    """Count activity ids no mapping matches, for GET /xapi/unmapped-activities."""
    seen = Counter(p.activity_id for p in parsed if p.activity_id)
    if not seen:
        return
    unmapped = {a: n for a, n in seen.items() if a and (index is None or not index.match(a))}
    if not unmapped:
        return
    # An upsert: two batches reporting the same new activity at once must not collide on
    # its key (a 409 to the LMS); counts add up in either order.
    table = XapiUnmappedActivity.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.activity_id],
            set_={
                "statement_count": table.c.statement_count + insert.excluded.statement_count,
                "last_seen_at": insert.excluded.last_seen_at,
            },
        ),
        [
            {
                "activity_id": activity_id,
                "statement_count": count,
                "first_seen_at": now,
                "last_seen_at": now,
            }
            for activity_id, count in sorted(unmapped.items())
        ],
    )


def _attach_pending(session: Session, resolved: dict[str, uuid.UUID]) -> list[derivation.Parsed]:
    """Give statements kept for a not-yet-known actor their person, now that it resolves."""
    if not resolved:
        return []
    rows = session.exec(
        select(XapiStatement).where(
            XapiStatement.resolution == PersonResolution.pending,
            one_of(XapiStatement.actor_ifi, resolved, dialect=session.get_bind().dialect.name),
        )
    ).all()
    if not rows:
        return []
    table = XapiStatement.__table__  # type: ignore[attr-defined]
    for ifi in {r.actor_ifi for r in rows}:
        session.execute(
            sa.update(table)
            .where(table.c.actor_ifi == ifi, table.c.resolution == PersonResolution.pending)
            .values(person_id=resolved[ifi], resolution=PersonResolution.resolved)
        )
    parsed = _parsed_rows([r for r in rows if not r.voided])
    for item in parsed:
        item.person_id = resolved[item.actor_ifi]
    return parsed


def resolve_pending(
    session: Session, *, account_homepage: str, limit: int = 1000, actor: str | None = None
) -> int:
    """Worker job: statements of actors that were unknown, for people who appeared since
    (HR sync, POST /people), become evidence. Returns how many statements were attached."""
    ifis = list(
        session.scalars(
            sa.select(XapiStatement.actor_ifi)  # type: ignore[call-overload]
            .where(XapiStatement.resolution == PersonResolution.pending)
            .distinct()
            .limit(limit)
        )
    )
    resolved = actors.resolve(session, ifis, account_homepage=account_homepage)
    parsed = _attach_pending(session, resolved)
    people = _derive(session, parsed, actor=actor or "xapi-resolver")
    evaluation_queue.request(session, people, actor=actor or "xapi-resolver")
    return len(parsed)


# --- reads -----------------------------------------------------------------------------------


def get_statement(session: Session, *, statement_id: str, voided: bool) -> str:
    """One statement's JSON by id; a voided one only by voidedStatementId (Communication 2.1.4)."""
    try:
        key = uuid.UUID(statement_id)
    except ValueError as exc:
        raise BadRequest(f"{statement_id!r} is not a UUID.", slug="invalid-parameter") from exc
    row = session.execute(
        sa.select(XapiStatement.raw, XapiStatement.voided).where(XapiStatement.id == key)  # type: ignore[call-overload]
    ).first()
    if row is None or bool(row.voided) != voided:
        raise statement_not_found(statement_id, voided=voided)
    return str(row.raw)


def statement_not_found(statement_id: str, *, voided: bool) -> NotFound:
    """The 404 for a statement id that names no (voided) statement (Communication 2.1.3)."""
    return NotFound(f"No {'voided ' if voided else ''}statement {statement_id}.")


@dataclass
class Query:
    agent: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: uuid.UUID | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 0
    ascending: bool = False
    cursor: str | None = None


def encode_cursor(stored_at: datetime, statement_id: uuid.UUID) -> str:
    raw = json.dumps([stored_at.isoformat(), str(statement_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stored, statement_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(stored).astimezone(UTC), uuid.UUID(statement_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadRequest("The paging cursor is not valid.", slug="invalid-cursor") from exc


def _contains(column: Any, value: str) -> Any:
    return column.contains(f"\n{value}\n", autoescape=True)


def query(session: Session, *, q: Query) -> tuple[list[str], str | None]:
    """Statements matching the filters (Communication 2.1.3), newest stored first unless
    ascending; voided statements are left out (Communication 2.1.4). Returns (json, cursor)."""
    table = XapiStatement.__table__  # type: ignore[attr-defined]
    statement = sa.select(table.c.id, table.c.raw, table.c.stored_at).where(
        table.c.voided.is_(False)
    )
    if q.agent is not None:
        if q.related_agents:
            statement = statement.where(_contains(table.c.related_agents, q.agent))
        else:
            statement = statement.where(
                sa.or_(table.c.actor_ifi == q.agent, table.c.object_agent_ifi == q.agent)
            )
    if q.verb is not None:
        statement = statement.where(table.c.verb_id == q.verb)
    if q.activity is not None:
        if q.related_activities:
            statement = statement.where(_contains(table.c.related_activities, q.activity))
        else:
            statement = statement.where(table.c.object_activity_id == q.activity)
    if q.registration is not None:
        statement = statement.where(table.c.registration == q.registration)
    if q.since is not None:
        statement = statement.where(table.c.stored_at > q.since)
    if q.until is not None:
        statement = statement.where(table.c.stored_at <= q.until)
    if q.cursor:
        stored_at, last_id = decode_cursor(q.cursor)
        after = sa.tuple_(table.c.stored_at, table.c.id)
        statement = statement.where(
            after
            > sa.tuple_(
                sa.literal(stored_at, table.c.stored_at.type), sa.literal(last_id, table.c.id.type)
            )
            if q.ascending
            else after
            < sa.tuple_(
                sa.literal(stored_at, table.c.stored_at.type), sa.literal(last_id, table.c.id.type)
            )
        )
    order = (
        (table.c.stored_at, table.c.id)
        if q.ascending
        else (table.c.stored_at.desc(), table.c.id.desc())
    )
    limit = MAX_PAGE if q.limit <= 0 else min(q.limit, MAX_PAGE)
    rows = session.execute(statement.order_by(*order).limit(limit + 1)).all()
    more = None
    if len(rows) > limit:
        rows = rows[:limit]
        more = encode_cursor(rows[-1].stored_at, rows[-1].id)
    return [r.raw for r in rows], more


def ids_format(statement: dict[str, Any]) -> dict[str, Any]:
    """format=ids (Communication 2.1.3): only what identifies Agents, Activities and Verbs."""

    def agent(value: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in value.items() if k in ("objectType", *actors_ifis)}
        if "member" in value and actors.ifi_key(value) is None:
            out["member"] = [agent(m) for m in value["member"]]
        return out

    actors_ifis = ("mbox", "mbox_sha1sum", "openid", "account")
    result = dict(statement)
    result["actor"] = agent(statement["actor"])
    result["verb"] = {"id": statement["verb"]["id"]}
    obj = statement["object"]
    object_type = obj.get("objectType", "Activity")
    if object_type == "Activity":
        result["object"] = {"objectType": "Activity", "id": obj["id"]}
    elif object_type in ("Agent", "Group"):
        result["object"] = agent(obj)
    elif object_type == "SubStatement":
        result["object"] = ids_format(obj)
    if "authority" in statement:
        result["authority"] = agent(statement["authority"])
    return result


def agent_filter(raw: str) -> str:
    """The IFI of the `agent` query parameter (an Agent or Identified Group as JSON)."""
    from app.integrations.xapi.validation import _actor

    try:
        value = json.loads(raw)
        _actor(value, "agent")
    except (ValueError, StatementInvalid) as exc:
        raise BadRequest(
            f"The agent parameter is not a valid Agent or Identified Group: {exc}",
            slug="invalid-parameter",
        ) from exc
    key = actors.ifi_key(value)
    if key is None:
        raise BadRequest(
            "The agent parameter needs an inverse functional identifier.", slug="invalid-parameter"
        )
    return key


def unmapped_activities(session: Session) -> list[XapiUnmappedActivity]:
    """Activity ids seen without a mapping, most statements first; ones mapped since are left out."""
    index = _mapping_index(session)
    rows = session.exec(
        select(XapiUnmappedActivity).order_by(
            col(XapiUnmappedActivity.statement_count).desc(), col(XapiUnmappedActivity.activity_id)
        )
    ).all()
    return [r for r in rows if index is None or not index.match(r.activity_id)]


def consistent_through() -> str:
    return clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
