"""Pure checks of a version's content: reference integrity (any draft) and publishing rules.

Each problem names the offending item with a JSON Pointer into the content document,
so a 422 tells exactly what to fix (RFC 9457 `errors` members).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from app.competencies.models import PRACTICE_FORMS
from app.competencies.schemas import VersionContent


def _problem(pointer: list[Any], code: str, message: str, item: str) -> dict[str, Any]:
    return {
        "pointer": "#/" + "/".join(str(p) for p in pointer),
        "location": "content",
        "field": ".".join(str(p) for p in pointer),
        "message": message,
        "type": code,
        "item": item,
    }


def content_problems(
    content: VersionContent, *, role_keys: set[str], job_family_keys: set[str]
) -> list[dict[str, Any]]:
    """Duplicate keys and references to things that do not exist (levels excepted: see publish)."""
    problems: list[dict[str, Any]] = []
    for section in ("domains", "levels", "competencies", "tiers"):
        counts = Counter(item.key for item in getattr(content, section))
        for i, item in enumerate(getattr(content, section)):
            if counts[item.key] > 1:
                problems.append(
                    _problem(
                        [section, i, "key"], "duplicate-key", f"Key {item.key!r} repeats.", item.key
                    )
                )
    domains = {d.key for d in content.domains}
    competencies = {c.key for c in content.competencies}
    tiers = {t.key for t in content.tiers}
    for i, c in enumerate(content.competencies):
        if c.domain not in domains:
            problems.append(
                _problem(
                    ["competencies", i, "domain"],
                    "unknown-domain",
                    f"No domain {c.domain!r}.",
                    c.key,
                )
            )
    for ti, t in enumerate(content.tiers):
        for field, path in (
            ("requirements", t.requirements),
            ("refresher_requirements", t.refresher_requirements),
        ):
            seen: set[str] = set()
            for ri, r in enumerate(path):
                where = ["tiers", ti, field, ri, "competency"]
                if r.competency not in competencies:
                    problems.append(
                        _problem(
                            where,
                            "unknown-competency",
                            f"No competency {r.competency!r}.",
                            f"{t.key}/{r.competency}",
                        )
                    )
                if r.competency in seen:
                    problems.append(
                        _problem(
                            where,
                            "duplicate-requirement",
                            f"Tier {t.key!r} names {r.competency!r} twice in its {field}.",
                            f"{t.key}/{r.competency}",
                        )
                    )
                seen.add(r.competency)
    for i, rule in enumerate(content.derivation_rules):
        if rule.tier not in tiers:
            problems.append(
                _problem(
                    ["derivation_rules", i, "tier"],
                    "unknown-tier",
                    f"No tier {rule.tier!r}.",
                    rule.tier,
                )
            )
    targets: Counter[tuple[str | None, str | None]] = Counter(
        (a.role, a.job_family) for a in content.role_tiers
    )
    for section, items in (
        ("role_tiers", content.role_tiers),
        ("role_competencies", content.role_competencies),
    ):
        for i, a in enumerate(items):
            target = f"role {a.role}" if a.role else f"job family {a.job_family}"
            if a.role and a.role not in role_keys:
                problems.append(
                    _problem([section, i, "role"], "unknown-role", f"No role {a.role!r}.", target)
                )
            if a.job_family and a.job_family not in job_family_keys:
                problems.append(
                    _problem(
                        [section, i, "job_family"],
                        "unknown-job-family",
                        f"No job family {a.job_family!r}.",
                        target,
                    )
                )
            tier = getattr(a, "tier", None)
            if tier is not None and tier not in tiers:
                problems.append(
                    _problem([section, i, "tier"], "unknown-tier", f"No tier {tier!r}.", target)
                )
            if section == "role_tiers" and targets[(a.role, a.job_family)] > 1:
                problems.append(
                    _problem(
                        [section, i],
                        "duplicate-role-tier",
                        f"{target} has more than one explicit tier.",
                        target,
                    )
                )
            competency = getattr(a, "competency", None)
            if competency is not None and competency not in competencies:
                problems.append(
                    _problem(
                        [section, i, "competency"],
                        "unknown-competency",
                        f"No competency {competency!r}.",
                        target,
                    )
                )
    for i, m in enumerate(content.activity_mappings):
        if m.competency not in competencies:
            problems.append(
                _problem(
                    ["activity_mappings", i, "competency"],
                    "unknown-competency",
                    f"No competency {m.competency!r}.",
                    m.activity_id,
                )
            )
    return problems


def publish_problems(content: VersionContent) -> list[dict[str, Any]]:
    """The rules that stop the known pitfalls; an empty list means the version may be published."""
    problems: list[dict[str, Any]] = []
    levels = {lv.key for lv in content.levels}
    if not content.levels:
        problems.append(
            _problem(["levels"], "no-levels", "The proficiency scale is empty.", "levels")
        )
    if not content.tiers:
        problems.append(_problem(["tiers"], "no-tiers", "The model has no diploma tier.", "tiers"))
    for ti, t in enumerate(content.tiers):
        if t.validity_months is None:
            # Pitfall: no recertification, so the programme stops after one round.
            problems.append(
                _problem(
                    ["tiers", ti, "validity_months"],
                    "tier-without-validity",
                    f"Tier {t.key!r} has no validity period; every tier needs one for recertification.",
                    t.key,
                )
            )
        forms = {f for r in t.requirements for f in r.accepted_forms}
        if ti > 0 and not forms & PRACTICE_FORMS:
            # Pitfall: only knowledge tested, no behaviour in practice.
            problems.append(
                _problem(
                    ["tiers", ti, "requirements"],
                    "tier-knowledge-only",
                    f"Tier {t.key!r} is above {content.tiers[0].key!r} but accepts no practice-based "
                    "form (practical_assessment, portfolio or interview).",
                    t.key,
                )
            )
        for field, path in (
            ("requirements", t.requirements),
            ("refresher_requirements", t.refresher_requirements),
        ):
            for ri, r in enumerate(path):
                if r.min_level not in levels:
                    problems.append(
                        _problem(
                            ["tiers", ti, field, ri, "min_level"],
                            "unknown-level",
                            f"Level {r.min_level!r} is not on the scale.",
                            f"{t.key}/{r.competency}",
                        )
                    )
        if (
            t.refresher_requirements
            and t.recertification_window_days == 0
            and t.grace_period_days == 0
        ):
            # The refresher counts only inside the window: without one it could never apply.
            problems.append(
                _problem(
                    ["tiers", ti, "refresher_requirements"],
                    "refresher-without-window",
                    f"Tier {t.key!r} has a refresher path but no recertification window or "
                    "grace period to take it in.",
                    t.key,
                )
            )
    for i, extra in enumerate(content.role_competencies):
        if extra.min_level not in levels:
            problems.append(
                _problem(
                    ["role_competencies", i, "min_level"],
                    "unknown-level",
                    f"Level {extra.min_level!r} is not on the scale.",
                    f"{extra.role or extra.job_family}/{extra.competency}",
                )
            )
    for i, m in enumerate(content.activity_mappings):
        if m.level not in levels:
            problems.append(
                _problem(
                    ["activity_mappings", i, "level"],
                    "unknown-level",
                    f"Level {m.level!r} is not on the scale.",
                    m.activity_id,
                )
            )
    for ci, c in enumerate(content.competencies):
        for level in c.level_descriptors:
            if level not in levels:
                problems.append(
                    _problem(
                        ["competencies", ci, "level_descriptors", level],
                        "unknown-level",
                        f"Level {level!r} is not on the scale.",
                        c.key,
                    )
                )
    return problems


def unused_competencies(content: VersionContent) -> list[str]:
    used = {r.competency for t in content.tiers for r in t.requirements}
    used |= {r.competency for r in content.role_competencies}
    return [c.key for c in content.competencies if c.key not in used]


def tier_includes(content: VersionContent, higher: str, lower: str) -> bool:
    """Whether holding `higher` implies `lower`: it requires each of lower's competencies
    at least at the same level."""
    rank = {lv.key: i for i, lv in enumerate(content.levels)}
    tiers = {t.key: t for t in content.tiers}
    high = {r.competency: rank.get(r.min_level, -1) for r in tiers[higher].requirements}
    return all(
        r.competency in high and high[r.competency] >= rank.get(r.min_level, -1)
        for r in tiers[lower].requirements
    )


def tier_implications(content: VersionContent) -> dict[str, list[str]]:
    """For each tier, the lower tiers holding it implies."""
    return {
        t.key: [
            lower.key for lower in content.tiers[:i] if tier_includes(content, t.key, lower.key)
        ]
        for i, t in enumerate(content.tiers)
    }
