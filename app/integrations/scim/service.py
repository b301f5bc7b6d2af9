"""SCIM 2.0 Users (RFC 7644 3.3-3.6) on top of the org model: every write goes through the
HR mapping and the org upsert engine, so SCIM, HR events and pull sync behave alike."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core import audit, clock
from app.integrations.hris import mapping
from app.integrations.scim import filter as scim_filter
from app.integrations.scim import query
from app.integrations.scim.discovery import CORE_USER, EXTENSIONS, LIST_RESPONSE, MAX_RESULTS
from app.integrations.scim.errors import ScimError
from app.integrations.scim.models import ScimEmail, ScimUser
from app.integrations.scim.resource import (
    aidiploma,
    apply_patch,
    canonical_document,
    enterprise,
    primary_email,
    project,
)
from app.org.models import Person

SOURCE = "scim"


def etag(person: Person, user: ScimUser) -> str:
    # Both rows count: HR events and the org API change the person behind a SCIM user too.
    return f'W/"{person.version}.{user.version}"'


def check_if_match(header: str | None, current: str) -> None:
    """RFC 7644 3.14 with RFC 9110 13.1.1: a stale If-Match is 412."""
    if header is None:
        return
    tags = {tag.strip() for tag in header.split(",")}
    if "*" in tags or current in tags or current.removeprefix("W/") in tags:
        return
    raise ScimError(412, f"The resource changed; its current version is {current}.")


def _load(session: Session, user_id: str) -> tuple[Person, ScimUser]:
    try:
        person_id = uuid.UUID(user_id)
    except ValueError:
        raise ScimError(404, f"No User {user_id}.") from None
    row = session.execute(
        select(Person, ScimUser)
        .join(ScimUser, ScimUser.person_id == Person.id)  # type: ignore[arg-type]
        .where(Person.id == person_id)
    ).first()
    if row is None:
        raise ScimError(404, f"No User {user_id}.")
    return row[0], row[1]


def to_resource(person: Person, user: ScimUser, base_url: str) -> dict[str, Any]:
    doc = copy.deepcopy(user.extra.get("document") or {})
    resource: dict[str, Any] = {
        "schemas": [CORE_USER, *[urn for urn in EXTENSIONS if urn in doc]],
        "id": str(person.id),
        **doc,
    }
    if "active" in doc or not person.active:
        resource["active"] = person.active
    manager = (doc.get(EXTENSIONS[0]) or {}).get("manager")
    if manager and person.manager_id and manager.get("value") == str(person.manager_id):
        resource[EXTENSIONS[0]]["manager"]["$ref"] = f"{base_url}/Users/{person.manager_id}"
    modified = max(person.updated_at, user.updated_at)
    resource["meta"] = {
        "resourceType": "User",
        "created": user.created_at.isoformat().replace("+00:00", "Z"),
        "lastModified": modified.isoformat().replace("+00:00", "Z"),
        "location": f"{base_url}/Users/{person.id}",
        "version": etag(person, user),
    }
    return resource


def _record_for(doc: dict[str, Any], number: str) -> mapping.HrRecord:
    ent, ext = enterprise(doc), aidiploma(doc)
    name = doc.get("name") or {}
    values: dict[str, Any] = {
        "employee_number": number,
        "display_name": doc.get("displayName"),
        "email": primary_email(doc),
        "org_unit": ent.get("department"),
        "location": ext.get("location"),
        "manager": (ent.get("manager") or {}).get("value"),
        "job_code": ext.get("jobCode"),
        "job_title": doc.get("title"),
        "roles": ext.get("roles"),
        "active": doc.get("active", True),
    }
    values["given_name"] = name.get("givenName") or doc.get("displayName") or doc["userName"]
    values["family_name"] = name.get("familyName") or "-"
    try:
        return mapping.HrRecord(**values)
    except ValueError as exc:
        raise ScimError(400, str(exc).splitlines()[0], "invalidValue") from None


def _columns(doc: dict[str, Any]) -> dict[str, Any]:
    ent, ext = enterprise(doc), aidiploma(doc)
    return {
        "user_name": doc["userName"],
        "user_name_key": doc["userName"].lower(),
        "external_id": doc.get("externalId"),
        "title": doc.get("title"),
        "department": ent.get("department"),
        "division": ent.get("division"),
        "organization": ent.get("organization"),
        "cost_center": ent.get("costCenter"),
        "job_code": ext.get("jobCode"),
        "location_code": ext.get("location"),
        "role_keys": ext.get("roles"),
        "manager_ref": (ent.get("manager") or {}).get("value"),
        "extra": {"document": doc},
    }


def _write(
    session: Session, *, doc: dict[str, Any], current: tuple[Person, ScimUser] | None
) -> tuple[Person, ScimUser]:
    user_name = doc.get("userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise ScimError(400, "userName is required.", "invalidValue")
    if len(user_name) > 256:
        raise ScimError(400, "userName is longer than 256 characters.", "invalidValue")
    current_user = current[1] if current else None
    _unique(session, ScimUser.user_name_key, user_name.lower(), current_user, "userName")
    if doc.get("externalId") is not None:
        _unique(session, ScimUser.external_id, doc["externalId"], current_user, "externalId")
    number = enterprise(doc).get("employeeNumber") or (
        current[0].employee_number if current else user_name
    )
    if len(number) > 64:
        raise ScimError(
            400, "employeeNumber (or userName without one) exceeds 64 characters.", "invalidValue"
        )
    holder = session.exec(select(Person).where(Person.employee_number == number)).first()
    if current is not None and number != current[0].employee_number:
        if holder is not None:
            raise ScimError(
                409, f"employeeNumber {number} belongs to another person.", "uniqueness"
            )
        _renumber(session, current[0], number)
    elif current is None and holder is not None:
        linked = session.exec(select(ScimUser).where(ScimUser.person_id == holder.id)).first()
        if linked is not None:
            raise ScimError(409, f"employeeNumber {number} belongs to another User.", "uniqueness")
    report = mapping.apply_hr_records(
        session, records=[_record_for(doc, number)], source=SOURCE, partial=False
    )
    outcome = report.outcomes[0]
    if outcome.status == "error" or outcome.person_id is None:
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in outcome.problems)
        if any(p["type"] in ("duplicate", "duplicate_in_batch") for p in outcome.problems):
            raise ScimError(409, detail, "uniqueness")
        raise ScimError(400, detail or "The user could not be written.", "invalidValue")
    session.expire_all()
    person = session.get(Person, outcome.person_id)
    assert person is not None
    values = _columns(doc)
    now = clock.now()
    if current_user is None:
        user = ScimUser(person_id=person.id, **values)
        session.add(user)
        action, before = "create", None
    else:
        user = session.get(ScimUser, current_user.id)  # type: ignore[assignment]
        assert user is not None
        before = {"document": user.extra.get("document")}
        for key, value in values.items():
            setattr(user, key, value)
        user.version += 1
        user.updated_at = now
        session.add(user)
        action = "update"
    _replace_emails(session, person.id, doc)
    session.flush()
    audit.record(
        session,
        entity_type="scim_user",
        entity_id=str(person.id),
        action=action,
        before=before,
        after={"document": doc},
    )
    return person, user


def _unique(session: Session, column: Any, value: str, current: ScimUser | None, what: str) -> None:
    statement = sa.select(col(ScimUser.id)).where(column == value)
    if current is not None:
        statement = statement.where(col(ScimUser.id) != current.id)
    if session.execute(statement).first() is not None:
        raise ScimError(409, f"A User with this {what} exists.", "uniqueness")


def _renumber(session: Session, person: Person, number: str) -> None:
    """employeeNumber is the org key; a changed one renames the key, the person stays."""
    before = {"employee_number": person.employee_number}
    person.employee_number = number
    person.version += 1
    person.updated_at = clock.now()
    session.add(person)
    session.flush()
    audit.record(
        session,
        entity_type="person",
        entity_id=str(person.id),
        action="update",
        before=before,
        after={"employee_number": number},
    )


def _replace_emails(session: Session, person_id: uuid.UUID, doc: dict[str, Any]) -> None:
    table = ScimEmail.__table__  # type: ignore[attr-defined]
    session.execute(table.delete().where(table.c.person_id == person_id))
    rows = [
        {
            "id": uuid.uuid4(),
            "person_id": person_id,
            "position": position,
            "value": str(email.get("value", ""))[:320],
            "type": email.get("type"),
            "is_primary": bool(email.get("primary", False)),
        }
        for position, email in enumerate(doc.get("emails") or [])
        if email.get("value")
    ]
    if rows:
        session.execute(table.insert(), rows)


def create_user(session: Session, *, payload: dict[str, Any], base_url: str) -> dict[str, Any]:
    """RFC 7644 3.3: create; an existing person with the employee number is linked, not copied."""
    person, user = _write(session, doc=canonical_document(payload), current=None)
    return to_resource(person, user, base_url)


def get_user(session: Session, *, user_id: str, base_url: str) -> dict[str, Any]:
    person, user = _load(session, user_id)
    return to_resource(person, user, base_url)


def replace_user(
    session: Session, *, user_id: str, payload: dict[str, Any], if_match: str | None, base_url: str
) -> dict[str, Any]:
    """RFC 7644 3.5.1: PUT replaces every attribute the client may write."""
    current = _load(session, user_id)
    check_if_match(if_match, etag(*current))
    person, user = _write(session, doc=canonical_document(payload), current=current)
    return to_resource(person, user, base_url)


def patch_user(
    session: Session, *, user_id: str, body: dict[str, Any], if_match: str | None, base_url: str
) -> dict[str, Any]:
    """RFC 7644 3.5.2: apply the operations to the stored document, then write it whole."""
    current = _load(session, user_id)
    check_if_match(if_match, etag(*current))
    operations = body.get("Operations") if isinstance(body, dict) else None
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "A PatchOp needs a non-empty Operations list.", "invalidSyntax")
    document = current[1].extra.get("document") or {}
    person, user = _write(session, doc=apply_patch(document, operations), current=current)
    return to_resource(person, user, base_url)


def delete_user(session: Session, *, user_id: str, if_match: str | None) -> None:
    """RFC 7644 3.6: the User is gone for SCIM; the person is deactivated, history kept."""
    person, user = _load(session, user_id)
    check_if_match(if_match, etag(person, user))
    report = mapping.apply_hr_records(
        session,
        records=[mapping.HrRecord(employee_number=person.employee_number, active=False)],
        source=SOURCE,
        partial=False,
    )
    if report.outcomes[0].status == "error":
        raise ScimError(400, str(report.outcomes[0].problems), "invalidValue")
    table = ScimEmail.__table__  # type: ignore[attr-defined]
    session.execute(table.delete().where(table.c.person_id == person.id))
    mapping.park_manager(session, person_id=person.id, manager_ref=None)
    audit.record(
        session,
        entity_type="scim_user",
        entity_id=str(person.id),
        action="delete",
        before={"document": user.extra.get("document")},
    )
    session.delete(user)
    session.flush()


def list_users(
    session: Session,
    *,
    filter_text: str | None,
    start_index: int,
    count: int | None,
    sort_by: str | None,
    sort_order: str | None,
    attributes: list[str] | None,
    excluded: list[str] | None,
    base_url: str,
) -> dict[str, Any]:
    """RFC 7644 3.4.2: filter, sort, 1-based startIndex and count, as a ListResponse."""
    start_index = max(start_index, 1)
    count = MAX_RESULTS if count is None else max(0, min(count, MAX_RESULTS))
    condition = query.compile_filter(scim_filter.parse_filter(filter_text)) if filter_text else None
    base = select(Person, ScimUser).join(ScimUser, ScimUser.person_id == Person.id)  # type: ignore[arg-type]
    counting = sa.select(sa.func.count()).select_from(
        sa.join(Person, ScimUser, ScimUser.person_id == Person.id)  # type: ignore[arg-type]
    )
    if condition is not None:
        base = base.where(condition)
        counting = counting.where(condition)
    total = session.execute(counting).scalar_one()
    order: list[Any] = []
    if sort_by:
        column = query.sort_column(sort_by)
        descending = (sort_order or "ascending").lower() == "descending"
        order.append(column.desc() if descending else column.asc())
    order += [ScimUser.created_at, Person.id]
    rows = (
        session.execute(base.order_by(*order).offset(start_index - 1).limit(count)).all()
        if count
        else []
    )
    resources = [
        project(to_resource(person, user, base_url), attributes, excluded) for person, user in rows
    ]
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def _names(value: Any, what: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ScimError(400, f"{what} must be a list of attribute names.", "invalidValue")
    return [item.strip() for item in value if item.strip()] or None


# startIndex and count beyond this are refused: a database OFFSET is a 64-bit integer.
MAX_INDEX = 2**31 - 1


def search_users(session: Session, *, body: Any, base_url: str) -> dict[str, Any]:
    """RFC 7644 3.4.3: POST /.search takes the query parameters as a SearchRequest body."""
    if not isinstance(body, dict):
        raise ScimError(400, "The body must be a SearchRequest object.", "invalidSyntax")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or SEARCH_REQUEST not in schemas):
        raise ScimError(400, f"A search body has the schema {SEARCH_REQUEST}.", "invalidSyntax")
    fields = {key.lower(): value for key, value in body.items()}
    texts: dict[str, str | None] = {}
    for key in ("filter", "sortby", "sortorder"):
        value = fields.get(key)
        if value is not None and not isinstance(value, str):
            raise ScimError(400, f"{key} must be a string.", "invalidValue")
        texts[key] = value
    if texts["sortorder"] and texts["sortorder"].lower() not in ("ascending", "descending"):
        raise ScimError(400, "sortOrder is ascending or descending.", "invalidValue")
    numbers: dict[str, int | None] = {}
    for key, default in (("startindex", 1), ("count", None)):
        value = fields.get(key, default)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_INDEX
        ):
            raise ScimError(400, f"{key} must be an integer up to {MAX_INDEX}.", "invalidValue")
        numbers[key] = value
    return list_users(
        session,
        filter_text=texts["filter"],
        start_index=numbers["startindex"] or 1,
        count=numbers["count"],
        sort_by=texts["sortby"],
        sort_order=texts["sortorder"],
        attributes=_names(fields.get("attributes"), "attributes"),
        excluded=_names(fields.get("excludedattributes"), "excludedAttributes"),
        base_url=base_url,
    )
