"""A small organisation for the rollout tests: a tree, two locations, two job families, roles."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from app.certification.models import PersonStatus
from app.evidence.models import Evidence, EvidenceSource
from app.org.models import JobFamily, Location, OrgUnit, OrgUnitKind, Person, PersonRole, Role


@dataclass
class Org:
    suffix: str
    units: dict[str, OrgUnit] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    families: dict[str, JobFamily] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)

    def key(self, name: str) -> str:
        return f"{name}-{self.suffix}"


def make_org(session: Session) -> Org:
    """dir-a (team-a1, team-a2), dir-b (team-b1); locations north, south; families, roles."""
    org = Org(suffix=uuid.uuid4().hex[:6])
    tree = [
        ("dir-a", None, OrgUnitKind.department),
        ("team-a1", "dir-a", OrgUnitKind.team),
        ("team-a2", "dir-a", OrgUnitKind.team),
        ("dir-b", None, OrgUnitKind.department),
        ("team-b1", "dir-b", OrgUnitKind.team),
    ]
    for name, parent, kind in tree:
        unit = OrgUnit(
            external_id=org.key(name),
            name=name,
            kind=kind,
            parent_id=org.units[parent].id if parent else None,
        )
        session.add(unit)
        session.flush()
        org.units[name] = unit
    for name in ("north", "south"):
        org.locations[name] = Location(external_id=org.key(name), name=name)
        session.add(org.locations[name])
    for name in ("social", "it"):
        org.families[name] = JobFamily(key=org.key(name), name=name)
        session.add(org.families[name])
    session.flush()
    for name, family in (("case-handler", "social"), ("analyst", "it"), ("lead", None)):
        org.roles[name] = Role(
            key=org.key(name),
            name=name,
            job_family_id=org.families[family].id if family else None,
        )
        session.add(org.roles[name])
    session.flush()
    return org


def make_person(
    session: Session,
    org: Org,
    *,
    unit: str,
    location: str = "north",
    role: str | None = "case-handler",
    role_end: date | None = None,
    **overrides: Any,
) -> Person:
    number = f"R{uuid.uuid4().hex[:10]}"
    person = Person(
        employee_number=number,
        given_name="Sanne",
        family_name="de Vries",
        email=f"{number.lower()}@example.nl",
        org_unit_id=org.units[unit].id,
        location_id=org.locations[location].id,
        **overrides,
    )
    session.add(person)
    session.flush()
    if role is not None:
        session.add(PersonRole(person_id=person.id, role_id=org.roles[role].id, end_date=role_end))
        session.flush()
    return person


def add_evidence(
    session: Session,
    person: Person,
    *,
    at: datetime,
    form: str = "knowledge_test",
    activity_id: str | None = None,
    voided: bool = False,
) -> Evidence:
    row = Evidence(
        person_id=person.id,
        competency_key="ai-policy",
        level_key="basic",
        assessment_form=form,
        source=EvidenceSource.import_,
        source_ref=uuid.uuid4().hex,
        activity_id=activity_id,
        occurred_at=at,
        voided_at=at if voided else None,
    )
    session.add(row)
    session.flush()
    return row


def add_status(
    session: Session,
    person: Person,
    *,
    valid_until: date | None,
    held_rank: int | None = 1,
    required_rank: int | None = 1,
) -> PersonStatus:
    """A status row: valid_until None means no diploma; grace and window follow it."""
    row = PersonStatus(
        person_id=person.id,
        required_tier_key="basic" if required_rank else None,
        required_tier_rank=required_rank,
        held_tier_key="basic" if valid_until and held_rank else None,
        held_tier_rank=held_rank if valid_until else None,
        valid_until=valid_until,
        window_opens_on=valid_until,
        grace_until=valid_until,
    )
    session.add(row)
    session.flush()
    return row
