"""Recording and voiding evidence. Re-evaluation after a change is the certification
package's job (it calls into here), so this package stays below it."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.competencies.schemas import VersionContent
from app.core import audit, clock
from app.core.db import insert_rows, one_of
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import PageParams, paginate
from app.evidence.models import Evidence
from app.evidence.schemas import PRACTICE_FORMS, EvidenceCreate


def _snapshot(evidence: Evidence) -> dict[str, Any]:
    # Enum fields read back from their string columns hold plain str: same JSON, and no
    # serializer warning for it.
    return evidence.model_dump(mode="json", warnings=False)


def check_against_model(data: EvidenceCreate, content: VersionContent) -> list[dict[str, str]]:
    """Field problems of evidence that names things the current model does not have."""
    problems = []
    competencies = {c.key for c in content.competencies}
    levels = {level.key for level in content.levels}
    if data.competency_key not in competencies:
        problems.append(
            {"field": "competency", "message": f"unknown competency {data.competency_key}"}
        )
    if data.level_key not in levels:
        problems.append({"field": "level", "message": f"the scale has no level {data.level_key}"})
    forms = {
        "knowledge_test",
        "practical_assessment",
        "portfolio",
        "interview",
        "course_completion",
    }
    if data.assessment_form not in forms:
        problems.append(
            {"field": "assessment_form", "message": f"unknown form {data.assessment_form}"}
        )
    if (
        data.assessment_form in PRACTICE_FORMS
        and data.assessor_person_id is None
        and data.source != "import"
    ):
        problems.append(
            {"field": "assessor", "message": f"{data.assessment_form} needs the assessing person"}
        )
    return problems


def record(
    session: Session, *, data: EvidenceCreate, content: VersionContent
) -> tuple[Evidence, bool]:
    """Store evidence; returns (evidence, created). A repeat of (source, source_ref) with the
    same content is a no-op, with other content a 409."""
    problems = check_against_model(data, content)
    if problems:
        raise Unprocessable(
            "The evidence does not fit the current competency model.",
            errors=[
                {"pointer": f"#/{p['field']}", "location": "body", "type": "invalid", **p}
                for p in problems
            ],
        )
    if data.source_ref:
        existing = session.exec(
            select(Evidence).where(
                Evidence.source == data.source, Evidence.source_ref == data.source_ref
            )
        ).first()
        if existing is not None:
            if _same(existing, data):
                return existing, False
            raise Conflict(
                f"Evidence {data.source}:{data.source_ref} already exists with other content.",
                slug="evidence-conflict",
            )
    evidence = Evidence.model_validate(data.model_dump(), update={"recorded_at": clock.now()})
    session.add(evidence)
    session.flush()
    audit.record(
        session,
        entity_type="evidence",
        entity_id=evidence.id,
        action="create",
        after=_snapshot(evidence),
    )
    return evidence, True


def record_many(
    session: Session, *, items: Sequence[EvidenceCreate], refs_are_new: bool = False
) -> list[uuid.UUID]:
    """Bulk insert of already-validated evidence (LMS batches); skips (source, source_ref)
    pairs that exist, or repeat in `items`. Returns the ids of the rows inserted.

    `refs_are_new`: the caller knows no stored record has these source refs (xAPI: each
    names a statement this transaction stored or first attached to a person), so a batch
    skips the look-up; the unique constraint still refuses a duplicate. The look-up is one
    round trip per batch, and on a young table whose statistics lag behind it, a plan
    PostgreSQL kept from when it was empty scanned all of it (~100-500 ms at 24,000 rows).

    The batch is audited as one entry (entity type `evidence`, action `create_batch`) that
    holds every inserted record as stored; the audit list finds it by any of their ids."""
    if not items:
        return []
    now = clock.now()
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for item in items:
        if item.source_ref:
            key = (str(item.source), item.source_ref)
            if key in seen:
                continue
            seen.add(key)
        row = item.model_dump()
        row.update(id=uuid.uuid4(), recorded_at=now, voided_at=None, voided_reason=None)
        row.update(voided_by=None)
        rows.append(row)
    dialect = session.get_bind().dialect.name
    if len(rows) == 1:
        # One row (a single LMS statement): the INSERT skips an existing pair itself, one
        # round trip instead of a look-up and an insert.
        inserted = session.execute(_insert_one_skipping_existing(dialect), rows[0]).first()
        rows_inserted = rows if inserted is not None else []
    else:
        # Many: look the pairs up once, then insert the new ones in bulk (COPY on PostgreSQL,
        # which has no conflict clause).
        existing = set() if refs_are_new else _existing_refs(session, seen, dialect=dialect)
        rows_inserted = [r for r in rows if (str(r["source"]), r["source_ref"]) not in existing]
        insert_rows(session, Evidence.__table__, rows_inserted)  # type: ignore[attr-defined]
    if rows_inserted:
        audit.record(
            session,
            entity_type="evidence",
            entity_id=uuid.uuid4(),
            action=audit.BATCH_CREATE,
            after={
                audit.BATCH_IDS: [str(row["id"]) for row in rows_inserted],
                "records": [
                    {k: v for k, v in row.items() if not k.startswith("voided")}
                    for row in rows_inserted
                ],
            },
        )
    return [row["id"] for row in rows_inserted]


def _existing_refs(
    session: Session, refs: set[tuple[str, str]], *, dialect: str
) -> set[tuple[str, str]]:
    """Which of these (source, source_ref) pairs are stored already."""
    by_source: dict[str, list[str]] = {}
    for source, source_ref in refs:
        by_source.setdefault(source, []).append(source_ref)
    if not by_source:
        return set()
    rows = session.execute(
        sa.select(Evidence.source, Evidence.source_ref).where(  # type: ignore[call-overload]
            sa.or_(
                *(
                    sa.and_(
                        Evidence.source == source,  # type: ignore[arg-type]
                        one_of(Evidence.source_ref, sorted(source_refs), dialect=dialect),
                    )
                    for source, source_refs in by_source.items()
                )
            )
        )
    ).all()
    return {(str(r[0]), str(r[1])) for r in rows}


@functools.cache
def _insert_one_skipping_existing(dialect: str) -> Any:
    """INSERT one evidence row unless its (source, source_ref) exists; RETURNING its id when
    inserted. Built once per dialect (the ON CONFLICT syntax is the dialect's)."""
    table = Evidence.__table__  # type: ignore[attr-defined]
    insert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    return insert.on_conflict_do_nothing(
        index_elements=[table.c.source, table.c.source_ref]
    ).returning(table.c.id)


def _same(existing: Evidence, data: EvidenceCreate) -> bool:
    mine = data.model_dump()
    return all(getattr(existing, field) == value for field, value in mine.items())


def get(session: Session, *, evidence_id: uuid.UUID) -> Evidence:
    evidence = session.get(Evidence, evidence_id)
    if evidence is None:
        raise NotFound(f"No evidence {evidence_id}.")
    return evidence


def void(session: Session, *, evidence: Evidence, reason: str, actor: str | None) -> Evidence:
    """Mark evidence void; voiding twice is a 409 (the first reason stands)."""
    if evidence.voided_at is not None:
        raise Conflict("This evidence is already void.", slug="already-void")
    before = _snapshot(evidence)
    evidence.voided_at = clock.now()
    evidence.voided_reason = reason
    evidence.voided_by = actor
    session.add(evidence)
    session.flush()
    audit.record(
        session,
        entity_type="evidence",
        entity_id=evidence.id,
        action="void",
        before=before,
        after=_snapshot(evidence),
    )
    return evidence


def void_by_source(
    session: Session, *, source: str, source_refs: Sequence[str], reason: str, actor: str | None
) -> dict[uuid.UUID, set[str]]:
    """Void the evidence produced by these source records (an xAPI voiding statement);
    returns the voided evidence ids per person affected."""
    rows = session.exec(
        select(Evidence).where(
            Evidence.source == source,
            Evidence.source_ref.in_(list(source_refs)),  # type: ignore[union-attr]
            Evidence.voided_at.is_(None),  # type: ignore[union-attr]
        )
    ).all()
    voided: dict[uuid.UUID, set[str]] = {}
    for evidence in rows:
        void(session, evidence=evidence, reason=reason, actor=actor)
        voided.setdefault(evidence.person_id, set()).add(str(evidence.id))
    return voided


def for_person(session: Session, *, person_id: uuid.UUID) -> list[Evidence]:
    """All evidence of one person, void included, oldest first."""
    return list(
        session.exec(
            select(Evidence)
            .where(Evidence.person_id == person_id)
            .order_by(col(Evidence.occurred_at))
        ).all()
    )


def list_evidence(
    session: Session,
    *,
    page: PageParams,
    person_id: uuid.UUID | None = None,
    competency_key: str | None = None,
    include_void: bool = True,
) -> tuple[list[Evidence], str | None]:
    statement = select(Evidence)
    if person_id is not None:
        statement = statement.where(Evidence.person_id == person_id)
    if competency_key is not None:
        statement = statement.where(Evidence.competency_key == competency_key)
    if not include_void:
        statement = statement.where(Evidence.voided_at.is_(None))  # type: ignore[union-attr]
    return paginate(
        session,
        statement,
        id_column=Evidence.id,
        params=page,
        updated_at_column=Evidence.recorded_at,
    )
