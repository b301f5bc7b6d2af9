"""From HR records to people: the one path SCIM writes, HR events and pull sync share.

An HR record names things by HR values (department code, job code, job title,
location code, manager). Mapping rules and the org's own keys turn them into org
unit, role and location keys; a value nothing matches is reported in the unmapped
report and the person keeps what they had, rather than the value being dropped
silently. The people are then written by the org package's upsert engine, managers
named before they exist are parked and resolved when they appear, and a change of
roles or of the active flag re-evaluates the person's certification.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.core import clock
from app.core.db import one_of
from app.integrations.hris.models import HrisMapping, HrisUnmapped, MappingKind, PendingManager
from app.org import service as org_service
from app.org import upsert
from app.org.models import Location, OrgUnit, Person, Role
from app.org.schemas import PersonIn, PersonPublic, RoleAssignmentIn

logger = logging.getLogger("aidiploma.hris")


class HrPersonIn(PersonIn):
    """A person from HR: unlike the org API, a person may hold no role yet (job code unmapped)."""

    roles: list[RoleAssignmentIn] = Field(default_factory=list, max_length=50)


class HrRecord(BaseModel):
    """One employee as an HR system describes it; fields left unset keep their stored value."""

    model_config = ConfigDict(extra="forbid")

    employee_number: str = Field(min_length=1, max_length=64)
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None
    email: str | None = None
    org_unit: str | None = Field(default=None, description="department or org unit code")
    job_code: str | None = None
    job_title: str | None = None
    roles: list[str] | None = Field(default=None, description="aidiploma role keys")
    location: str | None = None
    manager: str | None = Field(default=None, description="employee number or person id")
    employment_start_date: date | None = None
    employment_end_date: date | None = None
    active: bool | None = None


@dataclass
class HrOutcome:
    index: int
    employee_number: str
    status: str = "error"  # created, updated, unchanged, error
    person_id: uuid.UUID | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    unmapped: list[tuple[str, str]] = field(default_factory=list)
    manager_pending: str | None = None


@dataclass
class ApplyReport:
    outcomes: list[HrOutcome]
    applied: bool

    def counts(self) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "unchanged": 0, "error": 0}
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return counts

    def unmapped(self) -> list[dict[str, str]]:
        seen = sorted({pair for outcome in self.outcomes for pair in outcome.unmapped})
        return [{"kind": kind, "value": value} for kind, value in seen]


def _rules(session: Session) -> dict[tuple[str, str], str]:
    # The rule table is small (one row per HR code): read it whole.
    rows = session.execute(
        sa.select(col(HrisMapping.kind), col(HrisMapping.source_value), col(HrisMapping.target_key))
    )
    return {(str(kind), value): target for kind, value, target in rows}


def _existing(session: Session, column: Any, values: Iterable[str]) -> set[str]:
    wanted = sorted({v for v in values if v})
    found: set[str] = set()
    for chunk in upsert._chunks(wanted):
        found.update(session.execute(sa.select(column).where(column.in_(chunk))).scalars())
    return found


def _job_codes(session: Session, codes: Iterable[str]) -> dict[str, str]:
    wanted = sorted({c for c in codes if c})
    found: dict[str, str] = {}
    for chunk in upsert._chunks(wanted):
        rows = session.execute(
            sa.select(col(Role.external_job_code), col(Role.key)).where(
                col(Role.external_job_code).in_(chunk)
            )
        )
        found.update({code: key for code, key in rows})
    return found


def _people_by_number(session: Session, numbers: Iterable[str]) -> dict[str, PersonPublic]:
    wanted = sorted(set(numbers))
    people: list[Person] = []
    for chunk in upsert._chunks(wanted):
        people.extend(session.exec(select(Person).where(Person.employee_number.in_(chunk))).all())  # type: ignore[attr-defined]
    return {view.employee_number: view for view in org_service.person_views(session, people)}


def _current_role_keys(view: PersonPublic | None, today: date) -> list[str]:
    if view is None:
        return []
    return [r.role for r in view.roles if r.end_date is None or r.end_date >= today]


def apply_hr_records(
    session: Session,
    *,
    records: Sequence[HrRecord],
    source: str | None = None,
    partial: bool = True,
    dry_run: bool = False,
) -> ApplyReport:
    """Map and upsert HR records; record unmapped values; park unknown managers; re-evaluate."""
    today = clock.now().date()
    rules = _rules(session)
    stored = _people_by_number(session, [r.employee_number for r in records])
    batch_numbers = {r.employee_number for r in records}

    def mapped(kind: MappingKind, value: str) -> str | None:
        return rules.get((kind.value, value))

    unit_candidates = {r.org_unit for r in records if r.org_unit}
    unit_candidates |= {mapped(MappingKind.org_unit, v) or v for v in unit_candidates}
    units = _existing(session, OrgUnit.external_id, unit_candidates)
    location_candidates = {r.location for r in records if r.location}
    location_candidates |= {mapped(MappingKind.location, v) or v for v in location_candidates}
    locations = _existing(session, Location.external_id, location_candidates)
    role_candidates: set[str] = set()
    for r in records:
        role_candidates.update(r.roles or [])
        if r.job_code:
            role_candidates.add(r.job_code)
    role_candidates |= {
        target
        for (kind, _), target in rules.items()
        if kind in (MappingKind.role.value, MappingKind.job_title.value)
    }
    role_keys = _existing(session, Role.key, role_candidates)
    job_codes = _job_codes(session, [r.job_code for r in records if r.job_code])
    manager_refs = {r.manager for r in records if r.manager}
    managers = _manager_numbers(session, manager_refs - batch_numbers)

    outcomes: list[HrOutcome] = []
    inputs: list[tuple[HrOutcome, HrPersonIn]] = []
    wanted_roles: dict[str, set[str]] = {}
    for index, record in enumerate(records):
        outcome = HrOutcome(index=index, employee_number=record.employee_number)
        outcomes.append(outcome)
        current = stored.get(record.employee_number)
        given = record.model_fields_set
        base: dict[str, Any] = (
            org_service.person_input(current, today)
            if current is not None
            else {"employee_number": record.employee_number, "roles": []}
        )
        for name in ("given_name", "family_name", "active"):
            if name in given and getattr(record, name) is not None:
                base[name] = getattr(record, name)
        for name in ("display_name", "email", "employment_start_date", "employment_end_date"):
            if name in given:
                base[name] = getattr(record, name)
        base.setdefault("given_name", record.display_name or record.employee_number)
        base.setdefault("family_name", "-")
        if "org_unit" in given:
            base["org_unit"] = _resolve_key(
                outcome, MappingKind.org_unit, record.org_unit, mapped, units, base.get("org_unit")
            )
        if "location" in given:
            base["location"] = _resolve_key(
                outcome, MappingKind.location, record.location, mapped, locations,
                base.get("location"),
            )  # fmt: skip
        if "manager" in given:
            base["manager"] = _resolve_manager(outcome, record, batch_numbers, managers, base)
        resolved = _resolve_roles(outcome, record, mapped, role_keys, job_codes)
        if resolved:
            held = {r["role"]: r.get("start_date") for r in base.get("roles", [])}
            base["roles"] = [{"role": key, "start_date": held.get(key)} for key in resolved]
        wanted_roles[record.employee_number] = {r["role"] for r in base.get("roles", [])}
        try:
            inputs.append((outcome, HrPersonIn.model_validate(base)))
        except ValidationError as exc:
            for error in exc.errors():
                outcome.problems.append(
                    {
                        "field": ".".join(str(p) for p in error.get("loc", ())),
                        "message": str(error.get("msg")),
                        "type": str(error.get("type")),
                    }
                )

    if not partial and any(o.problems for o in outcomes):
        return ApplyReport(outcomes=outcomes, applied=False)
    result = upsert.upsert_people(
        session, records=[data for _, data in inputs], partial=partial, dry_run=dry_run
    )
    for (outcome, _), record_result in zip(inputs, result.results, strict=True):
        outcome.status = record_result.status
        outcome.person_id = record_result.id
        outcome.problems.extend(p.model_dump() for p in record_result.problems)
    if not result.applied or dry_run:
        return ApplyReport(outcomes=outcomes, applied=False)

    written = [o for o in outcomes if o.status != "error" and o.person_id is not None]
    _claim(session, [o.person_id for o in written if o.person_id is not None], source)
    _record_unmapped(session, outcomes, source)
    _park_managers(
        session,
        [
            o
            for o in written
            if records[o.index].manager is not None
            or "manager" in records[o.index].model_fields_set
        ],
    )
    resolve_pending_managers(session, people=written)
    _reevaluate(session, written, stored, wanted_roles, records, today)
    return ApplyReport(outcomes=outcomes, applied=True)


def _claim(session: Session, person_ids: list[uuid.UUID], source: str | None) -> None:
    """Mark these people as kept by this HR source (what a complete listing of it may
    deactivate). Bookkeeping, not a change of the person: no version or timestamp moves."""
    if not source or not person_ids:
        return
    dialect = session.get_bind().dialect.name
    for chunk in range(0, len(person_ids), 5000):
        session.execute(
            sa.update(Person)
            .where(
                one_of(Person.id, person_ids[chunk : chunk + 5000], dialect=dialect),
                sa.or_(col(Person.hr_source).is_(None), col(Person.hr_source) != source),
            )
            .values(hr_source=source)
        )


def _resolve_key(
    outcome: HrOutcome,
    kind: MappingKind,
    value: str | None,
    mapped: Any,
    known: set[str],
    current: str | None,
) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    target = mapped(kind, value)
    if target is not None and target in known:
        return target
    if value in known:
        return value
    outcome.unmapped.append((kind.value, value))
    return current


def _resolve_roles(
    outcome: HrOutcome,
    record: HrRecord,
    mapped: Any,
    role_keys: set[str],
    job_codes: dict[str, str],
) -> list[str]:
    resolved: list[str] = []

    def add(key: str) -> None:
        if key not in resolved:
            resolved.append(key)

    for key in record.roles or []:
        target = mapped(MappingKind.role, key)
        if target in role_keys:
            add(target)
        elif key in role_keys:
            add(key)
        else:
            outcome.unmapped.append((MappingKind.role.value, key))
    if record.job_code:
        code = record.job_code.strip()
        target = mapped(MappingKind.role, code)
        if target in role_keys:
            add(target)
        elif code in job_codes:
            add(job_codes[code])
        elif code in role_keys:
            add(code)
        else:
            outcome.unmapped.append((MappingKind.role.value, code))
    if record.job_title and not resolved:
        title = record.job_title.strip()
        target = mapped(MappingKind.job_title, title)
        if target in role_keys:
            add(target)
        elif record.job_code is None and not record.roles:
            # A title is free text: reported only when it is the one role hint HR gave.
            outcome.unmapped.append((MappingKind.job_title.value, title))
    return resolved


def _manager_numbers(session: Session, refs: set[str]) -> dict[str, str]:
    """Manager references (employee number or person id) that exist -> employee number."""
    found = {n: n for n in _existing(session, Person.employee_number, refs)}
    ids = []
    for ref in refs - set(found):
        try:
            ids.append(uuid.UUID(ref))
        except ValueError:
            continue
    for chunk in upsert._chunks(ids):
        for person_id, number in session.execute(
            sa.select(col(Person.id), col(Person.employee_number)).where(col(Person.id).in_(chunk))
        ):
            found[str(person_id)] = number
    return found


def _resolve_manager(
    outcome: HrOutcome,
    record: HrRecord,
    batch_numbers: set[str],
    managers: dict[str, str],
    base: dict[str, Any],
) -> str | None:
    ref = record.manager.strip() if record.manager else None
    if not ref:
        return None
    if ref in batch_numbers:
        return ref
    if ref in managers:
        return managers[ref]
    # The manager's own record has not arrived yet (Entra ID and HR feeds send people in
    # any order): keep the current manager and resolve this reference when it appears.
    outcome.manager_pending = ref
    return base.get("manager")


def _record_unmapped(session: Session, outcomes: list[HrOutcome], source: str | None) -> None:
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    for outcome in outcomes:
        for pair in set(outcome.unmapped):
            count, _ = seen.get(pair, (0, ""))
            seen[pair] = (count + 1, outcome.employee_number)
    if not seen:
        return
    now = clock.now()
    table = HrisUnmapped.__table__  # type: ignore[attr-defined]
    rows = [
        {
            "id": uuid.uuid4(),
            "kind": kind,
            "value": value[:200],
            "occurrences": count,
            "last_employee_number": number,
            "last_source": source,
            "first_seen_at": now,
            "last_seen_at": now,
        }
        for (kind, value), (count, number) in sorted(seen.items())
    ]
    # An upsert, not select-then-insert: concurrent requests (SCIM provisioning runs several
    # at once) report the same new value, and the second plain INSERT would hit the unique key.
    insert = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )(table)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.kind, table.c.value],
            set_={
                "occurrences": table.c.occurrences + insert.excluded.occurrences,
                "last_employee_number": insert.excluded.last_employee_number,
                "last_source": insert.excluded.last_source,
                "last_seen_at": insert.excluded.last_seen_at,
            },
        ),
        rows,
    )


def _park_managers(session: Session, outcomes: list[HrOutcome]) -> None:
    """Remember unresolved manager references; forget those now resolved or cleared."""
    if not outcomes:
        return
    table = PendingManager.__table__  # type: ignore[attr-defined]
    ids = [o.person_id for o in outcomes]
    for chunk in upsert._chunks(ids):
        session.execute(table.delete().where(table.c.person_id.in_(chunk)))
    now = clock.now()
    parked = [
        {"person_id": o.person_id, "manager_ref": o.manager_pending, "created_at": now}
        for o in outcomes
        if o.manager_pending
    ]
    if parked:
        session.execute(table.insert(), parked)


def park_manager(session: Session, *, person_id: uuid.UUID, manager_ref: str | None) -> None:
    """Park (or, with None, forget) one person's unresolved manager reference."""
    table = PendingManager.__table__  # type: ignore[attr-defined]
    session.execute(table.delete().where(table.c.person_id == person_id))
    if manager_ref:
        session.execute(
            table.insert(),
            [{"person_id": person_id, "manager_ref": manager_ref, "created_at": clock.now()}],
        )


def resolve_pending_managers(session: Session, *, people: Sequence[HrOutcome]) -> int:
    """Set the manager of everyone waiting for one of `people`; returns how many were set."""
    refs = {o.employee_number for o in people} | {str(o.person_id) for o in people}
    table = PendingManager.__table__  # type: ignore[attr-defined]
    waiting: list[tuple[uuid.UUID, str]] = []
    for chunk in upsert._chunks(sorted(refs)):
        waiting.extend(
            (row[0], row[1])
            for row in session.execute(
                sa.select(table.c.person_id, table.c.manager_ref).where(
                    table.c.manager_ref.in_(chunk)
                )
            )
        )
    if not waiting:
        return 0
    number_of = {o.employee_number: o.employee_number for o in people}
    number_of.update({str(o.person_id): o.employee_number for o in people})
    persons = [session.get(Person, person_id) for person_id, _ in waiting]
    views = {v.id: v for v in org_service.person_views(session, [p for p in persons if p])}
    today = clock.now().date()
    records = []
    for person_id, ref in waiting:
        view = views.get(person_id)
        if view is None:
            continue
        records.append({**org_service.person_input(view, today), "manager": number_of[ref]})
    result = upsert.upsert_people(
        session, records=[HrPersonIn.model_validate(r) for r in records], partial=True
    )
    done = [r.id for r in result.results if r.status != "error" and r.id is not None]
    for problem in (r for r in result.results if r.status == "error"):
        logger.warning("pending manager not set for %s: %s", problem.key, problem.problems)
    for chunk in upsert._chunks(done):
        session.execute(table.delete().where(table.c.person_id.in_(chunk)))
    return len(done)


def _reevaluate(
    session: Session,
    written: list[HrOutcome],
    stored: dict[str, PersonPublic],
    wanted_roles: dict[str, set[str]],
    records: Sequence[HrRecord],
    today: date,
) -> None:
    """A change of roles or of the active flag re-evaluates the person's certification."""
    changed = []
    for outcome in written:
        if outcome.status == "unchanged":
            continue
        before = stored.get(outcome.employee_number)
        roles_before = set(_current_role_keys(before, today))
        active_before = before.active if before is not None else None
        record = records[outcome.index]
        active_after = record.active if record.active is not None else active_before
        if roles_before != wanted_roles.get(outcome.employee_number, set()) or (
            before is not None and active_after != active_before
        ):
            changed.append(outcome.person_id)
    if changed:
        reevaluate_people(session, person_ids=[pid for pid in changed if pid is not None])


def reevaluate_people(session: Session, *, person_ids: Sequence[uuid.UUID]) -> int:
    """Re-evaluate certification of these people against the published model (none: skip),
    set-based: a pull page or a SCIM burst changes up to a thousand people at once."""
    from app.certification import service as certification_service

    session.flush()
    return certification_service.evaluate_people(session, person_ids=list(person_ids))
