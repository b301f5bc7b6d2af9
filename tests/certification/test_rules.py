"""The pure certification rules: requirement kinds, ageing, renewal and status (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.certification.rules import (
    Evidence,
    Gap,
    Lifecycle,
    RenewalBasis,
    Requirement,
    Status,
    add_months,
    evaluate_requirement,
    evaluate_tier,
    status_on,
    valid_until_for_award,
    valid_until_for_renewal,
)

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
BASIC, ADVANCED, EXPERT = 1, 2, 3
PRACTICE = frozenset({"practical_assessment", "portfolio", "interview"})


def _ev(
    key="ai-policy", level=ADVANCED, form="practical_assessment", days_ago=10, **kw
) -> Evidence:
    return Evidence(key, level, form, NOW - timedelta(days=days_ago), **kw)


def _req(key="ai-policy", level=ADVANCED, forms=PRACTICE, min_score=None) -> Requirement:
    return Requirement(key, level, forms, min_score)


def _check(requirement, *evidence):
    return evaluate_requirement(requirement, evidence, now=NOW, max_age_months=24)


def test_met_by_matching_evidence():
    result = _check(_req(), _ev())
    assert result.met and result.satisfied_by is not None


def test_level_ordering_higher_level_satisfies_lower():
    assert _check(_req(level=BASIC), _ev(level=EXPERT)).met
    assert _check(_req(level=EXPERT), _ev(level=ADVANCED)).gap is Gap.level_too_low


def test_form_must_be_accepted():
    assert _check(_req(), _ev(form="knowledge_test")).gap is Gap.wrong_form


def test_score_threshold_and_failed_attempts():
    assert _check(_req(min_score=0.8), _ev(score_scaled=0.79)).gap is Gap.score_too_low
    assert _check(_req(min_score=0.8), _ev(score_scaled=0.8)).met
    assert _check(_req(min_score=0.8), _ev(score_scaled=None)).gap is Gap.score_too_low
    assert _check(_req(), _ev(passed=False)).gap is Gap.score_too_low


def test_evidence_older_than_validity_does_not_count():
    assert _check(_req(), _ev(days_ago=800)).gap is Gap.too_old
    assert _check(_req(), _ev(days_ago=700)).met


def test_voided_and_future_evidence_do_not_count():
    assert _check(_req(), _ev(voided=True)).gap is Gap.no_evidence
    assert _check(_req(), _ev(days_ago=-1)).gap is Gap.no_evidence


def test_nearest_gap_is_reported_and_freshest_evidence_chosen():
    result = _check(_req(level=EXPERT), _ev(days_ago=900), _ev(level=BASIC))
    assert result.gap is Gap.level_too_low
    fresh = _check(_req(), _ev(days_ago=300), _ev(days_ago=5))
    assert fresh.satisfied_by == _ev(days_ago=5)


def test_tier_needs_every_requirement_and_completes_at_the_last_one():
    reqs = [_req("a"), _req("b", level=BASIC, forms=frozenset({"knowledge_test"}))]
    evidence = [_ev("a", days_ago=30), _ev("b", level=BASIC, form="knowledge_test", days_ago=3)]
    result = evaluate_tier(reqs, evidence, now=NOW, validity_months=24)
    assert result.met and result.completed_at == NOW - timedelta(days=3)
    partial = evaluate_tier(reqs, evidence[:1], now=NOW, validity_months=24)
    assert (
        not partial.met
        and partial.any_progress
        and [g.gap for g in partial.gaps] == [Gap.no_evidence]
    )
    assert not evaluate_tier([], evidence, now=NOW, validity_months=24).met


def test_month_arithmetic_clamps_to_month_end():
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 120))
def test_add_months_never_overshoots_the_target_month(day, months):
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day <= day.day


LIFE = Lifecycle(validity_months=24, recertification_window_days=90, grace_days=30)


def test_renewal_inside_window_keeps_the_remaining_days():
    old = date(2026, 9, 1)
    assert valid_until_for_renewal(
        LIFE, previous_valid_until=old, completed_on=date(2026, 7, 1)
    ) == date(2028, 9, 1)


def test_renewal_in_grace_counts_from_old_expiry_and_after_grace_from_completion():
    old = date(2026, 9, 1)
    in_grace = valid_until_for_renewal(
        LIFE, previous_valid_until=old, completed_on=date(2026, 9, 20)
    )
    assert in_grace == date(2028, 9, 1)
    late = valid_until_for_renewal(LIFE, previous_valid_until=old, completed_on=date(2026, 11, 15))
    assert late == date(2028, 11, 15)


def test_renewal_basis_completion_date_and_fixed_date():
    by_completion = Lifecycle(24, 90, renewal_basis=RenewalBasis.completion_date)
    assert valid_until_for_renewal(
        by_completion, previous_valid_until=date(2026, 9, 1), completed_on=date(2026, 7, 1)
    ) == date(2028, 7, 1)
    fixed = Lifecycle(12, 60, renewal_basis=RenewalBasis.fixed_date, fixed_month_day=(1, 1))
    assert valid_until_for_award(fixed, completed_on=date(2026, 3, 10)) == date(2028, 1, 1)
    assert valid_until_for_award(fixed, completed_on=date(2026, 1, 1)) == date(2027, 1, 1)


def test_status_follows_the_clock():
    until = date(2026, 9, 1)
    assert status_on(LIFE, valid_until=until, on=date(2026, 5, 1)) is Status.certified
    assert status_on(LIFE, valid_until=until, on=date(2026, 6, 3)) is Status.expiring
    assert status_on(LIFE, valid_until=until, on=date(2026, 9, 20)) is Status.expiring  # grace
    assert status_on(LIFE, valid_until=until, on=date(2026, 10, 2)) is Status.expired
    assert status_on(LIFE, valid_until=until, on=date(2026, 5, 1), revoked=True) is Status.revoked
    assert status_on(LIFE, valid_until=None, on=date(2026, 5, 1)) is Status.not_started
    assert (
        status_on(LIFE, valid_until=None, on=date(2026, 5, 1), any_progress=True)
        is Status.in_progress
    )
