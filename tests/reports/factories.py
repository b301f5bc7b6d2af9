"""A small organisation with hand-set statuses, for checking every report's figures by hand.

Today is 2026-06-01 (the frozen clock). Tiers: basic (rank 1), advanced (rank 2).

    gem
    ├── dir-a            M (manager of P1, P2, P4; no status row)
    │   ├── team-a1      P1 certified advanced (valid to 2027-06-01), compliant
    │   │                P2 expiring advanced (valid to 2026-06-20), compliant
    │   │                P8 inactive (never counted)
    │   └── team-a2      P3 (manager P1) holds basic, needs advanced, due 2026-05-01: overdue
    │                    P4 needs basic, nothing yet, due 2026-07-01
    └── dir-b            P5 basic expired (grace to 2026-05-01), due 2026-01-01: overdue
                         P6 basic valid to 2026-08-15 (expiring), compliant
                         P7 no role, no status row

Roles: case (job family fam-x; P1, P2, P3), admin (fam-y; P4, P5, P6).
Locations: north (P1, P3, P5), south (everyone else).
Evidence: P3 ai-policy 80% (has it), P5 ai-policy 60% failed (misses it), P4 none; so the
missing competencies are checking-output (P3), ai-policy (P4, P5).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.certification.models import PersonStatus
from app.evidence.models import Evidence, EvidenceSource
from app.org.models import JobFamily, Location, OrgUnit, OrgUnitKind, Person, PersonRole, Role
from tests.certification.factories import publish_model
from tests.factories import auth_headers

TODAY = date(2026, 6, 1)
RANK = {"basic": 1, "advanced": 2}


@dataclass
class Org:
    units: dict[str, OrgUnit]
    roles: dict[str, Role]
    families: dict[str, JobFamily]
    locations: dict[str, Location]
    people: dict[str, Person]


def make_unit(session: Session, key: str, parent: OrgUnit | None = None) -> OrgUnit:
    unit = OrgUnit(
        external_id=f"{key}-{uuid.uuid4().hex[:6]}",
        name=key,
        kind=OrgUnitKind.team,
        parent_id=parent.id if parent else None,
    )
    session.add(unit)
    session.flush()
    return unit


def make_person(
    session: Session,
    label: str,
    *,
    unit: OrgUnit | None,
    location: Location | None = None,
    manager: Person | None = None,
    roles: tuple[Role, ...] = (),
    active: bool = True,
) -> Person:
    number = f"{label}-{uuid.uuid4().hex[:6]}"
    person = Person(
        employee_number=number,
        given_name=label,
        family_name="Test",
        email=f"{number.lower()}@example.nl",
        org_unit_id=unit.id if unit else None,
        location_id=location.id if location else None,
        manager_id=manager.id if manager else None,
        active=active,
    )
    session.add(person)
    session.flush()
    for role in roles:
        session.add(PersonRole(person_id=person.id, role_id=role.id, start_date=date(2025, 1, 1)))
    session.flush()
    return person


def set_status(
    session: Session,
    person: Person,
    *,
    required: str | None,
    held: str | None = None,
    valid_until: date | None = None,
    window_opens_on: date | None = None,
    grace_until: date | None = None,
    due_date: date | None = None,
    any_progress: bool = False,
) -> None:
    session.add(
        PersonStatus(
            person_id=person.id,
            required_tier_key=required,
            required_tier_rank=RANK[required] if required else None,
            held_tier_key=held,
            held_tier_rank=RANK[held] if held else None,
            valid_until=valid_until,
            window_opens_on=window_opens_on,
            grace_until=grace_until,
            due_date=due_date,
            any_progress=any_progress,
        )
    )
    session.flush()


def add_evidence(
    session: Session,
    person: Person,
    competency: str,
    *,
    score: float | None,
    at: datetime,
    passed: bool = True,
    form: str = "knowledge_test",
    level: str = "basic",
    activity_id: str | None = None,
) -> None:
    session.add(
        Evidence(
            person_id=person.id,
            competency_key=competency,
            level_key=level,
            assessment_form=form,
            source=EvidenceSource.import_,
            source_ref=uuid.uuid4().hex,
            activity_id=activity_id,
            score_scaled=score,
            passed=passed,
            occurred_at=at,
        )
    )
    session.flush()


def build_org(db: Session, client: TestClient, app: FastAPI) -> Org:
    fam_x = JobFamily(key=f"fam-x-{uuid.uuid4().hex[:6]}", name="Family X")
    fam_y = JobFamily(key=f"fam-y-{uuid.uuid4().hex[:6]}", name="Family Y")
    db.add_all([fam_x, fam_y])
    db.flush()
    case = Role(key=f"case-{uuid.uuid4().hex[:6]}", name="Case handler", job_family_id=fam_x.id)
    admin = Role(key=f"admin-{uuid.uuid4().hex[:6]}", name="Administrator", job_family_id=fam_y.id)
    db.add_all([case, admin])
    db.flush()
    # A published model so the missing competencies can be computed (its tiers: see above).
    publish_model(client, auth_headers(db, app, "admin"), case.key)
    north = Location(external_id=f"north-{uuid.uuid4().hex[:6]}", name="North")
    south = Location(external_id=f"south-{uuid.uuid4().hex[:6]}", name="South")
    db.add_all([north, south])
    db.flush()
    gem = make_unit(db, "gem")
    dir_a = make_unit(db, "dir-a", gem)
    dir_b = make_unit(db, "dir-b", gem)
    team_a1 = make_unit(db, "team-a1", dir_a)
    team_a2 = make_unit(db, "team-a2", dir_a)

    m = make_person(db, "M", unit=dir_a, location=south)
    p1 = make_person(db, "P1", unit=team_a1, location=north, manager=m, roles=(case,))
    p2 = make_person(db, "P2", unit=team_a1, location=south, manager=m, roles=(case,))
    p3 = make_person(db, "P3", unit=team_a2, location=north, manager=p1, roles=(case,))
    p4 = make_person(db, "P4", unit=team_a2, location=south, manager=m, roles=(admin,))
    p5 = make_person(db, "P5", unit=dir_b, location=north, roles=(admin,))
    p6 = make_person(db, "P6", unit=dir_b, location=south, roles=(admin,))
    p7 = make_person(db, "P7", unit=dir_b, location=south)
    p8 = make_person(db, "P8", unit=team_a1, location=north, roles=(case,), active=False)

    set_status(
        db,
        p1,
        required="advanced",
        held="advanced",
        valid_until=date(2027, 6, 1),
        window_opens_on=date(2027, 3, 3),
        grace_until=date(2027, 7, 1),
        any_progress=True,
    )
    set_status(
        db,
        p2,
        required="advanced",
        held="advanced",
        valid_until=date(2026, 6, 20),
        window_opens_on=date(2026, 3, 22),
        grace_until=date(2026, 7, 20),
        any_progress=True,
    )
    set_status(
        db,
        p3,
        required="advanced",
        held="basic",
        valid_until=date(2027, 1, 1),
        window_opens_on=date(2026, 10, 3),
        grace_until=date(2027, 1, 31),
        due_date=date(2026, 5, 1),
        any_progress=True,
    )
    set_status(db, p4, required="basic", due_date=date(2026, 7, 1))
    set_status(
        db,
        p5,
        required="basic",
        held="basic",
        valid_until=date(2026, 4, 1),
        window_opens_on=date(2026, 1, 1),
        grace_until=date(2026, 5, 1),
        due_date=date(2026, 1, 1),
        any_progress=True,
    )
    set_status(
        db,
        p6,
        required="basic",
        held="basic",
        valid_until=date(2026, 8, 15),
        window_opens_on=date(2026, 5, 17),
        grace_until=date(2026, 9, 14),
        any_progress=True,
    )
    set_status(
        db,
        p8,
        required="advanced",
        held="advanced",
        valid_until=date(2027, 6, 1),
        window_opens_on=date(2027, 3, 3),
        grace_until=date(2027, 7, 1),
    )
    add_evidence(db, p3, "ai-policy", score=0.8, at=datetime(2025, 6, 1, 10, tzinfo=UTC))
    add_evidence(
        db,
        p5,
        "ai-policy",
        score=0.6,
        passed=False,
        at=datetime(2026, 5, 10, 10, tzinfo=UTC),
        activity_id="https://lms.example/act-1",
    )
    add_evidence(
        db,
        p1,
        "ai-policy",
        score=0.95,
        at=datetime(2026, 5, 10, 11, tzinfo=UTC),
        activity_id="https://lms.example/act-1",
    )
    add_evidence(
        db,
        p5,
        "bias",
        score=0.75,
        at=datetime(2026, 5, 20, 10, tzinfo=UTC),
        activity_id="https://lms.example/act-1",
    )
    return Org(
        units={"gem": gem, "dir-a": dir_a, "dir-b": dir_b, "team-a1": team_a1, "team-a2": team_a2},
        roles={"case": case, "admin": admin},
        families={"x": fam_x, "y": fam_y},
        locations={"north": north, "south": south},
        people={
            "M": m,
            "P1": p1,
            "P2": p2,
            "P3": p3,
            "P4": p4,
            "P5": p5,
            "P6": p6,
            "P7": p7,
            "P8": p8,
        },
    )


def by_key(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {g["key"]: g for g in groups}
