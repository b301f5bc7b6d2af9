"""Competency models and their versions: create, edit drafts, publish, copy, diff, templates.

A version's content is read and written as one `VersionContent` document; writing
a draft replaces its rows in a few set-based statements. Published versions never
change: every write to one is a 409.
"""

from __future__ import annotations

import json
import uuid
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.competencies.models import (
    ActivityMapping,
    Competency,
    CompetencyDomain,
    CompetencyModel,
    CompetencyModelVersion,
    DerivationRule,
    DiplomaTier,
    ProficiencyLevel,
    RoleCompetencyRequirement,
    RoleTierAssignment,
    TierRequirement,
    VersionStatus,
)
from app.competencies.rules import content_problems, publish_problems
from app.competencies.schemas import (
    ActivityMappingContent,
    CompetencyContent,
    DerivationRuleContent,
    DomainContent,
    LevelContent,
    ModelCreate,
    ModelDocument,
    ModelFromTemplate,
    RequirementContent,
    RoleCompetencyContent,
    RoleTierContent,
    TierContent,
    VersionContent,
)
from app.core import audit, clock, outbox
from app.core.errors import BadRequest, Conflict, NotFound, Unprocessable
from app.core.pagination import PageParams, paginate
from app.org.models import JobFamily, Role

# Content tables in foreign-key order (parents first); deleted in reverse.
_CONTENT_TABLES: list[Any] = [
    CompetencyDomain,
    ProficiencyLevel,
    Competency,
    DiplomaTier,
    TierRequirement,
    DerivationRule,
    RoleTierAssignment,
    RoleCompetencyRequirement,
    ActivityMapping,
]

TEMPLATE_LANGUAGES = ("en", "nl")


_DEFAULT_DOMAINS = [
    ("knowledge", "Knowledge", "Kennis"),
    ("application", "Application", "Toepassing"),
    ("risk-compliance", "Risk & compliance", "Risico en compliance"),
    ("attitude", "Attitude", "Houding"),
    ("ethics", "Ethics", "Ethiek"),
]
_DEFAULT_LEVELS = [
    ("basic", "Basic", "Basis"),
    ("advanced", "Advanced", "Gevorderd"),
    ("expert", "Expert", "Expert"),
]


def default_content() -> VersionContent:
    """Five domains, the basic < advanced < expert scale, and the three tiers with a
    24-month validity, a 90-day recertification window and 30 days of grace."""
    return VersionContent.model_validate(
        {
            "domains": [
                {"key": k, "title": {"en": en, "nl": nl}} for k, en, nl in _DEFAULT_DOMAINS
            ],
            "levels": [{"key": k, "title": {"en": en, "nl": nl}} for k, en, nl in _DEFAULT_LEVELS],
            "tiers": [
                {
                    "key": k,
                    "title": {"en": en, "nl": nl},
                    "validity_months": 24,
                    "recertification_window_days": 90,
                    "grace_period_days": 30,
                }
                for k, en, nl in _DEFAULT_LEVELS
            ],
        }
    )


def load_template(language: str) -> dict[str, Any]:
    """A shipped template (app/competencies/templates/<language>.json) as a dict."""
    if language not in TEMPLATE_LANGUAGES:
        raise NotFound(f"No template for language {language!r}; there are en and nl.")
    path = resources.files("app.competencies") / "templates" / f"{language}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# --- models and versions -------------------------------------------------------------


def create_model(
    session: Session, *, data: ModelCreate
) -> tuple[CompetencyModel, CompetencyModelVersion]:
    """A new model with version 1 as a draft holding the given or the default content."""
    return _create_model(
        session,
        key=data.key,
        name=data.name,
        description=data.description,
        content=data.content or default_content(),
        action="create",
    )


def create_from_template(
    session: Session, *, data: ModelFromTemplate
) -> tuple[CompetencyModel, CompetencyModelVersion]:
    template = load_template(data.template)
    content = VersionContent.model_validate(template["content"])
    return _create_model(
        session,
        key=data.key,
        name=data.name or template["name"],
        description=template.get("description"),
        content=content,
        action="create_from_template",
    )


def import_document(
    session: Session, *, document: ModelDocument, key: str | None = None
) -> tuple[CompetencyModel, CompetencyModelVersion]:
    """A model from the service's own JSON document (or a CASE import converted to one)."""
    return _create_model(
        session,
        key=key or document.key,
        name=document.name,
        description=document.description,
        content=document.content,
        action="import",
    )


def _create_model(
    session: Session,
    *,
    key: str,
    name: str,
    description: str | None,
    content: VersionContent,
    action: str,
) -> tuple[CompetencyModel, CompetencyModelVersion]:
    if session.exec(select(CompetencyModel.id).where(CompetencyModel.key == key)).first():
        raise Conflict(f"A competency model with key {key!r} exists.", slug="duplicate-key")
    model = CompetencyModel(key=key, name=name, description=description)
    session.add(model)
    session.flush()
    version = CompetencyModelVersion(model_id=model.id, number=1)
    session.add(version)
    session.flush()
    _write_content(session, version=version, content=content)
    audit.record(
        session,
        entity_type="competency_model",
        entity_id=model.id,
        action=action,
        after={"key": key, "name": name, "version": 1},
    )
    return model, version


def list_models(session: Session, *, page: PageParams) -> tuple[list[CompetencyModel], str | None]:
    return paginate(
        session,
        select(CompetencyModel),
        id_column=CompetencyModel.id,
        params=page,
        updated_at_column=CompetencyModel.updated_at,
    )


def get_model(session: Session, *, model_id: uuid.UUID) -> CompetencyModel:
    model = session.get(CompetencyModel, model_id)
    if model is None:
        raise NotFound(f"No competency model {model_id}.")
    return model


def current_version(session: Session, *, model_id: uuid.UUID) -> CompetencyModelVersion | None:
    """The one published version of a model, if any."""
    return session.exec(
        select(CompetencyModelVersion).where(
            CompetencyModelVersion.model_id == model_id,
            CompetencyModelVersion.status == VersionStatus.published,
        )
    ).first()


def current_version_numbers(
    session: Session, *, model_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    rows = session.exec(
        select(CompetencyModelVersion.model_id, CompetencyModelVersion.number).where(
            CompetencyModelVersion.model_id.in_(model_ids),  # type: ignore[attr-defined]
            CompetencyModelVersion.status == VersionStatus.published,
        )
    ).all()
    return {model_id: number for model_id, number in rows}


def list_versions(session: Session, *, model_id: uuid.UUID) -> list[CompetencyModelVersion]:
    get_model(session, model_id=model_id)
    return list(
        session.exec(
            select(CompetencyModelVersion)
            .where(CompetencyModelVersion.model_id == model_id)
            .order_by(CompetencyModelVersion.number)  # type: ignore[arg-type]
        ).all()
    )


def get_version(session: Session, *, model_id: uuid.UUID, number: int) -> CompetencyModelVersion:
    version = session.exec(
        select(CompetencyModelVersion).where(
            CompetencyModelVersion.model_id == model_id,
            CompetencyModelVersion.number == number,
        )
    ).first()
    if version is None:
        get_model(session, model_id=model_id)
        raise NotFound(f"Model {model_id} has no version {number}.")
    return version


def get_version_by_id(session: Session, *, version_id: uuid.UUID) -> CompetencyModelVersion:
    version = session.get(CompetencyModelVersion, version_id)
    if version is None:
        raise NotFound(f"No competency model version {version_id}.")
    return version


def _ensure_draft(version: CompetencyModelVersion) -> None:
    if version.status != VersionStatus.draft:
        raise Conflict(
            f"Version {version.number} is {version.status}; only a draft can change. "
            "Copy it to a new draft first.",
            slug="version-not-draft",
        )


def _touch(version: CompetencyModelVersion) -> None:
    version.version += 1
    version.updated_at = clock.now()


def replace_content(
    session: Session, *, version: CompetencyModelVersion, content: VersionContent
) -> CompetencyModelVersion:
    """Replace a draft's whole content."""
    _ensure_draft(version)
    before = version_content(session, version=version)
    _delete_content(session, version_id=version.id)
    _write_content(session, version=version, content=content)
    _touch(version)
    session.add(version)
    audit.record(
        session,
        entity_type="competency_model_version",
        entity_id=version.id,
        action="replace_content",
        before={"content": before.model_dump(mode="json")},
        after={"content": content.model_dump(mode="json")},
    )
    return version


def upsert_competency(
    session: Session, *, version: CompetencyModelVersion, competency: CompetencyContent
) -> CompetencyModelVersion:
    """Add or replace one competency of a draft by its key."""
    _ensure_draft(version)
    content = version_content(session, version=version)
    existing = [c.key for c in content.competencies]
    if competency.key in existing:
        content.competencies[existing.index(competency.key)] = competency
    else:
        content.competencies.append(competency)
    return replace_content(session, version=version, content=content)


def delete_competency(
    session: Session, *, version: CompetencyModelVersion, key: str
) -> CompetencyModelVersion:
    """Remove a competency from a draft; 409 while a requirement or mapping still uses it."""
    _ensure_draft(version)
    content = version_content(session, version=version)
    if key not in {c.key for c in content.competencies}:
        raise NotFound(f"Version {version.number} has no competency {key!r}.")
    users = [
        f"tiers/{t.key}" for t in content.tiers if any(r.competency == key for r in t.requirements)
    ]
    users += (
        ["role_competencies"] if any(r.competency == key for r in content.role_competencies) else []
    )
    users += (
        ["activity_mappings"] if any(m.competency == key for m in content.activity_mappings) else []
    )
    if users:
        raise Conflict(f"Competency {key!r} is still used by {', '.join(users)}.", used_by=users)
    content.competencies = [c for c in content.competencies if c.key != key]
    return replace_content(session, version=version, content=content)


def upsert_tier(
    session: Session, *, version: CompetencyModelVersion, tier: TierContent
) -> CompetencyModelVersion:
    """Add (as the highest) or replace one tier of a draft by its key."""
    _ensure_draft(version)
    content = version_content(session, version=version)
    keys = [t.key for t in content.tiers]
    if tier.key in keys:
        content.tiers[keys.index(tier.key)] = tier
    else:
        content.tiers.append(tier)
    return replace_content(session, version=version, content=content)


def add_activity_mapping(
    session: Session, *, version: CompetencyModelVersion, mapping: ActivityMappingContent
) -> CompetencyModelVersion:
    _ensure_draft(version)
    content = version_content(session, version=version)
    content.activity_mappings.append(mapping)
    return replace_content(session, version=version, content=content)


def publish(
    session: Session, *, version: CompetencyModelVersion
) -> tuple[CompetencyModelVersion, list[dict[str, str]]]:
    """Freeze a draft as the model's current version; the previous published one retires.

    The publishing rules are 422s naming each offending item; warnings do not block.
    """
    _ensure_draft(version)
    # Lock the model row so two publishers cannot both leave a published version behind.
    session.exec(
        select(CompetencyModel).where(CompetencyModel.id == version.model_id).with_for_update()
    ).one()
    content = version_content(session, version=version)
    problems = publish_problems(content)
    if problems:
        raise Unprocessable(
            f"Version {version.number} breaks {len(problems)} publishing rule(s).",
            slug="publishing-rules",
            title="Publishing rules violated",
            errors=problems,
        )
    from app.competencies import requirements  # requirements reads published versions

    warnings = requirements.publish_warnings(session, version=version, content=content)
    now = clock.now()
    previous = current_version(session, model_id=version.model_id)
    if previous is not None:
        previous.status = VersionStatus.retired
        previous.retired_at = now
        _touch(previous)
        session.add(previous)
        session.flush()
        audit.record(
            session,
            entity_type="competency_model_version",
            entity_id=previous.id,
            action="retire",
            before={"status": "published"},
            after={"status": "retired", "replaced_by": version.number},
        )
    version.status = VersionStatus.published
    version.published_at = now
    _touch(version)
    session.add(version)
    session.flush()
    audit.record(
        session,
        entity_type="competency_model_version",
        entity_id=version.id,
        action="publish",
        before={"status": "draft"},
        after={"status": "published", "number": version.number, "warnings": len(warnings)},
    )
    outbox.emit(
        session,
        event_type="competency_model.published",
        data={
            "model_id": str(version.model_id),
            "version_id": str(version.id),
            "number": version.number,
            "published_at": now.isoformat(),
        },
    )
    return version, warnings


def retire(session: Session, *, version: CompetencyModelVersion) -> CompetencyModelVersion:
    """Take a published version out of use without a successor."""
    if version.status != VersionStatus.published:
        raise Conflict(
            f"Version {version.number} is {version.status}; only a published one retires."
        )
    version.status = VersionStatus.retired
    version.retired_at = clock.now()
    _touch(version)
    session.add(version)
    audit.record(
        session,
        entity_type="competency_model_version",
        entity_id=version.id,
        action="retire",
        before={"status": "published"},
        after={"status": "retired"},
    )
    return version


def copy_to_draft(
    session: Session, *, version: CompetencyModelVersion, notes: str | None = None
) -> CompetencyModelVersion:
    """A new draft with the content of `version`; a model has at most one draft at a time."""
    draft = session.exec(
        select(CompetencyModelVersion.number).where(
            CompetencyModelVersion.model_id == version.model_id,
            CompetencyModelVersion.status == VersionStatus.draft,
        )
    ).first()
    if draft is not None:
        raise Conflict(
            f"Version {draft} is already a draft of this model; edit or publish it first.",
            slug="draft-exists",
            draft_version=draft,
        )
    highest = session.exec(
        select(sa.func.max(CompetencyModelVersion.number)).where(
            CompetencyModelVersion.model_id == version.model_id
        )
    ).one()
    content = version_content(session, version=version)
    new = CompetencyModelVersion(
        model_id=version.model_id,
        number=int(highest or 0) + 1,
        based_on_number=version.number,
        notes=notes,
    )
    session.add(new)
    session.flush()
    _write_content(session, version=new, content=content)
    audit.record(
        session,
        entity_type="competency_model_version",
        entity_id=new.id,
        action="copy_to_draft",
        after={"number": new.number, "based_on": version.number},
    )
    return new


# --- content <-> rows -------------------------------------------------------------------


def version_content(session: Session, *, version: CompetencyModelVersion) -> VersionContent:
    """The content document of a version, in its stored order."""
    vid = version.id

    def rows(table: Any, *order: Any) -> list[Any]:
        return list(
            session.exec(select(table).where(table.version_id == vid).order_by(*order)).all()
        )

    requirements: dict[tuple[str, str], list[RequirementContent]] = {}
    for req in rows(TierRequirement, TierRequirement.competency_key):
        requirements.setdefault((req.tier_key, req.path), []).append(
            RequirementContent(
                competency=req.competency_key,
                min_level=req.min_level_key,
                accepted_forms=req.accepted_forms,
                min_score=req.min_score,
            )
        )
    role_keys, family_keys = _org_keys_by_id(session, version_id=vid)
    return VersionContent(
        domains=[
            DomainContent(key=d.key, title=d.title, description=d.description)
            for d in rows(CompetencyDomain, CompetencyDomain.position)
        ],
        levels=[
            LevelContent(key=lv.key, title=lv.title, description=lv.description)
            for lv in rows(ProficiencyLevel, ProficiencyLevel.rank)
        ],
        competencies=[
            CompetencyContent(
                key=c.key,
                domain=c.domain_key,
                title=c.title,
                description=c.description,
                level_descriptors=c.level_descriptors,
            )
            for c in rows(Competency, Competency.position)
        ],
        tiers=[
            TierContent(
                key=t.key,
                title=t.title,
                description=t.description,
                validity_months=t.validity_months,
                recertification_window_days=t.recertification_window_days,
                grace_period_days=t.grace_period_days,
                due_days=t.due_days,
                renewal_basis=t.renewal_basis,
                renewal_fixed_date=t.renewal_fixed_date,
                requirements=requirements.get((t.key, "full"), []),
                refresher_requirements=requirements.get((t.key, "refresher"), []),
            )
            for t in rows(DiplomaTier, DiplomaTier.rank)
        ],
        derivation_rules=[
            DerivationRuleContent(kind=r.kind, risk_class=r.risk_class, tier=r.tier_key)
            for r in rows(DerivationRule, DerivationRule.position)
        ],
        role_tiers=[
            RoleTierContent(
                role=role_keys.get(a.role_id) if a.role_id else None,
                job_family=family_keys.get(a.job_family_id) if a.job_family_id else None,
                tier=a.tier_key,
                reason=a.reason,
                due_days=a.due_days,
            )
            for a in _org_ordered(rows(RoleTierAssignment), role_keys, family_keys)
        ],
        role_competencies=[
            RoleCompetencyContent(
                role=role_keys.get(r.role_id) if r.role_id else None,
                job_family=family_keys.get(r.job_family_id) if r.job_family_id else None,
                competency=r.competency_key,
                min_level=r.min_level_key,
                accepted_forms=r.accepted_forms,
                min_score=r.min_score,
                reason=r.reason,
            )
            for r in _org_ordered(
                rows(RoleCompetencyRequirement, RoleCompetencyRequirement.competency_key),
                role_keys,
                family_keys,
            )
        ],
        activity_mappings=[
            ActivityMappingContent(
                activity_id=m.activity_id,
                match=m.match,
                competency=m.competency_key,
                level=m.level_key,
                assessment_form=m.assessment_form,
                pass_rule=m.pass_rule,
                min_scaled_score=m.min_scaled_score,
            )
            for m in rows(
                ActivityMapping, ActivityMapping.activity_id, ActivityMapping.competency_key
            )
        ],
    )


def _org_ordered(
    items: list[Any], role_keys: dict[Any, str], family_keys: dict[Any, str]
) -> list[Any]:
    # Stable order by target key so the document (and its diff) does not depend on row ids.
    return sorted(
        items,
        key=lambda r: (
            family_keys.get(r.job_family_id, "") if r.job_family_id else "",
            role_keys.get(r.role_id, "") if r.role_id else "",
        ),
    )


def _org_keys_by_id(
    session: Session, *, version_id: uuid.UUID
) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    role_ids = sa.union(
        sa.select(col(RoleTierAssignment.role_id)).where(
            col(RoleTierAssignment.version_id) == version_id
        ),
        sa.select(col(RoleCompetencyRequirement.role_id)).where(
            col(RoleCompetencyRequirement.version_id) == version_id
        ),
    )
    family_ids = sa.union(
        sa.select(col(RoleTierAssignment.job_family_id)).where(
            col(RoleTierAssignment.version_id) == version_id
        ),
        sa.select(col(RoleCompetencyRequirement.job_family_id)).where(
            col(RoleCompetencyRequirement.version_id) == version_id
        ),
    )
    roles = session.execute(
        sa.select(col(Role.id), col(Role.key)).where(col(Role.id).in_(role_ids))
    ).all()
    families = session.execute(
        sa.select(col(JobFamily.id), col(JobFamily.key)).where(col(JobFamily.id).in_(family_ids))
    ).all()
    return {r[0]: r[1] for r in roles}, {f[0]: f[1] for f in families}


def _delete_content(session: Session, *, version_id: uuid.UUID) -> None:
    for table in reversed(_CONTENT_TABLES):
        session.execute(sa.delete(table).where(table.version_id == version_id))


def _write_content(
    session: Session, *, version: CompetencyModelVersion, content: VersionContent
) -> None:
    """Insert a version's rows after checking every reference; a bad one is a 422."""
    role_ids = _ids_by_key(
        session, Role, {r.role for r in content.role_tiers + content.role_competencies if r.role}
    )
    family_ids = _ids_by_key(
        session,
        JobFamily,
        {r.job_family for r in content.role_tiers + content.role_competencies if r.job_family},
    )
    problems = content_problems(content, role_keys=set(role_ids), job_family_keys=set(family_ids))
    if problems:
        raise Unprocessable(
            f"The content has {len(problems)} problem(s).",
            slug="invalid-content",
            title="Invalid competency model content",
            errors=problems,
        )
    vid = version.id
    rows: dict[Any, list[dict[str, Any]]] = {
        CompetencyDomain: [
            {
                "version_id": vid,
                "key": d.key,
                "position": i,
                "title": d.title,
                "description": d.description,
            }
            for i, d in enumerate(content.domains)
        ],
        ProficiencyLevel: [
            {
                "version_id": vid,
                "key": lv.key,
                "rank": i,
                "title": lv.title,
                "description": lv.description,
            }
            for i, lv in enumerate(content.levels)
        ],
        Competency: [
            {
                "version_id": vid,
                "key": c.key,
                "domain_key": c.domain,
                "position": i,
                "title": c.title,
                "description": c.description,
                "level_descriptors": c.level_descriptors,
            }
            for i, c in enumerate(content.competencies)
        ],
        DiplomaTier: [
            {
                "version_id": vid,
                "key": t.key,
                "rank": i,
                "title": t.title,
                "description": t.description,
                "validity_months": t.validity_months,
                "recertification_window_days": t.recertification_window_days,
                "grace_period_days": t.grace_period_days,
                "due_days": t.due_days,
                "renewal_basis": t.renewal_basis,
                "renewal_fixed_date": t.renewal_fixed_date,
            }
            for i, t in enumerate(content.tiers)
        ],
        TierRequirement: [
            {
                "version_id": vid,
                "tier_key": t.key,
                "path": path,
                "competency_key": r.competency,
                "min_level_key": r.min_level,
                "accepted_forms": [str(f) for f in r.accepted_forms],
                "min_score": r.min_score,
            }
            for t in content.tiers
            for path, requirements in (
                ("full", t.requirements),
                ("refresher", t.refresher_requirements),
            )
            for r in requirements
        ],
        DerivationRule: [
            {
                "version_id": vid,
                "position": i,
                "kind": str(r.kind),
                "risk_class": r.risk_class,
                "tier_key": r.tier,
            }
            for i, r in enumerate(content.derivation_rules)
        ],
        RoleTierAssignment: [
            {
                "version_id": vid,
                "role_id": role_ids.get(a.role) if a.role else None,
                "job_family_id": family_ids.get(a.job_family) if a.job_family else None,
                "tier_key": a.tier,
                "reason": a.reason,
                "due_days": a.due_days,
            }
            for a in content.role_tiers
        ],
        RoleCompetencyRequirement: [
            {
                "version_id": vid,
                "role_id": role_ids.get(r.role) if r.role else None,
                "job_family_id": family_ids.get(r.job_family) if r.job_family else None,
                "competency_key": r.competency,
                "min_level_key": r.min_level,
                "accepted_forms": [str(f) for f in r.accepted_forms],
                "min_score": r.min_score,
                "reason": r.reason,
            }
            for r in content.role_competencies
        ],
        ActivityMapping: [
            {
                "version_id": vid,
                "activity_id": m.activity_id,
                "match": str(m.match),
                "competency_key": m.competency,
                "level_key": m.level,
                "assessment_form": str(m.assessment_form),
                "pass_rule": str(m.pass_rule),
                "min_scaled_score": m.min_scaled_score,
            }
            for m in content.activity_mappings
        ],
    }
    for table in _CONTENT_TABLES:
        if rows[table]:
            for row in rows[table]:
                row.setdefault("id", uuid.uuid4())
            session.execute(sa.insert(table), rows[table])
    session.flush()


def _ids_by_key(session: Session, table: Any, keys: set[str]) -> dict[str, uuid.UUID]:
    if not keys:
        return {}
    found = session.execute(sa.select(table.key, table.id).where(table.key.in_(keys))).all()
    return {row[0]: row[1] for row in found}


# --- diff -------------------------------------------------------------------------------


def diff(
    session: Session, *, model_id: uuid.UUID, from_number: int, to_number: int
) -> dict[str, Any]:
    """Added, removed and changed competencies, tiers and tier requirements between two versions."""
    if from_number == to_number:
        raise BadRequest("Compare two different versions.")
    a = version_content(
        session, version=get_version(session, model_id=model_id, number=from_number)
    )
    b = version_content(session, version=get_version(session, model_id=model_id, number=to_number))
    result: dict[str, Any] = {
        "from_version": from_number,
        "to_version": to_number,
        "added": [],
        "removed": [],
        "changed": [],
    }

    def compare(kind: str, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> None:
        for key in sorted(new.keys() - old.keys()):
            result["added"].append({"kind": kind, "key": key, "change": "added", "fields": []})
        for key in sorted(old.keys() - new.keys()):
            result["removed"].append({"kind": kind, "key": key, "change": "removed", "fields": []})
        for key in sorted(old.keys() & new.keys()):
            fields = sorted(
                f for f in old[key].keys() | new[key].keys() if old[key].get(f) != new[key].get(f)
            )
            if fields:
                result["changed"].append(
                    {"kind": kind, "key": key, "change": "changed", "fields": fields}
                )

    def competencies(content: VersionContent) -> dict[str, dict[str, Any]]:
        return {c.key: c.model_dump(mode="json", exclude={"key"}) for c in content.competencies}

    def tiers(content: VersionContent) -> dict[str, dict[str, Any]]:
        return {
            t.key: t.model_dump(
                mode="json", exclude={"key", "requirements", "refresher_requirements"}
            )
            | {"rank": i}
            for i, t in enumerate(content.tiers)
        }

    def requirements(content: VersionContent) -> dict[str, dict[str, Any]]:
        return {
            f"{t.key}/{prefix}{r.competency}": r.model_dump(mode="json", exclude={"competency"})
            for t in content.tiers
            for prefix, path in (("", t.requirements), ("refresher/", t.refresher_requirements))
            for r in path
        }

    compare("competency", competencies(a), competencies(b))
    compare("tier", tiers(a), tiers(b))
    compare("requirement", requirements(a), requirements(b))
    return result


def match_activity(
    session: Session, *, version_id: uuid.UUID, activity_id: str
) -> list[ActivityMapping]:
    """The activity mappings of a version an LMS activity id matches (exact or prefix)."""
    from app.competencies import requirements

    return requirements.match_activity(session, version_id=version_id, activity_id=activity_id)
