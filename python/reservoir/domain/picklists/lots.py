"""Which lots a pick list's stops take: at each bin the oldest lot first (first to expire,
then first received), leaving out units of a lot that open lists already take, and the bin's
unlotted units last. The engine decides it (`Engine.lots_to_pick`); this module reads what
open lists take from the database and splits the stops. A routed stop becomes one stop per
lot, consecutive in the route (same bin: no walking between them)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import asyncpg

from reservoir import _core
from reservoir.domain.picklists.orders import Stop

LotKey = tuple[str, str, str]  # (sku, location, lot)

# Units of each lot that lists not yet confirmed take, at the given bins, for orders still
# committed (a released order's stop is put back, confirmed 0: its units are free).
SELECT_OPEN_LOT_UNITS = """
SELECT s.sku, s.location, s.lot, sum(s.quantity)::int8
FROM pick_list_stops s
JOIN pick_lists p ON p.id = s.pick_list_id
JOIN reservations r ON r.id = s.reservation_id
WHERE p.status <> 'confirmed' AND r.status = 'committed' AND s.lot IS NOT NULL
  AND s.location = ANY($1::text[])
GROUP BY 1, 2, 3
"""


async def units_in_open_lists(conn: asyncpg.Connection, stops: Iterable[Stop]) -> dict[LotKey, int]:
    locations = sorted({s.location for s in stops})
    rows = await conn.fetch(SELECT_OPEN_LOT_UNITS, locations)
    return {(sku, location, lot): units for sku, location, lot, units in rows}


def split_by_lot(
    stops: Sequence[Stop], engine: _core.Engine, taken: dict[LotKey, int]
) -> tuple[Stop, ...]:
    """`stops` (in route order) split into the lots they pick, as the engine allocates them
    (`Engine.lots_to_pick`; see the module); `taken` (units of each lot already in open
    lists) grows by what these stops take. What the bin's free lots do not cover is picked
    from its unlotted units (`lot` None), or comes up short at the bin."""
    picked = engine.lots_to_pick(
        [(s.sku, s.location, s.quantity) for s in stops],
        [(sku, location, lot, units) for (sku, location, lot), units in taken.items()],
    )
    out: list[Stop] = []
    for stop, lots in zip(stops, picked, strict=True):
        for lot, units in lots:
            out.append(dataclasses.replace(stop, quantity=units, lot=lot))
            if lot is not None:
                key = (stop.sku, stop.location, lot)
                taken[key] = taken.get(key, 0) + units
    return tuple(out)
