"""What each role needs: its tier derived from the register or set explicitly, plus
role-specific competencies; the roles x competencies matrix; activity matching.

The register (app.registry.service) gives each role's effective risk class and the
overseers of high-risk AI systems; when the register changes, requirements follow.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.competencies import service
from app.competencies.models import (
    ActivityMapping,
    ActivityMatch,
    CompetencyModel,
    CompetencyModelVersion,
    DerivationKind,
    RoleCompetencyRequirement,
    RoleTierAssignment,
    VersionStatus,
)
from app.competencies.rules import unused_competencies
from app.competencies.schemas import VersionContent
from app.core.errors import BadRequest, NotFound
from app.org.models import JobFamily, Role
from app.registry import service as registry_service


@dataclass
class RegisterFacts:
    """What the register says about roles, read once for many roles."""

    available: bool
    risk_classes: dict[uuid.UUID, str] = field(default_factory=dict)
    overseer_role_ids: set[uuid.UUID] = field(default_factory=set)


def register_facts(session: Session) -> RegisterFacts:
    """Every role's effective risk class and the overseer roles, in a few set-based reads."""
    return RegisterFacts(
        available=True,
        risk_classes={
            k: str(v) for k, v in registry_service.all_role_risk_classes(session).items()
        },
        overseer_role_ids=set(registry_service.overseer_role_ids_of_high_risk_systems(session)),
    )


def resolve_version(
    session: Session, *, model_id: uuid.UUID | None, number: int | None = None
) -> CompetencyModelVersion:
    """The version requirements are read from: a given one, or the model's current published one.

    Without a model id, the only model with a published version is used.
    """
    if model_id is None:
        model_ids = session.exec(
            select(CompetencyModelVersion.model_id).where(
                CompetencyModelVersion.status == VersionStatus.published
            )
        ).all()
        if not model_ids:
            raise NotFound("No competency model has a published version.")
        if len(set(model_ids)) > 1:
            raise BadRequest("Several competency models are published; pass model_id.")
        model_id = model_ids[0]
    if number is not None:
        return service.get_version(session, model_id=model_id, number=number)
    service.get_model(session, model_id=model_id)
    version = service.current_version(session, model_id=model_id)
    if version is None:
        raise NotFound(f"Model {model_id} has no published version.")
    return version


def _explicit(
    session: Session, *, version_id: uuid.UUID
) -> tuple[dict[uuid.UUID, RoleTierAssignment], dict[uuid.UUID, RoleTierAssignment]]:
    rows = session.exec(
        select(RoleTierAssignment).where(RoleTierAssignment.version_id == version_id)
    ).all()
    by_role = {r.role_id: r for r in rows if r.role_id}
    by_family = {r.job_family_id: r for r in rows if r.job_family_id}
    return by_role, by_family


def _extras(session: Session, *, version_id: uuid.UUID) -> list[RoleCompetencyRequirement]:
    return list(
        session.exec(
            select(RoleCompetencyRequirement).where(
                RoleCompetencyRequirement.version_id == version_id
            )
        ).all()
    )


# Days to reach a tier after starting in a role that needs it (or being hired) when neither
# the tier nor the role's assignment sets one: the first tier within 60 days, higher tiers
# within six months.
DEFAULT_DUE_DAYS_FIRST_TIER = 60
DEFAULT_DUE_DAYS_HIGHER_TIER = 183


@dataclass
class _Context:
    version: CompetencyModelVersion
    content: VersionContent
    facts: RegisterFacts
    by_role: dict[uuid.UUID, RoleTierAssignment]
    by_family: dict[uuid.UUID, RoleTierAssignment]
    extras: list[RoleCompetencyRequirement]
    family_keys: dict[uuid.UUID, str]


def _context(
    session: Session, version: CompetencyModelVersion, facts: RegisterFacts | None = None
) -> _Context:
    by_role, by_family = _explicit(session, version_id=version.id)
    families = session.execute(sa.select(col(JobFamily.id), col(JobFamily.key))).all()
    return _Context(
        version=version,
        content=service.version_content(session, version=version),
        facts=facts or register_facts(session),
        by_role=by_role,
        by_family=by_family,
        extras=_extras(session, version_id=version.id),
        family_keys={f[0]: f[1] for f in families},
    )


def _requirement(ctx: _Context, role: Role) -> dict[str, Any]:
    content = ctx.content
    tier_rank = {t.key: i for i, t in enumerate(content.tiers)}
    level_rank = {lv.key: i for i, lv in enumerate(content.levels)}
    risk_class = ctx.facts.risk_classes.get(role.id)
    is_overseer = role.id in ctx.facts.overseer_role_ids
    applied = []
    for rule in content.derivation_rules:
        if rule.kind == DerivationKind.risk_class and risk_class == rule.risk_class:
            applied.append(
                {"kind": str(rule.kind), "risk_class": rule.risk_class, "tier": rule.tier}
            )
        elif rule.kind == DerivationKind.high_risk_overseer and is_overseer:
            applied.append({"kind": str(rule.kind), "risk_class": None, "tier": rule.tier})
    derived_tier: str | None = max(
        (str(a["tier"]) for a in applied), key=lambda k: tier_rank.get(k, -1), default=None
    )
    explicit = ctx.by_role.get(role.id)
    source = "derived" if derived_tier else "none"
    tier, reason, due_days = derived_tier, None, None
    if explicit is not None:
        tier, reason, source = explicit.tier_key, explicit.reason, "explicit_role"
        due_days = explicit.due_days
    elif role.job_family_id and role.job_family_id in ctx.by_family:
        family = ctx.by_family[role.job_family_id]
        tier, reason, source = family.tier_key, family.reason, "explicit_job_family"
        due_days = family.due_days

    competencies: dict[str, dict[str, Any]] = {}

    def add(key: str, level: str, forms: list[str], score: float | None, origin: str) -> None:
        current = competencies.get(key)
        if current is None:
            competencies[key] = {"competency": key, "sources": []}
            current = competencies[key]
        # The highest level wins with its forms and score; every source stays listed.
        if "min_level" not in current or level_rank.get(level, -1) > level_rank.get(
            current["min_level"], -1
        ):
            current.update(min_level=level, accepted_forms=list(forms), min_score=score)
        current["sources"].append(origin)

    tiers = {t.key: t for t in content.tiers}
    if tier in tiers and due_days is None:
        due_days = tiers[tier].due_days or (
            DEFAULT_DUE_DAYS_FIRST_TIER if tier_rank[tier] == 0 else DEFAULT_DUE_DAYS_HIGHER_TIER
        )
    if tier in tiers:
        for r in tiers[tier].requirements:
            add(
                r.competency,
                r.min_level,
                [str(f) for f in r.accepted_forms],
                r.min_score,
                f"tier:{tier}",
            )
    for extra in ctx.extras:
        if extra.role_id == role.id:
            origin = "role"
        elif extra.job_family_id and extra.job_family_id == role.job_family_id:
            origin = "job_family"
        else:
            continue
        add(
            extra.competency_key, extra.min_level_key, extra.accepted_forms, extra.min_score, origin
        )
    return {
        "role_id": role.id,
        "role_key": role.key,
        "role_name": role.name,
        "job_family": ctx.family_keys.get(role.job_family_id) if role.job_family_id else None,
        "model_id": ctx.version.model_id,
        "version": ctx.version.number,
        "tier": tier,
        "source": source,
        "reason": reason,
        "due_days": due_days if tier in tiers else None,
        "derived": {
            "register_available": ctx.facts.available,
            "risk_class": risk_class,
            "high_risk_overseer": is_overseer,
            "rules_applied": applied,
            "tier": derived_tier,
        },
        "competencies": [competencies[k] for k in sorted(competencies, key=_order(content))],
    }


def _order(content: VersionContent) -> Any:
    position = {c.key: i for i, c in enumerate(content.competencies)}
    return lambda key: position.get(key, len(position))


def role_requirement(
    session: Session,
    *,
    role_id: uuid.UUID,
    model_id: uuid.UUID | None = None,
    number: int | None = None,
) -> dict[str, Any]:
    """A role's requirement and where it comes from (derived from the register, or explicit)."""
    role = session.get(Role, role_id)
    if role is None:
        raise NotFound(f"No role {role_id}.")
    version = resolve_version(session, model_id=model_id, number=number)
    ctx = _context(session, version)
    # The single-role call carries the register's reasons too.
    risk = registry_service.role_risk_class(session, role_id=role_id)
    result = _requirement(ctx, role)
    result["derived"]["register_reasons"] = [str(r) for r in risk.reasons]
    return result


def role_requirements(
    session: Session, *, version: CompetencyModelVersion
) -> dict[uuid.UUID, dict[str, Any]]:
    """Every active role's requirement under one version, reading the register once."""
    ctx = _context(session, version)
    roles = session.exec(select(Role).where(Role.active == True)).all()  # noqa: E712
    return {role.id: _requirement(ctx, role) for role in roles}


def matrix(
    session: Session, *, model_id: uuid.UUID, number: int | None = None, language: str = "en"
) -> dict[str, Any]:
    """Roles x competencies with the minimum level and forms: the works-council document."""
    version = resolve_version(session, model_id=model_id, number=number)
    model = session.get(CompetencyModel, version.model_id)
    assert model is not None
    ctx = _context(session, version)
    roles = session.exec(
        select(Role).where(Role.active == True).order_by(Role.key)  # noqa: E712
    ).all()
    rows = []
    for role in roles:
        req = _requirement(ctx, role)
        rows.append(
            {
                "role_id": role.id,
                "role_key": role.key,
                "role_name": role.name,
                "job_family": req["job_family"],
                "tier": req["tier"],
                "source": req["source"],
                "cells": {
                    c["competency"]: {
                        "min_level": c["min_level"],
                        "accepted_forms": c["accepted_forms"],
                        "min_score": c["min_score"],
                    }
                    for c in req["competencies"]
                },
            }
        )
    return {
        "model_id": model.id,
        "model_key": model.key,
        "version": version.number,
        "language": language,
        "levels": [
            {"key": lv.key, "title": localized(lv.title, language)} for lv in ctx.content.levels
        ],
        "competencies": [
            {"key": c.key, "domain": c.domain, "title": localized(c.title, language)}
            for c in ctx.content.competencies
        ],
        "roles": rows,
    }


def localized(text: dict[str, str], language: str) -> str:
    return text.get(language) or text.get("en") or next(iter(text.values()), "")


def matrix_rows(data: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The matrix as flat rows for CSV: one per role, one column per competency ('level: forms')."""
    keys = [c["key"] for c in data["competencies"]]
    rows = []
    for row in data["roles"]:
        flat = {k: row[k] for k in ("role_key", "role_name", "job_family", "tier", "source")}
        for key in keys:
            cell = row["cells"].get(key)
            flat[key] = f"{cell['min_level']}: {'|'.join(cell['accepted_forms'])}" if cell else None
        rows.append(flat)
    return rows, ["role_key", "role_name", "job_family", "tier", "source", *keys]


def publish_warnings(
    session: Session, *, version: CompetencyModelVersion, content: VersionContent
) -> list[dict[str, str]]:
    """Not blocking: competencies no tier or role uses; roles in high-impact processes without
    a requirement; explicit tiers below what the register derives for a role."""
    warnings = [
        {
            "code": "competency-unused",
            "message": f"No tier or role requires competency {key!r}.",
            "item": key,
        }
        for key in unused_competencies(content)
    ]
    ctx = _context(session, version)
    try:
        from app.registry.models import ImpactLevel, Process, RoleProcessLink

        high_impact = set(
            session.exec(
                select(RoleProcessLink.role_id)
                .join(Process, col(Process.id) == col(RoleProcessLink.process_id))
                .where(Process.impact_level == ImpactLevel.high)
                .distinct()
            ).all()
        )
    except ImportError:  # the register is not installed
        high_impact = set()
    tier_rank = {t.key: i for i, t in enumerate(content.tiers)}
    roles = session.exec(
        select(Role).where(col(Role.active).is_(True)).order_by(col(Role.key))
    ).all()
    for role in roles:
        req = _requirement(ctx, role)
        if role.id in high_impact and not req["competencies"]:
            warnings.append(
                {
                    "code": "high-impact-role-without-requirement",
                    "message": f"Role {role.key!r} works in a high-impact process but this "
                    "version gives it no requirement.",
                    "item": role.key,
                }
            )
        derived = req["derived"]["tier"]
        if req["source"].startswith("explicit") and tier_rank.get(derived, -1) > tier_rank.get(
            req["tier"], -1
        ):
            warnings.append(
                {
                    "code": "explicit-tier-below-derived",
                    "message": f"Role {role.key!r} gets tier {req['tier']!r} explicitly "
                    f"({req['source']}), below the {derived!r} the register derives.",
                    "item": role.key,
                }
            )
    return warnings


def match_activity(
    session: Session, *, version_id: uuid.UUID, activity_id: str
) -> list[ActivityMapping]:
    """The mappings of a version that an LMS activity id matches, exactly or by prefix.

    The prefix test compares a substring, not LIKE, so '_' and '%' in IRIs are literal.
    """
    given = sa.literal(activity_id, sa.String)
    prefix_hit = sa.and_(
        col(ActivityMapping.match) == ActivityMatch.prefix,
        sa.func.substr(given, 1, sa.func.length(col(ActivityMapping.activity_id)))
        == col(ActivityMapping.activity_id),
    )
    exact_hit = sa.and_(
        col(ActivityMapping.match) == ActivityMatch.exact,
        col(ActivityMapping.activity_id) == activity_id,
    )
    return list(
        session.exec(
            select(ActivityMapping)
            .where(ActivityMapping.version_id == version_id, sa.or_(exact_hit, prefix_hit))
            .order_by(ActivityMapping.competency_key, ActivityMapping.activity_id)
        ).all()
    )
