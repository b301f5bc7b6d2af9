"""evidence.service.record_many: bulk evidence from LMS channels, skipping (source, source_ref)
pairs already stored, audited as one batch entry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from app.core import audit
from app.evidence import service
from app.evidence.models import Evidence, EvidenceSource
from app.evidence.schemas import EvidenceCreate
from tests.certification.factories import make_person


def _item(person_id: uuid.UUID, ref: str) -> EvidenceCreate:
    return EvidenceCreate(
        person_id=person_id,
        competency_key="bias",
        level_key="basic",
        assessment_form="knowledge_test",
        source=EvidenceSource.xapi,
        source_ref=ref,
        occurred_at=datetime(2026, 5, 4, 10, tzinfo=UTC),
    )


def _refs(db, person_id):
    return sorted(db.scalars(sa.select(Evidence.source_ref).where(Evidence.person_id == person_id)))


def test_one_item_is_inserted_once_and_a_repeat_skipped(db):
    """The single-row path: the INSERT itself skips the existing pair."""
    someone = make_person(db)
    ref = f"{uuid.uuid4()}#bias"
    first = service.record_many(db, items=[_item(someone.id, ref)])
    assert len(first) == 1
    assert service.record_many(db, items=[_item(someone.id, ref)]) == []
    assert _refs(db, someone.id) == [ref]
    pending = db.info.get(audit._PENDING, [])
    batches = [e for e in pending if e["action"] == audit.BATCH_CREATE]
    assert [b["after"][audit.BATCH_IDS] for b in batches] == [[str(first[0])]]


def test_a_batch_skips_stored_pairs_and_its_own_repeats(db):
    someone = make_person(db)
    stored, new = f"{uuid.uuid4()}#bias", f"{uuid.uuid4()}#bias"
    service.record_many(db, items=[_item(someone.id, stored)])
    inserted = service.record_many(
        db, items=[_item(someone.id, stored), _item(someone.id, new), _item(someone.id, new)]
    )
    assert len(inserted) == 1
    assert _refs(db, someone.id) == sorted([stored, new])
