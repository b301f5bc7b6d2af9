"""HTTP for the visual reports: `/reports/<name>.svg` (the key chart) and `/reports/<name>.html`
(a printable page: headline figures, chart, table), Dutch or English by `?lang=`.

Explicit paths per report, each with the scope of the JSON report of the same name.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from app.auth.dependencies import CurrentIdentity, require
from app.core.errors import Forbidden, problem_responses
from app.core.routing import api_router, get_session
from app.reports import compliance, scope, service, snapshots, visual
from app.reports.router import FiltersDep, _checked
from app.reports.schemas import AggregateGroupBy, GroupBy

SessionDep = Annotated[Session, Depends(get_session)]

router = api_router(prefix="/reports", tags=["reports"])

ERRORS = problem_responses(401, 403, 404, 422)
SVG = "image/svg+xml"
SVG_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "An accessible SVG chart", "content": {SVG: {}}},
    **ERRORS,
}
HTML_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A self-contained, printable HTML page", "content": {"text/html": {}}},
    **ERRORS,
}
EXPIRY_DAYS = 90


class Language(StrEnum):
    nl = "nl"
    en = "en"


LangDep = Annotated[Language, Query(alias="lang", description="Language of the labels.")]


def _svg(content: str) -> Response:
    return Response(content=content, media_type=SVG)


def _html(content: str) -> HTMLResponse:
    return HTMLResponse(content=content)


def _coverage(session: Session, filters: scope.ReportFilters, group_by: GroupBy) -> Any:
    return service.coverage(session, filters=_checked(session, filters), group_by=group_by)


@router.get(
    "/coverage.svg",
    summary="Coverage chart",
    response_class=Response,
    dependencies=[require("reports:read")],
    responses=SVG_RESPONSES,
)
def coverage_svg(
    session: SessionDep,
    filters: FiltersDep,
    group_by: GroupBy = GroupBy.org_unit,
    lang: LangDep = Language.en,
) -> Response:
    """Compliant share per group (default per org unit) as labelled bars."""
    return _svg(visual.coverage_svg(_coverage(session, filters, group_by), lang))


@router.get(
    "/coverage.html",
    summary="Coverage page",
    response_class=HTMLResponse,
    dependencies=[require("reports:read")],
    responses=HTML_RESPONSES,
)
def coverage_html(
    session: SessionDep,
    filters: FiltersDep,
    group_by: GroupBy = GroupBy.org_unit,
    lang: LangDep = Language.en,
) -> HTMLResponse:
    """Headline coverage figures, the chart per group and the table."""
    return _html(visual.coverage_html(_coverage(session, filters, group_by), lang))


def _expiring(session: Session, filters: scope.ReportFilters) -> Any:
    return service.expiring(session, filters=_checked(session, filters), days=EXPIRY_DAYS)


@router.get(
    "/expiring.svg",
    summary="Expiry timeline chart",
    response_class=Response,
    dependencies=[require("reports:read")],
    responses=SVG_RESPONSES,
)
def expiring_svg(session: SessionDep, filters: FiltersDep, lang: LangDep = Language.en) -> Response:
    """Diplomas expiring per week over the next 90 days."""
    return _svg(visual.expiring_svg(_expiring(session, filters), lang))


@router.get(
    "/expiring.html",
    summary="Expiring diplomas page",
    response_class=HTMLResponse,
    dependencies=[require("reports:read")],
    responses=HTML_RESPONSES,
)
def expiring_html(
    session: SessionDep, filters: FiltersDep, lang: LangDep = Language.en
) -> HTMLResponse:
    """Counts expiring within 30 and 90 days, the weekly timeline and the people."""
    return _html(visual.expiring_html(_expiring(session, filters), lang))


def _board(session: Session, filters: scope.ReportFilters) -> Any:
    return snapshots.board_report(session, filters=_checked(session, filters))


@router.get(
    "/board.svg",
    summary="Board trend chart",
    response_class=Response,
    dependencies=[require("reports:read")],
    responses=SVG_RESPONSES,
)
def board_svg(session: SessionDep, filters: FiltersDep, lang: LangDep = Language.en) -> Response:
    """The compliant share month over month from the daily snapshots."""
    return _svg(visual.board_svg(_board(session, filters), lang))


@router.get(
    "/board.html",
    summary="Board page",
    response_class=HTMLResponse,
    dependencies=[require("reports:read")],
    responses=HTML_RESPONSES,
)
def board_html(
    session: SessionDep, filters: FiltersDep, lang: LangDep = Language.en
) -> HTMLResponse:
    """One page: headline compliance, what slips, high-risk roles, the trend."""
    return _html(visual.board_html(_board(session, filters), lang))


def _works_council(
    request: Request, session: Session, filters: scope.ReportFilters, group_by: AggregateGroupBy
) -> Any:
    return service.works_council(
        session,
        filters=_checked(session, filters),
        group_by=group_by,
        min_group_size=request.app.state.settings.min_group_size,
    )


@router.get(
    "/works-council.svg",
    summary="Works council chart",
    response_class=Response,
    dependencies=[require("reports:aggregate")],
    responses=SVG_RESPONSES,
)
def works_council_svg(
    request: Request,
    session: SessionDep,
    filters: FiltersDep,
    group_by: AggregateGroupBy = AggregateGroupBy.org_unit,
    lang: LangDep = Language.en,
) -> Response:
    """Compliant share per group from the suppressed aggregates; hidden groups are marked."""
    return _svg(visual.works_council_svg(_works_council(request, session, filters, group_by), lang))


@router.get(
    "/works-council.html",
    summary="Works council page",
    response_class=HTMLResponse,
    dependencies=[require("reports:aggregate")],
    responses=HTML_RESPONSES,
)
def works_council_html(
    request: Request,
    session: SessionDep,
    filters: FiltersDep,
    group_by: AggregateGroupBy = AggregateGroupBy.org_unit,
    lang: LangDep = Language.en,
) -> HTMLResponse:
    """Aggregates only, small groups hidden: headline, chart and table."""
    report = _works_council(request, session, filters, group_by)
    return _html(visual.works_council_html(report, lang))


def _team(session: Session, identity: Any, filters: scope.ReportFilters) -> Any:
    if identity.person_id is None:
        raise Forbidden(
            "This client is not linked to a person, so it has no team.", slug="no-person-link"
        )
    return service.team(
        session, manager_id=identity.person_id, filters=filters, viewer_id=identity.person_id
    )


@router.get(
    "/team.svg",
    summary="My team chart",
    response_class=Response,
    dependencies=[require("reports:team")],
    responses=SVG_RESPONSES,
)
def team_svg(
    session: SessionDep, identity: CurrentIdentity, filters: FiltersDep, lang: LangDep = Language.en
) -> Response:
    """Your direct and indirect reports per status; nothing outside your tree."""
    return _svg(visual.team_svg(_team(session, identity, filters), lang))


@router.get(
    "/team.html",
    summary="My team page",
    response_class=HTMLResponse,
    dependencies=[require("reports:team")],
    responses=HTML_RESPONSES,
)
def team_html(
    session: SessionDep, identity: CurrentIdentity, filters: FiltersDep, lang: LangDep = Language.en
) -> HTMLResponse:
    """Your team: headline figures, status chart and who still misses what."""
    return _html(visual.team_html(_team(session, identity, filters), lang))


def _process_risk(session: Session, filters: scope.ReportFilters) -> Any:
    return compliance.process_risk(session, filters=_checked(session, filters))


@router.get(
    "/process-risk.svg",
    summary="Process risk chart",
    response_class=Response,
    dependencies=[require("reports:read")],
    responses=SVG_RESPONSES,
)
def process_risk_svg(
    session: SessionDep, filters: FiltersDep, lang: LangDep = Language.en
) -> Response:
    """Share compliant per process: the residual risk at a glance."""
    return _svg(visual.process_risk_svg(_process_risk(session, filters), lang))


@router.get(
    "/process-risk.html",
    summary="Process risk page",
    response_class=HTMLResponse,
    dependencies=[require("reports:read")],
    responses=HTML_RESPONSES,
)
def process_risk_html(
    session: SessionDep, filters: FiltersDep, lang: LangDep = Language.en
) -> HTMLResponse:
    """Per process: risk-register reference, people in scope and share compliant."""
    return _html(visual.process_risk_html(_process_risk(session, filters), lang))


@router.get(
    "/art4-dossier.html",
    summary="Art. 4 evidence dossier page",
    response_class=HTMLResponse,
    dependencies=[require("reports:read")],
    responses=HTML_RESPONSES,
)
def art4_dossier_html(
    session: SessionDep, filters: FiltersDep, lang: LangDep = Language.en
) -> HTMLResponse:
    """The AI-literacy evidence dossier as a printable page for an auditor."""
    document = compliance.dossier(session, filters=_checked(session, filters))
    return _html(visual.dossier_html(document, lang))
