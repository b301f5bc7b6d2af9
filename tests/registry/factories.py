"""Factories and the hand-computed register fixture used by the registry tests.

The fixture (counted on 2026-06-01, the frozen clock's day):

- roles: case (case handler), agent, lead, idle (no links)
- people: p1 A active case; p2 A case ended 2026-01-01 (not counted); p3 B case ends
  2026-12-31 (counted); p4 A inactive case (not counted); p5 B agent+case (counted once per
  process); p6 B agent starting 2026-07-01 (not counted); p7 no unit, lead.
- systems: s_high (high, overseen by lead, workers informed), s_high2 (high, no overseers,
  no workers-informed date), s_gp (general_purpose), s_min (minimal).
- processes: P1 Bijstand high [s_high] <- case operates, lead oversees;
  P2 Klantvragen medium [s_gp] <- agent uses_output, case uses_output;
  P3 Werving medium [s_high2] <- agent operates, planned from 2026-09-01;
  P4 Notulen low [s_min], no roles.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from app.org.models import OrgUnit, OrgUnitKind, Person, PersonRole, Role
from app.registry.models import (
    AISystem,
    AISystemOverseer,
    Process,
    ProcessAISystem,
    RoleProcessLink,
)


def make_org_unit(session: Session, **overrides: Any) -> OrgUnit:
    suffix = uuid.uuid4().hex[:6]
    values: dict[str, Any] = {
        "external_id": f"unit-{suffix}",
        "name": f"Unit {suffix}",
        "kind": OrgUnitKind.team,
    }
    values.update(overrides)
    unit = OrgUnit(**values)
    session.add(unit)
    session.flush()
    return unit


def make_role(session: Session, **overrides: Any) -> Role:
    suffix = uuid.uuid4().hex[:6]
    values: dict[str, Any] = {"key": f"role-{suffix}", "name": f"Role {suffix}"}
    values.update(overrides)
    role = Role(**values)
    session.add(role)
    session.flush()
    return role


def make_person(
    session: Session, *, roles: list[tuple[Role, date | None, date | None]] = (), **overrides: Any
) -> Person:
    """A person; `roles` holds (role, start_date, end_date) assignments."""
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "employee_number": f"T{suffix}",
        "given_name": "Test",
        "family_name": suffix,
    }
    values.update(overrides)
    person = Person(**values)
    session.add(person)
    session.flush()
    for role, start, end in roles:
        session.add(
            PersonRole(person_id=person.id, role_id=role.id, start_date=start, end_date=end)
        )
    session.flush()
    return person


def make_ai_system(session: Session, **overrides: Any) -> AISystem:
    suffix = uuid.uuid4().hex[:6]
    values: dict[str, Any] = {
        "name": f"System {suffix}",
        "risk_class": "minimal",
        "deployment_status": "allowed",
    }
    values.update(overrides)
    system = AISystem(**values)
    session.add(system)
    session.flush()
    return system


def make_process(session: Session, *, systems: list[AISystem] = (), **overrides: Any) -> Process:
    suffix = uuid.uuid4().hex[:6]
    values: dict[str, Any] = {"name": f"Process {suffix}", "impact_level": "low"}
    values.update(overrides)
    process = Process(**values)
    session.add(process)
    session.flush()
    for system in systems:
        session.add(ProcessAISystem(process_id=process.id, ai_system_id=system.id))
    session.flush()
    return process


def link(
    session: Session,
    role: Role,
    process: Process,
    involvement: str,
    *,
    planned_from_date: date | None = None,
) -> RoleProcessLink:
    row = RoleProcessLink(
        role_id=role.id,
        process_id=process.id,
        involvement=involvement,
        state="planned" if planned_from_date else "current",
        planned_from_date=planned_from_date,
    )
    session.add(row)
    session.flush()
    return row


@dataclass
class RegisterFixture:
    units: dict[str, OrgUnit] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    systems: dict[str, AISystem] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)


def build_register(session: Session) -> RegisterFixture:
    f = RegisterFixture()
    f.units["A"] = make_org_unit(session, external_id="unit-a", name="Team A")
    f.units["B"] = make_org_unit(session, external_id="unit-b", name="Team B")
    for key in ("case", "agent", "lead", "idle"):
        f.roles[key] = make_role(session, key=f"t-{key}", name=f"Test {key}")
    case, agent, lead = f.roles["case"], f.roles["agent"], f.roles["lead"]
    a, b = f.units["A"].id, f.units["B"].id
    f.people["p1"] = make_person(session, org_unit_id=a, roles=[(case, date(2025, 1, 1), None)])
    f.people["p2"] = make_person(session, org_unit_id=a, roles=[(case, None, date(2026, 1, 1))])
    f.people["p3"] = make_person(session, org_unit_id=b, roles=[(case, None, date(2026, 12, 31))])
    f.people["p4"] = make_person(session, org_unit_id=a, active=False, roles=[(case, None, None)])
    f.people["p5"] = make_person(
        session, org_unit_id=b, roles=[(agent, None, None), (case, None, None)]
    )
    f.people["p6"] = make_person(session, org_unit_id=b, roles=[(agent, date(2026, 7, 1), None)])
    f.people["p7"] = make_person(session, roles=[(lead, None, None)])

    f.systems["s_high"] = make_ai_system(
        session,
        name="Fraud scoring",
        risk_class="high",
        deployment_status="restricted",
        workers_informed_date=date(2026, 3, 1),
    )
    session.add(AISystemOverseer(ai_system_id=f.systems["s_high"].id, role_id=lead.id))
    f.systems["s_high2"] = make_ai_system(
        session, name="CV screening", risk_class="high", deployment_status="restricted"
    )
    f.systems["s_gp"] = make_ai_system(session, name="Copilot", risk_class="general_purpose")
    f.systems["s_min"] = make_ai_system(session, name="Transcriber", risk_class="minimal")

    f.processes["P1"] = make_process(
        session,
        name="Bijstand",
        impact_level="high",
        impact_types=["decision_making", "case_files"],
        risk_register_ref="RR-1",
        systems=[f.systems["s_high"]],
    )
    f.processes["P2"] = make_process(
        session,
        name="Klantvragen",
        impact_level="medium",
        impact_types=["client_contact"],
        systems=[f.systems["s_gp"]],
    )
    f.processes["P3"] = make_process(
        session,
        name="Werving",
        impact_level="medium",
        impact_types=["decision_making"],
        systems=[f.systems["s_high2"]],
    )
    f.processes["P4"] = make_process(
        session, name="Notulen", impact_level="low", systems=[f.systems["s_min"]]
    )
    link(session, case, f.processes["P1"], "operates")
    link(session, lead, f.processes["P1"], "oversees")
    link(session, agent, f.processes["P2"], "uses_output")
    link(session, case, f.processes["P2"], "uses_output")
    link(session, agent, f.processes["P3"], "operates", planned_from_date=date(2026, 9, 1))
    return f
