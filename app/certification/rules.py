"""Certification rules as pure functions of (requirements, evidence, clock): no database.

This is the reference the set-based SQL evaluation must agree with (a property
test generates organisations and compares both). Levels are ranks on the
model's ordered proficiency scale (basic=1 < advanced=2 < expert=3).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from dateutil.relativedelta import relativedelta


class Gap(StrEnum):
    """Why a requirement is not met, from the most to the least progress made."""

    score_too_low = "score_too_low"
    wrong_form = "wrong_form"
    level_too_low = "level_too_low"
    too_old = "too_old"
    no_evidence = "no_evidence"


class Status(StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    certified = "certified"
    expiring = "expiring"
    expired = "expired"
    revoked = "revoked"


class RenewalBasis(StrEnum):
    """Which date a renewal's validity counts from."""

    previous_expiry = "previous_expiry"
    completion_date = "completion_date"
    fixed_date = "fixed_date"


@dataclass(frozen=True)
class Requirement:
    competency_key: str
    min_level: int
    accepted_forms: frozenset[str]
    min_score: float | None = None  # scaled score 0..1


@dataclass(frozen=True)
class Evidence:
    competency_key: str
    level: int
    form: str
    occurred_at: datetime
    passed: bool = True
    score_scaled: float | None = None
    voided: bool = False
    id: str | None = None  # the evidence row, so an award can name what it rests on


@dataclass(frozen=True)
class RequirementResult:
    requirement: Requirement
    met: bool
    satisfied_by: Evidence | None = None
    gap: Gap | None = None


@dataclass(frozen=True)
class TierResult:
    met: bool
    results: tuple[RequirementResult, ...]
    completed_at: datetime | None = None  # when the last requirement was (most recently) met

    @property
    def gaps(self) -> list[RequirementResult]:
        return [result for result in self.results if not result.met]

    @property
    def earliest_at(self) -> datetime | None:
        """The oldest of the evidence the tier is met with: a renewal inside the window needs
        every requirement shown again there, not one new piece beside two-year-old ones."""
        times = [r.satisfied_by.occurred_at for r in self.results if r.satisfied_by]
        return min(times) if self.met and times else None

    @property
    def any_progress(self) -> bool:
        return any(result.met for result in self.results)


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's end (29 Feb + 12 months = 28 Feb)."""
    result: date = day + relativedelta(months=months)
    return result


def evaluate_requirement(
    requirement: Requirement, evidence: Iterable[Evidence], *, now: datetime, max_age_months: int
) -> RequirementResult:
    """The freshest unvoided evidence that satisfies the requirement, or the nearest gap."""
    oldest_allowed = (
        datetime.combine(add_months(now.date(), -max_age_months), now.timetz())
        if max_age_months
        else None
    )
    best: Evidence | None = None
    nearest = Gap.no_evidence
    order = list(Gap)
    for item in evidence:
        if item.voided or item.competency_key != requirement.competency_key:
            continue
        if item.occurred_at > now:
            continue
        gap = _gap_of(requirement, item, oldest_allowed)
        if gap is None:
            if best is None or item.occurred_at > best.occurred_at:
                best = item
        elif order.index(gap) < order.index(nearest):
            nearest = gap
    if best is not None:
        return RequirementResult(requirement, True, satisfied_by=best)
    return RequirementResult(requirement, False, gap=nearest)


def _gap_of(
    requirement: Requirement, item: Evidence, oldest_allowed: datetime | None
) -> Gap | None:
    if oldest_allowed is not None and item.occurred_at < oldest_allowed:
        return Gap.too_old
    if item.level < requirement.min_level:
        return Gap.level_too_low
    if item.form not in requirement.accepted_forms:
        return Gap.wrong_form
    if not item.passed:
        return Gap.score_too_low
    if requirement.min_score is not None and (
        item.score_scaled is None or item.score_scaled < requirement.min_score
    ):
        return Gap.score_too_low
    return None


def evaluate_tier(
    requirements: Sequence[Requirement],
    evidence: Sequence[Evidence],
    *,
    now: datetime,
    validity_months: int,
) -> TierResult:
    """A tier is met when every requirement is; evidence older than the validity does not count."""
    results = tuple(
        evaluate_requirement(r, evidence, now=now, max_age_months=validity_months)
        for r in requirements
    )
    met = bool(results) and all(result.met for result in results)
    completed_at = (
        max(r.satisfied_by.occurred_at for r in results if r.satisfied_by) if met else None
    )
    return TierResult(met=met, results=results, completed_at=completed_at)


def evaluate_in_window(
    requirements: Sequence[Requirement],
    evidence: Sequence[Evidence],
    *,
    now: datetime,
    window_opens_on: date,
    validity_months: int,
) -> TierResult:
    """Requirements met the way a renewal must meet them: only evidence from the held
    diploma's recertification window (or its grace period) counts, so neither a tier's
    refresher path nor its full requirements can be met again with what the person showed
    for the diploma they are renewing."""
    recent = [item for item in evidence if item.occurred_at.date() >= window_opens_on]
    return evaluate_tier(requirements, recent, now=now, validity_months=validity_months)


@dataclass(frozen=True)
class Lifecycle:
    """A tier's validity rules."""

    validity_months: int
    recertification_window_days: int
    grace_days: int = 0
    renewal_basis: RenewalBasis = RenewalBasis.previous_expiry
    fixed_month_day: tuple[int, int] | None = field(default=None)  # for fixed_date, e.g. (1, 1)


def valid_until_for_award(lifecycle: Lifecycle, *, completed_on: date) -> date:
    """A first award is valid for the validity period from its completion date."""
    if lifecycle.renewal_basis is RenewalBasis.fixed_date and lifecycle.fixed_month_day:
        return _next_fixed(completed_on, lifecycle)
    return add_months(completed_on, lifecycle.validity_months)


def valid_until_for_renewal(
    lifecycle: Lifecycle, *, previous_valid_until: date, completed_on: date
) -> date:
    """Renewal inside the window keeps the days left (counts from the old expiry); after expiry
    (past the grace period) it counts from the completion date, as a first award does."""
    expired_hard = completed_on > previous_valid_until + timedelta(days=lifecycle.grace_days)
    if expired_hard or lifecycle.renewal_basis is RenewalBasis.completion_date:
        return valid_until_for_award(lifecycle, completed_on=completed_on)
    if lifecycle.renewal_basis is RenewalBasis.fixed_date and lifecycle.fixed_month_day:
        return _next_fixed(previous_valid_until, lifecycle)
    return add_months(previous_valid_until, lifecycle.validity_months)


def _next_fixed(start: date, lifecycle: Lifecycle) -> date:
    """The first occurrence of the fixed calendar date on or after start + validity."""
    assert lifecycle.fixed_month_day is not None
    month, day = lifecycle.fixed_month_day
    target = add_months(start, lifecycle.validity_months)
    for year in (target.year, target.year + 1):
        candidate = date(year, month, min(day, calendar.monthrange(year, month)[1]))
        if candidate >= target:
            return candidate
    raise AssertionError("unreachable: a calendar date recurs every year")


def window_opens_on(lifecycle: Lifecycle, valid_until: date) -> date:
    return valid_until - timedelta(days=lifecycle.recertification_window_days)


def in_renewal_window(lifecycle: Lifecycle, *, valid_until: date, on: date) -> bool:
    """Inside the recertification window or the grace period after expiry."""
    return (
        window_opens_on(lifecycle, valid_until)
        <= on
        <= valid_until + timedelta(days=lifecycle.grace_days)
    )


def status_on(
    lifecycle: Lifecycle,
    *,
    valid_until: date | None,
    on: date,
    revoked: bool = False,
    any_progress: bool = False,
) -> Status:
    """The status a certification has on a day: derived, so it is right for any clock."""
    if revoked:
        return Status.revoked
    if valid_until is None:
        return Status.in_progress if any_progress else Status.not_started
    if on > valid_until + timedelta(days=lifecycle.grace_days):
        return Status.expired
    if on >= window_opens_on(lifecycle, valid_until):
        return Status.expiring
    return Status.certified
