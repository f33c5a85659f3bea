"""Outside counts as they arrive: a JSON body or a CSV file (`sku,location,quantity,source,
counted_at`), each line checked, every bad line reported by its number, nothing kept unless
every line is good."""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from datetime import datetime

import msgspec

from reservoir.lib.codes import is_valid_code
from reservoir.lib.errors import ProblemError

CSV_COLUMNS = ("sku", "location", "quantity", "source", "counted_at")
LINES_MAX = 1_000_000
ERRORS_SHOWN_MAX = 100
QUANTITY_MAX = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Count:
    line: int  # the line of the file (CSV: the header is line 1) or the index + 1 (JSON)
    sku: str
    location: str | None
    quantity: int
    counted_at: datetime
    source: str | None


class CountIn(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    quantity: int
    counted_at: str
    location: str | None = None
    source: str | None = None


class CountsIn(msgspec.Struct, forbid_unknown_fields=True):
    source: str
    counts: list[CountIn]
    threshold_units: int = 1
    threshold_percent: float | None = None


def _whole(value: str | int) -> int | None:
    try:
        units = int(value)
    except (TypeError, ValueError):
        return None
    return units if 0 <= units <= QUANTITY_MAX else None


def _moment(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def _check(
    line: int, sku: str, location: str | None, quantity: str | int, counted_at: str
) -> tuple[Count | None, list[dict[str, object]]]:
    errors: list[dict[str, object]] = []

    def bad(field: str, message: str) -> None:
        errors.append({"line": line, "field": field, "message": message})

    if not is_valid_code(sku):
        bad("sku", f"not a SKU code: {sku!r}")
    if location is not None and not is_valid_code(location):
        bad("location", f"not a location code: {location!r}")
    units = _whole(quantity)
    if units is None:
        bad("quantity", f"not a whole number from 0 to {QUANTITY_MAX}: {quantity!r}")
    moment = _moment(counted_at)
    if moment is None:
        bad("counted_at", f"not an RFC 3339 time with a zone: {counted_at!r}")
    if errors or units is None or moment is None:
        return None, errors
    return Count(line, sku, location, units, moment, None), errors


def parse_csv(raw: bytes) -> tuple[list[Count], list[dict[str, object]]]:
    """The counts of a CSV file with the header `sku,location,quantity,source,counted_at`
    (`location` and `source` may be empty), and the errors by line number."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [{"line": 1, "field": "body", "message": f"not UTF-8: {exc}"}]
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header is None or tuple(h.strip() for h in header) != CSV_COLUMNS:
        message = f"the first line must be the header {','.join(CSV_COLUMNS)}"
        return [], [{"line": 1, "field": "header", "message": message}]
    counts: list[Count] = []
    errors: list[dict[str, object]] = []
    for number, row in enumerate(rows, start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(CSV_COLUMNS):
            errors.append({"line": number, "field": "row", "message": f"{len(row)} fields, not 5"})
            continue
        sku, location, quantity, source, counted_at = (v.strip() for v in row)
        count, found = _check(number, sku, location or None, quantity, counted_at)
        errors.extend(found)
        if count is not None:
            counts.append(dataclasses.replace(count, source=source or None))
    return counts, errors


def parse_json(body: CountsIn) -> tuple[list[Count], list[dict[str, object]]]:
    counts: list[Count] = []
    errors: list[dict[str, object]] = []
    for i, item in enumerate(body.counts, start=1):
        count, found = _check(i, item.sku, item.location, item.quantity, item.counted_at)
        errors.extend(found)
        if count is not None:
            counts.append(dataclasses.replace(count, source=item.source))
    return counts, errors


def refuse(errors: list[dict[str, object]]) -> ProblemError:
    """422 `malformed-counts` naming every bad line (the first hundred); nothing is kept."""
    first = errors[0]
    return ProblemError(
        422,
        "malformed-counts",
        "Malformed counts",
        f"{len(errors)} bad values; the first at line {first['line']} ({first['field']}: "
        f"{first['message']}). Nothing was recorded.",
        field=f"line {first['line']}",
        errors=errors[:ERRORS_SHOWN_MAX],
        error_count=len(errors),
    )
