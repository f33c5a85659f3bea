"""Transfers with transit. A transfer is a document (`transfers`, `transfer_lines`); each step
is ledger entries naming it (reference `transfer`, its id): shipping writes `transit_out` at
the source and `transit` at the destination (the units leave `on_hand` and are `in_transit`),
receiving writes `transit_in`, closing writes `transit_lost` for what never arrived. A line's
shipped, received and lost units, and so the status, are folds of those entries. Steps of one
transfer are serialised by a lock held until the step is durable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg
import msgspec
from litestar.response.base import ASGIResponse

from reservoir import _core
from reservoir.domain.transfers.schemas import (
    Transfer,
    TransferLine,
    TransitArrivalIn,
    TransitCloseIn,
    TransitLineIn,
    TransitTransferIn,
)
from reservoir.domain.writes import WriteRequest, Writes, Written
from reservoir.ledger.changes import ChangeMeta
from reservoir.lib.auth import Identity
from reservoir.lib.clock import now_ms
from reservoir.lib.codes import check_code
from reservoir.lib.errors import ProblemError, invalid_input, unknown_location, unknown_sku
from reservoir.lib.keyed_locks import KeyedLocks
from reservoir.lib.text import check_text

encode = msgspec.json.Encoder().encode
LINES_MAX = 100
REFERENCE_TYPE = "transfer"

SELECT_TRANSFER = """
SELECT id, from_location, to_location, reference, created_by, created_at FROM transfers
WHERE id = $1
"""
SELECT_LINES = """
SELECT t.line_no, t.sku, t.quantity, t.lot,
       coalesce(sum(e.quantity) FILTER (WHERE e.kind = 'transit_out'), 0)::int8 AS shipped,
       coalesce(sum(e.quantity) FILTER (WHERE e.kind = 'transit_in'), 0)::int8 AS received,
       coalesce(sum(e.quantity) FILTER (WHERE e.kind = 'transit_lost'), 0)::int8 AS lost
FROM transfer_lines t
LEFT JOIN ledger_entries e
    ON e.reference_type = 'transfer' AND e.reference_id = t.transfer AND e.sku = t.sku
   AND e.lot IS NOT DISTINCT FROM t.lot
   AND e.kind IN ('transit_out', 'transit_in', 'transit_lost')
WHERE t.transfer = $1
GROUP BY t.line_no, t.sku, t.quantity, t.lot
ORDER BY t.line_no
"""

_transfers = KeyedLocks()  # the steps of one transfer, one at a time


def not_found(transfer_id: str) -> ProblemError:
    return ProblemError(
        404,
        "transfer-not-found",
        "Transfer not found",
        f"No transfer {transfer_id!r}.",
        transfer=transfer_id,
    )


def status_of(lines: Sequence[TransferLine]) -> str:
    shipped = sum(line.shipped for line in lines)
    received = sum(line.received for line in lines)
    lost = sum(line.lost for line in lines)
    if shipped == 0:
        return "draft"
    if received + lost == 0:
        return "shipped"
    if received + lost < shipped:
        return "partially_received"
    return "closed" if lost else "received"


def _line(row: asyncpg.Record) -> TransferLine:
    in_transit = row["shipped"] - row["received"] - row["lost"]
    return TransferLine(
        line_no=row["line_no"],
        sku=row["sku"],
        quantity=row["quantity"],
        shipped=row["shipped"],
        received=row["received"],
        lost=row["lost"],
        in_transit=in_transit,
        lot=row["lot"],
    )


async def read_transfer(conn: asyncpg.Connection, transfer_id: str) -> Transfer:
    row = await conn.fetchrow(SELECT_TRANSFER, transfer_id)
    if row is None:
        raise not_found(transfer_id)
    lines = [_line(r) for r in await conn.fetch(SELECT_LINES, transfer_id)]
    return Transfer(
        id=row["id"],
        from_location=row["from_location"],
        to_location=row["to_location"],
        status=status_of(lines),
        lines=lines,
        created_at=row["created_at"],
        created_by=row["created_by"],
        reference=row["reference"],
    )


def _check_lines(lines: Sequence[TransitLineIn]) -> None:
    if not 1 <= len(lines) <= LINES_MAX:
        raise invalid_input("lines", f"A transfer has 1 to {LINES_MAX} lines.")
    for i, line in enumerate(lines):
        check_code(line.sku, f"lines[{i}].sku")
        check_text(f"lines[{i}].lot", line.lot)


async def create(
    writes: Writes, request: WriteRequest, caller: Identity, body: TransitTransferIn
) -> ASGIResponse:
    """`POST /v1/transfers`: a draft (nothing moves until it ships)."""
    check_code(body.from_location, "from")
    check_code(body.to_location, "to")
    check_text("reference", body.reference)
    if body.from_location == body.to_location:
        raise invalid_input("to", "`to` must differ from `from`.")
    _check_lines(body.lines)
    seen: set[tuple[str, str | None]] = set()
    for i, line in enumerate(body.lines):
        if (line.sku, line.lot) in seen:
            raise invalid_input(f"lines[{i}].sku", "The same SKU and lot is on an earlier line.")
        seen.add((line.sku, line.lot))
    engine = writes.write_path.reader()
    for field, code in (("from", body.from_location), ("to", body.to_location)):
        if not engine.has_location(code):
            raise unknown_location(code, field)
    for i, line in enumerate(body.lines):
        if not engine.has_sku(line.sku):
            raise unknown_sku(line.sku, f"lines[{i}].sku")

    async def apply(conn: asyncpg.Connection) -> Written:
        number = await conn.fetchval("SELECT nextval('transfer_numbers')")
        transfer_id = f"TR-{number}"
        await conn.execute(
            "INSERT INTO transfers (id, from_location, to_location, reference, created_by) "
            "VALUES ($1, $2, $3, $4, $5)",
            transfer_id,
            body.from_location,
            body.to_location,
            body.reference,
            caller.actor,
        )
        await conn.executemany(
            "INSERT INTO transfer_lines (transfer, line_no, sku, quantity, lot) "
            "VALUES ($1, $2, $3, $4, $5)",
            [
                (transfer_id, i, line.sku, line.quantity, line.lot)
                for i, line in enumerate(body.lines, start=1)
            ],
        )
        return Written(201, encode(await read_transfer(conn, transfer_id)), 0)

    return await writes.perform_in_transaction(request, caller, writes.pool, apply)


Moving = list[tuple[TransferLine, int]]  # lines and the units of each that move


@dataclass(frozen=True)
class _Move:
    """A step's engine call, and the count of a line its units add to."""

    counts: str  # "shipped", "received" or "lost"
    run: Callable[[_core.Engine, Transfer, Moving, int], list[int]]  # -> the LSNs


def _ship(engine: _core.Engine, transfer: Transfer, moving: Moving, now: int) -> list[int]:
    src, dst = transfer.from_location, transfer.to_location
    return engine.ship_transit([(ln.sku, src, dst, units, ln.lot) for ln, units in moving], now)


def _at_destination(transfer: Transfer, moving: Moving) -> list[tuple[str, str, int, str | None]]:
    return [(line.sku, transfer.to_location, units, line.lot) for line, units in moving]


SHIP = _Move("shipped", _ship)
ARRIVE = _Move("received", lambda e, t, m, now: e.arrive_transit(_at_destination(t, m), now))
LOSE = _Move("lost", lambda e, t, m, now: e.lose_transit(_at_destination(t, m), now))


async def _step(
    writes: Writes,
    request: WriteRequest,
    caller: Identity,
    transfer_id: str,
    plan: Callable[[Transfer], Moving],
    move: _Move,
    note: str | None = None,
) -> ASGIResponse:
    """One step of a transfer: `plan` says how many units of which lines move (or raises),
    the engine moves them (`move`), and the answer is the transfer after the step, once
    durable."""
    write_path = writes.write_path

    async def apply() -> Written:
        async with writes.pool.acquire() as conn:
            transfer = await read_transfer(conn, transfer_id)
        moving = plan(transfer)
        lsns = move.run(write_path.engine(), transfer, moving, now_ms())
        meta = ChangeMeta(
            caller.actor, reference_type=REFERENCE_TYPE, reference_id=transfer_id, note=note
        )
        for lsn in lsns[:-1]:
            write_path.note(lsn, meta)
        return Written(200, encode(_after(transfer, moving, move.counts)), lsns[-1], meta)

    async with _transfers.hold(transfer_id):
        return await writes.perform(request, caller, apply)


def _after(transfer: Transfer, moving: Moving, field: str) -> Transfer:
    """The transfer with `moving` added to each line's `field` count, and its new status."""
    moved = {line.line_no: units for line, units in moving}
    lines = []
    for line in transfer.lines:
        units = moved.get(line.line_no, 0)
        changed = msgspec.structs.replace(line, **{field: getattr(line, field) + units})
        in_transit = changed.shipped - changed.received - changed.lost
        lines.append(msgspec.structs.replace(changed, in_transit=in_transit))
    return msgspec.structs.replace(transfer, lines=lines, status=status_of(lines))


def _not_in(transfer: Transfer, wanted: str, action: str) -> ProblemError:
    return ProblemError(
        409,
        "transfer-state",
        "Transfer state",
        f"{transfer.id} is {transfer.status}; only a {wanted} transfer can be {action}.",
        transfer=transfer.id,
        transfer_status=transfer.status,
    )


async def ship(
    writes: Writes, request: WriteRequest, caller: Identity, transfer_id: str
) -> ASGIResponse:
    """`POST /v1/transfers/{id}/ship`: every line leaves the source (only units nobody
    holds: 409 with the shortage) and is in transit to the destination."""

    def plan(transfer: Transfer) -> Moving:
        if transfer.status != "draft":
            raise _not_in(transfer, "draft", "shipped")
        return [(line, line.quantity) for line in transfer.lines]

    return await _step(writes, request, caller, transfer_id, plan, SHIP)


async def receive(
    writes: Writes,
    request: WriteRequest,
    caller: Identity,
    transfer_id: str,
    body: TransitArrivalIn,
) -> ASGIResponse:
    """`POST /v1/transfers/{id}/receipts`: the units that arrived, per line; more than is
    still in transit on a line is 422 naming it."""
    _check_lines(body.lines)

    def plan(transfer: Transfer) -> Moving:
        if transfer.status not in ("shipped", "partially_received"):
            raise _not_in(transfer, "shipped", "received")
        by_key = {(line.sku, line.lot): line for line in transfer.lines}
        taken: dict[int, int] = defaultdict(int)
        moving = []
        for i, arrived in enumerate(body.lines):
            line = by_key.get((arrived.sku, arrived.lot))
            if line is None:
                raise invalid_input(
                    f"lines[{i}].sku",
                    f"{arrived.sku!r}"
                    + (f" lot {arrived.lot!r}" if arrived.lot else "")
                    + f" is not on {transfer.id}.",
                )
            taken[line.line_no] += arrived.quantity
            if taken[line.line_no] > line.in_transit:
                raise invalid_input(
                    f"lines[{i}].quantity",
                    f"Only {line.in_transit} of {arrived.sku!r} are in transit on "
                    f"{transfer.id} (shipped {line.shipped}, received {line.received}, "
                    f"lost {line.lost}).",
                )
            moving.append((line, arrived.quantity))
        return moving

    return await _step(writes, request, caller, transfer_id, plan, ARRIVE)


async def close(
    writes: Writes, request: WriteRequest, caller: Identity, transfer_id: str, body: TransitCloseIn
) -> ASGIResponse:
    """`POST /v1/transfers/{id}/close`: whatever is still in transit never arrives: it is
    written off as `transit_lost` (reason `lost_in_transit`, and a discrepancy)."""
    check_text("reason", body.reason)

    def plan(transfer: Transfer) -> Moving:
        if transfer.status not in ("shipped", "partially_received"):
            raise _not_in(transfer, "shipped", "closed")
        return [(line, line.in_transit) for line in transfer.lines if line.in_transit > 0]

    note = body.reason or "lost_in_transit"
    return await _step(writes, request, caller, transfer_id, plan, LOSE, note)
