"""The third leg of `verify`: the engine equals the ledger. With the writer paused, the
ledger's levels plus what the engine has logged but not yet written must equal the engine's
levels, per SKU and location, and likewise its lots, per SKU, location and lot."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from reservoir import _core
from reservoir.ledger.verify import verify
from reservoir.ledger.write_path import WritePath

Counters = tuple[int, int, int]


def engine_differences(
    ledger_levels: Iterable[tuple[str, str, int, int, int]],
    engine_levels: Iterable[_core.LevelRow],
    pending: Iterable[tuple[str, str, int, int, int]],
) -> list[str]:
    """Where ledger + pending differs from the engine (all-zero levels count as absent)."""
    expected: dict[tuple[str, str], Counters] = {}
    for sku, location, on_hand, reserved, committed in ledger_levels:
        expected[(sku, location)] = (on_hand, reserved, committed)
    for sku, location, d_on_hand, d_reserved, d_committed in pending:
        on_hand, reserved, committed = expected.get((sku, location), (0, 0, 0))
        expected[(sku, location)] = (
            on_hand + d_on_hand,
            reserved + d_reserved,
            committed + d_committed,
        )
    actual = {
        (level.sku, level.location): (level.on_hand, level.reserved, level.committed)
        for level in engine_levels
    }
    differences = []
    for key in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(key, (0, 0, 0)), actual.get(key, (0, 0, 0))
        if want != got:
            differences.append(
                f"{key[0]} @ {key[1]}: engine (on_hand, reserved, committed) = {got}, "
                f"ledger + unwritten changes = {want}"
            )
    return differences


def lot_differences(
    ledger_lots: Iterable[tuple[str, str, str, int]],
    engine_lots: Iterable[tuple[str, str, str, int]],
    pending: Iterable[tuple[str, str, str, int]],
) -> list[str]:
    """Where ledger + pending lot units differ from the engine's (zero counts as absent)."""
    expected: dict[tuple[str, str, str], int] = {}
    for sku, location, lot, units in [*ledger_lots, *pending]:
        expected[(sku, location, lot)] = expected.get((sku, location, lot), 0) + units
    actual = {(sku, loc, lot): units for sku, loc, lot, units in engine_lots}
    return [
        f"{key[0]} @ {key[1]}, lot {key[2]}: engine has {actual.get(key, 0)} units, "
        f"ledger + unwritten changes {expected.get(key, 0)}"
        for key in sorted(expected.keys() | actual.keys())
        if expected.get(key, 0) != actual.get(key, 0)
    ]


async def verify_with_engine(pool: asyncpg.Pool, write_path: WritePath) -> list[str]:
    """SUM(ledger) = levels = engine, checked while the ledger stands still."""
    async with write_path.paused(), pool.acquire() as conn:
        differences = await verify(conn)
        ledger_levels = await conn.fetch(
            "SELECT sku, location, on_hand, reserved, committed FROM inventory_levels"
        )
        ledger_lots = await conn.fetch("SELECT sku, location, lot, on_hand FROM lot_levels")
        engine: _core.Engine = write_path.reader()
        # No await from here: the engine's levels and its unwritten log, at one instant.
        differences += engine_differences(
            ledger_levels, engine.all_levels(), engine.pending_level_deltas()
        )
        differences += lot_differences(ledger_lots, engine.all_lots(), engine.pending_lot_deltas())
    return differences
