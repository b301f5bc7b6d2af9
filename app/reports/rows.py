"""Flat CSV renderings of the reports: (rows, columns) for app.core.csv_response."""

from __future__ import annotations

from typing import Any

from app.reports.schemas import (
    AggregateRow,
    BoardReport,
    CoverageReport,
    EffectivenessReport,
    ExpiringReport,
    OversightReport,
    ProcessRiskReport,
    TeamReport,
    WorksCouncilReport,
)

Rows = tuple[list[dict[str, Any]], list[str]]

FIGURES = [
    "people",
    "in_scope",
    "certified",
    "compliant",
    "compliant_pct",
    "expiring_30",
    "expiring_60",
    "expiring_90",
    "expired",
    "overdue",
]


def coverage_rows(report: CoverageReport) -> Rows:
    rows = []
    for group in [*report.groups, report.total]:
        row = group.model_dump(include={"key", "name", *FIGURES})
        row["group_by"] = str(report.group_by)
        row["required_tiers"] = "|".join(
            f"{t}:{n}" for t, n in sorted(group.required_tiers.items())
        )
        row["top_missing"] = "|".join(f"{m.competency}:{m.people}" for m in group.top_missing)
        rows.append(row)
    return rows, ["group_by", "key", "name", *FIGURES, "required_tiers", "top_missing"]


def expiring_rows(report: ExpiringReport) -> Rows:
    columns = [
        "person_id",
        "employee_number",
        "name",
        "email",
        "org_unit",
        "manager_employee_number",
        "tier",
        "status",
        "valid_until",
        "grace_until",
        "days_left",
        "required_tier",
        "compliant",
    ]
    return [p.model_dump() for p in report.people], columns


def process_risk_rows(report: ProcessRiskReport) -> Rows:
    columns = [
        "name",
        "risk_register_ref",
        "impact_level",
        "impact_types",
        "ai_systems",
        "roles",
        "people",
        "in_scope",
        "compliant",
        "compliant_pct",
        "non_compliant",
        "overdue",
        "expired",
    ]
    rows = []
    for p in report.processes:
        row = p.model_dump(exclude={"ai_systems", "roles", "impact_types"})
        row["impact_types"] = "|".join(p.impact_types)
        row["ai_systems"] = "|".join(f"{s.name} ({s.risk_class})" for s in p.ai_systems)
        row["roles"] = "|".join(sorted({r.key for r in p.roles}))
        rows.append(row)
    return rows, columns


def team_rows(report: TeamReport) -> Rows:
    columns = [
        "employee_number",
        "name",
        "org_unit",
        "status",
        "tier",
        "valid_until",
        "required_tier",
        "due_date",
        "compliant",
        "overdue",
        "extras_met",
        "missing",
    ]
    rows = []
    for member in report.people:
        row = member.model_dump()
        row["missing"] = "|".join(member.missing)
        rows.append(row)
    return rows, columns


def works_council_rows(report: WorksCouncilReport) -> Rows:
    """Suppressed groups keep their row, marked, with empty figures."""
    columns = list(AggregateRow.model_fields)
    return [r.model_dump() for r in [*report.groups, report.total]], columns


def board_rows(report: BoardReport) -> Rows:
    """The board page as metric,value lines (the headline figures first)."""
    rows: list[dict[str, Any]] = [
        {"metric": name, "value": getattr(report, name)}
        for name in (
            "as_of",
            "headline_compliant_pct",
            "in_scope",
            "certified",
            "compliant",
            "overdue",
            "expiring_30",
            "expiring_90",
            "expired",
            "high_risk_roles_compliant_pct",
        )
    ]
    rows += [
        {"metric": f"oversight.{name}", "value": value}
        for name, value in report.oversight.model_dump().items()
    ]
    rows += [
        {"metric": f"high_risk_role.{r.key}.compliant_pct", "value": r.compliant_pct}
        for r in report.high_risk_roles
    ]
    return rows, ["metric", "value"]


def oversight_rows(report: OversightReport) -> Rows:
    columns = [
        "ai_system",
        "workers_informed_date",
        "issues",
        "employee_number",
        "name",
        "via",
        "status",
        "tier",
        "required_tier",
        "holds_required_tier",
    ]
    rows: list[dict[str, Any]] = []
    for system in report.systems:
        head = {
            "ai_system": system.name,
            "workers_informed_date": system.workers_informed_date,
            "issues": "|".join(system.issues),
        }
        if not system.overseers:
            rows.append(head)
        for overseer in system.overseers:
            rows.append({**head, **overseer.model_dump()})
    return rows, columns


def effectiveness_rows(report: EffectivenessReport) -> Rows:
    buckets = [f"bucket_{10 * i}_{10 * (i + 1)}" for i in range(10)]
    rows: list[dict[str, Any]] = []
    for competency in report.scores:
        for month in competency.months:
            row: dict[str, Any] = {
                "section": "scores",
                "subject": competency.competency,
                "month": month.month,
                "count": month.count,
                "mean": month.mean,
            }
            row.update(zip(buckets, month.buckets, strict=True))
            rows.append(row)
    for activity in report.activities:
        rows.append(
            {
                "section": "first_time_pass",
                "subject": activity.activity_id,
                "count": activity.people,
                "passed_first_time": activity.passed_first_time,
                "first_time_pass_pct": activity.first_time_pass_pct,
            }
        )
    return rows, [
        "section",
        "subject",
        "month",
        "count",
        "mean",
        *buckets,
        "passed_first_time",
        "first_time_pass_pct",
    ]
