"""The SCIM User document: canonical attribute names, PATCH operations (RFC 7644 3.5.2),
attribute projection (3.4.2.5) and the HR record a document means for the org model.

The document a client sent (after canonicalisation) is what a GET returns: RFC 7644
expects a client to read back what it wrote, and a removed attribute to be gone.
"""

from __future__ import annotations

import copy
from typing import Any

from app.integrations.scim import filter as scim_filter
from app.integrations.scim.discovery import (
    AIDIPLOMA_USER,
    CANONICAL,
    CORE_USER,
    ENTERPRISE_USER,
    EXTENSIONS,
    MULTI_VALUED,
)
from app.integrations.scim.errors import ScimError

BOOLEAN = {"active", "primary"}


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    # Microsoft Entra ID sends booleans as the strings "True" and "False" in PATCH.
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ScimError(400, f"{where} must be a boolean.", "invalidValue")


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ScimError(400, f"{where} must be a string.", "invalidValue")
    return str(value)


def _value(schema: str, attr: str, value: Any) -> Any:
    """Normalise the value of one attribute (canonical sub-attribute names, types)."""
    _, subs = CANONICAL[schema][attr.lower()]
    if value is None:
        return None
    if attr in MULTI_VALUED:
        items = value if isinstance(value, list) else [value]
        if subs:
            return [v for v in (_complex(schema, attr, subs, item) for item in items) if v]
        return [_text(item, attr) for item in items if item is not None]
    if subs:
        if attr == "manager" and not isinstance(value, dict):
            # Entra ID sends the manager as a plain id in PATCH.
            value = {"value": value}
        return _complex(schema, attr, subs, value)
    if attr in BOOLEAN:
        return _bool(value, attr)
    return _text(value, attr)


def _complex(schema: str, attr: str, subs: dict[str, str], value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScimError(400, f"{attr} must be an object.", "invalidValue")
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = subs.get(key.lower())
        if (
            name is None
            or item is None
            or name in ("$ref",)
            or (attr == "manager" and name == "displayName")
        ):
            continue  # unknown or read-only sub-attributes are ignored (RFC 7644 3.5.1)
        out[name] = (
            _bool(item, f"{attr}.{name}") if name in BOOLEAN else _text(item, f"{attr}.{name}")
        )
    return out


def split_path(path: str) -> tuple[str, str | None, str | None]:
    """(schema, attribute, sub-attribute) of an attribute path; attribute None = whole extension."""
    lowered = path.lower()
    schema = CORE_USER
    rest = path
    for urn in (CORE_USER, *EXTENSIONS):
        if lowered == urn.lower():
            return urn, None, None
        if lowered.startswith(urn.lower() + ":"):
            schema, rest = urn, path[len(urn) + 1 :]
            break
    attr, _, sub = rest.partition(".")
    if schema == CORE_USER and attr.lower() in ("externalid", "id", "meta", "schemas"):
        canonical = {"externalid": "externalId", "id": "id", "meta": "meta", "schemas": "schemas"}
        return schema, canonical[attr.lower()], sub or None
    entry = CANONICAL[schema].get(attr.lower())
    if entry is None and rest is path:
        # Unqualified names not in the core schema are looked up in the extensions (as
        # clients write `employeeNumber` or `department`); none of their names collide.
        for urn in EXTENSIONS:
            if attr.lower() in CANONICAL[urn]:
                schema, entry = urn, CANONICAL[urn][attr.lower()]
                break
    if entry is None:
        raise ScimError(400, f"Unknown attribute '{path}'.", "invalidPath")
    name, subs = entry
    sub_name = None
    if sub:
        sub_name = subs.get(sub.lower())
        if sub_name is None:
            raise ScimError(400, f"Unknown attribute '{path}'.", "invalidPath")
    return schema, name, sub_name


def canonical_document(raw: dict[str, Any]) -> dict[str, Any]:
    """The stored form of a User sent by a client: known attributes only, canonical names."""
    if not isinstance(raw, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    doc: dict[str, Any] = {}
    for key, value in raw.items():
        lowered = key.lower()
        if lowered in ("schemas", "id", "meta"):
            continue
        if lowered == "externalid":
            if value is not None:
                doc["externalId"] = _text(value, "externalId")
            continue
        extension = next((urn for urn in EXTENSIONS if urn.lower() == lowered), None)
        if extension is not None:
            if isinstance(value, dict):
                for sub_key, sub_value in value.items():
                    _set(doc, extension, sub_key, sub_value)
            continue
        schema, _, rest = CORE_USER, None, key
        for urn in (CORE_USER, *EXTENSIONS):
            if lowered.startswith(urn.lower() + ":"):
                schema, rest = urn, key[len(urn) + 1 :]
                break
        _set(doc, schema, rest, value)
    return _prune(doc)


def _set(doc: dict[str, Any], schema: str, key: str, value: Any) -> None:
    entry = CANONICAL[schema].get(key.lower())
    if entry is None:
        return  # attributes not in the published schemas are ignored
    container = doc if schema == CORE_USER else doc.setdefault(schema, {})
    container[entry[0]] = _value(schema, entry[0], value)


def _prune(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            value = _prune(value)
        if value in (None, {}, []):
            continue
        out[key] = value
    return out


def apply_patch(document: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply PATCH operations (RFC 7644 3.5.2) to a copy of the document; all or nothing."""
    doc = copy.deepcopy(document)
    for position, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise ScimError(400, f"Operation {position} is not an object.", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise ScimError(
                400, f"Operation {position}: unknown op '{operation.get('op')}'.", "invalidSyntax"
            )
        path = operation.get("path")
        value = operation.get("value")
        if path is None or (isinstance(path, str) and not path.strip()):
            if op == "remove":
                raise ScimError(400, "A remove operation needs a path.", "noTarget")
            if not isinstance(value, dict):
                raise ScimError(
                    400,
                    f"Operation {position} without a path needs an object value.",
                    "invalidValue",
                )
            for key, item in value.items():
                extension = next((urn for urn in EXTENSIONS if urn.lower() == key.lower()), None)
                if extension is not None and isinstance(item, dict):
                    for sub_key, sub_value in item.items():
                        _apply(doc, op, f"{extension}:{sub_key}", sub_value)
                elif key.lower() not in ("schemas", "id", "meta"):
                    _apply(doc, op, key, item)
            continue
        if not isinstance(path, str):
            raise ScimError(400, "path must be a string.", "invalidPath")
        if op != "remove" and "value" not in operation:
            raise ScimError(400, f"Operation {position} needs a value.", "invalidValue")
        _apply(doc, op, path, value)
    return canonical_document(_flatten_for_canonical(doc))


def _flatten_for_canonical(doc: dict[str, Any]) -> dict[str, Any]:
    return doc


def _apply(doc: dict[str, Any], op: str, path_text: str, value: Any) -> None:
    path = scim_filter.parse_path(path_text)
    schema, attr, sub = split_path(path.attr)
    if attr in ("id", "meta", "schemas"):
        raise ScimError(400, f"{attr} is read-only.", "mutability")
    if attr is None:  # the whole extension
        if op == "remove":
            doc.pop(schema, None)
        elif isinstance(value, dict):
            target = doc.setdefault(schema, {}) if op == "add" else {}
            doc[schema] = target
            for key, item in value.items():
                if key.lower() in ("schemas", "id", "meta"):
                    continue  # an extension object may carry its schemas URN; nothing to write
                _apply(doc, op if op == "add" else "add", f"{schema}:{key}", item)
        return
    container = doc if schema == CORE_USER else doc.setdefault(schema, {})
    if attr == "externalId":
        if op == "remove":
            container.pop(attr, None)
        else:
            container[attr] = _text(value, attr) if value is not None else None
        return
    if path.filter is not None:
        _apply_filtered(container, schema, op, attr, path, value)
        return
    if sub is not None:
        current = container.get(attr)
        if attr in MULTI_VALUED:
            if op == "remove":
                for element in current or []:
                    element.pop(sub, None)
                return
            raise ScimError(400, f"Use a value filter to change {attr}.{sub}.", "noTarget")
        if op == "remove":
            if isinstance(current, dict):
                current.pop(sub, None)
            return
        current = current if isinstance(current, dict) else {}
        current[sub] = value
        container[attr] = _value(schema, attr, current)
        return
    if op == "remove":
        container.pop(attr, None)
        return
    new = _value(schema, attr, value)
    if attr in MULTI_VALUED and op == "add":
        merged = list(container.get(attr) or [])
        for item in new or []:
            if item not in merged:
                merged.append(item)
        new = merged
    elif isinstance(new, dict) and isinstance(container.get(attr), dict):
        # add and replace on a complex attribute keep the sub-attributes not given (3.5.2.1, 3.5.2.3)
        new = {**container[attr], **new}
    if attr == "emails" and new:
        _one_primary(new)
    container[attr] = new


def _one_primary(emails: list[dict[str, Any]]) -> None:
    """RFC 7643 2.4: primary true appears at most once; the last one set wins."""
    seen = False
    for element in reversed(emails):
        if element.get("primary") and seen:
            element["primary"] = False
        elif element.get("primary"):
            seen = True


def _apply_filtered(
    container: dict[str, Any], schema: str, op: str, attr: str, path: Any, value: Any
) -> None:
    if attr not in MULTI_VALUED:
        raise ScimError(
            400, f"{attr} is not multi-valued; a value filter needs one.", "invalidPath"
        )
    elements = list(container.get(attr) or [])
    hits = [
        index for index, element in enumerate(elements) if scim_filter.matches(path.filter, element)
    ]
    _, subs = CANONICAL[schema][attr.lower()]
    sub = subs.get(path.sub.lower()) if path.sub else None
    if path.sub and sub is None:
        raise ScimError(400, f"Unknown sub-attribute {attr}.{path.sub}.", "invalidPath")
    if op == "remove":
        if sub is not None:
            for index in hits:
                elements[index].pop(sub, None)
        else:
            elements = [e for index, e in enumerate(elements) if index not in hits]
        container[attr] = elements
        return
    if not hits:
        # Entra ID adds emails[type eq "work"].value to a user without one: create it, as
        # the filter's equality says what the new element is (RFC 7644 3.5.2.1).
        seed = _seed_from_filter(path.filter)
        if seed is None:
            raise ScimError(400, f"No {attr} element matches the filter.", "noTarget")
        elements.append(seed)
        hits = [len(elements) - 1]
    for index in hits:
        if sub is not None:
            elements[index] = {**elements[index], sub: value}
        elif isinstance(value, dict):
            elements[index] = {**elements[index], **value} if op == "add" else value
        else:
            raise ScimError(400, f"The value for {attr} must be an object.", "invalidValue")
    new = _value(schema, attr, elements)
    if attr == "emails":
        _one_primary(new)
    container[attr] = new


def _seed_from_filter(node: Any) -> dict[str, Any] | None:
    if isinstance(node, scim_filter.Compare) and node.op == "eq":
        return {node.attr: node.value}
    if isinstance(node, scim_filter.And):
        left, right = _seed_from_filter(node.left), _seed_from_filter(node.right)
        if left is not None and right is not None:
            return {**left, **right}
    return None


def project(
    resource: dict[str, Any], attributes: list[str] | None, excluded: list[str] | None
) -> dict[str, Any]:
    """RFC 7644 3.4.2.5: only `attributes` (plus id and schemas), or all but `excluded`."""
    if not attributes and not excluded:
        return resource
    always = {"id", "schemas"}
    if attributes:
        keep: dict[str, set[str] | None] = {}
        for text in attributes:
            schema, attr, sub = split_path(text)
            key = schema if schema != CORE_USER else attr
            if schema != CORE_USER and attr is not None:
                keep.setdefault(schema, set())
                bucket = keep[schema]
                if bucket is not None:
                    bucket.add(attr)
                continue
            if key is None:
                continue
            if sub is not None and keep.get(key, set()) is not None:
                keep.setdefault(key, set()).add(sub)  # type: ignore[union-attr]
            else:
                keep[key] = None
        out: dict[str, Any] = {}
        for key, value in resource.items():
            if key in always:
                out[key] = value
            elif key in keep:
                chosen = keep[key]
                if chosen is None or not isinstance(value, dict | list):
                    out[key] = value
                elif isinstance(value, dict):
                    picked = {k: v for k, v in value.items() if k in chosen}
                    if picked:
                        out[key] = picked
                else:
                    out[key] = [{k: v for k, v in e.items() if k in chosen} for e in value]
        return out
    out = copy.deepcopy(resource)
    for text in excluded or []:
        schema, attr, sub = split_path(text)
        container = out if schema == CORE_USER else out.get(schema)
        if attr is None:
            out.pop(schema, None)
        elif isinstance(container, dict) and attr not in always:
            if sub is None:
                container.pop(attr, None)
            elif isinstance(container.get(attr), dict):
                container[attr].pop(sub, None)
    return out


def primary_email(doc: dict[str, Any]) -> str | None:
    emails = doc.get("emails") or []
    for element in emails:
        if element.get("primary") and element.get("value"):
            return str(element["value"])
    for element in emails:
        if element.get("type") == "work" and element.get("value"):
            return str(element["value"])
    return str(emails[0]["value"]) if emails and emails[0].get("value") else None


def enterprise(doc: dict[str, Any]) -> dict[str, Any]:
    return doc.get(ENTERPRISE_USER) or {}


def aidiploma(doc: dict[str, Any]) -> dict[str, Any]:
    return doc.get(AIDIPLOMA_USER) or {}
