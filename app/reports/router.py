"""HTTP for the reports (step 5): JSON by default, CSV for `Accept: text/csv`.

Organisation-wide reports need reports:read; a manager's client (reports:team) sees only
its own tree; the works council (reports:aggregate) sees aggregates with small groups hidden.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlmodel import Session

from app.auth.dependencies import CurrentIdentity, require
from app.core.csv_response import csv_response, json_or_csv_responses, wants_csv
from app.core.errors import Forbidden, problem_responses
from app.core.routing import api_router, get_session
from app.reports import compliance, effectiveness, rows, scope, service, snapshots
from app.reports.schemas import (
    AggregateGroupBy,
    BoardReport,
    CoverageReport,
    DossierDocument,
    EffectivenessReport,
    ExpiringReport,
    GroupBy,
    OversightReport,
    ProcessRiskReport,
    SignedDossier,
    TeamReport,
    WorksCouncilReport,
)

SessionDep = Annotated[Session, Depends(get_session)]

router = api_router(prefix="/reports", tags=["reports"])

REPORT_ERRORS = problem_responses(401, 403, 404, 422)


def report_filters(
    org_unit_id: Annotated[
        uuid.UUID | None, Query(description="This org unit and every unit below it.")
    ] = None,
    role_id: Annotated[uuid.UUID | None, Query(description="Current holders of this role.")] = None,
    job_family_id: Annotated[
        uuid.UUID | None, Query(description="Current holders of a role in this job family.")
    ] = None,
    location_id: uuid.UUID | None = None,
    as_of: Annotated[
        date | None,
        Query(description="Derive every status as of this day (default: today)."),
    ] = None,
) -> scope.ReportFilters:
    return scope.ReportFilters(
        org_unit_id=org_unit_id,
        role_id=role_id,
        job_family_id=job_family_id,
        location_id=location_id,
        as_of=as_of,
    )


FiltersDep = Annotated[scope.ReportFilters, Depends(report_filters)]


def _checked(session: Session, filters: scope.ReportFilters) -> scope.ReportFilters:
    scope.check_filters(session, filters)
    return filters


def _answer(request: Request, report: Any, flatten: Any, filename: str) -> Any:
    if wants_csv(request):
        data, columns = flatten(report)
        return csv_response(data, columns=columns, filename=filename)
    return report


@router.get(
    "/coverage",
    summary="Coverage report",
    response_model=CoverageReport,
    dependencies=[require("reports:read")],
    responses={**json_or_csv_responses(), **REPORT_ERRORS},
)
def coverage(
    request: Request, session: SessionDep, filters: FiltersDep, group_by: GroupBy = GroupBy.org_unit
) -> Any:
    """Per group: in scope, required tier, certified, expiring in 30/60/90 days, expired,
    compliant %, top missing competencies."""
    report = service.coverage(session, filters=_checked(session, filters), group_by=group_by)
    return _answer(request, report, rows.coverage_rows, f"coverage-{group_by}.csv")


@router.get(
    "/expiring",
    summary="Expiring diplomas",
    response_model=ExpiringReport,
    dependencies=[require("reports:read")],
    responses={**json_or_csv_responses(), **REPORT_ERRORS},
)
def expiring(
    request: Request,
    session: SessionDep,
    filters: FiltersDep,
    days: Annotated[int, Query(ge=0, le=730, description="Expires within this many days.")] = 60,
) -> Any:
    """People whose diploma expires within `days` (grace period included): for reminders and
    LMS re-enrolment."""
    report = service.expiring(session, filters=_checked(session, filters), days=days)
    return _answer(request, report, rows.expiring_rows, f"expiring-{days}d.csv")


@router.get(
    "/process-risk",
    summary="Process risk report",
    response_model=ProcessRiskReport,
    dependencies=[require("reports:read")],
    responses={**json_or_csv_responses(), **REPORT_ERRORS},
)
def process_risk(request: Request, session: SessionDep, filters: FiltersDep) -> Any:
    """Per process: risk-register reference, AI systems, roles, people and share compliant."""
    report = compliance.process_risk(session, filters=_checked(session, filters))
    return _answer(request, report, rows.process_risk_rows, "process-risk.csv")


@router.get(
    "/team",
    summary="My team",
    response_model=TeamReport,
    dependencies=[require("reports:team")],
    responses={**json_or_csv_responses(), **REPORT_ERRORS},
)
def my_team(
    request: Request,
    session: SessionDep,
    identity: CurrentIdentity,
    filters: FiltersDep,
    manager: Annotated[
        uuid.UUID | None,
        Query(description="A manager inside your own tree, to see only their part of it."),
    ] = None,
) -> Any:
    """Your direct and indirect reports with status and gaps; nothing outside your tree."""
    if identity.person_id is None:
        raise Forbidden(
            "This client is not linked to a person, so it has no team.", slug="no-person-link"
        )
    report = service.team(
        session,
        manager_id=manager or identity.person_id,
        filters=filters,
        viewer_id=identity.person_id,
    )
    return _answer(request, report, rows.team_rows, "team.csv")


@router.get(
    "/team/{manager_id}",
    summary="A manager's team",
    response_model=TeamReport,
    dependencies=[require("reports:read")],
    responses={**json_or_csv_responses(), **REPORT_ERRORS},
)
def manager_team(
    request: Request, session: SessionDep, manager_id: uuid.UUID, filters: FiltersDep
) -> Any:
    """Any manager's direct and indirect reports with status and gaps (HR, organisation-wide)."""
    report = service.team(session, manager_id=manager_id, filters=_checked(session, filters))
    return _answer(request, report, rows.team_rows, "team.csv")


@router.get(
    "/works-council",
    summary="Works council report",
    response_model=WorksCouncilReport,
    dependencies=[require("reports:aggregate")],
    responses={**json_or_csv_responses(), **REPORT_ERRORS},
)
def works_council(
    request: Request,
    session: SessionDep,
    filters: FiltersDep,
    group_by: AggregateGroupBy = AggregateGroupBy.org_unit,
) -> Any:
    """Aggregates only; groups below the minimum size are hidden and marked, also where they
    could be derived by subtraction."""
    report = service.works_council(
        session,
        filters=_checked(session, filters),
        group_by=group_by,
        min_group_size=request.app.state.settings.min_group_size,
    )
    return _answer(request, report, rows.works_council_rows, f"works-council-{group_by}.csv")


@router.get(
    "/board",
    summary="Board summary",
    response_model=BoardReport,
    dependencies=[require("reports:read")],
    responses={**json_or_csv_responses(), **REPORT_ERRORS},
)
def board(request: Request, session: SessionDep, filters: FiltersDep) -> Any:
    """One page: headline compliance, overdue, expiring, high-risk roles, Art. 26, trend."""
    report = snapshots.board_report(session, filters=_checked(session, filters))
    return _answer(request, report, rows.board_rows, "board.csv")


@router.get(
    "/art26-oversight",
    summary="Art. 26 oversight",
    response_model=OversightReport,
    dependencies=[require("reports:read")],
    responses={**json_or_csv_responses(), **REPORT_ERRORS},
)
def art26_oversight(request: Request, session: SessionDep, as_of: date | None = None) -> Any:
    """Each high-risk AI system, its overseers and whether each holds the required tier;
    systems whose workers' representatives were not informed."""
    report = compliance.oversight(session, as_of=as_of)
    return _answer(request, report, rows.oversight_rows, "art26-oversight.csv")


@router.get(
    "/art4-dossier",
    summary="Art. 4 evidence dossier",
    response_model=DossierDocument | SignedDossier,
    dependencies=[require("reports:read")],
    responses=REPORT_ERRORS,
)
def art4_dossier(
    request: Request,
    session: SessionDep,
    filters: FiltersDep,
    signed: Annotated[
        bool, Query(description="Return it as a JWS signed with the service key.")
    ] = False,
) -> Any:
    """The AI-literacy evidence for an auditor, as of a date (JSON; optionally signed)."""
    document = compliance.dossier(session, filters=_checked(session, filters))
    if signed:
        return compliance.sign_dossier(
            document,
            key=request.app.state.signing_key,
            issuer=request.app.state.settings.token_issuer,
        )
    return document


@router.get(
    "/effectiveness",
    summary="Effectiveness of the measures",
    response_model=EffectivenessReport,
    dependencies=[require("reports:read")],
    responses={**json_or_csv_responses(), **REPORT_ERRORS},
)
def effectiveness_report(
    request: Request,
    session: SessionDep,
    filters: FiltersDep,
    from_date: Annotated[
        date | None, Query(description="Start of the period (default: a year before as_of).")
    ] = None,
) -> Any:
    """Assessment score distributions per competency per month; first-time pass rates per
    training activity."""
    report = effectiveness.effectiveness(
        session, filters=_checked(session, filters), from_date=from_date
    )
    return _answer(request, report, rows.effectiveness_rows, "effectiveness.csv")
