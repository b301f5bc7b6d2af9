"""HR mapping rules, the unmapped report and HR sources (plain functions over a session)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, select

from app.core import audit, clock, urls
from app.core.errors import NotFound, Unprocessable
from app.core.pagination import PageParams, paginate
from app.integrations.hris.models import HrisMapping, HrisSource, HrisUnmapped
from app.integrations.hris.schemas import PERSON_FIELDS, MappingIn, SourceIn


def _snapshot(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in fields}


MAPPING_FIELDS = ("kind", "source_value", "target_key")


def list_mappings(
    session: Session, *, page: PageParams, kind: str | None = None
) -> tuple[list[HrisMapping], str | None]:
    statement = select(HrisMapping)
    if kind is not None:
        statement = statement.where(HrisMapping.kind == kind)
    return paginate(
        session, statement, id_column=HrisMapping.id, params=page,
        updated_at_column=HrisMapping.updated_at,
    )  # fmt: skip


def put_mapping(session: Session, *, data: MappingIn) -> HrisMapping:
    """Create or change the rule for (kind, source_value); the value leaves the unmapped report."""
    row = session.exec(
        select(HrisMapping).where(
            HrisMapping.kind == data.kind, HrisMapping.source_value == data.source_value
        )
    ).first()
    before = _snapshot(row, MAPPING_FIELDS) if row else None
    if row is None:
        row = HrisMapping.model_validate(data)
    else:
        row.target_key = data.target_key
        row.version += 1
        row.updated_at = clock.now()
    session.add(row)
    table = HrisUnmapped.__table__  # type: ignore[attr-defined]
    session.execute(
        table.delete().where(table.c.kind == data.kind.value, table.c.value == data.source_value)
    )
    session.flush()
    audit.record(
        session, entity_type="hris_mapping", entity_id=row.id,
        action="create" if before is None else "update",
        before=before, after=_snapshot(row, MAPPING_FIELDS),
    )  # fmt: skip
    return row


def delete_mapping(session: Session, *, mapping_id: uuid.UUID) -> None:
    row = session.get(HrisMapping, mapping_id)
    if row is None:
        raise NotFound(f"No HR mapping {mapping_id}.")
    audit.record(
        session, entity_type="hris_mapping", entity_id=row.id, action="delete",
        before=_snapshot(row, MAPPING_FIELDS),
    )  # fmt: skip
    session.delete(row)
    session.flush()


def list_unmapped(
    session: Session, *, page: PageParams, kind: str | None = None
) -> tuple[list[HrisUnmapped], str | None]:
    """HR values nothing maps, most frequent first within the page order."""
    statement = select(HrisUnmapped)
    if kind is not None:
        statement = statement.where(HrisUnmapped.kind == kind)
    return paginate(
        session, statement, id_column=HrisUnmapped.id, params=page,
        updated_at_column=HrisUnmapped.last_seen_at,
    )  # fmt: skip


SOURCE_FIELDS = (
    "name", "field_paths", "event_id_path", "event_type_path", "employee_path", "pull_url",
    "items_path", "pagination", "cursor_path", "cursor_param", "page_param", "next_link_path",
    "complete_path", "pull_every_minutes",
)  # fmt: skip


def _check_paths(data: SourceIn) -> None:
    unknown = sorted(set(data.field_paths) - PERSON_FIELDS)
    if unknown:
        raise Unprocessable(
            f"field_paths names unknown person fields: {', '.join(unknown)}; "
            f"known: {', '.join(sorted(PERSON_FIELDS))}."
        )
    if "employee_number" not in data.field_paths:
        raise Unprocessable("field_paths must say where the employee_number is.")


def put_source(session: Session, *, data: SourceIn, allow_private: bool = False) -> HrisSource:
    """Create or replace an HR source by name. `allow_private`: the server's
    hris_allow_private, which lets pull_url name an address on the internal network."""
    _check_paths(data)
    if data.pull_url:
        try:
            urls.check(data.pull_url, allow_private=allow_private, must_resolve=False)
        except urls.UnsafeURL as exc:
            raise Unprocessable(
                f"pull_url is refused: {exc}. An HR system on the internal network needs "
                "AIDIPLOMA_HRIS_ALLOW_PRIVATE=true on the server.",
                slug="unsafe-url",
            ) from exc
    row = session.exec(select(HrisSource).where(HrisSource.name == data.name)).first()
    before = _snapshot(row, SOURCE_FIELDS) if row else None
    rescheduled = row is None or row.pull_every_minutes != data.pull_every_minutes
    values = data.model_dump()
    if row is None:
        row = HrisSource.model_validate(values)
    else:
        for key, value in values.items():
            setattr(row, key, value)
        row.version += 1
        row.updated_at = clock.now()
    if row.pull_every_minutes is None:
        row.next_pull_at = None
    elif rescheduled or row.next_pull_at is None:
        # A new or changed schedule is due at once: the integrator sees its first pull's
        # report (or error) on the source within the worker's next minute.
        row.next_pull_at = clock.now()
    session.add(row)
    session.flush()
    audit.record(
        session, entity_type="hris_source", entity_id=row.id,
        action="create" if before is None else "update",
        before=before, after=_snapshot(row, SOURCE_FIELDS),
    )  # fmt: skip
    return row


def get_source(session: Session, *, name: str) -> HrisSource:
    row = session.exec(select(HrisSource).where(HrisSource.name == name)).first()
    if row is None:
        raise NotFound(f"No HR source {name}.")
    return row


def list_sources(session: Session) -> list[HrisSource]:
    return list(session.exec(select(HrisSource).order_by(HrisSource.name)).all())


def source_view(row: HrisSource) -> dict[str, Any]:
    # warnings=False: enum fields read back from their string columns hold plain str.
    return {**row.model_dump(warnings=False), "has_secret": bool(row.secret)}
