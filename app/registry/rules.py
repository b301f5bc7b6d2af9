"""Pure rules of the register: the role risk scale and its derivation, and Art. 26 flags.

A role's risk class is derived on one ordered scale, minimal < limited < high, from every
process the role is linked to (current *and* planned links: a role that will use a
high-risk system soon needs its training now) and every AI system used in those processes:

- process impact level: low -> minimal, medium -> limited, high -> high;
- AI Act risk class: minimal -> minimal, limited -> limited, general_purpose -> limited,
  high -> high, prohibited -> high (a prohibited practice must not be in use at all; the
  overview flags it, and a role exposed to it needs at least the high tier).

The derived class is the highest of these; a role without links is minimal. The reasons name
each process and system at that highest level and say when a link is only planned. An
override by IT/security (the latest row of role_risk_override) replaces the derived class
as the effective one; its reason is added to the reasons.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from app.registry.models import (
    AIRiskClass,
    AISystem,
    DeploymentStatus,
    ImpactLevel,
    LinkState,
    Process,
    RoleRiskClass,
    RoleRiskOverride,
)

# The combined role scale and the mapping of both inputs onto it (see the module docstring).
ROLE_CLASS_RANK = {RoleRiskClass.minimal: 1, RoleRiskClass.limited: 2, RoleRiskClass.high: 3}
ROLE_CLASS_BY_RANK = {rank: risk for risk, rank in ROLE_CLASS_RANK.items()}
IMPACT_RANK = {ImpactLevel.low: 1, ImpactLevel.medium: 2, ImpactLevel.high: 3}
AI_CLASS_RANK = {
    AIRiskClass.minimal: 1,
    AIRiskClass.limited: 2,
    AIRiskClass.general_purpose: 2,
    AIRiskClass.high: 3,
    AIRiskClass.prohibited: 3,
}


@dataclass
class RoleRisk:
    """A role's derived class, IT/security's override (if any), the one that counts, and why."""

    role_id: uuid.UUID
    derived_class: str
    override_class: str | None
    effective_class: str
    reasons: list[str] = field(default_factory=list)


def system_flags(system: AISystem, *, overseer_count: int, in_use: bool, on: date) -> list[str]:
    """Register problems of a system; AI Act Art. 26(2) and 26(7) for high-risk systems in use."""
    flags = []
    if in_use and system.risk_class == AIRiskClass.high:
        if overseer_count == 0:
            flags.append("art26_no_overseers")
        if system.workers_informed_date is None or system.workers_informed_date > on:
            flags.append("art26_workers_not_informed")
    if in_use and (
        system.deployment_status == DeploymentStatus.prohibited
        or system.risk_class == AIRiskClass.prohibited
    ):
        flags.append("prohibited_in_use")
    return flags


def _when(state: str, planned_from_date: date | None) -> str:
    if state != LinkState.planned or planned_from_date is None:
        return ""
    return f" (planned from {planned_from_date.isoformat()})"


def role_risk_from_rows(
    role_id: uuid.UUID,
    rows: list[tuple[Process, str, date | None, AISystem | None]],
    override: RoleRiskOverride | None,
) -> RoleRisk:
    """Derive a role's class from (process, link state, planned date, system or None) rows."""
    causes: dict[int, list[str]] = {}
    for process, state, planned, system in rows:
        when = _when(state, planned)
        impact_rank = IMPACT_RANK[ImpactLevel(process.impact_level)]
        causes.setdefault(impact_rank, []).append(
            f"process '{process.name}' has {process.impact_level} impact{when}"
        )
        if system is not None:
            system_rank = AI_CLASS_RANK[AIRiskClass(system.risk_class)]
            causes.setdefault(system_rank, []).append(
                f"AI system '{system.name}' ({system.risk_class} risk under the AI Act) "
                f"is used in process '{process.name}'{when}"
            )
    if causes:
        top = max(causes)
        derived = ROLE_CLASS_BY_RANK[top]
        reasons = list(dict.fromkeys(causes[top]))
    else:
        derived = RoleRiskClass.minimal
        reasons = ["the role is not linked to any process in the AI-use register"]
    override_class = override.override_class if override is not None else None
    if override is not None and override_class is not None:
        reasons.append(
            f"overridden to {override_class} by {override.decided_by or 'unknown'} on "
            f"{override.decided_at.date().isoformat()}: {override.reason}"
        )
    effective = override_class or derived
    return RoleRisk(
        role_id=role_id,
        derived_class=str(derived),
        override_class=str(override_class) if override_class else None,
        effective_class=str(effective),
        reasons=reasons,
    )
