"""1EdTech CASE 1.1 interchange: export a model version as a CFPackage and import one as a draft.

Mapping (CASE 1.1 Information Model, CFPckgDocument / CFPckgItem / CFPckgAssociation /
CFRubric): domains, competencies, proficiency levels and diploma tiers are CFItems
told apart by CFItemType, keyed by humanCodingScheme; competencies are `isChildOf`
their domain; a tier requirement is a competency `isPartOf` its tier, with the
minimum level, forms and score in the association's `extensions`; the level
descriptors of each competency are a CFRubricCriterion whose CFRubricCriterionLevels
follow the scale (position = level rank). Role requirements and activity mappings
are organisation-specific and travel only in the plain JSON document.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.competencies.schemas import (
    CompetencyContent,
    DomainContent,
    LevelContent,
    ModelDocument,
    RequirementContent,
    TierContent,
    VersionContent,
)
from app.competencies.service import default_content
from app.core.errors import Unprocessable

CASE_VERSION = "1.1"
TYPE_DOMAIN = "Domain"
TYPE_COMPETENCY = "Competency"
TYPE_LEVEL = "Proficiency level"
TYPE_TIER = "Diploma tier"

AssociationType = Literal[
    "isChildOf",
    "isPeerOf",
    "isPartOf",
    "exactMatchOf",
    "precedes",
    "isRelatedTo",
    "replacedBy",
    "exemplar",
    "hasSkillLevel",
    "isTranslationOf",
]


class CaseModel(BaseModel):
    # Lax at the edge: other tools add fields we do not use; keep them out of our way.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class LinkURI(CaseModel):
    title: str
    identifier: str
    uri: str


class LinkGenURI(LinkURI):
    pass


class CFPckgDocument(CaseModel):
    identifier: str
    uri: str
    creator: str
    title: str
    lastChangeDateTime: datetime
    frameworkType: str | None = None
    caseVersion: str | None = None
    officialSourceURL: str | None = None
    publisher: str | None = None
    description: str | None = None
    language: str | None = None
    version: str | None = None
    adoptionStatus: str | None = None
    notes: str | None = None
    CFPackageURI: LinkURI | None = None
    extensions: dict[str, Any] | None = None


class CFPckgItem(CaseModel):
    identifier: str
    fullStatement: str
    uri: str
    lastChangeDateTime: datetime
    alternativeLabel: str | None = None
    CFItemType: str | None = None
    humanCodingScheme: str | None = None
    listEnumeration: str | None = None
    abbreviatedStatement: str | None = None
    notes: str | None = None
    language: str | None = None
    CFDocumentURI: LinkURI | None = None
    extensions: dict[str, Any] | None = None


class CFPckgAssociation(CaseModel):
    identifier: str
    associationType: AssociationType
    uri: str
    originNodeURI: LinkGenURI
    destinationNodeURI: LinkGenURI
    lastChangeDateTime: datetime
    sequenceNumber: int | None = None
    notes: str | None = None
    CFDocumentURI: LinkURI | None = None
    extensions: dict[str, Any] | None = None


class CFRubricCriterionLevel(CaseModel):
    identifier: str
    uri: str
    lastChangeDateTime: datetime
    description: str | None = None
    quality: str | None = None
    score: float | None = None
    feedback: str | None = None
    position: int | None = None
    rubricCriterionId: str | None = None


class CFRubricCriterion(CaseModel):
    identifier: str
    uri: str
    lastChangeDateTime: datetime
    category: str | None = None
    description: str | None = None
    CFItemURI: LinkURI | None = None
    weight: float | None = None
    position: int | None = None
    rubricId: str | None = None
    CFRubricCriterionLevels: list[CFRubricCriterionLevel] = Field(default_factory=list)


class CFRubric(CaseModel):
    identifier: str
    uri: str
    title: str
    lastChangeDateTime: datetime
    description: str | None = None
    CFRubricCriteria: list[CFRubricCriterion] = Field(default_factory=list)


class CFPackage(CaseModel):
    """CASE 1.1 CFPackage: the whole framework in one JSON document."""

    CFDocument: CFPckgDocument
    CFItems: list[CFPckgItem] = Field(default_factory=list, max_length=5000)
    CFAssociations: list[CFPckgAssociation] = Field(default_factory=list, max_length=20000)
    CFRubrics: list[CFRubric] = Field(default_factory=list, max_length=100)


def _uuid(namespace: uuid.UUID, name: str) -> str:
    return str(uuid.uuid5(namespace, name))


def _text(text: dict[str, str] | None, language: str) -> str | None:
    if not text:
        return None
    return text.get(language) or next(iter(text.values()))


def export_package(
    *,
    model_key: str,
    model_name: str,
    model_description: str | None,
    number: int,
    status: str,
    changed_at: datetime,
    content: VersionContent,
    language: str,
) -> dict[str, Any]:
    """A CFPackage of one version; identifiers are stable per model key, version and item key."""
    doc_id = _uuid(uuid.NAMESPACE_URL, f"urn:aidiploma:competency-model:{model_key}:{number}")
    ns = uuid.UUID(doc_id)
    stamp = changed_at.isoformat().replace("+00:00", "Z")

    def urn(identifier: str) -> str:
        return f"urn:uuid:{identifier}"

    def link(identifier: str, title: str) -> dict[str, str]:
        return {"title": title, "identifier": identifier, "uri": urn(identifier)}

    doc_link = link(doc_id, model_name)
    items: list[dict[str, Any]] = []
    associations: list[dict[str, Any]] = []
    item_ids: dict[tuple[str, str], str] = {}

    def add_item(
        kind: str, key: str, title: str, notes: str | None, position: int, **extra: Any
    ) -> str:
        identifier = _uuid(ns, f"{kind}:{key}")
        item_ids[(kind, key)] = identifier
        item = {
            "identifier": identifier,
            "uri": urn(identifier),
            "fullStatement": title,
            "CFItemType": kind,
            "humanCodingScheme": key,
            "listEnumeration": str(position + 1),
            "language": language,
            "lastChangeDateTime": stamp,
            "CFDocumentURI": doc_link,
        }
        if notes:
            item["notes"] = notes
        item.update(extra)
        items.append(item)
        return identifier

    def associate(
        kind: str,
        origin: tuple[str, str],
        destination: tuple[str, str],
        seq: int,
        variant: str = "",
        **extra: Any,
    ) -> None:
        identifier = _uuid(
            ns, f"association:{kind}{variant}:{origin[0]}:{origin[1]}->{destination[1]}"
        )
        associations.append(
            {
                "identifier": identifier,
                "uri": urn(identifier),
                "associationType": kind,
                "sequenceNumber": seq,
                "originNodeURI": link(origin[0], origin[1]),
                "destinationNodeURI": link(destination[0], destination[1]),
                "lastChangeDateTime": stamp,
                "CFDocumentURI": doc_link,
                **extra,
            }
        )

    for i, d in enumerate(content.domains):
        title = _text(d.title, language) or d.key
        ident = add_item(TYPE_DOMAIN, d.key, title, _text(d.description, language), i)
        associate("isChildOf", (ident, title), (doc_id, model_name), i + 1)
    for i, lv in enumerate(content.levels):
        title = _text(lv.title, language) or lv.key
        ident = add_item(TYPE_LEVEL, lv.key, title, _text(lv.description, language), i)
        associate("isChildOf", (ident, title), (doc_id, model_name), i + 1)
    for i, t in enumerate(content.tiers):
        title = _text(t.title, language) or t.key
        ident = add_item(
            TYPE_TIER,
            t.key,
            title,
            _text(t.description, language),
            i,
            extensions={
                "validityMonths": t.validity_months,
                "recertificationWindowDays": t.recertification_window_days,
                "gracePeriodDays": t.grace_period_days,
                "dueDays": t.due_days,
                "renewalBasis": t.renewal_basis,
                "renewalFixedDate": t.renewal_fixed_date,
            },
        )
        associate("isChildOf", (ident, title), (doc_id, model_name), i + 1)
    titles = {c.key: _text(c.title, language) or c.key for c in content.competencies}
    for i, c in enumerate(content.competencies):
        ident = add_item(TYPE_COMPETENCY, c.key, titles[c.key], _text(c.description, language), i)
        domain_id = item_ids[(TYPE_DOMAIN, c.domain)]
        domain_title = next(
            _text(d.title, language) or d.key for d in content.domains if d.key == c.domain
        )
        associate("isChildOf", (ident, titles[c.key]), (domain_id, domain_title), i + 1)
    for t in content.tiers:
        tier_id = item_ids[(TYPE_TIER, t.key)]
        tier_title = _text(t.title, language) or t.key
        # The refresher path's requirements are isPartOf associations too, marked by the
        # recertificationPath extension (a tool that ignores it sees the full path's superset).
        paths = [("", r) for r in t.requirements] + [
            (":refresher", r) for r in t.refresher_requirements
        ]
        for seq, (variant, r) in enumerate(paths, start=1):
            extensions: dict[str, Any] = {
                "minimumLevel": r.min_level,
                "acceptedForms": [str(f) for f in r.accepted_forms],
            }
            if r.min_score is not None:
                extensions["minimumScore"] = r.min_score
            if variant:
                extensions["recertificationPath"] = "refresher"
            associate(
                "isPartOf",
                (item_ids[(TYPE_COMPETENCY, r.competency)], titles[r.competency]),
                (tier_id, tier_title),
                seq,
                variant,
                extensions=extensions,
            )
    rubric_id = _uuid(ns, "rubric:proficiency-scale")
    criteria = []
    for i, c in enumerate(content.competencies):
        criterion_id = _uuid(ns, f"criterion:{c.key}")
        levels = []
        for rank, lv in enumerate(content.levels):
            descriptor = _text(c.level_descriptors.get(lv.key), language)
            if descriptor is None:
                continue
            level_id = _uuid(ns, f"criterion-level:{c.key}:{lv.key}")
            levels.append(
                {
                    "identifier": level_id,
                    "uri": urn(level_id),
                    "description": descriptor,
                    "quality": _text(lv.title, language) or lv.key,
                    "score": rank + 1,
                    "position": rank + 1,
                    "rubricCriterionId": criterion_id,
                    "lastChangeDateTime": stamp,
                }
            )
        criteria.append(
            {
                "identifier": criterion_id,
                "uri": urn(criterion_id),
                "category": titles[c.key],
                "CFItemURI": link(item_ids[(TYPE_COMPETENCY, c.key)], titles[c.key]),
                "position": i + 1,
                "rubricId": rubric_id,
                "lastChangeDateTime": stamp,
                "CFRubricCriterionLevels": levels,
            }
        )
    document: dict[str, Any] = {
        "identifier": doc_id,
        "uri": urn(doc_id),
        "creator": "aidiploma",
        "title": model_name,
        "lastChangeDateTime": stamp,
        "frameworkType": "competency model",
        "caseVersion": CASE_VERSION,
        "language": language,
        "version": str(number),
        "adoptionStatus": {"draft": "Draft", "published": "Adopted", "retired": "Deprecated"}[
            status
        ],
        "CFPackageURI": link(doc_id, model_name),
        "extensions": {"modelKey": model_key},
    }
    if model_description:
        document["description"] = model_description
    return {
        "CFDocument": document,
        "CFItems": items,
        "CFAssociations": associations,
        "CFRubrics": [
            {
                "identifier": rubric_id,
                "uri": urn(rubric_id),
                "title": "Proficiency scale",
                "lastChangeDateTime": stamp,
                "CFRubricCriteria": criteria,
            }
        ],
    }


_KEY_CHARS = re.compile(r"[^a-z0-9_.-]+")


def _key(raw: str | None, fallback: str, taken: set[str]) -> str:
    key = _KEY_CHARS.sub("-", (raw or "").strip().lower()).strip("-._")[:90] or fallback
    candidate, n = key, 2
    while candidate in taken:
        candidate, n = f"{key}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _bad_references(package: CFPackage) -> list[dict[str, Any]]:
    known = {item.identifier for item in package.CFItems} | {package.CFDocument.identifier}
    problems = []

    def problem(pointer: str, identifier: str, message: str) -> None:
        problems.append(
            {
                "pointer": pointer,
                "location": "body",
                "field": pointer.lstrip("#/").replace("/", "."),
                "message": message,
                "type": "unknown-reference",
                "identifier": identifier,
            }
        )

    for i, a in enumerate(package.CFAssociations):
        if a.originNodeURI.identifier not in known:
            problem(
                f"#/CFAssociations/{i}/originNodeURI/identifier",
                a.originNodeURI.identifier,
                f"Association {a.identifier} starts at {a.originNodeURI.identifier}, "
                "which is not an item of this package.",
            )
        # Only tree and requirement links must stay inside the package; others may point out.
        if (
            a.associationType in ("isChildOf", "isPartOf")
            and a.destinationNodeURI.identifier not in known
        ):
            problem(
                f"#/CFAssociations/{i}/destinationNodeURI/identifier",
                a.destinationNodeURI.identifier,
                f"Association {a.identifier} points to {a.destinationNodeURI.identifier}, "
                "which is not in this package.",
            )
    for r, rubric in enumerate(package.CFRubrics):
        for c, criterion in enumerate(rubric.CFRubricCriteria):
            if criterion.CFItemURI and criterion.CFItemURI.identifier not in known:
                problem(
                    f"#/CFRubrics/{r}/CFRubricCriteria/{c}/CFItemURI/identifier",
                    criterion.CFItemURI.identifier,
                    f"Rubric criterion {criterion.identifier} is about "
                    f"{criterion.CFItemURI.identifier}, which is not an item of this package.",
                )
    seen: set[str] = set()
    for i, item in enumerate(package.CFItems):
        if item.identifier in seen:
            problem(f"#/CFItems/{i}/identifier", item.identifier, "The identifier repeats.")
        seen.add(item.identifier)
    return problems


def import_package(package: CFPackage, *, key: str | None = None) -> ModelDocument:
    """The service's document of a CFPackage; a package with dangling references is a 422."""
    try:
        return _import_package(package, key=key)
    except ValidationError as exc:
        raise Unprocessable(
            "The CASE package does not map onto a competency model.",
            slug="case-invalid-content",
            title="Invalid CASE package",
            errors=[
                {
                    "pointer": "#/" + "/".join(str(p) for p in error["loc"]),
                    "location": "content",
                    "field": ".".join(str(p) for p in error["loc"]),
                    "message": error["msg"],
                    "type": error["type"],
                }
                for error in exc.errors()
            ],
        ) from exc


def _import_package(package: CFPackage, *, key: str | None) -> ModelDocument:
    problems = _bad_references(package)
    if problems:
        raise Unprocessable(
            f"The CASE package has {len(problems)} reference(s) to nothing in it.",
            slug="case-bad-references",
            title="Invalid CASE package",
            errors=problems,
        )
    doc = package.CFDocument
    language = (doc.language or "en").split("-")[0].lower()[:3] or "en"

    def typed(name: str) -> list[CFPckgItem]:
        return sorted(
            (i for i in package.CFItems if (i.CFItemType or "").strip().lower() == name.lower()),
            key=_enumeration,
        )

    def text(value: str | None) -> dict[str, str] | None:
        return {language: value[:4000]} if value else None

    taken: dict[str, set[str]] = {
        "domain": set(),
        "level": set(),
        "tier": set(),
        "competency": set(),
    }
    keys: dict[str, str] = {}
    domains, levels, tiers = [], [], []
    for item in typed(TYPE_DOMAIN):
        keys[item.identifier] = _key(
            item.humanCodingScheme, f"domain-{item.identifier[:8]}", taken["domain"]
        )
        domains.append(
            DomainContent(
                key=keys[item.identifier],
                title=text(item.fullStatement) or {},
                description=text(item.notes),
            )
        )
    for item in typed(TYPE_LEVEL):
        keys[item.identifier] = _key(
            item.humanCodingScheme, f"level-{item.identifier[:8]}", taken["level"]
        )
        levels.append(
            LevelContent(
                key=keys[item.identifier],
                title=text(item.fullStatement) or {},
                description=text(item.notes),
            )
        )
    for item in typed(TYPE_TIER):
        keys[item.identifier] = _key(
            item.humanCodingScheme, f"tier-{item.identifier[:8]}", taken["tier"]
        )
        ext = item.extensions or {}
        tiers.append(
            TierContent(
                key=keys[item.identifier],
                title=text(item.fullStatement) or {},
                description=text(item.notes),
                validity_months=ext.get("validityMonths"),
                recertification_window_days=ext.get("recertificationWindowDays", 90),
                grace_period_days=ext.get("gracePeriodDays", 0),
                due_days=ext.get("dueDays"),
                renewal_basis=ext.get("renewalBasis") or "previous_expiry",
                renewal_fixed_date=ext.get("renewalFixedDate"),
            )
        )
    special = {TYPE_DOMAIN.lower(), TYPE_LEVEL.lower(), TYPE_TIER.lower()}
    competency_items = sorted(
        (i for i in package.CFItems if (i.CFItemType or "").strip().lower() not in special),
        key=_enumeration,
    )
    parents = {
        a.originNodeURI.identifier: a.destinationNodeURI.identifier
        for a in package.CFAssociations
        if a.associationType == "isChildOf"
    }
    domain_ids = {i.identifier for i in typed(TYPE_DOMAIN)}
    level_keys = [lv.key for lv in levels] or [lv.key for lv in default_content().levels]
    descriptors = _descriptors(package, level_keys, language)
    competencies = []
    general_needed = False
    for item in competency_items:
        keys[item.identifier] = _key(
            item.humanCodingScheme, f"competency-{item.identifier[:8]}", taken["competency"]
        )
        domain = _ancestor_in(item.identifier, parents, domain_ids)
        if domain is None:
            general_needed = True
        competencies.append(
            CompetencyContent(
                key=keys[item.identifier],
                domain=keys[domain] if domain else "general",
                title=text(item.fullStatement) or {},
                description=text(item.notes),
                level_descriptors=descriptors.get(item.identifier, {}),
            )
        )
    if not levels:
        levels = default_content().levels
    if general_needed and "general" not in taken["domain"]:
        domains.append(DomainContent(key="general", title={language: "General"}))
    tier_by_id = {t_item.identifier: t for t_item, t in zip(typed(TYPE_TIER), tiers, strict=True)}
    for a in sorted(package.CFAssociations, key=lambda a: a.sequenceNumber or 0):
        tier = tier_by_id.get(a.destinationNodeURI.identifier)
        origin = keys.get(a.originNodeURI.identifier)
        if a.associationType != "isPartOf" or tier is None or origin not in taken["competency"]:
            continue
        ext = a.extensions or {}
        path = (
            tier.refresher_requirements
            if ext.get("recertificationPath") == "refresher"
            else tier.requirements
        )
        path.append(
            RequirementContent(
                competency=origin,
                min_level=ext.get("minimumLevel") or (levels[0].key if levels else "basic"),
                accepted_forms=ext.get("acceptedForms") or ["knowledge_test"],
                min_score=ext.get("minimumScore"),
            )
        )
    model_key = (doc.extensions or {}).get("modelKey")
    return ModelDocument(
        key=key or _key(model_key or doc.title, f"case-{doc.identifier[:8]}", set()),
        name=doc.title[:200],
        description=doc.description,
        content=VersionContent(
            domains=domains, levels=levels, competencies=competencies, tiers=tiers
        ),
    )


def _enumeration(item: CFPckgItem) -> tuple[int, str]:
    try:
        return int(item.listEnumeration or 0), item.humanCodingScheme or ""
    except ValueError:
        return 0, item.listEnumeration or ""


def _ancestor_in(identifier: str, parents: dict[str, str], targets: set[str]) -> str | None:
    seen = set()
    current = parents.get(identifier)
    while current is not None and current not in seen:
        if current in targets:
            return current
        seen.add(current)
        current = parents.get(current)
    return None


def _descriptors(
    package: CFPackage, level_keys: list[str], language: str
) -> dict[str, dict[str, dict[str, str]]]:
    """Level descriptors per competency item from the rubric criteria (position = level rank)."""
    result: dict[str, dict[str, dict[str, str]]] = {}
    for rubric in package.CFRubrics:
        for criterion in rubric.CFRubricCriteria:
            if criterion.CFItemURI is None:
                continue
            target = result.setdefault(criterion.CFItemURI.identifier, {})
            for level in criterion.CFRubricCriterionLevels:
                rank = (level.position or 0) - 1
                if 0 <= rank < len(level_keys) and level.description:
                    target[level_keys[rank]] = {language: level.description[:4000]}
    return result
