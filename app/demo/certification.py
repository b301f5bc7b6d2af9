"""Demo diplomas: a believable spread over the 300 people of Gemeente Havenstad.

Some earned their diploma months ago, some two years ago (now in the recertification
window; a few of them already renewed it by the tier's shorter refresher path), some
before that (expired), some are half-way, most have not started. Historic
awards are made the honest way: the evidence is dated in the past and the person is
evaluated with the clock set to that day, so history, events and dates are what they
would have been. Then everyone is evaluated today.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from app.certification import bulk, service
from app.certification.models import Certification, CertificationEventKind
from app.core import clock
from app.evidence import service as evidence_service
from app.evidence.schemas import PRACTICE_FORMS, EvidenceCreate
from app.org.models import Person, PersonRole

SEED = 20261126
# Share of people per outcome; the rest has not started.
BUCKETS = [
    ("certified", 0.30),
    ("expiring", 0.07),
    ("refreshed", 0.04),
    ("expired", 0.07),
    ("in_progress", 0.23),
]


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Evaluate as if it were `moment` (the demo writes history; nothing else does this)."""
    clock.set_clock(lambda: moment)
    try:
        yield
    finally:
        clock.set_clock(None)


def load(session: Session, *, language: str) -> dict[str, int]:
    ctx = service.load_context(session)
    if ctx is None:
        return {}
    rng = random.Random(SEED)
    now = clock.now()
    people = session.exec(
        select(Person).where(Person.active).order_by(Person.employee_number)
    ).all()
    assessors = [p for p in people if p.manager_id is None] or list(people[:1])
    counts = {"demo_evidence": 0}
    for person in people:
        outcome = _pick(rng)
        if outcome == "not_started":
            continue
        requirements = _requirements_of(session, ctx, person)
        if not requirements:
            continue
        if outcome == "in_progress":
            requirements = requirements[: max(1, len(requirements) // 2)]
        days_ago = {
            "certified": rng.randint(20, 330),
            "expiring": rng.randint(660, 700),
            "refreshed": rng.randint(660, 700),
            "expired": rng.randint(800, 900),
            "in_progress": rng.randint(5, 120),
        }[outcome]
        moment = now - timedelta(days=days_ago)
        assessor = person.manager_id or assessors[0].id
        for index, (competency, level, forms, min_score) in enumerate(requirements):
            form = next((f for f in forms if f in PRACTICE_FORMS), forms[0])
            score = min(1.0, (min_score or 60) / 100 + rng.uniform(0.05, 0.25))
            _record(
                session,
                ctx,
                person,
                (competency, level, form, score),
                at=moment - timedelta(days=len(requirements) - index),
                source_ref=f"demo-{person.employee_number}-{competency}",
                assessor=assessor,
                notes="Beoordeeld in het werkoverleg."
                if language == "nl"
                else "Assessed in the team meeting.",
            )
            counts["demo_evidence"] += 1
        with clock_at(moment + timedelta(hours=2)):
            service.evaluate_person(session, person=person, ctx=ctx, actor="demo")
        if outcome == "refreshed":
            # The micro-learning test of the refresher path, taken in the window, renews the
            # diploma from its old expiry date (as a POST /evidence would, at once).
            for competency, level, form, min_score in _refresher_of(session, ctx, person):
                _record(
                    session,
                    ctx,
                    person,
                    (competency, level, form, min(1.0, (min_score or 60) / 100 + 0.1)),
                    at=now - timedelta(days=rng.randint(3, 20)),
                    source_ref=f"demo-refresher-{person.employee_number}-{competency}",
                    assessor=assessor,
                )
                counts["demo_evidence"] += 1
            service.evaluate_person(session, person=person, ctx=ctx, actor="demo")
    counts.update(_lifecycle_examples(session, ctx, people, language))
    result = bulk.evaluate_everyone(session, ctx=ctx, actor="demo")
    counts["demo_certifications"] = len(session.exec(select(Certification.id)).all())
    counts["demo_evaluated"] = result.evaluated
    return counts


def _pick(rng: random.Random) -> str:
    draw = rng.random()
    for name, share in BUCKETS:
        if draw < share:
            return name
        draw -= share
    return "not_started"


def _requirements_of(
    session: Session, ctx: service.ModelContext, person: Person
) -> list[tuple[str, str, list[str], float | None]]:
    """Everything the person's roles ask: their tier's requirements plus role extras."""
    roles = session.exec(select(PersonRole.role_id).where(PersonRole.person_id == person.id)).all()
    wanted: dict[str, tuple[str, str, list[str], float | None]] = {}
    for role_id in roles:
        for item in ctx.requirement_of_role(session, role_id).get("competencies", []):
            wanted[item["competency"]] = (
                item["competency"],
                item["min_level"],
                list(item["accepted_forms"]),
                item.get("min_score"),
            )
    return list(wanted.values())


def _record(
    session: Session,
    ctx: service.ModelContext,
    person: Person,
    shown: tuple[str, str, str, float],
    *,
    at: datetime,
    source_ref: str,
    assessor: Any,
    notes: str | None = None,
) -> None:
    """One passed assessment (competency, level, form, scaled score), entered by an assessor."""
    competency, level, form, score = shown
    evidence_service.record(
        session,
        data=EvidenceCreate(
            person_id=person.id,
            competency_key=competency,
            level_key=level,
            assessment_form=form,
            source="assessor",
            source_ref=source_ref,
            score_scaled=round(score, 2),
            passed=True,
            occurred_at=at,
            assessor_person_id=assessor if form in PRACTICE_FORMS else None,
            assessor_client_id="demo",
            notes=notes,
        ),
        content=ctx.content,
    )


def _refresher_of(
    session: Session, ctx: service.ModelContext, person: Person
) -> list[tuple[str, str, str, float | None]]:
    """The refresher path of the highest tier the person's roles ask, one form each."""
    roles = session.exec(select(PersonRole.role_id).where(PersonRole.person_id == person.id)).all()
    tiers = [ctx.requirement_of_role(session, role_id).get("tier") for role_id in roles]
    ranked = [t for t in tiers if t in ctx.tier_rank]
    if not ranked:
        return []
    tier = next(t for t in ctx.tiers if t.key == max(ranked, key=ctx.tier_rank.__getitem__))
    return [
        (r.competency, r.min_level, str(r.accepted_forms[0]), r.min_score)
        for r in tier.refresher_requirements
    ]


def _lifecycle_examples(
    session: Session, ctx: service.ModelContext, people: Sequence[Person], language: str
) -> dict[str, int]:
    """A revoked and a suspended diploma, and two awards on alternative evidence."""
    nl = language == "nl"
    held = session.exec(select(Certification).where(Certification.state == "active")).all()
    examples: dict[str, Any] = {"demo_revoked": 0, "demo_suspended": 0, "demo_alternative": 0}
    if len(held) >= 2:
        service.change_state(
            session,
            certification=held[0],
            event=CertificationEventKind.revoked,
            reason="Praktijkopdracht bleek niet zelf gemaakt."
            if nl
            else "The practical assignment turned out not to be their own work.",
            actor="demo",
        )
        service.change_state(
            session,
            certification=held[1],
            event=CertificationEventKind.suspended,
            reason="Lopend onderzoek naar een datalek met een AI-tool."
            if nl
            else "Ongoing investigation into a data leak through an AI tool.",
            actor="demo",
        )
        examples["demo_revoked"] = examples["demo_suspended"] = 1
    uncertified = [p for p in people if p.id not in {c.person_id for c in held}]
    top_tier = ctx.tiers[-1].key if ctx.tiers else None
    for person, document in zip(
        uncertified[-2:], ("EXIN-AI-2026-0412", "TNO-AICERT-7781"), strict=False
    ):
        if top_tier is None:
            break
        service.award_alternative(
            session,
            person=person,
            tier_key=ctx.tiers[1].key if len(ctx.tiers) > 1 else top_tier,
            document_ref=document,
            reason="Extern AI-certificaat erkend (EVC)."
            if nl
            else "External AI certificate recognised (prior learning).",
            valid_until=None,
            actor="demo",
        )
        examples["demo_alternative"] += 1
    return examples
