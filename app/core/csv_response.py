"""Content negotiation between JSON (the default) and CSV (`Accept: text/csv`) for report routes.

`wants_csv(request)` reads the Accept header's quality values (RFC 9110 12.5.1);
`csv_response(...)` writes rows with the csv module; `json_or_csv_responses(...)`
documents both media types of the 200 answer in OpenAPI.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import Request, Response

CSV_MEDIA_TYPE = "text/csv"


def _accept_quality(accept: str, media_type: str) -> float:
    """The quality the Accept header gives `media_type` (most specific range wins)."""
    main_type = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for part in accept.split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        media_range = pieces[0].lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{main_type}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1]


def wants_csv(request: Request) -> bool:
    """True when the client prefers text/csv over application/json; JSON otherwise."""
    accept = request.headers.get("accept")
    if not accept:
        return False
    csv_quality = _accept_quality(accept, CSV_MEDIA_TYPE)
    return csv_quality > 0 and csv_quality > _accept_quality(accept, "application/json")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    # Spreadsheet formula injection (OWASP CSV injection): prefix cells that start a formula.
    text = str(value)
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_response(
    rows: Iterable[Mapping[str, Any]], *, columns: Sequence[str], filename: str
) -> Response:
    """A text/csv response (UTF-8, header row, CRLF line ends as in RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _cell(row.get(column)) for column in columns})
    return Response(
        content=buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Vary": "Accept"},
    )


def json_or_csv_responses(
    description: str = "JSON by default; CSV for Accept: text/csv",
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entry adding the text/csv media type to the 200 answer."""
    return {
        200: {
            "description": description,
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
