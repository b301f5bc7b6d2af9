"""Set-based upsert of people, org units and roles keyed by their HR keys.

One engine serves batch upserts of sync jobs, CSV imports and the single-record
create and update endpoints, so every path validates the same way. A batch is
validated in one Python pass, its references are resolved with one query per
kind, and its writes are executemany INSERTs and UPDATEs: a 1,000-record batch
costs a handful of round trips, not thousands. Unknown references are reported,
never invented; cycles (org unit parents, managers) are rejected.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from app.core import audit, clock
from app.org.models import JobFamily, Location, OrgUnit, Person, PersonRole, Role
from app.org.schemas import (
    BatchCounts,
    BatchResult,
    OrgUnitIn,
    PersonIn,
    RecordProblem,
    RecordResult,
    RoleIn,
)

Mode = Literal["upsert", "create", "update"]
# Lookups use IN lists of at most this many values (SQLite and PostgreSQL parameter limits).
CHUNK = 900

PERSON_COLUMNS = (
    "employee_number",
    "given_name",
    "family_name",
    "display_name",
    "email",
    "org_unit_id",
    "location_id",
    "manager_id",
    "employment_start_date",
    "employment_end_date",
    "active",
)
ORG_UNIT_COLUMNS = ("external_id", "name", "kind", "parent_id", "active")
ROLE_COLUMNS = ("key", "name", "job_family_id", "description", "external_job_code", "active")


@dataclass
class _Record:
    index: int
    key: str | None
    data: Any = None
    problems: list[RecordProblem] = field(default_factory=list)
    id: uuid.UUID | None = None
    existing: Mapping[str, Any] | None = None
    values: dict[str, Any] = field(default_factory=dict)
    status: str = "error"
    role_inserts: list[dict[str, Any]] = field(default_factory=list)
    role_updates: list[dict[str, Any]] = field(default_factory=list)
    roles_before: list[dict[str, Any]] = field(default_factory=list)
    roles_after: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, field_name: str, message: str, kind: str) -> None:
        self.problems.append(RecordProblem(field=field_name, message=message, type=kind))


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _matching(session: Session, column: Any, values: Sequence[Any]) -> Iterator[Any]:
    """WHERE clauses for `column IN values`: one `= ANY(array)` on PostgreSQL (one short
    statement psycopg can prepare), chunked IN lists on SQLite (its parameter limit)."""
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        array = sa.bindparam(
            "values", list(values), type_=postgresql.ARRAY(column.type), unique=True
        )
        yield column == sa.any_(array)
    else:
        for chunk in _chunks(values):
            yield column.in_(chunk)


def _rows_by(
    session: Session, table: sa.Table, column: str, keys: Iterable[Any]
) -> dict[Any, sa.RowMapping]:
    """Rows of `table` whose `column` is in `keys`, by that column."""
    wanted = sorted({key for key in keys if key is not None}, key=str)
    found: dict[Any, sa.RowMapping] = {}
    for clause in _matching(session, table.c[column], wanted):
        for row in session.execute(sa.select(table).where(clause)).mappings():
            found[row[column]] = row
    return found


def _validate(model: type[BaseModel], raws: Sequence[Any], key_field: str) -> list[_Record]:
    records = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raws):
        raw_key = raw.get(key_field) if isinstance(raw, Mapping) else getattr(raw, key_field, None)
        record = _Record(index=index, key=raw_key.strip() if isinstance(raw_key, str) else None)
        try:
            record.data = raw if isinstance(raw, model) else model.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                loc = ".".join(str(part) for part in error.get("loc", ()))
                record.problem(loc, str(error.get("msg", "invalid")), str(error.get("type")))
        if record.data is not None:
            record.key = getattr(record.data, key_field)
        if record.key is not None:
            if record.key in seen:
                record.problem(
                    key_field,
                    f"{record.key} appears twice in this batch (first at record {seen[record.key]})",
                    "duplicate_in_batch",
                )
            else:
                seen[record.key] = index
        records.append(record)
    return records


def _classify(
    records: list[_Record], existing: Mapping[Any, Mapping[Any, Any]], key_field: str, mode: Mode
) -> None:
    for record in records:
        if record.key is None:
            continue
        record.existing = existing.get(record.key)
        if record.existing is not None:
            record.id = record.existing["id"]
            if mode == "create":
                record.problem(key_field, f"{record.key} already exists", "duplicate")
        else:
            record.id = uuid.uuid4()
            if mode == "update":
                record.problem(key_field, f"{record.key} does not exist", "not_found")


def _changed(record: _Record, columns: Sequence[str]) -> bool:
    assert record.existing is not None
    return any(record.existing[column] != record.values[column] for column in columns)


def _walk_cycles(
    records: list[_Record],
    link: str,
    overlay: dict[uuid.UUID, uuid.UUID | None],
    stored: Mapping[uuid.UUID, uuid.UUID | None],
    field_name: str,
    message: str,
) -> bool:
    """Flag records whose new link leads back to themselves; True when any was flagged."""
    flagged = False
    for record in records:
        if not record.ok or record.values.get(link) is None:
            continue
        if record.existing is not None and record.existing[link] == record.values[link]:
            continue
        current: uuid.UUID | None = record.values[link]
        seen: set[uuid.UUID] = set()
        while current is not None and current not in seen:
            if current == record.id:
                record.problem(field_name, message, "cycle")
                flagged = True
                break
            seen.add(current)
            current = overlay[current] if current in overlay else stored.get(current)
    return flagged


def _ordered_for_insert(records: list[_Record], link: str) -> list[_Record]:
    """New records with the ones they point to (parent, manager) first, for immediate FKs."""
    new = {record.id: record for record in records if record.ok and record.existing is None}
    ordered: list[_Record] = []
    placed: set[uuid.UUID | None] = set()

    def place(record: _Record) -> None:
        chain: list[_Record] = []
        in_chain: set[uuid.UUID | None] = set()
        current: _Record | None = record
        while current is not None and current.id not in placed and current.id not in in_chain:
            chain.append(current)
            in_chain.add(current.id)
            target = current.values.get(link)
            current = new.get(target) if target is not None else None
        for item in reversed(chain):
            placed.add(item.id)
            ordered.append(item)

    for record in new.values():
        if record.id not in placed:
            place(record)
    return ordered


def _write(
    session: Session,
    table: sa.Table,
    records: list[_Record],
    columns: Sequence[str],
    *,
    link: str | None,
) -> None:
    now = clock.now()
    new = _ordered_for_insert(records, link) if link else [r for r in records if r.existing is None]
    inserts = [
        {"id": r.id, "created_at": now, "updated_at": now, "version": 1, **r.values}
        for r in new
        if r.ok and r.existing is None
    ]
    updates = [
        {
            "_id": r.id,
            "updated_at": now,
            "version": r.existing["version"] + 1,
            **{column: r.values[column] for column in columns},
        }
        for r in records
        if r.ok and r.status == "updated" and r.existing is not None
    ]
    if inserts:
        session.execute(table.insert(), inserts)
    if updates:
        session.execute(table.update().where(table.c.id == sa.bindparam("_id")), updates)


def _audit(
    session: Session, entity_type: str, records: list[_Record], snapshot: Callable[..., Any]
) -> None:
    for record in records:
        if not record.ok or record.status not in ("created", "updated"):
            continue
        after = snapshot(record.values, record.roles_after)
        before = (
            snapshot(record.existing, record.roles_before) if record.status == "updated" else None
        )
        action = "create" if record.status == "created" else "update"
        audit.record(
            session,
            entity_type=entity_type,
            entity_id=str(record.id),
            action=action,
            before=before,
            after=after,
        )


def _result(records: list[_Record], *, partial: bool, applied: bool) -> BatchResult:
    counts = BatchCounts()
    results = []
    for record in records:
        status = record.status if record.ok else "error"
        setattr(counts, status, getattr(counts, status) + 1)
        results.append(
            RecordResult(
                index=record.index,
                key=record.key,
                status=status,
                id=record.id if record.ok else (record.existing or {}).get("id"),
                problems=record.problems,
            )
        )
    return BatchResult(applied=applied, partial=partial, counts=counts, results=results)


def _finish(
    session: Session,
    records: list[_Record],
    *,
    partial: bool,
    dry_run: bool,
    write: Callable[[], None],
) -> BatchResult:
    failed = any(not record.ok for record in records)
    if dry_run or (failed and not partial):
        return _result(records, partial=partial, applied=False)
    write()
    session.flush()
    return _result(records, partial=partial, applied=True)


def _snapshot(values: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    return {column: values[column] for column in columns}


# Org units


def upsert_org_units(
    session: Session,
    *,
    records: Sequence[Any],
    partial: bool = False,
    dry_run: bool = False,
    mode: Mode = "upsert",
) -> BatchResult:
    """Create or update org units by external_id; parents may be in the same batch."""
    table = OrgUnit.__table__  # type: ignore[attr-defined]
    batch = _validate(OrgUnitIn, records, "external_id")
    # The whole tree is small (hundreds to a few thousand units): one query serves the
    # existing rows, the parent references and the cycle check.
    stored = {row["external_id"]: row for row in session.execute(sa.select(table)).mappings()}
    stored_parent = {row["id"]: row["parent_id"] for row in stored.values()}
    _classify(batch, stored, "external_id", mode)
    in_batch = {r.key: r for r in batch if r.ok}
    for record in batch:
        if not record.ok:
            continue
        data: OrgUnitIn = record.data
        parent_id = None
        if data.parent is not None:
            if data.parent == data.external_id:
                record.problem("parent", "an org unit cannot be its own parent", "cycle")
            elif data.parent in in_batch:
                parent_id = in_batch[data.parent].id
            elif data.parent in stored:
                parent_id = stored[data.parent]["id"]
            else:
                record.problem(
                    "parent", f"no org unit with external_id {data.parent}", "unknown_reference"
                )
        record.values = {
            "external_id": data.external_id,
            "name": data.name,
            "kind": data.kind.value,
            "parent_id": parent_id,
            "active": data.active,
        }
    _settle(
        batch,
        link="parent_id",
        stored_links=stored_parent,
        field_name="parent",
        message="this parent would make the org unit tree a cycle",
    )
    _set_status(batch, ORG_UNIT_COLUMNS)

    def write() -> None:
        _write(session, table, batch, ORG_UNIT_COLUMNS, link="parent_id")
        _audit(
            session, "org_unit", batch, lambda values, _roles: _snapshot(values, ORG_UNIT_COLUMNS)
        )

    return _finish(session, batch, partial=partial, dry_run=dry_run, write=write)


def _settle(
    batch: list[_Record],
    *,
    link: str,
    stored_links: Mapping[uuid.UUID, uuid.UUID | None],
    field_name: str,
    message: str,
) -> None:
    """Reject records that point at a rejected new record, then cycles, until nothing changes."""
    while True:
        valid_new = {r.id for r in batch if r.ok and r.existing is None}
        rejected_new = {r.id for r in batch if not r.ok and r.existing is None}
        changed = False
        for record in batch:
            target = record.values.get(link)
            if record.ok and target in rejected_new and target not in valid_new:
                record.problem(
                    field_name, "refers to a record rejected in this batch", "rejected_reference"
                )
                changed = True
        overlay = {r.id: r.values.get(link) for r in batch if r.ok and r.id is not None}
        if _walk_cycles(batch, link, overlay, stored_links, field_name, message):
            changed = True
        if not changed:
            return


def _set_status(batch: list[_Record], columns: Sequence[str]) -> None:
    for record in batch:
        if not record.ok:
            continue
        if record.existing is None:
            record.status = "created"
        elif _changed(record, columns) or record.role_inserts or record.role_updates:
            record.status = "updated"
        else:
            record.status = "unchanged"


# Roles


def upsert_roles(
    session: Session,
    *,
    records: Sequence[Any],
    partial: bool = False,
    dry_run: bool = False,
    mode: Mode = "upsert",
) -> BatchResult:
    """Create or update roles by key; job families must exist."""
    table = Role.__table__  # type: ignore[attr-defined]
    batch = _validate(RoleIn, records, "key")
    stored = _rows_by(session, table, "key", [r.key for r in batch])
    _classify(batch, stored, "key", mode)
    families = _rows_by(
        session,
        JobFamily.__table__,  # type: ignore[attr-defined]
        "key",
        [r.data.job_family for r in batch if r.data is not None],
    )
    for record in batch:
        if not record.ok:
            continue
        data: RoleIn = record.data
        family_id = None
        if data.job_family is not None:
            if data.job_family in families:
                family_id = families[data.job_family]["id"]
            else:
                record.problem(
                    "job_family", f"no job family with key {data.job_family}", "unknown_reference"
                )
        record.values = {
            "key": data.key,
            "name": data.name,
            "job_family_id": family_id,
            "description": data.description,
            "external_job_code": data.external_job_code,
            "active": data.active,
        }
    _set_status(batch, ROLE_COLUMNS)

    def write() -> None:
        _write(session, table, batch, ROLE_COLUMNS, link=None)
        _audit(session, "role", batch, lambda values, _roles: _snapshot(values, ROLE_COLUMNS))

    return _finish(session, batch, partial=partial, dry_run=dry_run, write=write)


# People


def _manager_ancestors(
    session: Session, seeds: Iterable[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID | None]:
    """The stored manager chain above `seeds` (recursive CTE, one query per chunk)."""
    chain: dict[uuid.UUID, uuid.UUID | None] = {}
    person = Person.__table__  # type: ignore[attr-defined]
    for clause in _matching(session, person.c.id, sorted(set(seeds), key=str)):
        up = sa.select(person.c.id, person.c.manager_id).where(clause).cte("up", recursive=True)
        up = up.union(
            sa.select(person.c.id, person.c.manager_id).join(up, person.c.id == up.c.manager_id)
        )
        for person_id, manager_id in session.execute(sa.select(up.c.id, up.c.manager_id)):
            chain[person_id] = manager_id
    return chain


def _plan_roles(
    record: _Record,
    data: PersonIn,
    role_ids: Mapping[str, uuid.UUID],
    held: Mapping[uuid.UUID, tuple[date | None, date | None]],
    today: date,
) -> None:
    """Role rows to insert or change so the person holds exactly the listed roles now.

    A role no longer listed is ended (end_date = yesterday, the last day held), never deleted.
    """
    default_start = data.employment_start_date or today
    wanted: dict[uuid.UUID, date | None] = {}
    for position, assignment in enumerate(data.roles):
        role_id = role_ids.get(assignment.role)
        if role_id is None:
            record.problem(
                f"roles.{position}.role", f"no role with key {assignment.role}", "unknown_reference"
            )
        else:
            wanted[role_id] = assignment.start_date
    for role_id, given in wanted.items():
        if role_id not in held:
            record.role_inserts.append(
                {
                    "person_id": record.id,
                    "role_id": role_id,
                    "start_date": given or default_start,
                    "end_date": None,
                }
            )
            continue
        start, end = held[role_id]
        if end is not None:
            reopened = start if end >= today else default_start
            new_start = given or reopened
            record.role_updates.append(
                {"_p": record.id, "_r": role_id, "start_date": new_start, "end_date": None}
            )
        elif given is not None and given != start:
            record.role_updates.append(
                {"_p": record.id, "_r": role_id, "start_date": given, "end_date": None}
            )
    for role_id, (start, end) in held.items():
        if role_id not in wanted and end is None:
            record.role_updates.append(
                {
                    "_p": record.id,
                    "_r": role_id,
                    "start_date": start,
                    "end_date": today - timedelta(days=1),
                }
            )
    record.roles_before = [
        {"role_id": role_id, "start_date": start, "end_date": end}
        for role_id, (start, end) in sorted(held.items(), key=lambda item: str(item[0]))
    ]
    after = {**held}
    for row in record.role_inserts:
        after[row["role_id"]] = (row["start_date"], None)
    for row in record.role_updates:
        after[row["_r"]] = (row["start_date"], row["end_date"])
    record.roles_after = [
        {"role_id": role_id, "start_date": start, "end_date": end}
        for role_id, (start, end) in sorted(after.items(), key=lambda item: str(item[0]))
    ]


def upsert_people(
    session: Session,
    *,
    records: Sequence[Any],
    partial: bool = False,
    dry_run: bool = False,
    mode: Mode = "upsert",
) -> BatchResult:
    """Create or update people by employee number, with their roles; managers may be in the batch."""
    person = Person.__table__  # type: ignore[attr-defined]
    batch = _validate(PersonIn, records, "employee_number")
    parsed = [r.data for r in batch if r.data is not None]
    # One look-up serves the records themselves and the managers they name.
    stored = _rows_by(
        session, person, "employee_number", [r.key for r in batch] + [d.manager for d in parsed]
    )
    _classify(batch, stored, "employee_number", mode)
    _check_emails(session, batch)

    org_units = _rows_by(session, OrgUnit.__table__, "external_id", [d.org_unit for d in parsed])  # type: ignore[attr-defined]
    locations = _rows_by(session, Location.__table__, "external_id", [d.location for d in parsed])  # type: ignore[attr-defined]
    role_rows = _rows_by(session, Role.__table__, "key", [a.role for d in parsed for a in d.roles])  # type: ignore[attr-defined]
    role_ids = {key: row["id"] for key, row in role_rows.items()}
    in_batch = {r.key: r for r in batch if r.ok}
    managers = stored
    held: dict[uuid.UUID, dict[uuid.UUID, tuple[date | None, date | None]]] = {}
    existing_ids = [r.id for r in batch if r.existing is not None]
    person_role = PersonRole.__table__  # type: ignore[attr-defined]
    for clause in _matching(session, person_role.c.person_id, existing_ids):
        for row in session.execute(
            sa.select(
                person_role.c.person_id,
                person_role.c.role_id,
                person_role.c.start_date,
                person_role.c.end_date,
            ).where(clause)
        ):
            held.setdefault(row[0], {})[row[1]] = (row[2], row[3])

    today = clock.now().date()
    for record in batch:
        if not record.ok:
            continue
        data: PersonIn = record.data
        values = data.model_dump(include=set(PERSON_COLUMNS))
        values["org_unit_id"] = _resolve(
            record, "org_unit", data.org_unit, org_units, "org unit with external_id"
        )
        values["location_id"] = _resolve(
            record, "location", data.location, locations, "location with external_id"
        )
        values["manager_id"] = None
        if data.manager is not None:
            if data.manager == data.employee_number:
                record.problem("manager", "a person cannot be their own manager", "cycle")
            elif data.manager in in_batch:
                values["manager_id"] = in_batch[data.manager].id
            elif data.manager in managers:
                values["manager_id"] = managers[data.manager]["id"]
            else:
                record.problem(
                    "manager", f"no person with employee number {data.manager}", "unknown_reference"
                )
        record.values = values
        _plan_roles(record, data, role_ids, held.get(record.id, {}) if record.id else {}, today)

    # The stored management line above every manager outside the batch: enough to walk
    # each changed link up to the top. Not needed (and not queried) when no link changes.
    overlay_ids = {r.id for r in batch if r.ok}
    links_change = any(
        r.ok and (r.existing is None or r.existing["manager_id"] != r.values["manager_id"])
        for r in batch
    )
    seeds = [
        r.values["manager_id"]
        for r in batch
        if links_change
        and r.ok
        and r.values.get("manager_id") is not None
        and r.values["manager_id"] not in overlay_ids
    ]
    seeds += [r.existing["id"] for r in batch if links_change and r.existing and not r.ok]
    _settle(
        batch,
        link="manager_id",
        stored_links=_manager_ancestors(session, seeds) if seeds else {},
        field_name="manager",
        message="this manager would make the management line a cycle",
    )
    _set_status(batch, PERSON_COLUMNS)

    def write() -> None:
        _write(session, person, batch, PERSON_COLUMNS, link="manager_id")
        valid = [r for r in batch if r.ok]
        role_inserts = [row for r in valid for row in r.role_inserts]
        role_updates = [row for r in valid for row in r.role_updates]
        if role_inserts:
            session.execute(person_role.insert(), role_inserts)
        if role_updates:
            session.execute(
                person_role.update().where(
                    person_role.c.person_id == sa.bindparam("_p"),
                    person_role.c.role_id == sa.bindparam("_r"),
                ),
                role_updates,
            )
        _audit(session, "person", batch, _person_snapshot)

    return _finish(session, batch, partial=partial, dry_run=dry_run, write=write)


def _person_snapshot(values: Mapping[str, Any], roles: list[dict[str, Any]]) -> dict[str, Any]:
    return {**_snapshot(values, PERSON_COLUMNS), "roles": roles}


def _resolve(
    record: _Record, field_name: str, key: str | None, rows: Mapping[str, Any], what: str
) -> uuid.UUID | None:
    if key is None:
        return None
    row = rows.get(key)
    if row is None:
        record.problem(field_name, f"no {what} {key}", "unknown_reference")
        return None
    return row["id"]


def _check_emails(session: Session, batch: list[_Record]) -> None:
    """Email is unique when present: within the batch and against other stored people."""
    seen: dict[str, int] = {}
    for record in batch:
        email = record.data.email if record.data is not None else None
        if email is None:
            continue
        if email in seen:
            record.problem(
                "email",
                f"{email} appears twice in this batch (first at record {seen[email]})",
                "duplicate_in_batch",
            )
        else:
            seen[email] = record.index
    releasing = {
        r.key
        for r in batch
        if r.data is not None and r.existing is not None and r.existing["email"] != r.data.email
    }
    owners = _rows_by(session, Person.__table__, "email", list(seen))  # type: ignore[attr-defined]
    for record in batch:
        email = record.data.email if record.data is not None else None
        owner = owners.get(email) if email else None
        if (
            owner is not None
            and owner["employee_number"] != record.key
            and owner["employee_number"] not in releasing
        ):
            record.problem(
                "email",
                f"{email} is the work email of employee {owner['employee_number']}",
                "duplicate",
            )
