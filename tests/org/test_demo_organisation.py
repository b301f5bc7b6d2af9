"""The demo organisation loads through the org service: 11 units, 13 roles, 300 people."""

from __future__ import annotations

import random

from sqlmodel import func, select

from app.demo import organisation
from app.org import service
from app.org.models import Person


def test_demo_organisation_loads_deterministically(db):
    counts = organisation.load(db, language="en")
    assert counts == {
        "org_units": 11,
        "locations": 3,
        "job_families": 4,
        "roles": 13,
        "people": 300,
    }
    assert db.exec(select(func.count()).select_from(Person)).one() == 300
    kcc = service.get_person_by_key(db, key="employee:HS0005")
    assert kcc.manager_id is not None
    gem = [u for u in service.list_org_units(db, page=_page())[0] if u.external_id == "gem"][0]
    assert gem.name == "Municipality of Havenstad"
    assert len(service.descendant_org_unit_ids(db, org_unit_id=gem.id)) == 11
    first = organisation._people(random.Random(organisation.SEED))
    assert first == organisation._people(random.Random(organisation.SEED))


def _page():
    from app.core.pagination import PageParams

    return PageParams(limit=100, cursor=None, updated_since=None)
