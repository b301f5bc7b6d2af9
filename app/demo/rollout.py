"""Demo pilot and phased rollout for Gemeente Havenstad: a completed pilot in two teams with
feedback from all four groups, and three rollout waves (completed, running, planned).

Dates are relative to today, so the demo always looks current. The auditors' group is
deliberately smaller than the minimum group size, to show their free text suppressed.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.core import clock
from app.demo.competencies import LMS
from app.org.models import OrgUnit, Person
from app.rollout import feedback, service
from app.rollout.models import PhaseKind, PhaseStatus, RespondentGroup
from app.rollout.schemas import FeedbackCreate, PhaseCreate, ProgrammeCreate, ScopeIn

SEED = 20260304
BASIC = [LMS + "ai-basis-module", LMS + "ai-basis-toets"]
PRACTICE = [LMS + "prompt-lab", LMS + "ai-praktijkopdracht/"]

# (name nl, name en, kind, scope, start offset, end offset, offer, status)
PHASES: list[tuple[str, str, PhaseKind, dict[str, list[str]], int, int, list[str], str]] = [
    (
        "Pilot Werk en Inkomen en Klantcontactcentrum",
        "Pilot Work and Income and Contact Centre",
        PhaseKind.pilot,
        {"org_units": ["team-wi", "team-kcc"]},
        -300,
        -210,
        [*BASIC, *PRACTICE],
        PhaseStatus.completed,
    ),
    (
        "Golf 1: functiefamilie Sociaal domein",
        "Wave 1: job family Social domain",
        PhaseKind.rollout,
        {"job_families": ["sociaal-domein"]},
        -180,
        -90,
        [*BASIC, LMS + "ai-praktijkopdracht/"],
        PhaseStatus.completed,
    ),
    (
        "Golf 2: Directie Dienstverlening",
        "Wave 2: Public Services",
        PhaseKind.rollout,
        {"org_units": ["dir-dv"]},
        -45,
        45,
        [*BASIC, LMS + "prompt-lab"],
        PhaseStatus.running,
    ),
    (
        "Golf 3: Directie Bedrijfsvoering",
        "Wave 3: Operations",
        PhaseKind.rollout,
        {"org_units": ["dir-bv"]},
        60,
        150,
        [*BASIC, LMS + "bias-casus-werving", "HS-AI-PRIVACY-01"],
        PhaseStatus.planned,
    ),
]

# Respondents per group in the pilot: the auditors (2) stay below the minimum group size (5).
RESPONDENTS = {
    RespondentGroup.employee: 12,
    RespondentGroup.manager: 5,
    RespondentGroup.hr: 5,
    RespondentGroup.auditor: 2,
}

COMMENTS: dict[RespondentGroup, list[tuple[str, str]]] = {
    RespondentGroup.employee: [
        (
            "De praktijkopdracht met echte dossiers was het nuttigst.",
            "The practical assignment with real case files was the most useful.",
        ),
        (
            "Te weinig tijd naast het werk; plan de toets niet in de drukke week.",
            "Too little time next to the work; do not schedule the test in the busy week.",
        ),
        (
            "Nu weet ik wat ik wel en niet in Copilot mag zetten.",
            "Now I know what I may and may not put into Copilot.",
        ),
        ("De kennistoets was helder.", "The knowledge test was clear."),
    ],
    RespondentGroup.manager: [
        (
            "Geef teamleiders eerder het overzicht wie nog niet begonnen is.",
            "Give team leaders the list of who has not started earlier.",
        ),
        (
            "Het gesprek in het werkoverleg hielp meer dan de mail.",
            "The talk in the team meeting helped more than the e-mail.",
        ),
    ],
    RespondentGroup.hr: [
        (
            "Koppeling met het LMS werkte; inschrijven kan automatischer.",
            "The LMS link worked; enrolment could be more automatic.",
        ),
    ],
    RespondentGroup.auditor: [
        (
            "Bewijs per persoon is goed te volgen; leg de normering vast.",
            "Evidence per person is easy to follow; document the standard.",
        ),
    ],
}


def load(session: Session, *, language: str) -> dict[str, int]:
    """The programme, its pilot and waves, and the pilot's feedback (through the service)."""
    pick = 0 if language == "nl" else 1
    today = clock.now().date()
    programme = service.create_programme(
        session,
        data=ProgrammeCreate(
            name=("AI-diploma Gemeente Havenstad", "AI diploma Municipality of Havenstad")[pick],
            description=(
                "Pilot in Werk en Inkomen en het Klantcontactcentrum, daarna uitrol in golven "
                "van drie maanden per functiefamilie en directie.",
                "A pilot in Work and Income and the Contact Centre, then rollout in waves of "
                "three months per job family and department.",
            )[pick],
        ),
    )
    phases = []
    for nl, en, kind, scope, start, end, offer, status in PHASES:
        start_date, end_date = today + timedelta(days=start), today + timedelta(days=end)
        windows = [
            {
                "label": ("Kennistoets", "Knowledge test")[pick],
                "start_date": end_date - timedelta(days=40),
                "end_date": end_date - timedelta(days=30),
            },
            {
                "label": ("Praktijkbeoordeling", "Practical assessment")[pick],
                "start_date": end_date - timedelta(days=14),
                "end_date": end_date,
            },
        ]
        phases.append(
            service.create_phase(
                session,
                programme=programme,
                data=PhaseCreate.model_validate(
                    {
                        "name": (nl, en)[pick],
                        "kind": kind,
                        "start_date": start_date,
                        "end_date": end_date,
                        "scope": ScopeIn(**scope),
                        "training_offer": offer,
                        "assessment_windows": windows,
                        "status": status,
                    }
                ),
                today=today,
            )
        )
    given = _pilot_feedback(session, phases[0], pick)
    return {"programmes": 1, "programme_phases": len(phases), "phase_feedback": given}


def _pilot_feedback(session: Session, pilot: Any, pick: int) -> int:
    rng = random.Random(SEED)
    employees = session.exec(
        select(Person.employee_number)
        .join(OrgUnit, col(OrgUnit.id) == Person.org_unit_id)
        .where(col(OrgUnit.external_id).in_(["team-wi", "team-kcc"]))
        .order_by(col(Person.employee_number))
    ).all()
    count = 0
    for group, respondents in RESPONDENTS.items():
        comments = COMMENTS[group]
        for index in range(respondents):
            # Employees answer under their name (one per person); the other groups anonymously.
            respondent = (
                f"employee:{employees[index]}"
                if group == RespondentGroup.employee and index < len(employees)
                else None
            )
            comment = comments[index % len(comments)][pick] if index < 2 * len(comments) else None
            feedback.record_feedback(
                session,
                phase=pilot,
                data=FeedbackCreate(
                    respondent_group=group,
                    respondent=respondent,
                    workload=rng.choice([2, 3, 3, 4]),
                    clarity=rng.choice([3, 4, 4, 5]),
                    relevance=rng.choice([3, 4, 5, 5]),
                    assessment_fairness=rng.choice([3, 4, 4, 5]),
                    comment=comment,
                ),
            )
            count += 1
    return count
