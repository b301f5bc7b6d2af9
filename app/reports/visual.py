"""SVG charts and printable HTML pages of the reports, readable in a minute (stappenplan:
"eenvoudige, visuele rapportages waarmee managers direct kunnen sturen").

Plain string templates with every text XML-escaped; no JavaScript. Charts are accessible:
role="img" with <title>/<desc> and aria-labels, every bar carries its figure as text, and a
marker (check, warning sign, dash) repeats what the colour says. A page puts the headline
figures first, then the chart, then the table.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.reports.schemas import (
    BoardReport,
    CoverageReport,
    DossierDocument,
    ExpiringReport,
    ProcessRiskReport,
    TeamReport,
    WorksCouncilReport,
)

SVG_NS = "http://www.w3.org/2000/svg"
GOOD, FAIR = 90.0, 70.0  # compliant % thresholds of the traffic light
COLOURS = {"good": "#1b7f3b", "fair": "#b26a00", "poor": "#b3261e", "none": "#6b7280"}
MARKS = {"good": "\u2713", "fair": "!", "poor": "\u26a0", "none": "\u2013"}
FONT = 'font-family="Helvetica, Arial, sans-serif"'
EXPIRY_WEEKS = 13  # the next 90 days, per week

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "as_of": "As of",
        "coverage": "Coverage",
        "coverage_desc": "Share of people in scope who are compliant, per group",
        "expiring": "Expiring diplomas",
        "expiring_desc": "Diplomas expiring per week over the next 90 days",
        "board": "Board summary",
        "board_desc": "Compliant share month over month, from the daily snapshots",
        "works_council": "Works council overview",
        "works_council_desc": "Compliant share per group; groups smaller than {k} are hidden",
        "team": "My team",
        "team_desc": "People in the team per status",
        "process_risk": "Process risk",
        "process_risk_desc": "Share compliant per process (the residual risk)",
        "dossier": "AI literacy evidence dossier",
        "compliant_pct": "Compliant",
        "in_scope": "In scope",
        "certified": "Certified",
        "compliant": "Compliant",
        "overdue": "Overdue",
        "expiring_30": "Expiring within 30 days",
        "expiring_90": "Expiring within 90 days",
        "expired": "Expired",
        "people": "People",
        "group": "Group",
        "top_missing": "Most missing",
        "hidden": "hidden",
        "hidden_note": "Hidden: fewer than {k} people, or so a small group cannot be derived.",
        "week_of": "Week of",
        "count": "Diplomas",
        "name": "Name",
        "org_unit": "Org unit",
        "tier": "Tier",
        "valid_until": "Valid until",
        "days_left": "Days left",
        "status": "Status",
        "required_tier": "Required tier",
        "missing": "Still to show",
        "month": "Month",
        "no_trend": "No snapshots yet: the trend appears as daily snapshots are taken.",
        "high_risk_roles": "High-risk roles compliant",
        "no_qualified_overseer": "High-risk systems without an overseer",
        "role": "Role",
        "process": "Process",
        "risk_ref": "Risk register",
        "non_compliant": "Not compliant",
        "none": "none",
        "generated": "generated",
        "ai_systems": "AI systems",
        "legend": "\u2713 90% or more   ! 70-89%   \u26a0 under 70%",
        "scope_filters": "Filters",
        "everyone": "whole organisation",
        "in_window": "in the next 90 days",
    },
    "nl": {
        "as_of": "Peildatum",
        "coverage": "Dekking",
        "coverage_desc": "Aandeel van de mensen in scope dat voldoet, per groep",
        "expiring": "Aflopende diploma's",
        "expiring_desc": "Diploma's die per week aflopen in de komende 90 dagen",
        "board": "Samenvatting voor de directie",
        "board_desc": "Aandeel dat voldoet, maand op maand, uit de dagelijkse momentopnamen",
        "works_council": "Overzicht voor de ondernemingsraad",
        "works_council_desc": "Aandeel dat voldoet per groep; groepen kleiner dan {k} zijn verborgen",
        "team": "Mijn team",
        "team_desc": "Mensen in het team per status",
        "process_risk": "Procesrisico",
        "process_risk_desc": "Aandeel dat voldoet per proces (het restrisico)",
        "dossier": "Dossier AI-geletterdheid",
        "compliant_pct": "Voldoet",
        "in_scope": "In scope",
        "certified": "Gecertificeerd",
        "compliant": "Voldoet",
        "overdue": "Over tijd",
        "expiring_30": "Loopt af binnen 30 dagen",
        "expiring_90": "Loopt af binnen 90 dagen",
        "expired": "Verlopen",
        "people": "Mensen",
        "group": "Groep",
        "top_missing": "Meest ontbrekend",
        "hidden": "verborgen",
        "hidden_note": "Verborgen: minder dan {k} mensen, of zodat een kleine groep niet "
        "af te leiden is.",
        "week_of": "Week van",
        "count": "Diploma's",
        "name": "Naam",
        "org_unit": "Afdeling",
        "tier": "Niveau",
        "valid_until": "Geldig tot",
        "days_left": "Dagen over",
        "status": "Status",
        "required_tier": "Vereist niveau",
        "missing": "Nog aan te tonen",
        "month": "Maand",
        "no_trend": "Nog geen momentopnamen: de trend verschijnt zodra die dagelijks worden "
        "gemaakt.",
        "high_risk_roles": "Hoog-risicorollen die voldoen",
        "no_qualified_overseer": "Hoog-risicosystemen zonder toezichthouder",
        "role": "Rol",
        "process": "Proces",
        "risk_ref": "Risicoregister",
        "non_compliant": "Voldoet niet",
        "none": "geen",
        "generated": "gemaakt",
        "ai_systems": "AI-systemen",
        "legend": "\u2713 90% of meer   ! 70-89%   \u26a0 onder 70%",
        "scope_filters": "Filters",
        "everyone": "hele organisatie",
        "in_window": "in de komende 90 dagen",
    },
}


def t(lang: str, key: str, **values: Any) -> str:
    text = TEXT.get(lang, TEXT["en"]).get(key, key)
    return text.format(**values) if values else text


def esc(value: Any) -> str:
    """XML/HTML-escaped text (also quotes, so it is safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def level(pct: float | None) -> str:
    if pct is None:
        return "none"
    return "good" if pct >= GOOD else "fair" if pct >= FAIR else "poor"


def fmt_pct(pct: float | None) -> str:
    return "\u2013" if pct is None else f"{pct:.0f}%"


# --- charts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # 0-100 for percentages, a count otherwise; None when hidden
    text: str  # the figure written on the bar
    suppressed: bool = False


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="{SVG_NS}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title chart-desc" '
        f"{FONT}>"
        f'<title id="chart-title">{esc(title)}</title><desc id="chart-desc">{esc(desc)}</desc>'
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>' + "".join(body) + "</svg>"
    )


def bar_chart(
    *, title: str, desc: str, bars: Sequence[Bar], percent: bool = True, hidden_text: str = ""
) -> str:
    """Horizontal bars, one per group, the figure and a marker written beside each bar."""
    label_w, bar_w, row_h, top = 220, 380, 30, 40
    width = label_w + bar_w + 150
    height = top + row_h * max(len(bars), 1) + 20
    scale = 100.0 if percent else max([b.value or 0 for b in bars] + [1])
    body = [f'<text x="10" y="24" font-size="16" font-weight="bold">{esc(title)}</text>']
    if not bars:
        body.append(f'<text x="10" y="{top + 20}" font-size="13">\u2013</text>')
    for i, bar in enumerate(bars):
        y = top + i * row_h
        label = bar.label if len(bar.label) <= 30 else bar.label[:29] + "\u2026"
        kind = "none" if bar.suppressed else level(bar.value) if percent else "none"
        colour = COLOURS[kind] if percent else "#1f4e79"
        aria = f"{bar.label}: {hidden_text if bar.suppressed else bar.text}"
        body.append(f'<g class="bar" role="listitem" aria-label="{esc(aria)}">')
        body.append(
            f'<text x="{label_w - 8}" y="{y + 19}" font-size="13" text-anchor="end">'
            f"{esc(label)}</text>"
        )
        # A light track shows the full scale, so a short bar reads as short.
        body.append(f'<rect x="{label_w}" y="{y + 5}" width="{bar_w}" height="20" fill="#eef0f3"/>')
        if bar.suppressed:
            body.append(
                f'<rect x="{label_w}" y="{y + 5}" width="{bar_w}" height="20" fill="none" '
                f'stroke="#6b7280" stroke-dasharray="4 3"/>'
                f'<text x="{label_w + 8}" y="{y + 19}" font-size="12" font-style="italic" '
                f'fill="#374151">{esc(hidden_text)}</text>'
            )
        else:
            length = 0 if not bar.value else round(bar_w * min(bar.value, scale) / scale, 1)
            mark = f"{MARKS[kind]} " if percent else ""
            body.append(
                f'<rect class="value" x="{label_w}" y="{y + 5}" width="{length}" height="20" '
                f'fill="{colour}"/>'
                f'<text x="{label_w + bar_w + 8}" y="{y + 19}" font-size="13" '
                f'font-weight="bold" fill="#111827">{esc(mark + bar.text)}</text>'
            )
        body.append("</g>")
    return _svg(width, height, title, desc, body)


def column_chart(*, title: str, desc: str, columns: Sequence[tuple[str, int]]) -> str:
    """Vertical columns over time (the expiry timeline), the count on top of each."""
    left, col_w, gap, plot_h, top = 40, 40, 12, 180, 44
    width = left + (col_w + gap) * max(len(columns), 1) + 20
    height = top + plot_h + 50
    peak = max([n for _label, n in columns] + [1])
    body = [f'<text x="10" y="24" font-size="16" font-weight="bold">{esc(title)}</text>']
    base = top + plot_h
    body.append(f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#374151"/>')
    for i, (label, count) in enumerate(columns):
        x = left + i * (col_w + gap)
        h = round(plot_h * count / peak, 1)
        body.append(f'<g class="bar" role="listitem" aria-label="{esc(f"{label}: {count}")}">')
        body.append(
            f'<rect class="value" x="{x}" y="{base - h}" width="{col_w}" height="{h}" '
            f'fill="#1f4e79"/>'
            f'<text x="{x + col_w / 2}" y="{base - h - 4}" font-size="12" text-anchor="middle" '
            f'font-weight="bold">{count}</text>'
            f'<text x="{x + col_w / 2}" y="{base + 16}" font-size="11" '
            f'text-anchor="middle">{esc(label)}</text>'
        )
        body.append("</g>")
    return _svg(width, height, title, desc, body)


def line_chart(
    *, title: str, desc: str, points: Sequence[tuple[str, float | None]], empty_text: str
) -> str:
    """A line of percentages over time, each point labelled with its value."""
    left, top, plot_w, plot_h = 50, 44, 640, 200
    width, height = left + plot_w + 30, top + plot_h + 50
    body = [f'<text x="10" y="24" font-size="16" font-weight="bold">{esc(title)}</text>']
    base = top + plot_h
    for pct in (0, 50, 100):
        y = base - plot_h * pct / 100
        body.append(
            f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}" stroke="#d1d5db"/>'
            f'<text x="{left - 6}" y="{y + 4}" font-size="11" text-anchor="end">{pct}%</text>'
        )
    known = [(i, label, v) for i, (label, v) in enumerate(points) if v is not None]
    if not known:
        body.append(f'<text x="{left + 10}" y="{top + 40}" font-size="13">{esc(empty_text)}</text>')
        return _svg(width, height, title, desc, body)
    step = plot_w / max(len(points) - 1, 1)
    coords = [(left + i * step, base - plot_h * v / 100, label, v) for i, label, v in known]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _l, _v in coords)
    body.append(f'<polyline points="{path}" fill="none" stroke="#1f4e79" stroke-width="3"/>')
    for x, y, label, value in coords:
        body.append(
            f'<g class="point" role="listitem" aria-label="{esc(f"{label}: {fmt_pct(value)}")}">'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#1f4e79"/>'
            f'<text x="{x:.1f}" y="{y - 9:.1f}" font-size="11" text-anchor="middle" '
            f'font-weight="bold">{esc(fmt_pct(value))}</text>'
            f'<text x="{x:.1f}" y="{base + 16}" font-size="11" text-anchor="middle">'
            f"{esc(label)}</text></g>"
        )
    return _svg(width, height, title, desc, body)


# --- the HTML page ---------------------------------------------------------------------------

CSS = """
body{font-family:Helvetica,Arial,sans-serif;color:#111827;margin:24px;max-width:1000px}
h1{font-size:24px;margin:0 0 4px}
.sub{color:#4b5563;margin:0 0 16px}
.headlines{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 20px;padding:0;list-style:none}
.headlines li{border:1px solid #d1d5db;border-radius:6px;padding:10px 14px;min-width:150px}
.headlines .value{font-size:28px;font-weight:bold;display:block}
.headlines .label{font-size:13px;color:#374151}
.good .value{color:#1b7f3b}.fair .value{color:#b26a00}.poor .value{color:#b3261e}
figure{margin:0 0 20px}figcaption{font-size:12px;color:#4b5563}
table{border-collapse:collapse;width:100%;font-size:13px;margin:0 0 20px}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
td.num,th.num{text-align:right}
h2{font-size:18px;margin:20px 0 8px}
.note{font-size:12px;color:#4b5563}
@media print{body{margin:10mm}.headlines li{break-inside:avoid}table{page-break-inside:auto}
tr{break-inside:avoid}}
"""


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    kind: str = ""  # good / fair / poor: repeated by the value's own marker


@dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    numeric: frozenset[int] = frozenset()
    caption: str = ""


def table_html(table: Table) -> str:
    def cls(i: int) -> str:
        return ' class="num"' if i in table.numeric else ""

    head = "".join(f'<th scope="col"{cls(i)}>{esc(c)}</th>' for i, c in enumerate(table.columns))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{esc(v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    caption = f"<caption>{esc(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(
    *,
    lang: str,
    title: str,
    subtitle: str,
    headlines: Sequence[Headline],
    chart: str | None,
    chart_caption: str,
    tables: Sequence[Table] = (),
    notes: Sequence[str] = (),
    extra: str = "",
) -> str:
    """A self-contained page: headline figures, then the chart, then the table(s)."""
    items = "".join(
        f'<li class="{esc(h.kind)}"><span class="value">'
        f"{esc((MARKS[h.kind] + ' ') if h.kind in MARKS and h.kind != 'none' else '')}"
        f'{esc(h.value)}</span><span class="label">{esc(h.label)}</span></li>'
        for h in headlines
    )
    figure = (
        f"<figure>{chart}<figcaption>{esc(chart_caption)}</figcaption></figure>" if chart else ""
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{esc(lang)}"><head><meta charset="utf-8"/>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<h1>{esc(title)}</h1><p class="sub">{esc(subtitle)}</p>'
        f'<ul class="headlines">{items}</ul>{figure}'
        + "".join(table_html(tb) for tb in tables)
        + extra
        + "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
        + "</body></html>"
    )


def _subtitle(lang: str, as_of: date, filters: Any) -> str:
    narrowed = [
        f"{name}={value}"
        for name in ("org_unit_id", "role_id", "job_family_id", "location_id", "manager_id")
        if (value := getattr(filters, name, None)) is not None
    ]
    where = ", ".join(narrowed) if narrowed else t(lang, "everyone")
    return f"{t(lang, 'as_of')} {as_of.isoformat()} \u00b7 {t(lang, 'scope_filters')}: {where}"


def _pct_headline(lang: str, key: str, pct: float | None) -> Headline:
    return Headline(t(lang, key), fmt_pct(pct), level(pct))


# --- per report ------------------------------------------------------------------------------


def coverage_svg(report: CoverageReport, lang: str) -> str:
    bars = [
        Bar(
            label=g.name or g.key or "\u2013",
            value=g.compliant_pct,
            text=f"{fmt_pct(g.compliant_pct)} ({g.compliant}/{g.in_scope})",
        )
        for g in report.groups
        if g.in_scope
    ]
    return bar_chart(title=t(lang, "coverage"), desc=t(lang, "coverage_desc"), bars=bars)


def coverage_html(report: CoverageReport, lang: str) -> str:
    total = report.total
    rows = [
        (
            g.name or g.key,
            g.in_scope,
            g.certified,
            g.compliant,
            fmt_pct(g.compliant_pct),
            g.expiring_90,
            g.expired,
            g.overdue,
            ", ".join(f"{m.competency} ({m.people})" for m in g.top_missing),
        )
        for g in [*report.groups, total]
    ]
    return page(
        lang=lang,
        title=t(lang, "coverage"),
        subtitle=_subtitle(lang, report.filters.as_of, report.filters),
        headlines=[
            _pct_headline(lang, "compliant_pct", total.compliant_pct),
            Headline(t(lang, "in_scope"), str(total.in_scope)),
            Headline(t(lang, "overdue"), str(total.overdue), "poor" if total.overdue else ""),
            Headline(t(lang, "expiring_90"), str(total.expiring_90)),
            Headline(t(lang, "expired"), str(total.expired)),
        ],
        chart=coverage_svg(report, lang),
        chart_caption=t(lang, "legend"),
        tables=[
            Table(
                columns=[
                    t(lang, "group"),
                    t(lang, "in_scope"),
                    t(lang, "certified"),
                    t(lang, "compliant"),
                    "%",
                    t(lang, "expiring_90"),
                    t(lang, "expired"),
                    t(lang, "overdue"),
                    t(lang, "top_missing"),
                ],
                rows=rows,
                numeric=frozenset(range(1, 8)),
            )
        ],
    )


def expiry_weeks(report: ExpiringReport, *, weeks: int = EXPIRY_WEEKS) -> list[tuple[date, int]]:
    """Diplomas expiring per week from the as-of date (week 1 = the next 7 days)."""
    start = report.filters.as_of
    counts = [0] * weeks
    for person in report.people:
        index = (person.valid_until - start).days // 7
        if 0 <= index < weeks:
            counts[index] += 1
    return [(start + timedelta(days=7 * i), counts[i]) for i in range(weeks)]


def expiring_svg(report: ExpiringReport, lang: str) -> str:
    columns = [(d.strftime("%d-%m"), n) for d, n in expiry_weeks(report)]
    return column_chart(title=t(lang, "expiring"), desc=t(lang, "expiring_desc"), columns=columns)


def expiring_html(report: ExpiringReport, lang: str) -> str:
    within = {d: sum(1 for p in report.people if 0 <= p.days_left <= d) for d in (30, 90)}
    rows = [
        (p.name, p.org_unit, p.tier, p.valid_until.isoformat(), p.days_left, p.status)
        for p in report.people
    ]
    return page(
        lang=lang,
        title=t(lang, "expiring"),
        subtitle=_subtitle(lang, report.filters.as_of, report.filters),
        headlines=[
            Headline(t(lang, "expiring_30"), str(within[30]), "fair" if within[30] else ""),
            Headline(t(lang, "expiring_90"), str(within[90])),
        ],
        chart=expiring_svg(report, lang),
        chart_caption=t(lang, "expiring_desc"),
        tables=[
            Table(
                columns=[
                    t(lang, "name"),
                    t(lang, "org_unit"),
                    t(lang, "tier"),
                    t(lang, "valid_until"),
                    t(lang, "days_left"),
                    t(lang, "status"),
                ],
                rows=rows,
                numeric=frozenset({4}),
            )
        ],
    )


def board_svg(report: BoardReport, lang: str) -> str:
    points = [(p.on.strftime("%m-%Y"), p.compliant_pct) for p in report.trend]
    return line_chart(
        title=t(lang, "board"),
        desc=t(lang, "board_desc"),
        points=points,
        empty_text=t(lang, "no_trend"),
    )


def board_html(report: BoardReport, lang: str) -> str:
    oversight = report.oversight
    unqualified = oversight.systems_without_overseers
    return page(
        lang=lang,
        title=t(lang, "board"),
        subtitle=_subtitle(lang, report.as_of, report.filters),
        headlines=[
            _pct_headline(lang, "compliant_pct", report.headline_compliant_pct),
            Headline(t(lang, "overdue"), str(report.overdue), "poor" if report.overdue else ""),
            Headline(t(lang, "expiring_30"), str(report.expiring_30)),
            _pct_headline(lang, "high_risk_roles", report.high_risk_roles_compliant_pct),
            Headline(
                t(lang, "no_qualified_overseer"), str(unqualified), "poor" if unqualified else ""
            ),
        ],
        chart=board_svg(report, lang),
        chart_caption=t(lang, "board_desc"),
        tables=[
            Table(
                columns=[t(lang, "role"), t(lang, "in_scope"), t(lang, "compliant"), "%"],
                rows=[
                    (r.name, r.in_scope, r.compliant, fmt_pct(r.compliant_pct))
                    for r in report.high_risk_roles
                ],
                numeric=frozenset({1, 2, 3}),
                caption=t(lang, "high_risk_roles"),
            ),
            Table(
                columns=[t(lang, "month"), t(lang, "in_scope"), t(lang, "compliant"), "%"],
                rows=[
                    (p.on.isoformat(), p.in_scope, p.compliant, fmt_pct(p.compliant_pct))
                    for p in report.trend
                ],
                numeric=frozenset({1, 2, 3}),
                caption=t(lang, "board_desc"),
            ),
        ],
    )


def works_council_svg(report: WorksCouncilReport, lang: str) -> str:
    """Bars from the suppressed aggregates only: a hidden group has no figure to draw."""
    k = report.min_group_size
    bars = [
        Bar(
            label=g.name or g.key or "\u2013",
            value=None if g.suppressed else g.compliant_pct,
            text="" if g.suppressed else f"{fmt_pct(g.compliant_pct)} ({g.compliant}/{g.in_scope})",
            suppressed=g.suppressed,
        )
        for g in report.groups
    ]
    return bar_chart(
        title=t(lang, "works_council"),
        desc=t(lang, "works_council_desc", k=k),
        bars=bars,
        hidden_text=f"{t(lang, 'hidden')} (< {k})",
    )


def works_council_html(report: WorksCouncilReport, lang: str) -> str:
    total = report.total
    k = report.min_group_size
    hidden = t(lang, "hidden")

    def cell(value: Any, suppressed: bool) -> Any:
        return hidden if suppressed else value

    rows = [
        (
            g.name or g.key,
            cell(g.people, g.suppressed),
            cell(g.in_scope, g.suppressed),
            cell(g.compliant, g.suppressed),
            cell(fmt_pct(g.compliant_pct), g.suppressed),
            cell(g.expiring_90, g.suppressed),
            cell(g.overdue, g.suppressed),
        )
        for g in [*report.groups, total]
    ]
    return page(
        lang=lang,
        title=t(lang, "works_council"),
        subtitle=_subtitle(lang, report.filters.as_of, report.filters),
        headlines=[]
        if total.suppressed
        else [
            _pct_headline(lang, "compliant_pct", total.compliant_pct),
            Headline(t(lang, "in_scope"), str(total.in_scope)),
            Headline(t(lang, "overdue"), str(total.overdue)),
        ],
        chart=works_council_svg(report, lang),
        chart_caption=t(lang, "legend"),
        tables=[
            Table(
                columns=[
                    t(lang, "group"),
                    t(lang, "people"),
                    t(lang, "in_scope"),
                    t(lang, "compliant"),
                    "%",
                    t(lang, "expiring_90"),
                    t(lang, "overdue"),
                ],
                rows=rows,
                numeric=frozenset(range(1, 7)),
            )
        ],
        notes=[t(lang, "hidden_note", k=k)],
    )


def _team_statuses(report: TeamReport) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for member in report.people:
        counts[member.status] = counts.get(member.status, 0) + 1
    return sorted(counts.items())


def team_svg(report: TeamReport, lang: str) -> str:
    bars = [Bar(label=s, value=n, text=str(n)) for s, n in _team_statuses(report)]
    return bar_chart(title=t(lang, "team"), desc=t(lang, "team_desc"), bars=bars, percent=False)


def team_html(report: TeamReport, lang: str) -> str:
    s = report.summary
    return page(
        lang=lang,
        title=t(lang, "team"),
        subtitle=_subtitle(lang, report.filters.as_of, report.filters),
        headlines=[
            _pct_headline(lang, "compliant_pct", s.compliant_pct),
            Headline(t(lang, "overdue"), str(s.overdue), "poor" if s.overdue else ""),
            Headline(t(lang, "expiring_90"), str(s.expiring_90)),
        ],
        chart=team_svg(report, lang),
        chart_caption=t(lang, "team_desc"),
        tables=[
            Table(
                columns=[
                    t(lang, "name"),
                    t(lang, "status"),
                    t(lang, "tier"),
                    t(lang, "required_tier"),
                    t(lang, "valid_until"),
                    t(lang, "missing"),
                ],
                rows=[
                    (
                        m.name,
                        m.status,
                        m.tier,
                        m.required_tier,
                        m.valid_until.isoformat() if m.valid_until else "",
                        ", ".join(m.missing),
                    )
                    for m in report.people
                ],
            )
        ],
    )


def process_risk_svg(report: ProcessRiskReport, lang: str) -> str:
    bars = [
        Bar(
            label=p.name,
            value=p.compliant_pct,
            text=f"{fmt_pct(p.compliant_pct)} ({p.compliant}/{p.in_scope})",
        )
        for p in report.processes
        if p.in_scope
    ]
    return bar_chart(title=t(lang, "process_risk"), desc=t(lang, "process_risk_desc"), bars=bars)


def process_risk_html(report: ProcessRiskReport, lang: str) -> str:
    in_scope = sum(p.in_scope for p in report.processes)
    non_compliant = sum(p.non_compliant for p in report.processes)
    return page(
        lang=lang,
        title=t(lang, "process_risk"),
        subtitle=_subtitle(lang, report.filters.as_of, report.filters),
        headlines=[
            Headline(t(lang, "process"), str(len(report.processes))),
            Headline(t(lang, "non_compliant"), str(non_compliant), "poor" if non_compliant else ""),
            Headline(t(lang, "in_scope"), str(in_scope)),
        ],
        chart=process_risk_svg(report, lang),
        chart_caption=t(lang, "legend"),
        tables=[
            Table(
                columns=[
                    t(lang, "process"),
                    t(lang, "risk_ref"),
                    t(lang, "in_scope"),
                    t(lang, "compliant"),
                    "%",
                    t(lang, "non_compliant"),
                    t(lang, "overdue"),
                ],
                rows=[
                    (
                        p.name,
                        p.risk_register_ref,
                        p.in_scope,
                        p.compliant,
                        fmt_pct(p.compliant_pct),
                        p.non_compliant,
                        p.overdue,
                    )
                    for p in report.processes
                ],
                numeric=frozenset(range(2, 7)),
            )
        ],
    )


# --- the Art. 4 dossier: generic, since its sections are documents in their own right ---------


def _scalar(value: Any) -> str:
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict | list):
        return "; ".join(
            f"{k}: {_scalar(v)}"
            for k, v in (value.items() if isinstance(value, dict) else enumerate(value))
        )
    return "" if value is None else str(value)


def _section(value: Any, lang: str = "en") -> str:
    """A dict as a definition list, a list of dicts as a table, anything else as text."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = list(dict.fromkeys(k for row in value for k in row if k != "id"))
        return table_html(
            Table(
                columns=[_label(c, lang) for c in columns],
                rows=[[_scalar(row.get(c)) for c in columns] for row in value],
            )
        )
    if isinstance(value, dict):
        parts = []
        for key, inner in value.items():
            nested = isinstance(inner, dict) or (
                isinstance(inner, list) and inner and all(isinstance(v, dict) for v in inner)
            )
            if nested:
                parts.append(f"<h3>{esc(_label(key, lang))}</h3>{_section(inner, lang)}")
            else:
                parts.append(
                    f"<p><strong>{esc(_label(key, lang))}</strong>: {esc(_scalar(inner))}</p>"
                )
        return "".join(parts)
    return f"<p>{esc(_scalar(value) or t(lang, 'none'))}</p>"


DOSSIER_SECTIONS = (
    ("scope", {"en": "1. Scope: the AI-use register", "nl": "1. Reikwijdte: het AI-register"}),
    ("role_matrix", {"en": "2. Role matrix", "nl": "2. Rollenmatrix"}),
    ("measures", {"en": "3. Measures delivered", "nl": "3. Uitgevoerde maatregelen"}),
    ("people", {"en": "4. Evidence per person", "nl": "4. Bewijs per persoon"}),
    (
        "exceptions",
        {"en": "5. Exceptions and remediation", "nl": "5. Uitzonderingen en herstel"},
    ),
    ("review_cadence", {"en": "6. Review cadence", "nl": "6. Herzieningsritme"}),
    (
        "ai_systems_in_use",
        {
            "en": "7. AI systems in use: operators and their status",
            "nl": "7. AI-systemen in gebruik: wie ermee werkt en hun status",
        },
    ),
)

# Field names of the dossier's sections as an auditor reads them. Keys not listed are
# shown with spaces for underscores; data used as keys (competency keys) is left alone.
DOSSIER_LABELS_NL = {
    "accepted_forms": "toegestane vormen",
    "activities": "activiteiten",
    "ai_system": "AI-systeem",
    "ai_systems": "AI-systemen",
    "alternative_awards": "toegekend op andere grond",
    "awarded_at": "toegekend op",
    "awarded_by": "toegekend door",
    "by_activity": "per activiteit",
    "by_assessment_form": "per toetsvorm",
    "cells": "cellen",
    "competencies": "competenties",
    "competency": "competentie",
    "compliant": "voldoet",
    "conditions": "voorwaarden",
    "count": "aantal",
    "deployment_status": "inzetstatus",
    "diplomas": "diploma's",
    "disclosure": "openbaarmaking",
    "document_ref": "documentverwijzing",
    "domain": "domein",
    "due_date": "uiterste datum",
    "due_days": "termijn (dagen)",
    "employee_number": "personeelsnummer",
    "evidence_records": "bewijsstukken",
    "extras_met": "rolspecifieke eisen behaald",
    "first_at": "eerste keer",
    "grace_period_days": "respijt (dagen)",
    "impact_level": "impactniveau",
    "impact_types": "soorten impact",
    "involvement": "betrokkenheid",
    "job_family": "functiefamilie",
    "key": "sleutel",
    "kind": "soort",
    "language": "taal",
    "last_at": "laatste keer",
    "last_evidence_at": "laatste bewijs",
    "last_review_date": "laatst herzien",
    "levels": "niveaus",
    "min_level": "minimumniveau",
    "min_score": "minimumscore",
    "missing": "ontbreekt",
    "model_key": "model",
    "model_published_at": "model gepubliceerd op",
    "model_version": "modelversie",
    "name": "naam",
    "org_unit": "organisatie-eenheid",
    "overdue": "over tijd",
    "passed": "geslaagd",
    "people": "mensen",
    "people_compliant": "mensen die voldoen",
    "processes": "processen",
    "recertification_window_days": "hercertificeringsvenster (dagen)",
    "records": "stukken",
    "refresher_competencies": "competenties voor de opfrissing",
    "register_reviews": "herzieningen van het register",
    "remediation": "herstel",
    "renewal_basis": "vernieuwing gerekend vanaf",
    "renewal_fixed_date": "vaste vernieuwingsdatum",
    "required_tier": "vereist niveau",
    "risk_class": "risicoklasse",
    "risk_register_ref": "verwijzing risicoregister",
    "role": "rol",
    "role_name": "rolnaam",
    "roles": "rollen",
    "source": "bron",
    "state": "staat",
    "status": "status",
    "tier": "diplomaniveau",
    "tiers": "diplomaniveaus",
    "title": "titel",
    "valid_until": "geldig tot",
    "validity_months": "geldigheid (maanden)",
    "version": "versie",
    "workers_informed_date": "werknemers(vertegenwoordiging) geïnformeerd op",
}


def _label(key: Any, lang: str) -> str:
    key = str(key)
    if lang == "nl" and key in DOSSIER_LABELS_NL:
        return DOSSIER_LABELS_NL[key]
    return key.replace("_", " ")


def dossier_html(document: DossierDocument, lang: str) -> str:
    data = document.model_dump(mode="json")
    people = data["people"]
    compliant = sum(1 for p in people if p.get("compliant"))
    sections = "".join(
        f"<h2>{esc(heading.get(lang, heading['en']))}</h2>{_section(data.get(key), lang)}"
        for key, heading in DOSSIER_SECTIONS
    )
    return page(
        lang=lang,
        title=f"{t(lang, 'dossier')}: {document.title}",
        subtitle=_subtitle(lang, document.as_of, document.filters)
        + f" \u00b7 {t(lang, 'generated')} {document.generated_at.isoformat()}",
        headlines=[
            Headline(t(lang, "people"), str(len(people))),
            Headline(t(lang, "compliant"), str(compliant)),
            Headline(t(lang, "ai_systems"), str(len(data["scope"].get("ai_systems", [])))),
        ],
        chart=None,
        chart_caption="",
        extra=sections,
    )
