"""Reconciliation with outside counts: each counted line against what the ledger held at its
`counted_at` (the level now, less every movement after the count), discrepancies over a
threshold flagged (and an event), nothing adjusted until someone applies chosen lines.

Applying a line writes an `adjustment` of `counted - expected` at the line's location, with
reference `reconciliation` / `<id>:<line_no>`: the ledger entry is the record that it was
applied, so applying twice changes nothing more. Applies of one reconciliation are taken one
at a time, each until durable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec
from litestar.response.base import ASGIResponse

from reservoir import _core
from reservoir.domain.reconciliations.counts import Count
from reservoir.domain.writes import WriteRequest, Writes, Written, transaction_id
from reservoir.ledger.changes import ChangeMeta
from reservoir.ledger.fold import fold_sql
from reservoir.lib.auth import Identity
from reservoir.lib.clock import now_ms
from reservoir.lib.errors import ProblemError, invalid_input
from reservoir.lib.keyed_locks import KeyedLocks

encode = msgspec.json.Encoder().encode
REFERENCE_TYPE = "reconciliation"
TOPIC = "reconciliation"
EVENT_LINES_MAX = 1000


class Line(msgspec.Struct, omit_defaults=True):
    line_no: int
    sku: str
    counted: int
    expected: int
    difference: int  # counted - expected
    counted_at: datetime
    flagged: bool
    location: str | None = None
    source: str | None = None
    applied: str | None = None  # the adjustment's transaction id once applied


class Reconciliation(msgspec.Struct, omit_defaults=True):
    id: str
    source: str
    created_at: datetime
    created_by: str
    lines: int  # counted lines
    flagged: int
    threshold_units: int
    # the lines that differ from the ledger, in line order (a page: `next` continues)
    discrepancies: list[Line]
    threshold_percent: float | None = None
    next: int | None = None


class ApplyIn(msgspec.Struct, forbid_unknown_fields=True):
    lines: list[int] | None = None  # these line numbers
    flagged: bool = False  # or every flagged line


class Applied(msgspec.Struct):
    reconciliation: str
    applied: list[Line]
    already_applied: list[int]


# per count: the level now less every movement after `counted_at`, in one snapshot
EXPECTED = f"""
WITH c AS (
    SELECT * FROM unnest($1::int4[], $2::text[], $3::text[], $4::timestamptz[])
        AS c(line_no, sku, location, counted_at)
), now_levels AS (
    SELECT c.line_no,
           coalesce((SELECT sum(l.on_hand) FROM inventory_levels l
                     WHERE l.sku = c.sku AND (c.location IS NULL OR l.location = c.location)),
                    0)::int8 AS on_hand
    FROM c
), since AS (
    SELECT c.line_no, sum({fold_sql(0, "e.quantity", "e.kind")})::int8 AS moved
    FROM c JOIN ledger_entries e
      ON e.sku = c.sku AND (c.location IS NULL OR e.location = c.location)
     AND e.at > c.counted_at
    GROUP BY c.line_no
)
SELECT n.line_no, n.on_hand - coalesce(s.moved, 0) FROM now_levels n
LEFT JOIN since s USING (line_no)
"""
SELECT_HEAD = """
SELECT id, source, created_at, created_by, lines, flagged, threshold_units, threshold_percent
FROM reconciliations WHERE id = $1
"""
SELECT_LINES = """
SELECT r.line_no, r.sku, r.location, r.counted, r.expected, r.counted_at, r.source, r.flagged,
       (SELECT 'txn_' || e.lsn FROM ledger_entries e
        WHERE e.reference_type = 'reconciliation'
          AND e.reference_id = r.reconciliation || ':' || r.line_no
        LIMIT 1) AS applied
FROM reconciliation_lines r
WHERE r.reconciliation = $1 AND r.counted <> r.expected AND r.line_no > $2
  AND ($3::int4[] IS NULL OR r.line_no = ANY($3))
ORDER BY r.line_no
LIMIT $4
"""

_applies = KeyedLocks()  # the applies of one reconciliation, one at a time


def not_found(rid: str) -> ProblemError:
    return ProblemError(
        404,
        "reconciliation-not-found",
        "Reconciliation not found",
        f"No reconciliation {rid!r}.",
        reconciliation=rid,
    )


def is_flagged(counted: int, expected: int, units: int, percent: float | None) -> bool:
    """A difference at least `units` (and, when set, at least `percent` of what was
    expected; of 1 when nothing was)."""
    difference = abs(counted - expected)
    if difference == 0 or difference < units:
        return False
    return percent is None or difference * 100 >= percent * max(abs(expected), 1)


async def _unknown(conn: asyncpg.Connection, counts: list[Count]) -> list[dict[str, object]]:
    """Lines naming a SKU or location that is not in the catalogue."""
    skus = {
        r[0]
        for r in await conn.fetch(
            "SELECT sku FROM items WHERE sku = ANY($1)", list({c.sku for c in counts})
        )
    }
    places = {
        r[0]
        for r in await conn.fetch(
            "SELECT code FROM locations WHERE code = ANY($1)",
            list({c.location for c in counts if c.location is not None}),
        )
    }
    errors: list[dict[str, object]] = []
    for c in counts:
        if c.sku not in skus:
            errors.append({"line": c.line, "field": "sku", "message": f"unknown SKU {c.sku!r}"})
        if c.location is not None and c.location not in places:
            errors.append(
                {"line": c.line, "field": "location", "message": f"unknown location {c.location!r}"}
            )
    return errors


async def record(
    pool: asyncpg.Pool,
    caller: Identity,
    source: str,
    counts: list[Count],
    threshold_units: int,
    threshold_percent: float | None,
) -> tuple[str, list[dict[str, object]]]:
    """Compares the counts with the ledger and keeps the reconciliation: its id, or the
    errors of lines naming what the catalogue does not have (then nothing is kept)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        errors = await _unknown(conn, counts)
        if errors:
            return "", errors
        rows = await conn.fetch(
            EXPECTED,
            [c.line for c in counts],
            [c.sku for c in counts],
            [c.location for c in counts],
            [c.counted_at for c in counts],
        )
        expected = dict(rows)
        lines = [
            (
                c.line,
                c.sku,
                c.location,
                c.quantity,
                expected[c.line],
                c.counted_at,
                c.source,
                is_flagged(c.quantity, expected[c.line], threshold_units, threshold_percent),
            )
            for c in counts
        ]
        flagged = [line for line in lines if line[7]]
        number = await conn.fetchval("SELECT nextval('reconciliation_numbers')")
        rid = f"REC-{number}"
        await conn.execute(
            "INSERT INTO reconciliations (id, source, threshold_units, threshold_percent, lines,"
            " flagged, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            rid,
            source,
            threshold_units,
            None if threshold_percent is None else Decimal(str(threshold_percent)),
            len(lines),
            len(flagged),
            caller.actor,
        )
        await conn.copy_records_to_table(
            "reconciliation_lines",
            records=[(rid, *line) for line in lines],
            columns=(
                "reconciliation",
                "line_no",
                "sku",
                "location",
                "counted",
                "expected",
                "counted_at",
                "source",
                "flagged",
            ),
        )
        if flagged:
            await conn.execute(
                "INSERT INTO outbox (lsn, topic, payload) VALUES (NULL, $1, $2::jsonb)",
                TOPIC,
                json.dumps(_event(rid, source, flagged)),
            )
    return rid, []


def _event(rid: str, source: str, flagged: Sequence[tuple[object, ...]]) -> dict[str, object]:
    """`reconciliation.flagged`: the reconciliation and its flagged lines (the first
    thousand; `GET /v1/reconciliations/{id}` has them all)."""
    return {
        "reconciliation": {
            "event": "reconciliation.flagged",
            "id": rid,
            "source": source,
            "flagged": len(flagged),
            "lines": [
                {"line_no": f[0], "sku": f[1], "location": f[2], "counted": f[3], "expected": f[4]}
                for f in flagged[:EVENT_LINES_MAX]
            ],
        }
    }


async def read(
    pool: asyncpg.Pool,
    rid: str,
    *,
    after: int = 0,
    limit: int = 1000,
    only: list[int] | None = None,
) -> Reconciliation:
    async with pool.acquire() as conn:
        head = await conn.fetchrow(SELECT_HEAD, rid)
        if head is None:
            raise not_found(rid)
        rows = await conn.fetch(SELECT_LINES, rid, after, only, limit + 1)
    lines = [_line(r) for r in rows[:limit]]
    return Reconciliation(
        id=head["id"],
        source=head["source"],
        created_at=head["created_at"],
        created_by=head["created_by"],
        lines=head["lines"],
        flagged=head["flagged"],
        threshold_units=head["threshold_units"],
        threshold_percent=None
        if head["threshold_percent"] is None
        else float(head["threshold_percent"]),
        discrepancies=lines,
        next=lines[-1].line_no if len(rows) > limit else None,
    )


def _line(r: asyncpg.Record) -> Line:
    return Line(
        line_no=r["line_no"],
        sku=r["sku"],
        location=r["location"],
        counted=r["counted"],
        expected=r["expected"],
        difference=r["counted"] - r["expected"],
        counted_at=r["counted_at"],
        source=r["source"],
        flagged=r["flagged"],
        applied=r["applied"],
    )


def _choose(current: Reconciliation, body: ApplyIn) -> tuple[list[Line], list[int]]:
    """The lines to apply now, and those applied before; 422 for a named line that does not
    differ from the ledger, or one without a location."""
    chosen = [line for line in current.discrepancies if body.lines is not None or line.flagged]
    if body.lines is not None:
        missing = sorted(set(body.lines) - {line.line_no for line in chosen})
        if missing:
            raise invalid_input(
                "lines", f"Lines {missing} of {current.id} do not differ from the ledger."
            )
    todo = [line for line in chosen if not line.applied]
    for line in todo:
        if line.location is None:
            raise invalid_input(
                "lines",
                f"Line {line.line_no} counted {line.sku!r} without a location: apply it as an "
                "adjustment at the location it belongs to.",
            )
    return todo, [line.line_no for line in chosen if line.applied]


def _check_units(engine: _core.Engine, todo: list[Line]) -> None:
    """422 unless every negative difference can leave: the location has the units, and
    units outside lots (a count of a lot is the adjustment's own, with `lot`)."""
    for line in todo:
        if line.difference >= 0 or line.location is None:
            continue
        level = next((lv for lv in engine.levels(line.sku) if lv.location == line.location), None)
        on_hand = 0 if level is None else level.on_hand
        lots = engine.lots(line.sku, line.location)
        unlotted = sum(units for lot, _, units in lots if lot is None)
        if on_hand < -line.difference:
            raise invalid_input(
                "lines",
                f"Line {line.line_no}: {line.location} has {on_hand} of {line.sku!r} now, "
                f"fewer than the {-line.difference} the count found missing.",
            )
        if unlotted < -line.difference:
            raise invalid_input(
                "lines",
                f"Line {line.line_no}: the missing units of {line.sku!r} at {line.location} "
                "are in lots; count them by lot (POST /v1/stock/adjustments with `lot`).",
            )


async def apply(
    writes: Writes, request: WriteRequest, caller: Identity, rid: str, body: ApplyIn
) -> ASGIResponse:
    """`POST /v1/reconciliations/{id}/apply`: the chosen lines (or every flagged one) become
    adjustments with reason `reconciliation`, all or none; lines applied before are left."""
    if (body.lines is None) == (not body.flagged):
        raise invalid_input("lines", "Name `lines` (line numbers) or set `flagged: true`.")
    write_path = writes.write_path

    async def run() -> Written:
        current = await read(writes.pool, rid, limit=10_000_000, only=body.lines)
        todo, done = _choose(current, body)
        engine = write_path.engine()
        _check_units(engine, todo)
        if not todo:
            out = Applied(reconciliation=rid, applied=[], already_applied=done)
            return Written(200, encode(out), 0, changed=False)
        now = now_ms()
        applied = []
        metas: list[tuple[int, ChangeMeta]] = []
        for line in todo:
            assert line.location is not None
            lsn, _ = engine.adjust(line.sku, line.location, line.difference, now)
            counted_at = line.counted_at.isoformat()
            note = f"counted {line.counted}, ledger {line.expected} at {counted_at}"
            reference = f"{rid}:{line.line_no}"
            metas.append((lsn, ChangeMeta(caller.actor, REFERENCE_TYPE, reference, note=note)))
            applied.append(msgspec.structs.replace(line, applied=transaction_id(lsn)))
        for lsn, meta in metas[:-1]:
            write_path.note(lsn, meta)
        out = Applied(reconciliation=rid, applied=applied, already_applied=done)
        return Written(200, encode(out), metas[-1][0], metas[-1][1])

    async with _applies.hold(rid):
        return await writes.perform(request, caller, run)
