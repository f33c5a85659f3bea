"""Rebuilds the engine from the ledger's materialized state: the catalogue, every level (and
the lots in it) and every open reservation, loaded in bulk in one consistent snapshot."""

from __future__ import annotations

import asyncpg

from reservoir import _core

LOAD_OPEN_RESERVATIONS = """
SELECT reservation_id, status, (extract(epoch FROM expires_at) * 1000)::int8 AS expires_ms,
       sku, location, quantity
FROM open_reservation_lines
WHERE quantity > 0
ORDER BY seq, line_no
"""

# Lots with their age (expiry as a day number), then their units per level.
LOAD_LOTS = "SELECT sku, lot, expires_on - DATE '1970-01-01', first_lsn FROM lots"
LOAD_LOT_UNITS = "SELECT sku, location, lot, on_hand FROM lot_levels WHERE on_hand > 0"


async def rebuild_engine(pool: asyncpg.Pool, limits: _core.Limits) -> _core.Engine:
    """A new engine equal to the fold of the ledger (levels are kept equal to it)."""
    engine = _core.Engine(limits)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        for (sku,) in await conn.fetch("SELECT sku FROM items"):
            engine.define_sku(sku)
        for code, sellable in await conn.fetch("SELECT code, sellable FROM locations"):
            engine.define_location(code, sellable)
        levels = await conn.fetch(
            "SELECT sku, location, on_hand, reserved, committed FROM inventory_levels"
        )
        for sku, location, on_hand, reserved, committed in levels:
            engine.load_level(sku, location, on_hand, reserved, committed)
        for sku, lot, expires_on, first_lsn in await conn.fetch(LOAD_LOTS):
            engine.load_lot(sku, lot, expires_on, first_lsn)
        for sku, location, lot, units in await conn.fetch(LOAD_LOT_UNITS):
            engine.load_lot_units(sku, location, lot, units)
        current: str | None = None
        lines: list[tuple[str, str, int]] = []
        status, expires_ms = "", 0
        for rid, r_status, r_expires, sku, location, quantity in await conn.fetch(
            LOAD_OPEN_RESERVATIONS
        ):
            if rid != current:
                if current is not None:
                    engine.load_reservation(current, status, expires_ms, lines)
                current, status, expires_ms, lines = rid, r_status, r_expires, []
            lines.append((sku, location, quantity))
        if current is not None:
            engine.load_reservation(current, status, expires_ms, lines)
        engine.set_next_reservation_seq(
            await conn.fetchval("SELECT coalesce(max(seq), 0) + 1 FROM reservations")
        )
        engine.set_lsn(await conn.fetchval("SELECT lsn FROM ledger_head"))
    return engine
