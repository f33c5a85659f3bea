"""`POST /v1/stock/returns` by condition: `resellable` units come back into sellable stock at
the location, `damaged` ones into the quarantine of its warehouse (not sellable; moving them
out after inspection is a transfer), `write_off` ones are recorded (a `write_off` ledger
entry) and never in stock. A return naming the order it comes from (`reservation`) may bring
back at most what that order shipped, less what came back before: its entries name the order
(reference `order_return`), and returns of one order are serialised until durable."""

from __future__ import annotations

import asyncpg
from litestar.response.base import ASGIResponse

from reservoir.domain.places import quarantine_of, warehouse_of
from reservoir.domain.stock.movements import movement_body
from reservoir.domain.stock.schemas import ReturnIn
from reservoir.domain.writes import WriteRequest, Writes, Written, transaction_id
from reservoir.ledger.changes import ChangeMeta
from reservoir.lib.auth import Identity
from reservoir.lib.clock import now_ms
from reservoir.lib.codes import check_code
from reservoir.lib.errors import ProblemError, invalid_input, unknown_location
from reservoir.lib.keyed_locks import KeyedLocks
from reservoir.lib.text import check_text

ORDER_RETURN = "order_return"

ORDER_UNITS = """
SELECT (SELECT true FROM reservations WHERE id = $1) AS known,
       coalesce(sum(quantity) FILTER (WHERE reference_type = 'reservation'), 0)::int8 AS shipped,
       coalesce(sum(quantity) FILTER (WHERE reference_type = 'order_return'), 0)::int8
           AS returned
FROM ledger_entries
WHERE sku = $2 AND reference_id = $1
  AND ((reference_type = 'reservation' AND kind = 'ship')
       OR (reference_type = 'order_return' AND kind IN ('return', 'write_off')))
"""

_orders = KeyedLocks()  # the returns of one order, one at a time


async def _check_order(conn: asyncpg.Connection, data: ReturnIn) -> None:
    """422 unless the order shipped at least this many more units of the SKU."""
    row = await conn.fetchrow(ORDER_UNITS, data.reservation, data.sku)
    assert row is not None
    if not row["known"]:
        raise ProblemError(
            422,
            "reservation-not-found",
            "Reservation not found",
            f"No reservation {data.reservation!r} to return units of.",
            field="reservation",
            reservation_id=data.reservation,
        )
    left = row["shipped"] - row["returned"]
    if data.quantity > left:
        raise invalid_input(
            "quantity",
            f"{data.reservation} shipped {row['shipped']} of {data.sku!r} and "
            f"{row['returned']} came back before: at most {left} more may be returned.",
        )


async def take_return(
    writes: Writes, request: WriteRequest, caller: Identity, data: ReturnIn
) -> ASGIResponse:
    check_text("reference", data.reference)
    check_text("reason", data.reason)
    check_text("lot", data.lot)
    if data.reservation is not None:
        check_code(data.reservation, "reservation")
    write_path = writes.write_path

    async def apply() -> Written:
        location = data.location
        async with writes.pool.acquire() as conn:
            if data.reservation is not None:
                await _check_order(conn, data)
            warehouse = None
            if data.condition != "resellable":
                warehouse = await warehouse_of(conn, data.location)
        if data.condition != "resellable":
            if warehouse is None:
                raise unknown_location(data.location)
            location = await quarantine_of(writes.pool, write_path, warehouse)
        engine = write_path.engine()
        if data.condition == "write_off":
            lsn, level = engine.write_off(data.sku, location, data.quantity, now_ms(), lot=data.lot)
        else:
            lsn, level = engine.return_units(
                data.sku, location, data.quantity, now_ms(), lot=data.lot
            )
        if data.reservation is not None:
            meta = ChangeMeta(
                caller.actor,
                reference_type=ORDER_RETURN,
                reference_id=data.reservation,
                note=data.reason or data.reference,
            )
        else:
            meta = ChangeMeta(
                caller.actor,
                reference_type="return",
                reference_id=data.reference or data.reason or transaction_id(lsn),
                note=data.reason if data.reference else None,
            )
        body = movement_body(
            lsn, level, lot=data.lot, condition=data.condition, reservation=data.reservation
        )
        return Written(201, body, lsn, meta)

    if data.reservation is None:
        return await writes.perform(request, caller, apply)
    async with _orders.hold(data.reservation):
        return await writes.perform(request, caller, apply)
