"""Suppliers, purchase orders, and receiving against them.

An order is a document (`purchase_orders`, `purchase_order_lines`); what arrived for it is the
ledger's: each received line is a `receipt` entry naming the order, as `purchase_order`
(accepted: good units into stock), `purchase_order_damaged` (rejected: into the warehouse's
quarantine) or `purchase_order_wrong_item` (a SKU not on the order: into quarantine). The
view `purchase_order_line_receipts` folds them per line, so an order's counts and status can
never disagree with the stock. Receipts and closes of one order are serialised by a lock
held until the receipt is durable, so the tolerance check sees every earlier receipt.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

import asyncpg
import msgspec
from litestar.response.base import ASGIResponse

from reservoir import _core
from reservoir.domain.places import quarantine_of, warehouse_of
from reservoir.domain.purchasing.schemas import (
    OrderEndIn,
    OrderLine,
    OrderReceiptIn,
    OrderReceiptOut,
    PurchaseOrder,
    PurchaseOrderIn,
    ReceivedLine,
    Supplier,
    SupplierIn,
)
from reservoir.domain.writes import WriteRequest, Writes, Written, transaction_id
from reservoir.ledger.changes import ChangeMeta
from reservoir.lib.auth import Identity
from reservoir.lib.clock import day_number, now_ms
from reservoir.lib.codes import check_code
from reservoir.lib.errors import ProblemError, invalid_input, unknown_location, unknown_sku
from reservoir.lib.keyed_locks import KeyedLocks
from reservoir.lib.text import NAME_LENGTH_MAX, check_text

encode = msgspec.json.Encoder().encode

LINES_MAX = 1000
RECEIPT_LINES_MAX = 100
# the ledger's reference_type of a received line, by what it was
ACCEPTED, REJECTED, WRONG_ITEM = (
    "purchase_order",
    "purchase_order_damaged",
    "purchase_order_wrong_item",
)
STATUSES = ("open", "partially_received", "received", "closed", "cancelled")
ENDED = ("closed", "cancelled")  # stored states; nothing more happens to an order in these

SELECT_ORDERS = """
SELECT id, supplier, warehouse, expected_on, reference, state, ended_at, ended_reason,
       ended_by, created_at, created_by
FROM purchase_orders
"""
SELECT_LINES = """
SELECT purchase_order, line_no, sku, ordered, unit_cost, accepted, rejected
FROM purchase_order_line_receipts WHERE purchase_order = ANY($1::text[])
ORDER BY purchase_order, line_no
"""
# open orders' units not received yet, per SKU and warehouse (what availability calls
# incoming): recovery's LOAD_INCOMING for some SKUs
INCOMING = """
SELECT r.sku, p.warehouse, sum(greatest(r.ordered - r.accepted - r.rejected, 0))::int8
FROM purchase_order_line_receipts r JOIN purchase_orders p ON p.id = r.purchase_order
WHERE p.state = 'open' AND r.sku = ANY($1::text[])
GROUP BY r.sku, p.warehouse
"""

# receipts and ends of one order, one at a time (each until durable)
_order_steps = KeyedLocks()


# --- suppliers --------------------------------------------------------------------------------


async def put_supplier(pool: asyncpg.Pool, code: str, body: SupplierIn) -> tuple[Supplier, bool]:
    check_code(code, "code")
    check_text("name", body.name, length_max=NAME_LENGTH_MAX)
    check_text("email", body.email, length_max=NAME_LENGTH_MAX)
    row = await pool.fetchrow(
        """
        INSERT INTO suppliers AS s (code, name, email) VALUES ($1, $2, $3)
        ON CONFLICT (code) DO UPDATE SET name = excluded.name, email = excluded.email,
                                         updated_at = now()
        RETURNING s.code, s.name, s.email, s.created_at, s.updated_at, (xmax = 0) AS created
        """,
        code,
        body.name,
        body.email,
    )
    assert row is not None
    return _supplier(row), row["created"]


async def get_supplier(pool: asyncpg.Pool, code: str) -> Supplier | None:
    row = await pool.fetchrow(
        "SELECT code, name, email, created_at, updated_at FROM suppliers WHERE code = $1", code
    )
    return None if row is None else _supplier(row)


def _supplier(row: asyncpg.Record) -> Supplier:
    return Supplier(
        code=row["code"],
        name=row["name"],
        email=row["email"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# --- orders -----------------------------------------------------------------------------------


def not_found(order_id: str) -> ProblemError:
    return ProblemError(
        404,
        "purchase-order-not-found",
        "Purchase order not found",
        f"No purchase order {order_id!r}.",
        purchase_order=order_id,
    )


def status_of(state: str, lines: Iterable[OrderLine]) -> str:
    """What a person decided (closed, cancelled), else what the ledger says arrived."""
    if state != "open":
        return state
    lines = list(lines)
    if all(line.received >= line.ordered for line in lines):
        return "received"
    if any(line.received for line in lines):
        return "partially_received"
    return "open"


def _line(row: asyncpg.Record, state: str) -> OrderLine:
    received = row["accepted"] + row["rejected"]
    outstanding = max(0, row["ordered"] - received) if state == "open" else 0
    return OrderLine(
        line_no=row["line_no"],
        sku=row["sku"],
        ordered=row["ordered"],
        received=received,
        accepted=row["accepted"],
        rejected=row["rejected"],
        outstanding=outstanding,
        unit_cost=row["unit_cost"],
    )


def _order(row: asyncpg.Record, lines: list[OrderLine]) -> PurchaseOrder:
    return PurchaseOrder(
        id=row["id"],
        supplier=row["supplier"],
        warehouse=row["warehouse"],
        status=status_of(row["state"], lines),
        lines=lines,
        created_at=row["created_at"],
        created_by=row["created_by"],
        expected_on=row["expected_on"],
        reference=row["reference"],
        ended_at=row["ended_at"],
        ended_reason=row["ended_reason"],
    )


async def _orders(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[PurchaseOrder]:
    lines: defaultdict[str, list[asyncpg.Record]] = defaultdict(list)
    for line in await conn.fetch(SELECT_LINES, [r["id"] for r in rows]):
        lines[line["purchase_order"]].append(line)
    return [_order(row, [_line(line, row["state"]) for line in lines[row["id"]]]) for row in rows]


def _ended(order: PurchaseOrder, rest: str) -> ProblemError:
    """409: the order is closed or cancelled (`rest` ends the sentence)."""
    return ProblemError(
        409,
        "purchase-order-not-open",
        "Purchase order not open",
        f"{order.id} is {order.status}{rest}",
        purchase_order=order.id,
        order_status=order.status,
    )


async def read_order(conn: asyncpg.Connection, order_id: str) -> PurchaseOrder:
    row = await conn.fetchrow(SELECT_ORDERS + "WHERE id = $1", order_id)
    if row is None:
        raise not_found(order_id)
    return (await _orders(conn, [row]))[0]


async def list_orders(
    pool: asyncpg.Pool,
    *,
    supplier: str | None,
    status: str | None,
    expected_before: date | None,
    limit: int,
) -> list[PurchaseOrder]:
    """Orders, newest first, filtered; `status` is the derived one."""
    where: list[str] = ["true"]
    args: list[object] = []
    if supplier is not None:
        args.append(supplier)
        where.append(f"supplier = ${len(args)}")
    if expected_before is not None:
        args.append(expected_before)
        where.append(f"expected_on < ${len(args)}")
    if status in ENDED:
        args.append(status)
        where.append(f"state = ${len(args)}")
    elif status is not None:
        where.append("state = 'open'")
    sql = SELECT_ORDERS + f"WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC"
    async with pool.acquire() as conn:
        orders = await _orders(conn, await conn.fetch(sql, *args))
    return [o for o in orders if status is None or o.status == status][:limit]


async def create_order(
    writes: Writes, request: WriteRequest, caller: Identity, body: PurchaseOrderIn
) -> ASGIResponse:
    """`POST /v1/purchase-orders`: 201 with the order (`PO-<n>`), status `open`."""
    check_code(body.supplier, "supplier")
    check_code(body.warehouse, "warehouse")
    check_text("reference", body.reference)
    if not 1 <= len(body.lines) <= LINES_MAX:
        raise invalid_input("lines", f"An order has 1 to {LINES_MAX} lines.")
    seen: set[str] = set()
    for i, line in enumerate(body.lines):
        check_code(line.sku, f"lines[{i}].sku")
        if line.sku in seen:
            raise invalid_input(f"lines[{i}].sku", f"{line.sku!r} is on an earlier line.")
        if line.unit_cost is not None and not (0 <= line.unit_cost < 10**14):
            raise invalid_input(f"lines[{i}].unit_cost", "`unit_cost` must be from 0 to 10^14.")
        seen.add(line.sku)

    async def apply(conn: asyncpg.Connection) -> Written:
        await _check_order_refs(conn, body)
        number = await conn.fetchval("SELECT nextval('purchase_order_numbers')")
        order_id = f"PO-{number}"
        await conn.execute(
            """
            INSERT INTO purchase_orders (id, supplier, warehouse, expected_on, reference,
                                         created_by)
            VALUES ($1, $2, $3, $4, $5, $6)
            """,
            order_id,
            body.supplier,
            body.warehouse,
            body.expected_on,
            body.reference,
            caller.actor,
        )
        await conn.executemany(
            """
            INSERT INTO purchase_order_lines (purchase_order, line_no, sku, ordered, unit_cost)
            VALUES ($1, $2, $3, $4, $5)
            """,
            [
                (order_id, i, line.sku, line.quantity, line.unit_cost)
                for i, line in enumerate(body.lines, start=1)
            ],
        )
        return Written(201, encode(await read_order(conn, order_id)), 0)

    answer = await writes.perform_in_transaction(request, caller, writes.pool, apply)
    await refresh_incoming(writes, [line.sku for line in body.lines])
    return answer


async def _check_order_refs(conn: asyncpg.Connection, body: PurchaseOrderIn) -> None:
    if not await conn.fetchval("SELECT true FROM suppliers WHERE code = $1", body.supplier):
        raise ProblemError(
            422,
            "unknown-supplier",
            "Unknown supplier",
            f"Supplier {body.supplier!r} is not defined (PUT /v1/suppliers/{{code}}).",
            field="supplier",
        )
    if not await conn.fetchval("SELECT true FROM locations WHERE code = $1", body.warehouse):
        raise unknown_location(body.warehouse, "warehouse")
    known = {
        r[0]
        for r in await conn.fetch(
            "SELECT sku FROM items WHERE sku = ANY($1::text[])", [x.sku for x in body.lines]
        )
    }
    for i, line in enumerate(body.lines):
        if line.sku not in known:
            raise unknown_sku(line.sku, f"lines[{i}].sku")


async def refresh_incoming(writes: Writes, skus: list[str]) -> None:
    """Tells the engine what open orders still bring of `skus` per warehouse (a cache of
    the orders for availability reads; recovery loads it the same way)."""
    async with writes.pool.acquire() as conn:
        rows = await conn.fetch(INCOMING, skus)
    engine = writes.write_path.reader()
    for sku in set(skus):
        engine.clear_incoming(sku)
    for sku, warehouse, units in rows:
        engine.set_incoming(sku, warehouse, units)


# --- receiving --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Planned:
    sku: str
    quantity: int
    outcome: str  # accepted | rejected | wrong_item
    location: str
    lot: str | None
    expires_on: date | None
    note: str | None

    @property
    def reference_type(self) -> str:
        return {"accepted": ACCEPTED, "rejected": REJECTED}.get(self.outcome, WRONG_ITEM)


async def receive(
    writes: Writes, request: WriteRequest, caller: Identity, order_id: str, body: OrderReceiptIn
) -> ASGIResponse:
    """`POST /v1/purchase-orders/{id}/receipts`: every line or none, one ledger transaction."""
    check_code(body.location, "location")
    check_text("reference", body.reference)
    if not 1 <= len(body.lines) <= RECEIPT_LINES_MAX:
        raise invalid_input("lines", f"A receipt has 1 to {RECEIPT_LINES_MAX} lines.")
    for i, line in enumerate(body.lines):
        check_code(line.sku, f"lines[{i}].sku")
        check_text(f"lines[{i}].lot", line.lot)
        check_text(f"lines[{i}].note", line.note)
    write_path = writes.write_path
    tolerance = writes.settings.receipt_tolerance_percent

    async def apply() -> Written:
        async with writes.pool.acquire() as conn:
            order = await read_order(conn, order_id)
            if order.status in ENDED:
                raise _ended(order, "; nothing can be received against it.")
            warehouse = await warehouse_of(conn, body.location)
        if warehouse != order.warehouse:
            raise invalid_input(
                "location",
                f"{body.location!r} is not a location of {order.warehouse} (the order's "
                "warehouse).",
            )
        plan = _plan(order, body, tolerance, write_path.reader())
        if any(p.outcome != "accepted" for p in plan):
            quarantine = await quarantine_of(writes.pool, write_path, order.warehouse)
            plan = [
                p if p.outcome == "accepted" else dataclasses.replace(p, location=quarantine)
                for p in plan
            ]
        now = now_ms()
        moved = write_path.engine().receive_lines(
            [(p.sku, p.location, p.quantity, p.lot, _day(p.expires_on)) for p in plan],
            now,
        )
        metas = [
            ChangeMeta(
                caller.actor,
                reference_type=p.reference_type,
                reference_id=order_id,
                expires_on=p.expires_on,
                note=p.note,
            )
            for p in plan
        ]
        for (lsn, _), meta in zip(moved[:-1], metas[:-1], strict=True):
            write_path.note(lsn, meta)
        received = [
            ReceivedLine(p.sku, p.quantity, p.outcome, p.location, transaction_id(lsn), p.lot)
            for p, (lsn, _) in zip(plan, moved, strict=True)
        ]
        out = OrderReceiptOut(purchase_order=_after(order, plan), lines=received)
        return Written(201, encode(out), moved[-1][0], metas[-1])

    async with _order_steps.hold(order_id):
        answer = await writes.perform(request, caller, apply)
    await refresh_incoming(writes, [line.sku for line in body.lines])
    return answer


def _day(value: date | None) -> int | None:
    return None if value is None else day_number(value)


def _plan(
    order: PurchaseOrder, body: OrderReceiptIn, tolerance: float, engine: _core.Engine
) -> list[_Planned]:
    """Each line's outcome, or 422 naming the line: an unknown SKU, or more than the order
    allows (ordered plus the tolerance, less what arrived before)."""
    lines = {line.sku: line for line in order.lines}
    asked: dict[str, int] = defaultdict(int)
    plan = []
    for i, line in enumerate(body.lines):
        if not engine.has_sku(line.sku):
            raise unknown_sku(line.sku, f"lines[{i}].sku")
        ordered = lines.get(line.sku)
        if ordered is None:
            outcome = "wrong_item"
        else:
            outcome = "accepted" if line.condition == "good" else "rejected"
            asked[line.sku] += line.quantity
            allowed = ordered.ordered + int(ordered.ordered * tolerance / 100)
            if ordered.received + asked[line.sku] > allowed:
                raise invalid_input(
                    f"lines[{i}].quantity",
                    f"Over-receipt of {line.sku!r} on line {ordered.line_no}: "
                    f"{ordered.ordered} ordered, {ordered.received} received before, "
                    f"{asked[line.sku]} now; at most {allowed} "
                    f"(tolerance {tolerance:g}%).",
                )
        plan.append(
            _Planned(
                line.sku,
                line.quantity,
                outcome,
                body.location,
                line.lot,
                line.expires_on,
                line.note,
            )
        )
    return plan


def _after(order: PurchaseOrder, plan: list[_Planned]) -> PurchaseOrder:
    """The order as it stands once the receipt is durable."""
    lines = []
    for line in order.lines:
        accepted = line.accepted + sum(
            p.quantity for p in plan if p.sku == line.sku and p.outcome == "accepted"
        )
        rejected = line.rejected + sum(
            p.quantity for p in plan if p.sku == line.sku and p.outcome == "rejected"
        )
        received = accepted + rejected
        lines.append(
            msgspec.structs.replace(
                line,
                accepted=accepted,
                rejected=rejected,
                received=received,
                outstanding=max(0, line.ordered - received),
            )
        )
    return msgspec.structs.replace(order, lines=lines, status=status_of("open", lines))


# --- ending an order --------------------------------------------------------------------------


async def end_order(
    writes: Writes,
    request: WriteRequest,
    caller: Identity,
    order_id: str,
    body: OrderEndIn,
    state: str,
) -> ASGIResponse:
    """Short-closes (`closed`: what never came is a `short` discrepancy) or cancels an open
    order (`cancelled`: only while nothing was received). 409 once it has ended."""
    check_text("reason", body.reason, required=True)

    async def apply(conn: asyncpg.Connection) -> Written:
        order = await read_order(conn, order_id)
        if order.status in ENDED:
            raise _ended(order, " already.")
        if state == "cancelled" and order.status != "open":
            raise ProblemError(
                409,
                "purchase-order-received",
                "Purchase order has receipts",
                f"{order_id} is {order.status}: units arrived, so it cannot be cancelled; "
                "close it instead (POST .../close).",
                purchase_order=order_id,
                order_status=order.status,
            )
        await conn.execute(
            """
            UPDATE purchase_orders SET state = $2, ended_reason = $3, ended_at = now(),
                                       ended_by = $4
            WHERE id = $1
            """,
            order_id,
            state,
            body.reason,
            caller.actor,
        )
        return Written(200, encode(await read_order(conn, order_id)), 0)

    async with _order_steps.hold(order_id):
        answer = await writes.perform_in_transaction(request, caller, writes.pool, apply)
    async with writes.pool.acquire() as conn:
        skus = [line.sku for line in (await read_order(conn, order_id)).lines]
    await refresh_incoming(writes, skus)
    return answer


def check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise invalid_input("status", f"`status` is one of {', '.join(STATUSES)}.", status=400)
