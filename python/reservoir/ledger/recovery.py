"""Rebuilds the engine from the ledger's materialized state: the catalogue, every level (and
the lots in it) and every open reservation, loaded in bulk in one consistent snapshot.

A million open holds load in about two seconds, most of it PostgreSQL's join
(benchmarks/RESULTS.md, recovery time)."""

from __future__ import annotations

import asyncpg

from reservoir import _core
from reservoir.lib.clock import to_ms

# Decoded in Rust (`_core.OpenLinesLoader`) from its binary COPY: no row becomes a Python
# object, and the engine sorts the lines itself. The columns are the loader's, in its order.
OPEN_RESERVATION_LINES = """
SELECT seq, status, expires_at, line_no::int8, sku, location, quantity::int8, buyer
FROM open_reservation_lines
WHERE quantity > 0
"""
# What each buyer has taken per SKU (held, committed, shipped): before the open holds.
LOAD_BUYER_UNITS = "SELECT buyer, sku, units FROM buyer_units WHERE units > 0"
LOAD_LOCATIONS = "SELECT code, sellable, parent FROM locations"
LOAD_DROPS = """
SELECT code, sku, starts_at, ends_at, spill_at, per_buyer_max,
       ARRAY(SELECT (p->>'channel', (p->>'units')::int8) FROM jsonb_array_elements(pools) p)
FROM drops
"""
# What each drop pool's channel took while fenced: its reservations made in the window,
# reserve less release, expire and cancel of the drop's SKU (shipped units stay counted).
LOAD_POOL_TAKEN = """
SELECT d.code, r.channel,
       sum(CASE WHEN e.kind = 'reserve' THEN e.quantity
                WHEN e.kind IN ('release', 'expire', 'cancel') THEN -e.quantity
                ELSE 0 END)::int8 AS taken
FROM drops d
JOIN reservations r ON r.created_at >= d.starts_at AND r.created_at < d.spill_at
    AND r.channel IN (SELECT p->>'channel' FROM jsonb_array_elements(d.pools) p)
JOIN ledger_entries e ON e.reference_type = 'reservation' AND e.reference_id = r.id
    AND e.sku = d.sku
GROUP BY d.code, r.channel
"""
# The open holds that took from a pool: their units go back to it when they end unsold.
LOAD_HOLD_POOLS = """
SELECT DISTINCT r.id, d.sku, r.channel
FROM drops d
JOIN reservations r ON r.created_at >= d.starts_at AND r.created_at < d.spill_at
    AND r.status IN ('held', 'committed')
    AND r.channel IN (SELECT p->>'channel' FROM jsonb_array_elements(d.pools) p)
JOIN reservation_lines l ON l.reservation_id = r.id AND l.sku = d.sku
"""
LOAD_CHANNELS = "SELECT code, safety_buffer_units, safety_buffer_percent, locations FROM channels"
# SKUs with their per-buyer caps.
LOAD_ITEMS = "SELECT sku, per_buyer_max FROM items"

# Waitlist entries still waiting (no offer, not left), in arrival order.
LOAD_WAITING = """
SELECT id, sku, quantity, buyer, channel FROM waitlist_entries
WHERE reservation_id IS NULL AND ended_at IS NULL ORDER BY id
"""

# Units in transit per SKU and destination: shipped on a transfer, not arrived or lost yet.
LOAD_IN_TRANSIT = """
SELECT sku, location,
       sum(CASE kind WHEN 'transit' THEN quantity ELSE -quantity END)::int8 AS units
FROM ledger_entries WHERE kind IN ('transit', 'transit_in', 'transit_lost')
GROUP BY sku, location
HAVING sum(CASE kind WHEN 'transit' THEN quantity ELSE -quantity END) <> 0
"""
# What open purchase orders still bring, per SKU and warehouse.
LOAD_INCOMING = """
SELECT r.sku, p.warehouse, sum(greatest(r.ordered - r.accepted - r.rejected, 0))::int8
FROM purchase_order_line_receipts r JOIN purchase_orders p ON p.id = r.purchase_order
WHERE p.state = 'open'
GROUP BY r.sku, p.warehouse
"""

# Lots with their age (expiry as a day number), then their units per level.
LOAD_LOTS = "SELECT sku, lot, expires_on - DATE '1970-01-01', first_lsn FROM lots"
LOAD_LOT_UNITS = "SELECT sku, location, lot, on_hand FROM lot_levels WHERE on_hand > 0"


async def load_open_reservations(conn: asyncpg.Connection, engine: _core.Engine) -> int:
    """Streams the open reservations' lines into the engine; returns how many reservations."""
    loader = _core.OpenLinesLoader()

    async def received(chunk: bytes) -> None:
        loader.push(chunk)

    await conn.copy_from_query(OPEN_RESERVATION_LINES, output=received, format="binary")
    return engine.load_open_lines(loader)


async def load_catalogue(conn: asyncpg.Connection, engine: _core.Engine) -> None:
    """SKUs with their caps, locations with their parents, and the sales channels."""
    for sku, per_buyer_max in await conn.fetch(LOAD_ITEMS):
        engine.define_sku(sku)
        if per_buyer_max is not None:
            engine.set_per_buyer_max(sku, per_buyer_max)
    locations = await conn.fetch(LOAD_LOCATIONS)
    for code, sellable, _ in locations:
        engine.define_location(code, sellable)
    for code, _, parent in locations:  # once all are defined: parents in any order
        if parent is not None:
            engine.set_location_parent(code, parent)
    for code, units, percent, places in await conn.fetch(LOAD_CHANNELS):
        engine.define_channel(
            code, safety_buffer_units=units, safety_buffer_percent=percent, locations=places
        )
    for code, sku, starts, ends, spill, per_buyer_max, pools in await conn.fetch(LOAD_DROPS):
        engine.define_drop(
            code,
            sku,
            to_ms(starts),
            to_ms(ends),
            spill_at_ms=to_ms(spill),
            per_buyer_max=per_buyer_max,
            pools=[tuple(p) for p in pools],
            mode="load",
        )


async def rebuild_engine(pool: asyncpg.Pool, limits: _core.Limits) -> _core.Engine:
    """A new engine equal to the fold of the ledger (levels are kept equal to it)."""
    engine = _core.Engine(limits)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await load_catalogue(conn, engine)
        levels = await conn.fetch(
            "SELECT sku, location, on_hand, reserved, committed FROM inventory_levels"
        )
        for sku, location, on_hand, reserved, committed in levels:
            engine.load_level(sku, location, on_hand, reserved, committed)
        for sku, lot, expires_on, first_lsn in await conn.fetch(LOAD_LOTS):
            engine.load_lot(sku, lot, expires_on, first_lsn)
        for sku, location, lot, units in await conn.fetch(LOAD_LOT_UNITS):
            engine.load_lot_units(sku, location, lot, units)
        for buyer, sku, units in await conn.fetch(LOAD_BUYER_UNITS):
            engine.load_buyer_units(buyer, sku, units)
        await load_open_reservations(conn, engine)
        for code, channel, taken in await conn.fetch(LOAD_POOL_TAKEN):
            engine.load_pool_taken(code, channel, max(0, taken))
        for rid, sku, channel in await conn.fetch(LOAD_HOLD_POOLS):
            engine.load_hold_pool(rid, sku, channel)
        for sku, location, units in await conn.fetch(LOAD_IN_TRANSIT):
            engine.load_in_transit(sku, location, units)
        for sku, warehouse, units in await conn.fetch(LOAD_INCOMING):
            engine.set_incoming(sku, warehouse, units)
        for entry, sku, quantity, buyer, channel in await conn.fetch(LOAD_WAITING):
            engine.load_waitlist_entry(entry, sku, quantity, buyer, channel)
        engine.set_next_waitlist_entry(
            await conn.fetchval("SELECT coalesce(max(id), 0) + 1 FROM waitlist_entries")
        )
        engine.set_next_reservation_seq(
            await conn.fetchval("SELECT coalesce(max(seq), 0) + 1 FROM reservations")
        )
        engine.set_lsn(await conn.fetchval("SELECT lsn FROM ledger_head"))
    return engine
