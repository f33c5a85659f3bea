"""Creating pick lists: the warehouse and its bins, the orders to pick, the route, and the
list with its allocations stored in one transaction (serialised per warehouse)."""

from __future__ import annotations

import asyncio

import asyncpg
import msgspec

from reservoir import _core
from reservoir.domain.picklists import limits, lots, problems, store
from reservoir.domain.picklists.layout import Bin, decode_layout, placed_bins, warehouse_layout
from reservoir.domain.picklists.orders import named_orders, oldest_orders
from reservoir.domain.picklists.routing import Route, batch_with_oldest, route_orders
from reservoir.domain.picklists.schemas import PickListIn
from reservoir.lib.codes import check_code
from reservoir.lib.errors import invalid_input

encode = msgspec.json.Encoder().encode

SELECT_WAREHOUSE = "SELECT kind, layout::text FROM locations WHERE code = $1"
# Every location under the warehouse (locations nest through `parent`).
SELECT_WAREHOUSE_LOCATIONS = """
WITH RECURSIVE tree (code) AS (
    SELECT code FROM locations WHERE parent = $1
    UNION
    SELECT l.code FROM locations l JOIN tree t ON l.parent = t.code
)
SELECT l.code, l.aisle, l.position, l.level FROM locations l JOIN tree USING (code)
"""


def check_request(data: PickListIn) -> None:
    """Edge checks that need no database; each names its field."""
    check_code(data.warehouse, "warehouse")
    if data.max_orders is not None and not 1 <= data.max_orders <= limits.ORDERS_PER_LIST_MAX:
        raise invalid_input(
            "max_orders", f"max_orders must be between 1 and {limits.ORDERS_PER_LIST_MAX}."
        )
    if data.reservations is not None:
        count = len(data.reservations)
        if not 1 <= count <= limits.RESERVATIONS_PER_REQUEST_MAX:
            raise invalid_input(
                "reservations",
                f"reservations must name 1 to {limits.RESERVATIONS_PER_REQUEST_MAX} "
                "reservations (leave it out to take the oldest committed ones).",
            )
        if data.max_orders is not None and count > data.max_orders:
            raise problems.too_many_orders(count, data.max_orders)


async def warehouse_layout_json(conn: asyncpg.Connection, code: str) -> str | None:
    """The warehouse's stored `layout` JSON; 422 if `code` is not a warehouse."""
    row = await conn.fetchrow(SELECT_WAREHOUSE, code)
    if row is None:
        raise problems.unknown_warehouse(code)
    if row["kind"] != "warehouse":
        raise problems.unknown_warehouse(code, row["kind"])
    layout: str | None = row["layout"]
    return layout


async def warehouse_locations(conn: asyncpg.Connection, code: str) -> dict[str, Bin]:
    return {r[0]: Bin(*r) for r in await conn.fetch(SELECT_WAREHOUSE_LOCATIONS, code)}


def _candidates(orders_max: int) -> int:
    """How many of the oldest orders to consider for one list of up to `orders_max`."""
    if orders_max == 1:
        return 1
    return min(orders_max * limits.BATCH_CANDIDATES_PER_ORDER, limits.BATCH_CANDIDATES_MAX)


async def create(
    conn: asyncpg.Connection,
    engine: _core.Engine,
    data: PickListIn,
    actor: str,
    cart_units_max: int,
) -> bytes:
    """Creates one open pick list in the caller's transaction and returns its body."""
    check_request(data)
    warehouse = data.warehouse
    layout_json = await warehouse_layout_json(conn, warehouse)
    await store.lock_warehouse(conn, warehouse)
    locations = await warehouse_locations(conn, warehouse)
    bins = placed_bins(locations.values())
    orders_max = data.max_orders or 1  # the body's `max_orders`
    if data.reservations is not None:
        orders = await named_orders(conn, engine, warehouse, data.reservations, locations, bins)
    else:
        orders = await oldest_orders(conn, engine, bins, _candidates(orders_max))
        if not orders:
            raise problems.nothing_to_pick(warehouse)
    layout = warehouse_layout(warehouse, list(bins.values()), decode_layout(layout_json))
    created_lsn = engine.last_lsn

    def plan_route() -> Route:
        if data.reservations is None and orders_max > 1:
            return batch_with_oldest(
                layout,
                orders,
                data.strategy,
                orders_max=orders_max,
                units_max=cart_units_max,
            )
        return route_orders(layout, orders, data.strategy)

    stops = sum(len(o.stops) for o in orders)
    if stops > limits.ROUTE_INLINE_STOPS_MAX or len(orders) > 1:
        route = await asyncio.to_thread(plan_route)
    else:
        route = plan_route()
    taken = await lots.units_in_open_lists(conn, route.stops)
    pick_list_id = await store.insert(
        conn,
        warehouse=warehouse,
        strategy=data.strategy,
        distance_m=route.distance_m,
        created_lsn=created_lsn,
        created_by=actor,
        stops=lots.split_by_lot(route.stops, engine, taken),
    )
    pick_list = await store.load(conn, pick_list_id)
    assert pick_list is not None
    return encode(await store.render(conn, pick_list))
