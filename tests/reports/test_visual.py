"""Visual reports (issue 8 item 5): each SVG is valid XML with labelled bars, each HTML page
is well-formed with the headline figures first, and a page renders in headless Chromium."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from datetime import date
from pathlib import Path

import pytest

from app.reports.models import CoverageSnapshot
from tests.factories import auth_headers
from tests.reports.factories import Org, build_org

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def org(db, client, app, frozen_clock) -> Org:
    return build_org(db, client, app)


@pytest.fixture
def read(db, app):
    return auth_headers(db, app, "reports:read")


def _svg(response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.text)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text and root.find(f"{SVG}desc").text
    return root


def _bars(root: ET.Element) -> dict[str, str]:
    """aria-label of each bar group -> the texts drawn in it."""
    return {
        g.get("aria-label"): " ".join(t.text or "" for t in g.iter(f"{SVG}text"))
        for g in root.iter(f"{SVG}g")
        if g.get("class") in ("bar", "point")
    }


def _html(response) -> tuple[str, ET.Element]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    assert "<script" not in text.lower(), "no JavaScript"
    # Well-formed: the page parses as XML (void elements are self-closed, no named entities).
    return text, ET.fromstring(text.split("\n", 1)[1])


def test_coverage_svg_has_a_labelled_bar_per_org_unit(client, org, read):
    root = _svg(client.get("/reports/coverage.svg", headers=read))
    bars = _bars(root)
    a1, a2, b = (org.units[k].name for k in ("team-a1", "team-a2", "dir-b"))
    assert set(bars) == {f"{a1}: 100% (2/2)", f"{a2}: 0% (0/2)", f"{b}: 50% (1/2)"}
    assert "\u2713 100% (2/2)" in bars[f"{a1}: 100% (2/2)"], "a marker besides the colour"
    assert "\u26a0 0% (0/2)" in bars[f"{a2}: 0% (0/2)"]


def test_coverage_html_puts_the_headline_first(client, org, read):
    text, root = _html(client.get("/reports/coverage.html", headers=read))
    headlines = [li for li in root.iter("li")]
    assert [h.find("span").text for h in headlines][:2] == ["\u26a0 50%", "6"]
    assert text.index('class="headlines"') < text.index("<svg") < text.index("<table")
    rows = [[td.text for td in tr.iter("td")] for tr in root.iter("tr")]
    assert ["Total", "6", "4", "3", "50%", "2", "1", "2"] in [r[:8] for r in rows if r]


def test_dutch_labels(client, org, read):
    text, _root = _html(client.get("/reports/coverage.html?lang=nl", headers=read))
    assert 'lang="nl"' in text and "Voldoet" in text and "Peildatum 2026-06-01" in text
    assert client.get("/reports/coverage.svg?lang=fr", headers=read).status_code == 422


def test_expiry_timeline_counts_per_week(client, org, read):
    root = _svg(client.get("/reports/expiring.svg", headers=read))
    bars = _bars(root)
    assert len(bars) == 13, "13 weeks cover the next 90 days"
    counts = [int(label.rsplit(": ", 1)[1]) for label in bars]
    # P2 expires 2026-06-20 (week 3), P6 2026-08-15 (week 11).
    assert counts[2] == 1 and counts[10] == 1 and sum(counts) == 2
    _text, page = _html(client.get("/reports/expiring.html", headers=read))
    assert len([tr for tr in page.iter("tr") if tr.find("td") is not None]) == 2


def test_board_trend_line_from_snapshots(client, db, org, read):
    for month, compliant in ((3, 40), (4, 45), (5, 52)):
        db.add(
            CoverageSnapshot(
                snapshot_date=date(2026, month, 28),
                people=100,
                in_scope=100,
                certified=compliant,
                compliant=compliant,
                expiring_30=0,
                expiring_90=0,
                expired=0,
                overdue=0,
                groups={},
            )
        )
    db.flush()
    root = _svg(client.get("/reports/board.svg", headers=read))
    points = _bars(root)
    assert set(points) == {"03-2026: 40%", "04-2026: 45%", "05-2026: 52%"}
    assert len(root.find(f"{SVG}polyline").get("points").split()) == 3
    text, _page = _html(client.get("/reports/board.html", headers=read))
    assert "2026-05-28" in text


def test_board_svg_without_snapshots_says_so(client, org, read):
    root = _svg(client.get("/reports/board.svg", headers=read))
    assert "No snapshots yet" in ET.tostring(root, encoding="unicode")


def test_works_council_chart_shows_only_suppressed_aggregates(client, db, app, org):
    headers = auth_headers(db, app, "reports:aggregate")
    assert (
        client.get(
            "/reports/works-council.svg", headers=auth_headers(db, app, "reports:read")
        ).status_code
        == 403
    )
    root = _svg(client.get("/reports/works-council.svg", headers=headers))
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    # Every group of the fixture is smaller than 5: all are hidden, no figure is drawn.
    assert "hidden (< 5)" in texts and "%" not in texts
    assert not [r for r in root.iter(f"{SVG}rect") if r.get("class") == "value"]
    _text, page = _html(client.get("/reports/works-council.html", headers=headers))
    rows = [[td.text for td in tr.iter("td")] for tr in page.iter("tr")]
    groups, total = [r for r in rows if r][:-1], [r for r in rows if r][-1]
    assert groups and all(set(r[1:]) == {"hidden"} for r in groups)
    assert total[:2] == ["Total", "8"], "the total (8 people) is shown"


def test_team_chart_for_a_manager(client, db, app, org):
    headers = auth_headers(db, app, "reports:team", person_id=org.people["M"].id)
    root = _svg(client.get("/reports/team.svg", headers=headers))
    assert sum(int(label.rsplit(": ", 1)[1]) for label in _bars(root)) == 4  # P1-P4
    text, _page = _html(client.get("/reports/team.html", headers=headers))
    assert "P5" not in text, "nobody outside the tree"
    assert (
        client.get("/reports/team.svg", headers=auth_headers(db, app, "reports:read")).status_code
        == 403
    )


def test_process_risk_and_dossier_pages(client, org, read):
    _svg(client.get("/reports/process-risk.svg", headers=read))
    _html(client.get("/reports/process-risk.html", headers=read))
    text, root = _html(client.get("/reports/art4-dossier.html", headers=read))
    assert "Evidence per person" in text and "Review cadence" in text
    assert org.people["P1"].employee_number in text
    assert "employee number" in text, "field names read as words"
    dutch, _ = _html(client.get("/reports/art4-dossier.html?lang=nl", headers=read))
    for heading in ("Bewijs per persoon", "Herzieningsritme", "AI-systemen", "personeelsnummer"):
        assert heading in dutch
    assert "Evidence per person" not in dutch and "employee_number" not in dutch


def test_unknown_filter_is_404(client, org, read):
    missing = "00000000-0000-0000-0000-000000000001"
    assert (
        client.get(f"/reports/coverage.svg?org_unit_id={missing}", headers=read).status_code == 404
    )


# --- headless Chromium -------------------------------------------------------------------------


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB(A) PNG (PNG spec, section 9)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(r[i : i + 3]) for r in rows for i in range(0, stride, bpp)]


def test_html_page_renders_in_headless_chromium(client, db, org, read, tmp_path):
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the browser test")
        pytest.skip(message + "; the headless browser test is skipped")
    page = tmp_path / "coverage.html"
    page.write_text(client.get("/reports/coverage.html", headers=read).text, encoding="utf-8")
    shot = tmp_path / "coverage.png"
    profile = tmp_path / "profile"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.exists(), result.stderr.decode(errors="replace")[-2000:]
    if os.environ.get("AIDIPLOMA_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["AIDIPLOMA_KEEP_SCREENSHOT"])
    width, height, pixels = _png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    dark = sum(1 for p in pixels if max(p) < 100)  # text
    green = sum(1 for p in pixels if p == bytes((0x1B, 0x7F, 0x3B)))  # the 100% bar
    assert dark > 2000, "text was rendered"
    assert green > 1000, "the compliant bar was drawn in its colour"
