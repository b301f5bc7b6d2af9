"""From statements to evidence: activity mappings, pass rules and cmi5 moveOn.

Pure functions over parsed statements plus the version's mappings (loaded once per
batch), so a batch of 500 statements costs no per-statement query. A statement
becomes evidence when its object matches a mapping and its result meets the
mapping's pass rule. cmi5 statements (category cmi5, with a registration) follow the
AU's moveOn instead (cmi5 spec 10, "moveOn"), read from the "launched" statement's
context extension (cmi5 9.6.3.6): evidence comes from the statement that first
satisfies it, so a later completed/passed never double-counts.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.competencies.models import ActivityMapping, ActivityMatch, PassRule
from app.evidence.models import EvidenceSource
from app.evidence.schemas import EvidenceCreate

ADL = "http://adlnet.gov/expapi/verbs/"
PASSED, COMPLETED, FAILED, SCORED = (
    ADL + "passed",
    ADL + "completed",
    ADL + "failed",
    ADL + "scored",
)
LAUNCHED = ADL + "launched"
VOIDED = ADL + "voided"
RESULT_VERBS = frozenset({PASSED, COMPLETED, FAILED, SCORED})
CMI5_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
MOVE_ON = "https://w3id.org/xapi/cmi5/context/extensions/moveon"
MOVE_ON_VALUES = frozenset(
    {"Completed", "Passed", "CompletedAndPassed", "CompletedOrPassed", "NotApplicable"}
)


class MappingIndex:
    """The activity mappings of one model version, matched in memory (exact, then prefix)."""

    def __init__(self, mappings: Iterable[ActivityMapping]) -> None:
        self.exact: dict[str, list[ActivityMapping]] = defaultdict(list)
        self.prefix: list[ActivityMapping] = []
        for mapping in mappings:
            if mapping.match == ActivityMatch.prefix:
                self.prefix.append(mapping)
            else:
                self.exact[mapping.activity_id].append(mapping)

    def match(self, activity_id: str) -> list[ActivityMapping]:
        found = list(self.exact.get(activity_id, ()))
        found.extend(m for m in self.prefix if activity_id.startswith(m.activity_id))
        return found


@dataclass
class Parsed:
    """The parts of a stored statement derivation needs."""

    id: uuid.UUID
    person_id: uuid.UUID | None
    actor_ifi: str
    verb_id: str
    activity_id: str | None
    registration: uuid.UUID | None
    timestamp_at: datetime
    stored_at: datetime
    statement: dict[str, Any]
    authority_client_id: str | None = None

    @property
    def result(self) -> dict[str, Any]:
        return self.statement.get("result") or {}

    @property
    def is_cmi5(self) -> bool:
        context = self.statement.get("context") or {}
        categories = (context.get("contextActivities") or {}).get("category") or []
        if isinstance(categories, dict):
            categories = [categories]
        return self.registration is not None and any(
            c.get("id") == CMI5_CATEGORY for c in categories
        )

    @property
    def move_on(self) -> str | None:
        extensions = (self.statement.get("context") or {}).get("extensions") or {}
        value = extensions.get(MOVE_ON)
        return value if value in MOVE_ON_VALUES else None


def scaled_score(result: dict[str, Any]) -> float | None:
    score = result.get("score") or {}
    if "scaled" in score:
        return float(score["scaled"])
    raw, low, high = score.get("raw"), score.get("min"), score.get("max")
    if raw is not None and low is not None and high is not None and high > low:
        return (raw - low) / (high - low)
    return None


def success_of(verb_id: str, result: dict[str, Any]) -> bool | None:
    if "success" in result:
        return bool(result["success"])
    return True if verb_id == PASSED else False if verb_id == FAILED else None


def completion_of(verb_id: str, result: dict[str, Any]) -> bool | None:
    if "completion" in result:
        return bool(result["completion"])
    return True if verb_id == COMPLETED else None


def meets_rule(mapping: ActivityMapping, verb_id: str, result: dict[str, Any]) -> bool:
    """Whether one statement meets a mapping's pass rule (min_score | success | completion)."""
    if verb_id not in RESULT_VERBS:
        return False
    success = success_of(verb_id, result)
    if mapping.pass_rule == PassRule.success:
        return success is True
    if mapping.pass_rule == PassRule.completion:
        return completion_of(verb_id, result) is True and success is not False
    scaled = scaled_score(result)
    return success is not False and scaled is not None and scaled >= (mapping.min_scaled_score or 0)


def move_on_satisfied(move_on: str, completed: bool, passed: bool) -> bool:
    """cmi5 moveOn criteria for an AU given what the registration has shown."""
    return {
        "Completed": completed,
        "Passed": passed,
        "CompletedAndPassed": completed and passed,
        "CompletedOrPassed": completed or passed,
    }.get(move_on, False)


def evidence_item(
    statement: Parsed, mapping: ActivityMapping, result: dict[str, Any]
) -> EvidenceCreate:
    score = result.get("score") or {}
    assert statement.person_id is not None
    return EvidenceCreate(
        person_id=statement.person_id,
        competency_key=mapping.competency_key,
        level_key=mapping.level_key,
        assessment_form=str(mapping.assessment_form),
        source=EvidenceSource.xapi,
        source_ref=evidence_ref(statement.id, mapping.competency_key),
        activity_id=statement.activity_id,
        score_raw=score.get("raw"),
        score_min=score.get("min"),
        score_max=score.get("max"),
        score_scaled=score.get("scaled"),
        passed=True,
        occurred_at=statement.timestamp_at,
        assessor_client_id=statement.authority_client_id,
    )


def evidence_ref(statement_id: uuid.UUID, competency_key: str) -> str:
    """One statement can show several competencies; each is its own evidence record."""
    return f"{statement_id}#{competency_key}"


def derive(
    targets: Sequence[Parsed], index: MappingIndex, cmi5_history: Sequence[Parsed]
) -> list[EvidenceCreate]:
    """Evidence from `targets` (resolved, not voided). `cmi5_history` holds every stored,
    not-voided launched/completed/passed statement of the targets' cmi5 registrations."""
    sessions: dict[tuple[uuid.UUID | None, str | None, str], list[Parsed]] = defaultdict(list)
    for item in cmi5_history:
        sessions[(item.registration, item.activity_id, item.actor_ifi)].append(item)
    satisfying: dict[tuple[uuid.UUID | None, str | None, str], tuple[str, uuid.UUID | None]] = {}
    for key, history in sessions.items():
        satisfying[key] = _walk(history)
    items: list[EvidenceCreate] = []
    for statement in targets:
        if statement.person_id is None or statement.activity_id is None:
            continue
        mappings = index.match(statement.activity_id)
        if not mappings:
            continue
        key = (statement.registration, statement.activity_id, statement.actor_ifi)
        move_on, satisfied_by = satisfying.get(key, ("", None)) if statement.is_cmi5 else ("", None)
        if move_on and move_on != "NotApplicable":
            if satisfied_by != statement.id:
                continue
            passed_result = _passed_result(sessions[key])
            for mapping in mappings:
                if mapping.pass_rule == PassRule.min_score:
                    scaled = scaled_score(passed_result)
                    if scaled is None or scaled < (mapping.min_scaled_score or 0):
                        continue
                items.append(evidence_item(statement, mapping, passed_result or statement.result))
            continue
        # Plain statements, cmi5 without a known moveOn, and NotApplicable AUs (not required
        # for the course, cmi5 10): the mapping's own pass rule decides.
        for mapping in mappings:
            if meets_rule(mapping, statement.verb_id, statement.result):
                items.append(evidence_item(statement, mapping, statement.result))
    return items


def _ordered(history: Sequence[Parsed]) -> list[Parsed]:
    return sorted(history, key=lambda s: (s.timestamp_at, s.stored_at, str(s.id)))


def _walk(history: Sequence[Parsed]) -> tuple[str, uuid.UUID | None]:
    """The AU's moveOn and the statement that first satisfied it in this registration."""
    move_on = ""
    completed = passed = False
    for item in _ordered(history):
        if item.verb_id == LAUNCHED and item.move_on:
            move_on = item.move_on
            continue
        was = move_on_satisfied(move_on, completed, passed)
        completed = completed or item.verb_id == COMPLETED
        passed = passed or (item.verb_id == PASSED and item.result.get("success") is not False)
        if move_on and not was and move_on_satisfied(move_on, completed, passed):
            return move_on, item.id
    return move_on, None


def _passed_result(history: Sequence[Parsed]) -> dict[str, Any]:
    for item in _ordered(history):
        if item.verb_id == PASSED:
            return item.result
    return {}
