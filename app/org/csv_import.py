"""CSV import of people, org units and roles from HR exports.

Reads UTF-8 with or without a BOM, `;` (Dutch Excel) or `,` delimiters, quoted
fields and multi-line cells with Python's csv module, maps headers to fields,
and runs the same upsert as the batch API. Every bad line is reported with its
line number; when any line is bad nothing is written (a dry run never writes).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.core.errors import BadRequest
from app.org import upsert
from app.org.schemas import BatchCounts, BatchResult, ImportReport, LineProblem

MAX_ROWS = 100_000
DELIMITERS = {",": ",", ";": ";", "tab": "\t", "\\t": "\t", "\t": "\t", "|": "|"}
_DUTCH_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_TRUE = {"true", "1", "yes", "y", "ja", "j", "waar", "actief", "active"}
_FALSE = {"false", "0", "no", "n", "nee", "onwaar", "inactief", "inactive"}


@dataclass(frozen=True)
class ImportKind:
    name: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    dates: tuple[str, ...]
    run: Callable[..., BatchResult]


KINDS: dict[str, ImportKind] = {
    "people": ImportKind(
        name="people",
        fields=(
            "employee_number",
            "given_name",
            "family_name",
            "display_name",
            "email",
            "org_unit",
            "location",
            "manager",
            "roles",
            "employment_start_date",
            "employment_end_date",
            "active",
        ),
        required=("employee_number", "given_name", "family_name", "roles"),
        dates=("employment_start_date", "employment_end_date"),
        run=upsert.upsert_people,
    ),
    "org-units": ImportKind(
        name="org-units",
        fields=("external_id", "name", "kind", "parent", "active"),
        required=("external_id", "name", "kind"),
        dates=(),
        run=upsert.upsert_org_units,
    ),
    "roles": ImportKind(
        name="roles",
        fields=("key", "name", "job_family", "description", "external_job_code", "active"),
        required=("key", "name"),
        dates=(),
        run=upsert.upsert_roles,
    ),
}


def _normalise_header(name: str) -> str:
    return re.sub(r"\s+", "_", name.strip().lower())


def parse_mapping(pairs: list[str] | None, *, kind: str) -> dict[str, str]:
    """`csvheader=field` pairs (as given by --map or ?map=) into a header -> field mapping."""
    fields = KINDS[kind].fields
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        header, sep, target = pair.partition("=")
        target = target.strip()
        if not sep or not header.strip() or not target:
            raise BadRequest(f"Header mapping {pair!r} is not of the form csvheader=field.")
        if target not in fields:
            raise BadRequest(
                f"Header mapping {pair!r} names an unknown field {target!r}; "
                f"fields of {kind}: {', '.join(fields)}."
            )
        mapping[_normalise_header(header)] = target
    return mapping


def _delimiter(given: str | None, header_line: str) -> str:
    if given:
        if given not in DELIMITERS:
            raise BadRequest("The delimiter must be one of , ; | or tab.")
        return DELIMITERS[given]
    # The header line decides: an Excel export in a Dutch locale uses ';', elsewhere ','.
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _date(value: str) -> str:
    match = _DUTCH_DATE.match(value)
    if match:  # 31-12-2025, as Dutch Excel writes dates
        day, month, year = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return value


def _roles(value: str) -> list[dict[str, Any]]:
    """`key` or `key:YYYY-MM-DD` items separated by `|`, `,` or `;`."""
    assignments = []
    for item in re.split(r"[|,;]", value):
        item = item.strip()
        if not item:
            continue
        key, sep, start = item.rpartition(":")
        if sep and key:
            assignments.append({"role": key.strip(), "start_date": _date(start.strip())})
        else:
            assignments.append({"role": item})
    return assignments


def _cell(kind: ImportKind, field: str, value: str) -> Any:
    if field == "roles":
        return _roles(value)
    if field == "active":
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        return value
    if field in kind.dates:
        return _date(value)
    return value


def import_csv(
    session: Session,
    *,
    kind: str,
    data: bytes,
    delimiter: str | None = None,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Parse a CSV export and upsert its rows; nothing is written if any line is bad."""
    spec = KINDS[kind]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"The file is not UTF-8 (byte {exc.start}); export it as 'CSV UTF-8'.",
            slug="csv-not-utf8",
        ) from exc
    first_line = text.split("\n", 1)[0]
    sep = _delimiter(delimiter, first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    errors: list[LineProblem] = []
    report = _empty_report(spec, dry_run=dry_run, delimiter=sep)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise BadRequest(f"Line 1 cannot be read as CSV: {exc}.", slug="csv-malformed") from exc
    if not header or not any(cell.strip() for cell in header):
        raise BadRequest("The file is empty; the first line must name the columns.")
    mapping = mapping or {}
    columns: list[str | None] = []
    for name in header:
        normalised = _normalise_header(name)
        target = mapping.get(normalised, normalised)
        if target in spec.fields:
            if target in columns:
                errors.append(
                    LineProblem(
                        line=1,
                        field=target,
                        message="column appears twice",
                        type="duplicate_column",
                    )
                )
            columns.append(target)
        else:
            columns.append(None)
            if name.strip():
                report.ignored_columns.append(name.strip())
    for required in spec.required:
        if required not in columns:
            errors.append(
                LineProblem(
                    line=1,
                    field=required,
                    message=f"no column for {required}; name it so or map it with csvheader={required}",
                    type="missing_column",
                )
            )
    if errors:
        report.errors = errors
        return report

    records: list[dict[str, Any]] = []
    lines: list[int] = []
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(
                LineProblem(
                    line=start, field="", message=f"not valid CSV: {exc}", type="csv_malformed"
                )
            )
            break
        last_line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(records) + len(errors) >= MAX_ROWS:
            raise BadRequest(f"More than {MAX_ROWS} rows; split the file.")
        extra = [cell for cell in row[len(columns) :] if cell.strip()]
        if extra:
            errors.append(
                LineProblem(
                    line=start,
                    field="",
                    message=f"has {len(row)} fields, the header has {len(columns)}",
                    type="csv_field_count",
                )
            )
            continue
        record = {}
        for column, value in zip(columns, row, strict=False):
            if column is not None and value.strip():
                record[column] = _cell(spec, column, value.strip())
        records.append(record)
        lines.append(start)

    result = spec.run(session, records=records, partial=False, dry_run=dry_run or bool(errors))
    report.rows = len(records) + len([e for e in errors if e.line > 1])
    report.counts = result.counts
    for outcome in result.results:
        outcome.line = lines[outcome.index]
        for problem in outcome.problems:
            errors.append(
                LineProblem(
                    line=outcome.line,
                    field=problem.field,
                    message=problem.message,
                    type=problem.type,
                )
            )
    report.counts.error = len({e.line for e in errors})
    report.errors = sorted(errors, key=lambda e: e.line)
    report.results = result.results
    report.applied = result.applied and not errors
    return report


def _empty_report(spec: ImportKind, *, dry_run: bool, delimiter: str) -> ImportReport:
    return ImportReport(
        kind=spec.name,
        dry_run=dry_run,
        applied=False,
        delimiter=delimiter,
        rows=0,
        counts=BatchCounts(),
        errors=[],
        ignored_columns=[],
        results=[],
    )
