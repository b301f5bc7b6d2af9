"""SCIM filters compiled to SQL over person, scim_user and scim_email (RFC 7644 3.4.2.2).

Every comparison is made two-valued (a missing value never yields SQL NULL), so `not`
means what the RFC says. Strings compare case-insensitively except externalId and id
(caseExact). An attribute or operator the server cannot filter on is 400 invalidFilter.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.integrations.scim import filter as scim_filter
from app.integrations.scim.errors import ScimError
from app.integrations.scim.models import ScimEmail, ScimUser
from app.integrations.scim.resource import split_path
from app.org.models import Person

_S = ScimUser.__table__.c  # type: ignore[attr-defined]
_P = Person.__table__.c  # type: ignore[attr-defined]
_E = ScimEmail.__table__.c  # type: ignore[attr-defined]

LAST_MODIFIED = sa.case((_P.updated_at > _S.updated_at, _P.updated_at), else_=_S.updated_at)

# (schema attribute, sub-attribute) -> (column, kind); kind: text, exact, bool, time, id, person_id
_COLUMNS: dict[tuple[str, str | None], tuple[Any, str]] = {
    ("userName", None): (_S.user_name, "text"),
    ("externalId", None): (_S.external_id, "exact"),
    ("id", None): (_P.id, "id"),
    ("displayName", None): (_P.display_name, "text"),
    ("name", "givenName"): (_P.given_name, "text"),
    ("name", "familyName"): (_P.family_name, "text"),
    ("title", None): (_S.title, "text"),
    ("active", None): (_P.active, "bool"),
    ("meta", "lastModified"): (LAST_MODIFIED, "time"),
    ("meta", "created"): (_S.created_at, "time"),
    ("employeeNumber", None): (_P.employee_number, "text"),
    ("department", None): (_S.department, "text"),
    ("division", None): (_S.division, "text"),
    ("organization", None): (_S.organization, "text"),
    ("costCenter", None): (_S.cost_center, "text"),
    ("manager", None): (_P.manager_id, "id"),
    ("manager", "value"): (_P.manager_id, "id"),
    ("jobCode", None): (_S.job_code, "text"),
    ("location", None): (_S.location_code, "text"),
}
_EMAIL_COLUMNS = {
    "value": (_E.value, "text"),
    "type": (_E.type, "text"),
    "primary": (_E.is_primary, "bool"),
}


def _bad(message: str) -> ScimError:
    return ScimError(400, message, "invalidFilter")


def _resolve(attr: str) -> tuple[str, str | None]:
    try:
        _, name, sub = split_path(attr)
    except ScimError as exc:
        raise _bad(exc.detail or "unknown attribute") from exc
    if name is None:
        raise _bad(f"Cannot filter on a whole extension ({attr}).")
    if name == "meta" and sub is None:
        raise _bad("Filter on meta.lastModified or meta.created.")
    return name, sub


def _compare(column: Any, kind: str, op: str, value: Any, attr: str) -> Any:
    if op in ("eq", "ne") and value is None:
        return column.is_(None) if op == "eq" else column.is_not(None)
    if kind == "bool":
        if op not in ("eq", "ne") or not isinstance(value, bool):
            raise _bad(f"{attr} is boolean: only eq and ne with true or false.")
        return (
            sa.and_(column.is_not(None), column == value)
            if op == "eq"
            else sa.or_(column.is_(None), column != value)
        )
    if kind == "id":
        if op not in ("eq", "ne") or not isinstance(value, str):
            raise _bad(f"{attr} supports eq and ne only.")
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            return sa.false() if op == "eq" else sa.true()
        return (
            sa.and_(column.is_not(None), column == parsed)
            if op == "eq"
            else sa.or_(column.is_(None), column != parsed)
        )
    if kind == "time":
        if not isinstance(value, str):
            raise _bad(f"{attr} compares with an RFC 3339 date-time string.")
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise _bad(f"'{value}' is not an RFC 3339 date-time.") from exc
        if value.tzinfo is None:
            raise _bad("The date-time needs a time-zone offset.")
        if op in ("co", "sw", "ew"):
            raise _bad(f"{op} does not apply to date-times.")
        target = column
    else:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _bad(f"{attr} compares with a string.")
        value = str(value)
        target = column
        if kind == "text":
            target, value = sa.func.lower(column), value.lower()
    condition = {
        "eq": lambda: target == value,
        "ne": lambda: target != value,
        "co": lambda: target.contains(value, autoescape=True),
        "sw": lambda: target.startswith(value, autoescape=True),
        "ew": lambda: target.endswith(value, autoescape=True),
        "gt": lambda: target > value,
        "ge": lambda: target >= value,
        "lt": lambda: target < value,
        "le": lambda: target <= value,
    }[op]()
    if op == "ne":
        return sa.or_(column.is_(None), condition)
    return sa.and_(column.is_not(None), condition)


def _email_condition(node: Any) -> Any:
    """A filter inside emails[...] (or on emails.x) over one scim_email row."""
    if isinstance(node, scim_filter.And):
        return sa.and_(_email_condition(node.left), _email_condition(node.right))
    if isinstance(node, scim_filter.Or):
        return sa.or_(_email_condition(node.left), _email_condition(node.right))
    if isinstance(node, scim_filter.Not):
        return sa.not_(_email_condition(node.inner))
    attr = node.attr.lower()
    if attr not in _EMAIL_COLUMNS:
        raise _bad(f"emails has no sub-attribute {node.attr}.")
    column, kind = _EMAIL_COLUMNS[attr]
    if isinstance(node, scim_filter.Present):
        return column.is_not(None)
    if isinstance(node, scim_filter.Compare):
        return _compare(column, kind, node.op, node.value, f"emails.{attr}")
    raise _bad("Value filters cannot nest.")


def _emails_exist(condition: Any) -> Any:
    return sa.exists().where(_E.person_id == _P.id, condition)


def compile_filter(node: Any) -> Any:
    """The SQL condition of a parsed filter over the person + scim_user join."""
    if isinstance(node, scim_filter.And):
        return sa.and_(compile_filter(node.left), compile_filter(node.right))
    if isinstance(node, scim_filter.Or):
        return sa.or_(compile_filter(node.left), compile_filter(node.right))
    if isinstance(node, scim_filter.Not):
        return sa.not_(compile_filter(node.inner))
    if isinstance(node, scim_filter.ValuePath):
        name, sub = _resolve(node.attr)
        if name != "emails" or sub is not None:
            raise _bad(f"Value filters apply to emails, not {node.attr}.")
        return _emails_exist(_email_condition(node.filter))
    name, sub = _resolve(node.attr)
    if name == "emails":
        field = (
            scim_filter.Compare(sub or "value", node.op, node.value)
            if isinstance(node, scim_filter.Compare)
            else scim_filter.Present(sub or "value")
        )
        return _emails_exist(_email_condition(field))
    entry = _COLUMNS.get((name, sub))
    if entry is None:
        raise _bad(f"Filtering on {node.attr} is not supported.")
    column, kind = entry
    if isinstance(node, scim_filter.Present):
        if kind in ("text", "exact"):
            return sa.and_(column.is_not(None), column != "")
        return column.is_not(None)
    return _compare(column, kind, node.op, node.value, node.attr)


def sort_column(sort_by: str) -> Any:
    """The column of `sortBy` (RFC 7644 3.4.2.3); emails sorts by the primary email."""
    try:
        _, name, sub = split_path(sort_by)
    except ScimError as exc:
        raise ScimError(400, exc.detail or "unknown attribute", "invalidValue") from exc
    if name == "emails":
        return _P.email
    entry = _COLUMNS.get((name or "", sub))
    if entry is None:
        raise ScimError(400, f"Cannot sort by {sort_by}.", "invalidValue")
    column, kind = entry
    return sa.func.lower(column) if kind == "text" else column
