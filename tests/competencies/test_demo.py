"""The demo competency model loads after the org and register demos and publishes cleanly."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.competencies import requirements, service
from app.competencies.models import CompetencyModel
from app.demo import competencies, organisation, register
from tests.competencies.factories import make_job_family, make_role


@pytest.mark.parametrize("language", ["nl", "en"])
def test_demo_loads_and_publishes(db, language):
    counts = {}
    for part in (organisation, register):
        counts.update(part.load(db, language=language))
    counts.update(competencies.load(db, language=language))
    assert counts["competency_models"] == 1
    assert counts["competencies"] == 16
    assert counts["activity_mappings"] >= 8
    model = db.exec(
        select(CompetencyModel).where(CompetencyModel.key == competencies.MODEL_KEY)
    ).one()
    version = service.current_version(db, model_id=model.id)
    assert version is not None and version.number == 1
    content = service.version_content(db, version=version)
    assert language in content.competencies[0].title
    hits = service.match_activity(
        db,
        version_id=version.id,
        activity_id="https://lms.havenstad.nl/xapi/activities/ai-basis-toets",
    )
    assert len(hits) == 5
    matrix = requirements.matrix(db, model_id=model.id, language=language)
    assert matrix["version"] == 1
    assert requirements.publish_warnings(db, version=version, content=content) == []


def test_demo_adds_explicit_tiers_where_the_org_has_them(db):
    make_job_family(db, key="informatie-ict", name="Informatie en ICT")
    make_role(db, key="communicatieadviseur", name="Communicatieadviseur")
    make_role(db, key="recruiter", name="Recruiter")
    counts = competencies.load(db, language="nl")
    assert counts["explicit_role_tiers"] == 2  # privacy-officer is not in this org
    model = db.exec(
        select(CompetencyModel).where(CompetencyModel.key == competencies.MODEL_KEY)
    ).one()
    content = service.version_content(db, version=service.current_version(db, model_id=model.id))
    assert {(t.role, t.job_family, t.tier) for t in content.role_tiers} == {
        (None, "informatie-ict", "advanced"),
        ("communicatieadviseur", None, "advanced"),
    }
    assert [(r.role, r.competency, r.min_level) for r in content.role_competencies] == [
        ("recruiter", "bias-recognition", "expert")
    ]
