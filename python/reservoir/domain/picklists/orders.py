"""Which committed units go into a pick list: orders (one per reservation) and their stops.

The engine holds every committed reservation with its *current* lines (a short-picked
reservation keeps only what is still committed), so quantities come from the engine; the
database says which reservations are committed (durably), their age, and which stops are
already allocated to an open list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from reservoir import _core
from reservoir.domain.picklists import limits
from reservoir.domain.picklists.layout import Bin
from reservoir.domain.picklists.problems import (
    duplicate_reservation,
    nothing_to_pick,
    reservation_allocated,
    reservation_not_committed,
    unknown_reservation,
    unplaced_bin,
)

StopKey = tuple[str, str]  # (sku, location)


@dataclass(frozen=True, slots=True)
class Stop:
    """One reservation's committed units of one SKU at one placed bin."""

    reservation_id: str
    sku: str
    location: str
    quantity: int
    point: tuple[int, int, int]  # (aisle, position, level)
    lot: str | None = None  # set once the stop is split by lot (None: unlotted units)


@dataclass(frozen=True, slots=True)
class Order:
    """A reservation's unallocated, pickable stops in one warehouse."""

    reservation_id: str
    stops: tuple[Stop, ...]

    @property
    def units(self) -> int:
        return sum(s.quantity for s in self.stops)


def pickable_stops(
    reservation_id: str,
    lines: Sequence[tuple[str, str, int]],
    bins: Mapping[str, Bin],
    allocated: set[StopKey],
) -> tuple[Stop, ...]:
    """The reservation's lines at placed `bins`, one stop per (SKU, bin) in line order,
    leaving out stops already allocated to an open list."""
    quantities: dict[StopKey, int] = {}
    for sku, location, quantity in lines:
        if location in bins and (sku, location) not in allocated:
            quantities[(sku, location)] = quantities.get((sku, location), 0) + quantity
    return tuple(
        Stop(reservation_id, sku, location, quantity, bins[location].point)
        for (sku, location), quantity in quantities.items()
        if quantity > 0
    )


SELECT_STATUSES = "SELECT id, status FROM reservations WHERE id = ANY($1::text[])"
SELECT_ALLOCATIONS = """
SELECT reservation_id, sku, location, pick_list_id FROM pick_allocations
WHERE reservation_id = ANY($1::text[])
"""
# Committed reservations with an original line in the warehouse that no open list holds,
# oldest first, after `seq` $2 (keyset pages).
SELECT_CANDIDATES = """
SELECT r.id, r.seq FROM reservations r
WHERE r.status = 'committed' AND r.seq > $2
  AND EXISTS (
      SELECT 1 FROM reservation_lines l
      WHERE l.reservation_id = r.id AND l.location = ANY($1::text[])
        AND NOT EXISTS (
            SELECT 1 FROM pick_allocations a
            WHERE a.reservation_id = r.id AND a.sku = l.sku AND a.location = l.location))
ORDER BY r.seq
LIMIT $3
"""


async def _allocations(
    conn: asyncpg.Connection, ids: Sequence[str]
) -> dict[str, dict[StopKey, str]]:
    """Per reservation: (sku, location) -> the open pick list holding it."""
    held: dict[str, dict[StopKey, str]] = {}
    for rid, sku, location, pick_list_id in await conn.fetch(SELECT_ALLOCATIONS, list(ids)):
        held.setdefault(rid, {})[(sku, location)] = pick_list_id
    return held


def _engine_lines(engine: _core.Engine, rid: str) -> list[tuple[str, str, int]] | None:
    """The reservation's current lines if the engine holds it committed, else None."""
    current = engine.get(rid)
    if current is None or current.status != "committed":
        return None
    return current.lines


async def named_orders(
    conn: asyncpg.Connection,
    engine: _core.Engine,
    warehouse: str,
    ids: Sequence[str],
    locations: Mapping[str, Bin],
    bins: Mapping[str, Bin],
) -> list[Order]:
    """The orders of the reservations a request names, in its order; each must be committed
    with unallocated units at placed bins (`bins`) of the warehouse (`locations`: all of its
    locations)."""
    _check_no_duplicates(ids)
    statuses = dict(await conn.fetch(SELECT_STATUSES, list(ids)))
    held = await _allocations(conn, ids)
    orders = []
    for i, rid in enumerate(ids):
        lines = _committed_lines(engine, i, rid, statuses.get(rid))
        for _, location, _ in lines:
            if location in locations and location not in bins:
                raise unplaced_bin(i, rid, location)
        allocated = held.get(rid, {})
        stops = pickable_stops(rid, lines, bins, set(allocated))
        if not stops:
            if allocated:
                raise reservation_allocated(i, rid, next(iter(allocated.values())))
            raise nothing_to_pick(warehouse, field=f"reservations[{i}]", reservation_id=rid)
        orders.append(Order(rid, stops))
    return orders


def _check_no_duplicates(ids: Sequence[str]) -> None:
    seen: dict[str, int] = {}
    for i, rid in enumerate(ids):
        if rid in seen:
            raise duplicate_reservation(i, rid, seen[rid])
        seen[rid] = i


def _committed_lines(
    engine: _core.Engine, i: int, rid: str, status: str | None
) -> list[tuple[str, str, int]]:
    """The lines of the `i`th named reservation, which the ledger (`status`) and the engine
    must both have committed."""
    if status is None:
        raise unknown_reservation(i, rid)
    if status != "committed":
        raise reservation_not_committed(i, rid, status)
    lines = _engine_lines(engine, rid)
    if lines is None:  # released (or being released) since: the engine is ahead
        current = engine.get(rid)
        raise reservation_not_committed(i, rid, current.status if current else "released")
    return lines


async def oldest_orders(
    conn: asyncpg.Connection,
    engine: _core.Engine,
    bins: Mapping[str, Bin],
    count: int,
) -> list[Order]:
    """Up to `count` orders, oldest reservation first, with unallocated units at `bins`."""
    orders: list[Order] = []
    after, scanned = 0, 0
    codes = list(bins)
    while len(orders) < count and scanned < limits.CANDIDATE_SCAN_ROWS_MAX:
        rows = await conn.fetch(SELECT_CANDIDATES, codes, after, limits.CANDIDATE_PAGE_ROWS)
        if not rows:
            break
        scanned += len(rows)
        after = rows[-1]["seq"]
        ids = [r["id"] for r in rows]
        held = await _allocations(conn, ids)
        for rid in ids:
            lines = _engine_lines(engine, rid)
            if lines is None:
                continue
            stops = pickable_stops(rid, lines, bins, set(held.get(rid, {})))
            if stops:
                orders.append(Order(rid, stops))
                if len(orders) == count:
                    break
    return orders
