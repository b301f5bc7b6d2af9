"""Evaluation, awards, lifecycle and status of diplomas.

One person is evaluated with the pure rules (app.certification.rules) against
the current published competency model: the highest tier they meet is awarded,
or renewed when they meet it again inside the recertification window. The result
lands in `person_status`, the row every status read uses. Awards, renewals and
compliance changes leave through the outbox in the same transaction.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.certification import rules
from app.certification.models import (
    Certification,
    CertificationEvent,
    CertificationEventKind,
    CertificationKind,
    CertificationState,
    PersonStatus,
)
from app.competencies import requirements as requirement_service
from app.competencies import service as competency_service
from app.competencies.models import CompetencyModelVersion, VersionStatus
from app.competencies.schemas import TierContent, VersionContent
from app.core import audit, clock, outbox
from app.core.errors import Conflict, NotFound, Unprocessable
from app.evidence import service as evidence_service
from app.org.models import JobFamily, Person, PersonRole, Role


@dataclass
class ModelContext:
    """The current published model, prepared once for evaluating many people."""

    version: CompetencyModelVersion
    content: VersionContent
    level_rank: dict[str, int]
    tiers: list[TierContent]
    tier_rank: dict[str, int]
    tier_requirements: dict[str, list[rules.Requirement]]
    role_requirements: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    # Per tier with a shorter recertification path: its requirements (counted only inside
    # the window of a diploma held for that tier).
    refresher_requirements: dict[str, list[rules.Requirement]] = field(default_factory=dict)
    _lifecycles: dict[str, rules.Lifecycle] = field(default_factory=dict, repr=False)

    def lifecycle(self, tier_key: str) -> rules.Lifecycle:
        """The tier's lifecycle rules; built once per tier and context (asked per award)."""
        known = self._lifecycles.get(tier_key)
        if known is None:
            known = self._lifecycles[tier_key] = self._lifecycle(tier_key)
        return known

    def _lifecycle(self, tier_key: str) -> rules.Lifecycle:
        tier = next(t for t in self.tiers if t.key == tier_key)
        fixed = None
        if tier.renewal_fixed_date:
            month, day = tier.renewal_fixed_date.split("-")
            fixed = (int(month), int(day))
        return rules.Lifecycle(
            validity_months=tier.validity_months or 24,
            recertification_window_days=tier.recertification_window_days,
            grace_days=tier.grace_period_days,
            renewal_basis=rules.RenewalBasis(tier.renewal_basis),
            fixed_month_day=fixed,
        )

    def validity_months(self, tier_key: str) -> int:
        return next(t.validity_months for t in self.tiers if t.key == tier_key) or 24

    def requirement_of_role(self, session: Session, role_id: uuid.UUID) -> dict[str, Any]:
        if role_id not in self.role_requirements:  # an inactive role: ask for it alone
            self.role_requirements[role_id] = requirement_service.role_requirement(
                session, role_id=role_id, model_id=self.version.model_id
            )
        return self.role_requirements[role_id]


# The current version's key, read on every xAPI request and every evaluation: three
# columns with a statement built once, not an ORM entity load (a sixth of a single xAPI
# statement's store). The version itself is a detached copy kept per key; a published
# version never changes, and any change to its row (retiring it) changes the key.
CURRENT_VERSION_KEY = (
    sa.select(
        col(CompetencyModelVersion.id),
        col(CompetencyModelVersion.version),
        col(CompetencyModelVersion.published_at),
    )
    .where(col(CompetencyModelVersion.status) == VersionStatus.published)
    .order_by(col(CompetencyModelVersion.created_at))
    .limit(1)
)
_CURRENT_VERSIONS: dict[tuple[uuid.UUID, int, datetime | None], CompetencyModelVersion] = {}


def current_version(session: Session) -> CompetencyModelVersion | None:
    """The published version certification runs on: of the oldest model that has one.
    A detached copy: read its attributes, do not change it."""
    return version_of_key(session, session.execute(CURRENT_VERSION_KEY).first())


def version_of_key(session: Session, key: Sequence[Any] | None) -> CompetencyModelVersion | None:
    """current_version() from a row of CURRENT_VERSION_KEY the caller read with another
    query of its own (id, edit counter, publication time; None or NULLs: none published)."""
    if key is None or key[0] is None:
        return None
    cache_key = (key[0], key[1], key[2])
    with _CONTENT_CACHE_LOCK:
        version = _CURRENT_VERSIONS.get(cache_key)
    if version is None:
        loaded = session.get(CompetencyModelVersion, key[0])
        if loaded is None:  # pragma: no cover - deleted between the two reads
            return None
        version = _transient(loaded)
        with _CONTENT_CACHE_LOCK:
            if len(_CURRENT_VERSIONS) >= 16:
                _CURRENT_VERSIONS.clear()
            _CURRENT_VERSIONS[cache_key] = version
    return version


# A published version's content is frozen (edits need a draft), so it is read once per
# version and process: loading it costs ~10 queries, and LMS batches evaluate on every
# request. Keyed by id, edit counter and publication time, so content read inside a publish
# that rolled back is not reused for a later, different publication of that version.
@dataclass(frozen=True)
class _FrozenVersion:
    """What never changes in a published version: its content and its role assignments."""

    content: VersionContent
    by_role: dict[uuid.UUID, Any]
    by_family: dict[uuid.UUID, Any]
    extras: list[Any]


_CONTENT_CACHE: dict[tuple[uuid.UUID, int, datetime | None], _FrozenVersion] = {}
_CONTENT_CACHE_LOCK = threading.Lock()


def _transient(row: Any) -> Any:
    """A copy not bound to the session, so it can outlive it (the originals expire)."""
    columns = [c.key for c in type(row).__table__.columns]
    return type(row)(**{k: getattr(row, k) for k in columns})


def _read_frozen(session: Session, version: CompetencyModelVersion) -> _FrozenVersion:
    by_role, by_family = requirement_service._explicit(session, version_id=version.id)
    return _FrozenVersion(
        content=competency_service.version_content(session, version=version),
        by_role={k: _transient(v) for k, v in by_role.items()},
        by_family={k: _transient(v) for k, v in by_family.items()},
        extras=[_transient(e) for e in requirement_service._extras(session, version_id=version.id)],
    )


def _frozen(session: Session, version: CompetencyModelVersion) -> _FrozenVersion:
    if version.status != VersionStatus.published:
        return _read_frozen(session, version)
    key = (version.id, version.version, version.published_at)
    with _CONTENT_CACHE_LOCK:
        frozen = _CONTENT_CACHE.get(key)
    if frozen is None:
        frozen = _read_frozen(session, version)
        with _CONTENT_CACHE_LOCK:
            if len(_CONTENT_CACHE) >= 16:
                _CONTENT_CACHE.clear()
            _CONTENT_CACHE[key] = frozen
    return frozen


def published_content(session: Session, *, version: CompetencyModelVersion) -> VersionContent:
    """The content of a version, cached while it is published (read-only: do not mutate)."""
    return _frozen(session, version).content


def _role_requirements(
    session: Session, version: CompetencyModelVersion, frozen: _FrozenVersion
) -> dict[uuid.UUID, dict[str, Any]]:
    """requirement_service.role_requirements without re-reading what the published version
    froze; the register, roles and job families are read fresh (they change any time)."""
    families = session.execute(sa.select(JobFamily.id, JobFamily.key)).all()  # type: ignore[call-overload]
    rctx = requirement_service._Context(
        version=version,
        content=frozen.content,
        facts=requirement_service.register_facts(session),
        by_role=frozen.by_role,
        by_family=frozen.by_family,
        extras=frozen.extras,
        family_keys={f[0]: f[1] for f in families},
    )
    roles = session.exec(select(Role).where(Role.active == True)).all()  # noqa: E712
    return {role.id: requirement_service._requirement(rctx, role) for role in roles}


def load_context(
    session: Session, *, version: CompetencyModelVersion | None = None
) -> ModelContext | None:
    """The current model prepared for evaluation; `version`: the current_version() the
    caller already read in this transaction (saves the query)."""
    version = version or current_version(session)
    if version is None:
        return None
    frozen = _frozen(session, version)
    content = frozen.content
    level_rank = {level.key: index + 1 for index, level in enumerate(content.levels)}
    tier_requirements = {
        tier.key: [
            _requirement(r.competency, r.min_level, r.accepted_forms, r.min_score, level_rank)
            for r in tier.requirements
        ]
        for tier in content.tiers
    }
    refresher_requirements = {
        tier.key: [
            _requirement(r.competency, r.min_level, r.accepted_forms, r.min_score, level_rank)
            for r in tier.refresher_requirements
        ]
        for tier in content.tiers
        if tier.refresher_requirements
    }
    return ModelContext(
        version=version,
        content=content,
        level_rank=level_rank,
        tiers=list(content.tiers),
        tier_rank={tier.key: index + 1 for index, tier in enumerate(content.tiers)},
        tier_requirements=tier_requirements,
        role_requirements=_role_requirements(session, version, frozen),
        refresher_requirements=refresher_requirements,
    )


def _requirement(
    competency: str, level: str, forms: Any, min_score: float | None, level_rank: dict[str, int]
) -> rules.Requirement:
    # The model keeps minimum scores in percent; evidence carries scaled scores (0..1).
    return rules.Requirement(
        competency_key=competency,
        min_level=level_rank.get(level, 10_000),
        accepted_forms=frozenset(str(form) for form in forms),
        min_score=None if min_score is None else min_score / 100,
    )


def require_context(session: Session) -> ModelContext:
    ctx = load_context(session)
    if ctx is None:
        raise Unprocessable(
            "No competency model is published yet; publish one first.", slug="no-published-model"
        )
    return ctx


# --- evaluation of one person ---------------------------------------------------------------


@dataclass
class PersonEvaluation:
    status: PersonStatus
    required_competencies: list[rules.RequirementResult]
    tier_results: dict[str, rules.TierResult]
    changes: list[str]


def _evidence_of(session: Session, person_id: uuid.UUID, ctx: ModelContext) -> list[rules.Evidence]:
    return [
        rules.Evidence(
            competency_key=e.competency_key,
            level=ctx.level_rank.get(e.level_key, 0),
            form=e.assessment_form,
            occurred_at=e.occurred_at,
            passed=e.passed,
            score_scaled=e.score_scaled,
            voided=e.voided_at is not None,
            id=str(e.id),
        )
        for e in evidence_service.for_person(session, person_id=person_id)
    ]


def _current_roles(session: Session, person_id: uuid.UUID, today: date) -> list[PersonRole]:
    return list(
        session.exec(
            select(PersonRole).where(
                PersonRole.person_id == person_id,
                sa.or_(col(PersonRole.end_date).is_(None), col(PersonRole.end_date) >= today),
            )
        ).all()
    )


def due_on(start: date | None, due_days: int | None) -> date | None:
    """A requirement's deadline: its due period counted from the start of the role, else
    from the hire date (the caller passes whichever applies)."""
    return start + timedelta(days=due_days) if start and due_days else None


def _required(
    session: Session, person: Person, ctx: ModelContext, today: date
) -> tuple[str | None, date | None, list[rules.Requirement]]:
    """The tier the person's roles need, by when, and their role-specific competencies.

    Each role needing the highest tier gives a deadline (its due period from the start of
    that role, else from the hire date); the latest counts, so a move into a second role
    needing the same tier gives the person that role's full period."""
    required_tier: str | None = None
    due: date | None = None
    extras: dict[str, rules.Requirement] = {}
    for assignment in _current_roles(session, person.id, today) if person.active else []:
        if assignment.role_id not in ctx.role_requirements:
            continue  # an inactive role asks nothing, as in bulk evaluation and the matrix
        requirement = ctx.role_requirements[assignment.role_id]
        tier = requirement.get("tier")
        role_due = due_on(
            assignment.start_date or person.employment_start_date, requirement.get("due_days")
        )
        if tier in ctx.tier_rank and (
            required_tier is None or ctx.tier_rank[tier] > ctx.tier_rank[required_tier]
        ):
            required_tier, due = tier, role_due
        elif tier == required_tier and role_due and (due is None or role_due > due):
            due = role_due
        for competency in requirement.get("competencies", []):
            if any(not str(s).startswith("tier:") for s in competency["sources"]):
                extra = _requirement(
                    competency["competency"],
                    competency["min_level"],
                    competency["accepted_forms"],
                    competency.get("min_score"),
                    ctx.level_rank,
                )
                known = extras.get(extra.competency_key)
                if known is None or extra.min_level > known.min_level:
                    extras[extra.competency_key] = extra
    if required_tier is None:
        return None, None, list(extras.values())
    return required_tier, due, list(extras.values())


def evaluate_person(
    session: Session, *, person: Person, ctx: ModelContext, actor: str | None = None
) -> PersonEvaluation:
    """Evaluate one person now: award or renew what they meet, refresh their status row."""
    from app.certification.bulk import lock_people  # bulk builds on this module

    lock_people(session, [person.id])
    now = clock.now()
    today = now.date()
    evidence = _evidence_of(session, person.id, ctx)
    tier_results = {
        tier.key: rules.evaluate_tier(
            ctx.tier_requirements[tier.key],
            evidence,
            now=now,
            validity_months=tier.validity_months or 24,
        )
        for tier in ctx.tiers
    }
    changes: list[str] = []
    met = [key for key, result in tier_results.items() if result.met]
    if met and person.active:
        best = max(met, key=lambda key: ctx.tier_rank[key])
        change = _award_or_renew(session, person, ctx, best, tier_results[best], now, actor)
        if change:
            changes.append(change)
    if not changes and person.active and ctx.refresher_requirements:
        change = _renew_by_refresher(session, person, ctx, evidence, now, actor)
        if change:
            changes.append(change)
    required_tier, due_date, extras = _required(session, person, ctx, today)
    extra_results = [
        rules.evaluate_requirement(r, evidence, now=now, max_age_months=_max_validity(ctx))
        for r in extras
    ]
    status = _write_status(
        session,
        person=person,
        ctx=ctx,
        required_tier=required_tier,
        due_date=due_date,
        extras_met=all(r.met for r in extra_results),
        any_progress=any(result.any_progress for result in tier_results.values()),
        changes=changes,
    )
    required = (list(tier_results[required_tier].results) if required_tier else []) + extra_results
    return PersonEvaluation(
        status=status, required_competencies=required, tier_results=tier_results, changes=changes
    )


def _max_validity(ctx: ModelContext) -> int:
    return max((tier.validity_months or 24 for tier in ctx.tiers), default=24)


def _active_certifications(session: Session, person_id: uuid.UUID) -> list[Certification]:
    return list(
        session.exec(
            select(Certification).where(
                Certification.person_id == person_id,
                Certification.state.in_([CertificationState.active, CertificationState.suspended]),  # type: ignore[attr-defined]
            )
        ).all()
    )


def _award_or_renew(
    session: Session,
    person: Person,
    ctx: ModelContext,
    tier_key: str,
    result: rules.TierResult,
    now: datetime,
    actor: str | None,
) -> str | None:
    assert result.completed_at is not None
    today = now.date()
    completed_on = result.completed_at.date()
    lifecycle = ctx.lifecycle(tier_key)
    rank = ctx.tier_rank[tier_key]
    held = _active_certifications(session, person.id)
    if any(
        c.tier_rank > rank and c.state == CertificationState.active and today <= c.grace_until
        for c in held
    ):
        return None  # a valid higher diploma implies this one
    if _revoked_since(session, person.id, tier_key, result.completed_at):
        return None  # revoked by hand: only evidence from after the revocation counts again
    same = [c for c in held if c.tier_key == tier_key]
    if not same:
        _create_certification(
            session,
            person,
            ctx,
            tier_key,
            completed_on,
            now,
            actor,
            result=result,
            valid_until=rules.valid_until_for_award(lifecycle, completed_on=completed_on),
        )
        return "awarded"
    current = max(same, key=lambda c: c.valid_until)
    if current.state == CertificationState.suspended:
        return None
    if today > current.grace_until:
        if completed_on <= current.grace_until:
            return None  # only the old evidence: stays expired until new evidence comes
        _create_certification(
            session,
            person,
            ctx,
            tier_key,
            completed_on,
            now,
            actor,
            result=result,
            valid_until=rules.valid_until_for_award(lifecycle, completed_on=completed_on),
            renews=current,
        )
        return "awarded"
    earliest = result.earliest_at
    if (
        today >= current.window_opens_on
        and earliest is not None
        and earliest.date() >= current.window_opens_on
    ):
        _create_certification(
            session,
            person,
            ctx,
            tier_key,
            completed_on,
            now,
            actor,
            result=result,
            valid_until=rules.valid_until_for_renewal(
                lifecycle, previous_valid_until=current.valid_until, completed_on=completed_on
            ),
            renews=current,
        )
        return "renewed"
    return None


def renewable(held: list[Any], today: date) -> list[Any]:
    """The diplomas that can be renewed today, highest tier first: the latest active one of
    each tier, inside its window or grace period, and not implied by a valid diploma of a
    higher tier. Works on Certification rows and on the bulk evaluation's plain views."""
    latest: dict[str, Any] = {}
    for c in held:
        if str(c.state) == "active" and (
            c.tier_key not in latest or c.valid_until > latest[c.tier_key].valid_until
        ):
            latest[c.tier_key] = c
    due = [
        current
        for current in latest.values()
        if current.window_opens_on <= today <= current.grace_until
        and not any(
            c.tier_rank > current.tier_rank and str(c.state) == "active" and today <= c.grace_until
            for c in held
        )
    ]
    return sorted(due, key=lambda c: -c.tier_rank)


def refresher_due(
    ctx: ModelContext, held: list[Any], today: date
) -> list[tuple[Any, list[rules.Requirement]]]:
    """The renewable diplomas whose tier has a refresher path, each with that path."""
    return [
        (current, ctx.refresher_requirements[current.tier_key])
        for current in renewable(held, today)
        if current.tier_key in ctx.refresher_requirements
    ]


def _renew_by_refresher(
    session: Session,
    person: Person,
    ctx: ModelContext,
    evidence: list[rules.Evidence],
    now: datetime,
    actor: str | None,
) -> str | None:
    """Renew a diploma inside its window by the tier's shorter path, when it is met with
    evidence from the window; after expiry only the full path counts (_award_or_renew)."""
    for current, requirements in refresher_due(
        ctx, _active_certifications(session, person.id), now.date()
    ):
        result = rules.evaluate_in_window(
            requirements,
            evidence,
            now=now,
            window_opens_on=current.window_opens_on,
            validity_months=ctx.validity_months(current.tier_key),
        )
        if not result.met or result.completed_at is None:
            continue
        if _revoked_since(session, person.id, current.tier_key, result.completed_at):
            continue
        completed_on = result.completed_at.date()
        _create_certification(
            session,
            person,
            ctx,
            current.tier_key,
            completed_on,
            now,
            actor,
            result=result,
            valid_until=rules.valid_until_for_renewal(
                ctx.lifecycle(current.tier_key),
                previous_valid_until=current.valid_until,
                completed_on=completed_on,
            ),
            renews=current,
        )
        return "renewed"
    return None


def _revoked_since(
    session: Session, person_id: uuid.UUID, tier_key: str, completed_at: datetime
) -> bool:
    """Whether this tier was revoked after the evidence that meets it now was shown."""
    revoked_at = session.exec(
        select(sa.func.max(Certification.state_changed_at)).where(
            Certification.person_id == person_id,
            Certification.tier_key == tier_key,
            Certification.state == CertificationState.revoked,
        )
    ).one()
    return revoked_at is not None and completed_at < revoked_at


def _create_certification(
    session: Session,
    person: Person,
    ctx: ModelContext,
    tier_key: str,
    completed_on: date,
    now: datetime,
    actor: str | None,
    *,
    valid_until: date,
    renews: Certification | None = None,
    kind: CertificationKind = CertificationKind.evidence,
    document_ref: str | None = None,
    reason: str | None = None,
    result: rules.TierResult | None = None,
) -> Certification:
    lifecycle = ctx.lifecycle(tier_key)
    certification = Certification(
        person_id=person.id,
        tier_key=tier_key,
        tier_rank=ctx.tier_rank[tier_key],
        model_version_id=ctx.version.id,
        kind=kind,
        awarded_at=now,
        completed_on=completed_on,
        valid_from=completed_on if renews is None else min(completed_on, renews.valid_until),
        valid_until=valid_until,
        window_opens_on=rules.window_opens_on(lifecycle, valid_until),
        grace_until=valid_until + timedelta(days=lifecycle.grace_days),
        renews_id=renews.id if renews else None,
        document_ref=document_ref,
        state_reason=reason,
        awarded_by=actor,
    )
    if result is not None:
        certification.evidence_ids = sorted(
            r.satisfied_by.id for r in result.results if r.satisfied_by and r.satisfied_by.id
        )
    session.add(certification)
    # A renewal continues a diploma still in its window or grace; after that it is a fresh
    # award that supersedes the expired one (as bulk._new_row decides).
    kind_of_event = (
        CertificationEventKind.renewed
        if renews is not None and now.date() <= renews.grace_until
        else CertificationEventKind.awarded
    )
    if renews is not None:
        renews.state = CertificationState.superseded
        renews.state_changed_at = now
        renews.state_reason = f"superseded by {certification.id}"
        session.add(renews)
    session.flush()
    session.add(
        CertificationEvent(
            certification_id=certification.id,
            person_id=person.id,
            kind=kind_of_event,
            occurred_at=now,
            actor=actor,
            reason=reason,
            valid_until=valid_until,
        )
    )
    audit.record(
        session,
        entity_type="certification",
        entity_id=certification.id,
        action=str(kind_of_event),
        after=_audit_view(certification),
    )
    _queue_event(session, f"certification.{kind_of_event}", person, certification, ctx)
    return certification


def _queue_event(
    session: Session,
    event_type: str,
    person: Person,
    certification: Certification,
    ctx: ModelContext | None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Certification events wait for the person's new status (HR stores both together); the
    evaluation that follows every change emits them (see flush_events)."""
    session.info.setdefault("certification_events", []).append(
        (event_type, person, certification, ctx, extra or {})
    )


def flush_events(session: Session) -> None:
    """Emit queued certification events with the person's status as stored now."""
    today = clock.now().date()
    for event_type, person, certification, ctx, extra in session.info.pop(
        "certification_events", []
    ):
        status = session.get(PersonStatus, person.id)
        outbox.emit(
            session,
            event_type=event_type,
            ordering_key=str(person.id),
            data={
                **hr_payload(person, certification, ctx=ctx, status=status, today=today),
                **extra,
            },
        )


def hr_payload(
    person: Person,
    certification: Certification,
    *,
    ctx: ModelContext | None,
    status: PersonStatus | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """What HR stores on the employee record (issue 7, item 6): the diploma, and the person's
    status, compliance and required tier as they stand after the change."""
    derived = derive(status, today or clock.now().date()) if status is not None else {}
    return {
        "status": derived.get("status"),
        "compliant": derived.get("compliant"),
        "required_tier": derived.get("required_tier"),
        "person_id": str(person.id),
        "employee_number": person.employee_number,
        "certification_id": str(certification.id),
        "tier": certification.tier_key,
        "kind": str(certification.kind),
        "state": str(certification.state),
        "awarded_at": certification.awarded_at.isoformat(),
        "valid_until": certification.valid_until.isoformat(),
        "model_version_id": str(certification.model_version_id),
        "model_version": ctx.version.number if ctx else None,
        "credential_url": f"/certifications/{certification.id}/credential",
    }


def _held(session: Session, person_id: uuid.UUID, today: date) -> Certification | None:
    return pick_held(_active_certifications(session, person_id), today)


def pick_held(held: Sequence[Any], today: date) -> Any:
    """The diploma that counts: the highest valid one, else the latest one (expired). On
    Certification rows and on the bulk evaluation's plain views alike."""
    valid = [c for c in held if today <= c.grace_until]
    if valid:
        return max(valid, key=lambda c: (c.tier_rank, c.valid_until))
    return max(held, key=lambda c: c.valid_until) if held else None


def _write_status(
    session: Session,
    *,
    person: Person,
    ctx: ModelContext,
    required_tier: str | None,
    due_date: date | None,
    extras_met: bool,
    any_progress: bool,
    changes: list[str],
) -> PersonStatus:
    today = clock.now().date()
    held = _held(session, person.id, today)
    status = session.get(PersonStatus, person.id)
    before = derive(status, today) if status else None
    if status is None:
        status = PersonStatus(person_id=person.id, version=0)
    status.required_tier_key = required_tier
    status.required_tier_rank = ctx.tier_rank.get(required_tier) if required_tier else None
    status.due_date = due_date
    status.held_tier_key = held.tier_key if held else None
    status.held_tier_rank = held.tier_rank if held else None
    status.certification_id = held.id if held else None
    status.valid_until = held.valid_until if held else None
    status.window_opens_on = held.window_opens_on if held else None
    status.grace_until = held.grace_until if held else None
    status.suspended = bool(held and held.state == CertificationState.suspended)
    status.extras_met = extras_met
    status.any_progress = any_progress
    status.model_version_id = ctx.version.id
    status.evaluated_at = clock.now()
    status.version += 1
    session.add(status)
    session.flush()
    flush_events(session)  # the certification events of this evaluation, with this status
    after = derive(status, today)
    if before is None or before["compliant"] != after["compliant"]:
        outbox.emit(
            session,
            event_type="person.compliance_changed",
            ordering_key=str(person.id),
            data={
                "person_id": str(person.id),
                "employee_number": person.employee_number,
                **{k: _jsonable(v) for k, v in after.items()},
            },
        )
    return status


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def derive(status: PersonStatus | Any, today: date) -> dict[str, Any]:
    """The status fields as of `today`: derived from the stored dates, never stale.
    `status`: a PersonStatus, or anything with its attributes (values about to be stored)."""
    if status.suspended:
        state = "suspended"
    elif status.valid_until is None:
        state = str(rules.Status.in_progress if status.any_progress else rules.Status.not_started)
    elif status.grace_until is not None and today > status.grace_until:
        state = str(rules.Status.expired)
    elif status.window_opens_on is not None and today >= status.window_opens_on:
        state = str(rules.Status.expiring)
    else:
        state = str(rules.Status.certified)
    valid = state in ("certified", "expiring")
    meets_tier = status.required_tier_rank is None or (
        valid and (status.held_tier_rank or 0) >= status.required_tier_rank
    )
    compliant = meets_tier and status.extras_met
    overdue = (not compliant) and status.due_date is not None and today > status.due_date
    return {
        "tier": status.held_tier_key,
        "status": state,
        "valid_until": status.valid_until,
        "required_tier": status.required_tier_key,
        "due_date": status.due_date,
        "compliant": compliant,
        "overdue": overdue,
    }


# --- lifecycle by hand: revocation, suspension, reinstatement, alternative evidence ----------


def get_certification(session: Session, *, certification_id: uuid.UUID) -> Certification:
    certification = session.get(Certification, certification_id)
    if certification is None:
        raise NotFound(f"No certification {certification_id}.")
    return certification


_TRANSITIONS = {
    CertificationEventKind.revoked: (
        {CertificationState.active, CertificationState.suspended},
        CertificationState.revoked,
    ),
    CertificationEventKind.suspended: ({CertificationState.active}, CertificationState.suspended),
    CertificationEventKind.reinstated: ({CertificationState.suspended}, CertificationState.active),
    CertificationEventKind.withdrawn: (
        {CertificationState.active, CertificationState.suspended},
        CertificationState.withdrawn,
    ),
}


def change_state(
    session: Session,
    *,
    certification: Certification,
    event: CertificationEventKind,
    reason: str,
    actor: str | None,
) -> Certification:
    """Revoke, suspend or reinstate a diploma; the person is re-evaluated at once."""
    allowed, _target = _TRANSITIONS[event]
    if certification.state not in allowed:
        raise Conflict(
            f"A {certification.state} certification cannot be {event}.", slug="invalid-transition"
        )
    _set_state(session, certification, event, reason=reason, actor=actor)
    person = session.get(Person, certification.person_id)
    assert person is not None
    evaluate_person(session, person=person, ctx=require_context(session), actor=actor)
    return certification


def _set_state(
    session: Session,
    certification: Certification,
    event: CertificationEventKind,
    *,
    reason: str,
    actor: str | None,
) -> None:
    _allowed, target = _TRANSITIONS[event]
    before = _audit_view(certification)
    now = clock.now()
    certification.state = target
    certification.state_changed_at = now
    certification.state_reason = reason
    certification.state_changed_by = actor
    session.add(certification)
    session.add(
        CertificationEvent(
            certification_id=certification.id,
            person_id=certification.person_id,
            kind=event,
            occurred_at=now,
            actor=actor,
            reason=reason,
            valid_until=certification.valid_until,
        )
    )
    session.flush()
    audit.record(
        session,
        entity_type="certification",
        entity_id=certification.id,
        action=str(event),
        before=before,
        after=_audit_view(certification),
    )
    person = session.get(Person, certification.person_id)
    assert person is not None
    if event is not CertificationEventKind.reinstated:
        _queue_event(
            session, f"certification.{event}", person, certification, None, {"reason": reason}
        )


def void_evidence_and_reevaluate(
    session: Session, *, evidence_id: uuid.UUID, reason: str, actor: str | None
) -> Any:
    """Void evidence; a diploma that rested on it is withdrawn, then the person is re-evaluated
    (which awards again at once when other evidence still meets the tier)."""
    evidence = evidence_service.get(session, evidence_id=evidence_id)
    evidence_service.void(session, evidence=evidence, reason=reason, actor=actor)
    withdraw_resting_on(
        session, person_id=evidence.person_id, evidence_ids={str(evidence.id)}, actor=actor
    )
    person = session.get(Person, evidence.person_id)
    assert person is not None
    evaluate_person(session, person=person, ctx=require_context(session), actor=actor)
    return evidence


def withdraw_resting_on(
    session: Session,
    *,
    person_id: uuid.UUID,
    evidence_ids: set[str],
    actor: str | None,
    ctx: ModelContext | None = None,
) -> int:
    """Withdraw the person's current diplomas that were awarded on any of these evidence ids;
    `ctx`: the current model, when the caller has it."""
    withdrawn = 0
    voided = [evidence_service.get(session, evidence_id=uuid.UUID(i)) for i in evidence_ids]
    ctx = ctx or load_context(session)
    for certification in _active_certifications(session, person_id):
        # Awards made in bulk do not list their evidence: voided evidence from before their
        # completion, for a competency the tier asks (either path), may have carried them.
        rested_on = (
            evidence_ids & set(certification.evidence_ids)
            if certification.evidence_ids
            else any(
                e.occurred_at.date() <= certification.completed_on
                and _counts_for(ctx, certification.tier_key, e.competency_key)
                for e in voided
            )
        )
        if rested_on:
            _set_state(
                session,
                certification,
                CertificationEventKind.withdrawn,
                reason="supporting evidence was voided",
                actor=actor,
            )
            withdrawn += 1
    return withdrawn


def _counts_for(ctx: ModelContext | None, tier_key: str, competency_key: str) -> bool:
    """Whether evidence for this competency can have carried a diploma of this tier; when
    the tier is not in the current model, assume it can."""
    if ctx is None or tier_key not in ctx.tier_requirements:
        return True
    requirements = ctx.tier_requirements[tier_key] + ctx.refresher_requirements.get(tier_key, [])
    return any(r.competency_key == competency_key for r in requirements)


def award_alternative(
    session: Session,
    *,
    person: Person,
    tier_key: str,
    document_ref: str,
    reason: str,
    valid_until: date | None,
    actor: str | None,
) -> Certification:
    """Award a tier on recognised prior learning or an external certificate."""
    ctx = require_context(session)
    if tier_key not in ctx.tier_rank:
        raise Unprocessable(f"The current model has no tier {tier_key}.", slug="unknown-tier")
    if not person.active:
        raise Unprocessable("The person is not active.", slug="inactive-person")
    now = clock.now()
    lifecycle = ctx.lifecycle(tier_key)
    default_until = rules.valid_until_for_award(lifecycle, completed_on=now.date())
    if valid_until is not None and valid_until <= now.date():
        raise Unprocessable("valid_until must lie in the future.", slug="invalid-validity")
    certification = _create_certification(
        session,
        person,
        ctx,
        tier_key,
        now.date(),
        now,
        actor,
        valid_until=min(valid_until or default_until, default_until),
        kind=CertificationKind.alternative,
        document_ref=document_ref,
        reason=reason,
    )
    evaluate_person(session, person=person, ctx=ctx, actor=actor)
    return certification


# --- reads -------------------------------------------------------------------------------------


def status_of(session: Session, *, person: Person) -> dict[str, Any]:
    """The status document of one person, as of today."""
    status = session.get(PersonStatus, person.id)
    if status is None:
        # Never evaluated (e.g. no model published yet): say so rather than guess.
        status = PersonStatus(person_id=person.id)
    derived = derive(status, clock.now().date())
    return {
        "person_id": person.id,
        "employee_number": person.employee_number,
        **derived,
        "certification_id": status.certification_id,
        "model_version_id": status.model_version_id,
        "evaluated_at": status.evaluated_at if status.version else None,
    }


def history(session: Session, *, person_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every diploma of a person with its events, newest first."""
    certifications = session.exec(
        select(Certification)
        .where(Certification.person_id == person_id)
        .order_by(Certification.awarded_at.desc())  # type: ignore[attr-defined]
    ).all()
    events = session.exec(
        select(CertificationEvent)
        .where(CertificationEvent.person_id == person_id)
        .order_by(CertificationEvent.occurred_at)  # type: ignore[arg-type]
    ).all()
    by_certification: dict[uuid.UUID, list[CertificationEvent]] = {}
    for event in events:
        by_certification.setdefault(event.certification_id, []).append(event)
    return [
        {**_as_dict(c), "events": [_as_dict(e) for e in by_certification.get(c.id, [])]}
        for c in certifications
    ]


def _audit_view(certification: Certification) -> dict[str, Any]:
    return {key: service_json(value) for key, value in _as_dict(certification).items()}


def service_json(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _as_dict(row: Any) -> dict[str, Any]:
    # Column values as loaded (enum columns come back as plain strings).
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def gaps(session: Session, *, person: Person) -> dict[str, Any]:
    """What stands between a person and compliance, with the training offer for each gap.

    A read: the rules run on the person's evidence in memory; nothing is awarded or written
    (evidence changes and the worker's catch-up keep the stored status current)."""
    ctx = require_context(session)
    now = clock.now()
    today = now.date()
    required_tier, due_date, extras = _required(session, person, ctx, today)
    evidence = _evidence_of(session, person.id, ctx)
    tier_results: list[rules.RequirementResult] = []
    path = "full"
    if required_tier is not None:
        validity = ctx.validity_months(required_tier)
        in_window = next(
            (
                c
                for c in renewable(_active_certifications(session, person.id), today)
                if c.tier_key == required_tier
            ),
            None,
        )
        if in_window is not None:
            # What renews the diploma: the refresher path, or else every requirement again,
            # each counted only with evidence from the window.
            path = "refresher" if required_tier in ctx.refresher_requirements else "renewal"
            tier_results = list(
                rules.evaluate_in_window(
                    ctx.refresher_requirements.get(required_tier)
                    or ctx.tier_requirements[required_tier],
                    evidence,
                    now=now,
                    window_opens_on=in_window.window_opens_on,
                    validity_months=validity,
                ).results
            )
        else:
            tier_results = list(
                rules.evaluate_tier(
                    ctx.tier_requirements[required_tier],
                    evidence,
                    now=now,
                    validity_months=validity,
                ).results
            )
    required_results = tier_results + [
        rules.evaluate_requirement(r, evidence, now=now, max_age_months=_max_validity(ctx))
        for r in extras
    ]
    stored = session.get(PersonStatus, person.id) or PersonStatus(person_id=person.id)
    mappings = ctx.content.activity_mappings
    items = []
    for result in required_results:
        if result.met:
            continue
        requirement = result.requirement
        offer = [
            {
                "activity_id": m.activity_id,
                "match": str(m.match),
                "level": m.level,
                "assessment_form": str(m.assessment_form),
            }
            for m in mappings
            if m.competency == requirement.competency_key
            and ctx.level_rank.get(m.level, 0) >= requirement.min_level
            and str(m.assessment_form) in requirement.accepted_forms
        ]
        level_key = next(
            (k for k, rank in ctx.level_rank.items() if rank == requirement.min_level), None
        )
        items.append(
            {
                "competency": requirement.competency_key,
                "min_level": level_key,
                "accepted_forms": sorted(requirement.accepted_forms),
                "min_score": None if requirement.min_score is None else requirement.min_score * 100,
                "missing": str(result.gap),
                "activities": offer,
            }
        )
    derived = derive(stored, today)
    return {
        "person_id": person.id,
        "employee_number": person.employee_number,
        "required_tier": required_tier,
        "due_date": due_date,
        "compliant": derived["compliant"],
        "overdue": derived["overdue"],
        "path": path,
        "gaps": items,
    }


CHANGE_EVENT_TYPES = (
    "certification.awarded",
    "certification.renewed",
    "certification.expiring",
    "certification.expired",
    "certification.revoked",
    "certification.suspended",
    "certification.withdrawn",
    "person.compliance_changed",
)


def changes(
    session: Session, *, after_seq: int, limit: int
) -> tuple[list[outbox.OutboxEvent], int]:
    """Status changes in commit order after a sequence number; returns them and the new cursor."""
    rows = list(
        session.exec(
            select(outbox.OutboxEvent)
            .where(
                outbox.OutboxEvent.seq > after_seq,
                col(outbox.OutboxEvent.event_type).in_(CHANGE_EVENT_TYPES),
            )
            .order_by(col(outbox.OutboxEvent.seq))
            .limit(limit)
        ).all()
    )
    return rows, (rows[-1].seq if rows else after_seq)


def people_by_keys(session: Session, *, keys: list[str]) -> tuple[list[Person], list[str]]:
    """Resolve many person keys (id, employee:{n}, email:{a}) in three queries at most;
    returns the people in the order of the keys and the keys that matched nobody."""
    ids: dict[str, uuid.UUID] = {}
    numbers: dict[str, str] = {}
    emails: dict[str, str] = {}
    for key in keys:
        prefix, sep, value = key.partition(":")
        if sep and prefix == "employee":
            numbers[key] = value
        elif sep and prefix == "email":
            emails[key] = value.lower()
        else:
            try:
                ids[key] = uuid.UUID(key)
            except ValueError:
                continue
    found: dict[str, Person] = {}
    if ids:
        rows = session.exec(select(Person).where(Person.id.in_(list(ids.values())))).all()  # type: ignore[attr-defined]
        by_id = {p.id: p for p in rows}
        found.update({k: by_id[v] for k, v in ids.items() if v in by_id})
    if numbers:
        rows = session.exec(
            select(Person).where(Person.employee_number.in_(list(numbers.values())))  # type: ignore[attr-defined]
        ).all()
        by_number = {p.employee_number: p for p in rows}
        found.update({k: by_number[v] for k, v in numbers.items() if v in by_number})
    if emails:
        rows = session.exec(
            select(Person).where(sa.func.lower(Person.email).in_(list(emails.values())))
        ).all()
        by_email = {(p.email or "").lower(): p for p in rows}
        found.update({k: by_email[v] for k, v in emails.items() if v in by_email})
    return [found[k] for k in keys if k in found], [k for k in keys if k not in found]


def void_by_source_and_reevaluate(
    session: Session,
    *,
    source: str,
    source_refs: list[str],
    reason: str,
    actor: str | None,
    ctx: ModelContext | None = None,
) -> list[uuid.UUID]:
    """Void the evidence these source records produced (an xAPI voiding statement), withdraw
    diplomas resting on it and re-evaluate each affected person once. Returns those people."""
    voided = evidence_service.void_by_source(
        session, source=source, source_refs=source_refs, reason=reason, actor=actor
    )
    ctx = ctx or load_context(session)
    for person_id, evidence_ids in voided.items():
        withdraw_resting_on(
            session, person_id=person_id, evidence_ids=evidence_ids, actor=actor, ctx=ctx
        )
    evaluate_people(session, person_ids=sorted(voided), ctx=ctx, actor=actor)
    flush_events(session)  # any left when no model is published
    return sorted(voided)


def evaluate_people(
    session: Session,
    *,
    person_ids: list[uuid.UUID],
    ctx: ModelContext | None = None,
    actor: str | None = None,
) -> int:
    """Evaluate each of these people once (an LMS batch touches many), set-based."""
    from app.certification import bulk  # bulk builds on this module

    ctx = ctx or load_context(session)
    if ctx is None or not person_ids:
        return 0
    return bulk.evaluate_everyone(session, ctx=ctx, person_ids=person_ids, actor=actor).evaluated
