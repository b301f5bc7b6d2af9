"""Use cases of the organisation: look-ups other packages rely on, CRUD and filtered lists.

Writes of org units, roles and people go through app.org.upsert, so a record
created by hand, by a sync job or by a CSV import is validated the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from app.core import audit, clock
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import PageParams, paginate
from app.org import upsert
from app.org.models import JobFamily, Location, OrgUnit, OrgUnitKind, Person, PersonRole, Role
from app.org.schemas import (
    BatchResult,
    JobFamilyIn,
    JobFamilyUpdate,
    LocationIn,
    LocationUpdate,
    OrgUnitPublic,
    OrgUnitUpdate,
    PersonPublic,
    PersonUpdate,
    RecordProblem,
    RoleAssignmentPublic,
    RolePublic,
    RoleUpdate,
)

T = TypeVar("T", bound=SQLModel)

# Look-ups other packages use


def get_org_unit(session: Session, *, org_unit_id: uuid.UUID) -> OrgUnit:
    org_unit = session.get(OrgUnit, org_unit_id)
    if org_unit is None:
        raise NotFound(f"No org unit {org_unit_id}.")
    return org_unit


def get_org_unit_by_external_id(session: Session, *, external_id: str) -> OrgUnit:
    org_unit = session.exec(select(OrgUnit).where(OrgUnit.external_id == external_id)).first()
    if org_unit is None:
        raise NotFound(f"No org unit with external id {external_id}.")
    return org_unit


def get_role(session: Session, *, role_id: uuid.UUID) -> Role:
    role = session.get(Role, role_id)
    if role is None:
        raise NotFound(f"No role {role_id}.")
    return role


def get_role_by_key(session: Session, *, key: str) -> Role:
    role = session.exec(select(Role).where(Role.key == key)).first()
    if role is None:
        raise NotFound(f"No role with key {key}.")
    return role


def get_person(session: Session, *, person_id: uuid.UUID) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person {person_id}.")
    return person


def get_person_by_key(session: Session, *, key: str) -> Person:
    """A person by internal UUID, `employee:{number}` or `email:{address}`."""
    prefix, sep, value = key.partition(":")
    statement = None
    if sep and prefix == "employee":
        statement = select(Person).where(Person.employee_number == value)
    elif sep and prefix == "email":
        statement = select(Person).where(Person.email == value.strip().lower())
    else:
        try:
            return get_person(session, person_id=uuid.UUID(key))
        except ValueError:
            pass
    person = session.exec(statement).first() if statement is not None else None
    if person is None:
        raise NotFound(
            f"No person {key}; use the id, employee:{{number}} or email:{{address}}.",
        )
    return person


def descendant_org_unit_ids(session: Session, *, org_unit_id: uuid.UUID) -> list[uuid.UUID]:
    """The org unit and every unit below it (a recursive CTE; SQLite and PostgreSQL)."""
    tree = _descendants(org_unit_id)
    return list(session.scalars(sa.select(tree.c.id)).all())


def _descendants(org_unit_id: uuid.UUID) -> sa.CTE:
    unit = OrgUnit.__table__  # type: ignore[attr-defined]
    tree = sa.select(unit.c.id).where(unit.c.id == org_unit_id).cte("tree", recursive=True)
    # UNION, not UNION ALL: it stops even on a cycle that slipped past validation.
    return tree.union(sa.select(unit.c.id).join(tree, unit.c.parent_id == tree.c.id))


def _raise_for(result: BatchResult) -> uuid.UUID:
    """The id of a single-record upsert, or its problems as a 409 (duplicate) or 422."""
    record = result.results[0]
    if record.status != "error":
        assert record.id is not None
        return record.id
    errors = [_field_problem(problem) for problem in record.problems]
    detail = "; ".join(f"{p.field}: {p.message}" for p in record.problems)
    if any(problem.type == "duplicate" for problem in record.problems):
        raise Conflict(detail, errors=errors)
    raise Unprocessable(detail, errors=errors)


def _field_problem(problem: RecordProblem) -> dict[str, Any]:
    return {
        "pointer": "#/" + problem.field.replace(".", "/"),
        "location": "body",
        "field": problem.field,
        "message": problem.message,
        "type": problem.type,
    }


def _raise_if_rejected(result: BatchResult, what: str) -> BatchResult:
    """All-or-nothing batches with a bad record: 422 listing every bad record."""
    if result.applied or result.partial:
        return result
    bad = [r.model_dump(mode="json") for r in result.results if r.status == "error"]
    raise Unprocessable(
        f"{len(bad)} of {len(result.results)} {what} have problems; nothing was written. "
        "Fix them, or send ?partial=true to apply the valid ones.",
        slug="batch-rejected",
        title="Batch rejected",
        counts=result.counts.model_dump(),
        results=bad,
    )


def _bump(session: Session, row: Any) -> None:
    row.updated_at = clock.now()
    row.version += 1
    session.add(row)
    session.flush()


# Locations and job families: small reference lists


def list_locations(session: Session, *, page: PageParams) -> tuple[list[Location], str | None]:
    return paginate(
        session,
        select(Location),
        id_column=Location.id,
        params=page,
        updated_at_column=Location.updated_at,
    )


def get_location(session: Session, *, location_id: uuid.UUID) -> Location:
    location = session.get(Location, location_id)
    if location is None:
        raise NotFound(f"No location {location_id}.")
    return location


def create_location(session: Session, *, data: LocationIn) -> Location:
    if session.exec(select(Location).where(Location.external_id == data.external_id)).first():
        raise Conflict(f"A location with external_id {data.external_id} exists.")
    location = Location.model_validate(data)
    session.add(location)
    session.flush()
    audit.record(
        session,
        entity_type="location",
        entity_id=location.id,
        action="create",
        after=location.model_dump(),
    )
    return location


def update_location(session: Session, *, location: Location, data: LocationUpdate) -> Location:
    return _update_simple(session, location, data.model_dump(exclude_unset=True), "location")


def delete_location(session: Session, *, location: Location) -> None:
    in_use = session.exec(select(Person.id).where(Person.location_id == location.id)).first()
    if in_use is not None:
        raise Conflict("People are at this location; move them first.")
    _delete_simple(session, location, "location")


def list_job_families(session: Session, *, page: PageParams) -> tuple[list[JobFamily], str | None]:
    return paginate(
        session,
        select(JobFamily),
        id_column=JobFamily.id,
        params=page,
        updated_at_column=JobFamily.updated_at,
    )


def get_job_family(session: Session, *, job_family_id: uuid.UUID) -> JobFamily:
    family = session.get(JobFamily, job_family_id)
    if family is None:
        raise NotFound(f"No job family {job_family_id}.")
    return family


def create_job_family(session: Session, *, data: JobFamilyIn) -> JobFamily:
    if session.exec(select(JobFamily).where(JobFamily.key == data.key)).first():
        raise Conflict(f"A job family with key {data.key} exists.")
    family = JobFamily.model_validate(data)
    session.add(family)
    session.flush()
    audit.record(
        session,
        entity_type="job_family",
        entity_id=family.id,
        action="create",
        after=family.model_dump(),
    )
    return family


def update_job_family(session: Session, *, family: JobFamily, data: JobFamilyUpdate) -> JobFamily:
    return _update_simple(session, family, data.model_dump(exclude_unset=True), "job_family")


def delete_job_family(session: Session, *, family: JobFamily) -> None:
    in_use = session.exec(select(Role.id).where(Role.job_family_id == family.id)).first()
    if in_use is not None:
        raise Conflict("Roles are in this job family; move them first.")
    _delete_simple(session, family, "job_family")


def _update_simple(session: Session, row: T, changes: dict[str, Any], entity_type: str) -> T:
    before = row.model_dump()
    for name, value in changes.items():
        if value is None:
            raise Unprocessable(f"{name} cannot be null.")
        setattr(row, name, value)
    if row.model_dump() != before:
        _bump(session, row)
        audit.record(
            session,
            entity_type=entity_type,
            entity_id=row.id,  # type: ignore[attr-defined]
            action="update",
            before=before,
            after=row.model_dump(),
        )
    return row


def _delete_simple(session: Session, row: SQLModel, entity_type: str) -> None:
    before = row.model_dump()
    session.delete(row)
    session.flush()
    audit.record(
        session,
        entity_type=entity_type,
        entity_id=before["id"],
        action="delete",
        before=before,
    )


# Org units


def org_unit_views(session: Session, units: Sequence[OrgUnit]) -> list[OrgUnitPublic]:
    parent_ids = {unit.parent_id for unit in units if unit.parent_id is not None}
    keys = _keys(session, OrgUnit.__table__, "external_id", parent_ids)  # type: ignore[attr-defined]
    return [
        OrgUnitPublic(
            **unit.model_dump(warnings=False),
            parent=keys.get(unit.parent_id) if unit.parent_id else None,
        )
        for unit in units
    ]


def _keys(session: Session, table: sa.Table, column: str, ids: set[Any]) -> dict[Any, str]:
    result: dict[Any, str] = {}
    for chunk in upsert._chunks(sorted(ids, key=str)):
        for row_id, key in session.execute(
            sa.select(table.c.id, table.c[column]).where(table.c.id.in_(chunk))
        ):
            result[row_id] = key
    return result


def list_org_units(
    session: Session,
    *,
    page: PageParams,
    parent_id: uuid.UUID | None = None,
    within_id: uuid.UUID | None = None,
    kind: OrgUnitKind | None = None,
    active: bool | None = None,
) -> tuple[list[OrgUnitPublic], str | None]:
    statement = select(OrgUnit)
    if parent_id is not None:
        statement = statement.where(OrgUnit.parent_id == parent_id)
    if within_id is not None:
        tree = _descendants(within_id)
        statement = statement.where(OrgUnit.id.in_(sa.select(tree.c.id)))  # type: ignore[attr-defined]
    if kind is not None:
        statement = statement.where(OrgUnit.kind == kind)
    if active is not None:
        statement = statement.where(OrgUnit.active == active)
    units, cursor = paginate(
        session, statement, id_column=OrgUnit.id, params=page, updated_at_column=OrgUnit.updated_at
    )
    return org_unit_views(session, units), cursor


def get_org_unit_view(session: Session, *, org_unit_id: uuid.UUID) -> OrgUnitPublic:
    return org_unit_views(session, [get_org_unit(session, org_unit_id=org_unit_id)])[0]


def _org_unit_input(view: OrgUnitPublic) -> dict[str, Any]:
    return view.model_dump(include={"external_id", "name", "kind", "parent", "active"})


def create_org_unit(session: Session, *, data: Any) -> OrgUnitPublic:
    result = upsert.upsert_org_units(session, records=[data], mode="create")
    return get_org_unit_view(session, org_unit_id=_raise_for(result))


def update_org_unit(
    session: Session, *, org_unit_id: uuid.UUID, data: OrgUnitUpdate | dict[str, Any]
) -> OrgUnitPublic:
    changes = data if isinstance(data, dict) else data.model_dump(exclude_unset=True)
    current = _org_unit_input(get_org_unit_view(session, org_unit_id=org_unit_id))
    result = upsert.upsert_org_units(session, records=[{**current, **changes}], mode="update")
    session.expire_all()
    return get_org_unit_view(session, org_unit_id=_raise_for(result))


def batch_upsert_org_units(
    session: Session, *, records: Sequence[Any], partial: bool = False
) -> BatchResult:
    result = upsert.upsert_org_units(session, records=records, partial=partial)
    return _raise_if_rejected(result, "org units")


# Roles


def role_views(session: Session, roles: Sequence[Role]) -> list[RolePublic]:
    family_ids = {role.job_family_id for role in roles if role.job_family_id is not None}
    keys = _keys(session, JobFamily.__table__, "key", family_ids)  # type: ignore[attr-defined]
    return [
        RolePublic(
            **role.model_dump(),
            job_family=keys.get(role.job_family_id) if role.job_family_id else None,
        )
        for role in roles
    ]


def list_roles(
    session: Session,
    *,
    page: PageParams,
    job_family_id: uuid.UUID | None = None,
    active: bool | None = None,
) -> tuple[list[RolePublic], str | None]:
    statement = select(Role)
    if job_family_id is not None:
        statement = statement.where(Role.job_family_id == job_family_id)
    if active is not None:
        statement = statement.where(Role.active == active)
    roles, cursor = paginate(
        session, statement, id_column=Role.id, params=page, updated_at_column=Role.updated_at
    )
    return role_views(session, roles), cursor


def get_role_view(session: Session, *, role_id: uuid.UUID) -> RolePublic:
    return role_views(session, [get_role(session, role_id=role_id)])[0]


def create_role(session: Session, *, data: Any) -> RolePublic:
    result = upsert.upsert_roles(session, records=[data], mode="create")
    return get_role_view(session, role_id=_raise_for(result))


def update_role(
    session: Session, *, role_id: uuid.UUID, data: RoleUpdate | dict[str, Any]
) -> RolePublic:
    changes = data if isinstance(data, dict) else data.model_dump(exclude_unset=True)
    current = get_role_view(session, role_id=role_id).model_dump(
        include={"key", "name", "job_family", "description", "external_job_code", "active"}
    )
    result = upsert.upsert_roles(session, records=[{**current, **changes}], mode="update")
    session.expire_all()
    return get_role_view(session, role_id=_raise_for(result))


def batch_upsert_roles(
    session: Session, *, records: Sequence[Any], partial: bool = False
) -> BatchResult:
    result = upsert.upsert_roles(session, records=records, partial=partial)
    return _raise_if_rejected(result, "roles")


# People


def person_views(session: Session, people: Sequence[Person]) -> list[PersonPublic]:
    """Public shapes of people with their keys and roles: four queries for any page size."""
    ids = [person.id for person in people]
    org_units = _keys(
        session,
        OrgUnit.__table__,  # type: ignore[attr-defined]
        "external_id",
        {p.org_unit_id for p in people if p.org_unit_id},
    )
    locations = _keys(
        session,
        Location.__table__,  # type: ignore[attr-defined]
        "external_id",
        {p.location_id for p in people if p.location_id},
    )
    managers = _keys(
        session,
        Person.__table__,  # type: ignore[attr-defined]
        "employee_number",
        {p.manager_id for p in people if p.manager_id},
    )
    roles: dict[uuid.UUID, list[RoleAssignmentPublic]] = {}
    for chunk in upsert._chunks(ids):
        rows = session.execute(
            sa.select(
                col(PersonRole.person_id),
                col(PersonRole.role_id),
                col(Role.key),
                col(PersonRole.start_date),
                col(PersonRole.end_date),
            )
            .join(Role, col(Role.id) == col(PersonRole.role_id))
            .where(col(PersonRole.person_id).in_(chunk))
            .order_by(col(PersonRole.start_date), col(Role.key))
        )
        for person_id, role_id, key, start, end in rows:
            roles.setdefault(person_id, []).append(
                RoleAssignmentPublic(role_id=role_id, role=key, start_date=start, end_date=end)
            )
    return [
        PersonPublic(
            **person.model_dump(),
            org_unit=org_units.get(person.org_unit_id),
            location=locations.get(person.location_id),
            manager=managers.get(person.manager_id),
            roles=roles.get(person.id, []),
        )
        for person in people
    ]


def list_people(
    session: Session,
    *,
    page: PageParams,
    org_unit_id: uuid.UUID | None = None,
    role_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
    manager_id: uuid.UUID | None = None,
    active: bool | None = None,
) -> tuple[list[PersonPublic], str | None]:
    """People filtered by org unit (with its descendants), current role, location, manager."""
    statement = select(Person)
    if org_unit_id is not None:
        tree = _descendants(org_unit_id)
        statement = statement.where(Person.org_unit_id.in_(sa.select(tree.c.id)))  # type: ignore[union-attr]
    if role_id is not None:
        today = clock.now().date()
        statement = statement.where(
            sa.exists().where(
                col(PersonRole.person_id) == col(Person.id),
                col(PersonRole.role_id) == role_id,
                sa.or_(col(PersonRole.end_date).is_(None), col(PersonRole.end_date) >= today),
            )
        )
    if location_id is not None:
        statement = statement.where(Person.location_id == location_id)
    if manager_id is not None:
        statement = statement.where(Person.manager_id == manager_id)
    if active is not None:
        statement = statement.where(Person.active == active)
    people, cursor = paginate(
        session, statement, id_column=Person.id, params=page, updated_at_column=Person.updated_at
    )
    return person_views(session, people), cursor


def get_person_view(session: Session, *, key: str) -> PersonPublic:
    return person_views(session, [get_person_by_key(session, key=key)])[0]


def person_input(view: PersonPublic, today: date | None = None) -> dict[str, Any]:
    """The upsert input that leaves a stored person exactly as they are (current roles)."""
    today = today or clock.now().date()
    data = view.model_dump(
        include={
            "employee_number",
            "given_name",
            "family_name",
            "display_name",
            "email",
            "org_unit",
            "location",
            "manager",
            "employment_start_date",
            "employment_end_date",
            "active",
        }
    )
    data["roles"] = [
        {"role": r.role, "start_date": r.start_date}
        for r in view.roles
        if r.end_date is None or r.end_date >= today
    ]
    return data


def create_person(session: Session, *, data: Any) -> PersonPublic:
    result = upsert.upsert_people(session, records=[data], mode="create")
    return get_person_view(session, key=str(_raise_for(result)))


def update_person(
    session: Session, *, person: Person, data: PersonUpdate | dict[str, Any]
) -> PersonPublic:
    """Change a person; roles, when given, are the complete list of roles held now."""
    changes = data if isinstance(data, dict) else data.model_dump(exclude_unset=True)
    current = person_input(person_views(session, [person])[0])
    result = upsert.upsert_people(session, records=[{**current, **changes}], mode="update")
    person_id = _raise_for(result)
    session.expire_all()
    return get_person_view(session, key=str(person_id))


def deactivate_person(session: Session, *, person: Person) -> PersonPublic:
    """Mark a person inactive; their roles, evidence, diplomas and audit trail stay."""
    return update_person(session, person=person, data={"active": False})


def batch_upsert_people(
    session: Session, *, records: Sequence[Any], partial: bool = False
) -> BatchResult:
    result = upsert.upsert_people(session, records=records, partial=partial)
    return _raise_if_rejected(result, "people")
