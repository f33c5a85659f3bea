"""The verifier: proves the ledger is the truth, or says what differs.

`verify(conn)` returns a list of human-readable differences (empty = verified):

1. `inventory_levels` = the fold of `ledger_entries` per SKU and location, in both
   directions (a ledger (sku, location) without a level row is a difference; a level row
   without entries is one unless it is all zeros).
2. No level is negative, and no sellable location has `reserved + committed > on_hand`
   unless negative adjustments (shrinkage) explain the shortfall.
3. Open reservations match the levels: the lines of `held` reservations sum to `reserved`,
   those of `committed` ones to `committed`, per SKU and location; open ones have lines.
4. Every level names a catalogued SKU and a defined location.
5. `lot_levels` = the fold of the ledger rows carrying a lot (from `lots_from_lsn` on), per
   SKU, location and lot; no level holds more units in lots than it has on hand; every lot
   level names a lot.

Each check is its own function so more can join (the engine comparison does).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from reservoir.ledger.fold import UNFOLDED, fold_sql


async def verify(conn: asyncpg.Connection) -> list[str]:
    """Every difference found, in one consistent snapshot (empty list: verified)."""
    if conn.is_in_transaction():
        return await _run_checks(conn)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _run_checks(conn)


async def _run_checks(conn: asyncpg.Connection) -> list[str]:
    differences: list[str] = []
    differences += await check_levels_match_ledger(conn)
    differences += await check_no_oversell(conn)
    differences += await check_reservations_match_levels(conn)
    differences += await check_catalogue_references(conn)
    differences += await check_lots_match_ledger(conn)
    differences += await check_transit(conn)
    return differences


async def check_transit(conn: asyncpg.Connection) -> list[str]:
    """Units in transit: never negative per SKU and destination, and per transfer and SKU
    what left the source (`transit_out`) is what was in transit (`transit`), and what
    arrived or was lost is at most that."""
    rows = await conn.fetch(
        """
        SELECT reference_id, sku,
               sum(quantity) FILTER (WHERE kind = 'transit_out') AS shipped,
               sum(quantity) FILTER (WHERE kind = 'transit') AS in_transit,
               sum(quantity) FILTER (WHERE kind IN ('transit_in', 'transit_lost')) AS ended
        FROM ledger_entries
        WHERE kind IN ('transit_out', 'transit', 'transit_in', 'transit_lost')
        GROUP BY reference_id, sku
        HAVING sum(quantity) FILTER (WHERE kind = 'transit_out')
                   IS DISTINCT FROM sum(quantity) FILTER (WHERE kind = 'transit')
            OR coalesce(sum(quantity) FILTER (WHERE kind IN ('transit_in', 'transit_lost')), 0)
                   > coalesce(sum(quantity) FILTER (WHERE kind = 'transit'), 0)
        ORDER BY 1, 2
        """
    )
    return [
        f"transfer {r['reference_id']}, {r['sku']}: shipped {r['shipped']}, in transit "
        f"{r['in_transit']}, arrived or lost {r['ended']}"
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class LedgerSummary:
    entries: int
    levels: int
    open_reservations: int

    def __str__(self) -> str:
        return (
            f"{self.entries} ledger entries, {self.levels} levels, "
            f"{self.open_reservations} open reservations"
        )


async def summarize(conn: asyncpg.Connection) -> LedgerSummary:
    row = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM ledger_entries) AS entries,
               (SELECT count(*) FROM inventory_levels) AS levels,
               (SELECT count(*) FROM reservations WHERE status IN ('held', 'committed')) AS open
        """
    )
    assert row is not None
    return LedgerSummary(row["entries"], row["levels"], row["open"])


_FOLDED = f"""
    SELECT sku, location, count(*) AS entries,
           bool_and(kind IN ({", ".join(repr(k) for k in UNFOLDED)})) AS unfolded,
           sum({fold_sql(0)})::bigint AS on_hand,
           sum({fold_sql(1)})::bigint AS reserved,
           sum({fold_sql(2)})::bigint AS committed
    FROM ledger_entries
    GROUP BY sku, location
"""

_COLUMNS = ("on_hand", "reserved", "committed")


async def check_levels_match_ledger(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        f"""
        WITH folded AS ({_FOLDED})
        SELECT coalesce(f.sku, l.sku) AS sku, coalesce(f.location, l.location) AS location,
               f.entries, f.unfolded, f.on_hand AS f_on_hand, f.reserved AS f_reserved,
               f.committed AS f_committed,
               l.sku IS NOT NULL AS has_level, l.on_hand AS l_on_hand,
               l.reserved AS l_reserved, l.committed AS l_committed
        FROM folded f FULL OUTER JOIN inventory_levels l
          ON l.sku = f.sku AND l.location = f.location
        WHERE f.sku IS NULL OR l.sku IS NULL
           OR f.on_hand <> l.on_hand OR f.reserved <> l.reserved OR f.committed <> l.committed
        ORDER BY 1, 2
        """
    )
    out: list[str] = []
    for r in rows:
        where = f"{r['sku']} at {r['location']}"
        folded = _triple(r, "f_")
        level = _triple(r, "l_")
        if r["entries"] is None:
            if any(level):
                out.append(
                    f"{where}: inventory_levels has {_show(level)} but the ledger has no entries"
                )
        elif not r["has_level"]:
            if r["unfolded"]:  # only entries that move no level (a `transit` line)
                continue
            out.append(
                f"{where}: the ledger ({r['entries']} entries) folds to {_show(folded)} "
                "but inventory_levels has no row"
            )
        else:
            diffs = [
                f"{name} ledger {a} != levels {b}"
                for name, a, b in zip(_COLUMNS, folded, level, strict=True)
                if a != b
            ]
            out.append(f"{where}: " + ", ".join(diffs))
    return out


async def check_no_oversell(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """
        SELECT l.sku, l.location, l.on_hand, l.reserved, l.committed,
               coalesce(loc.sellable, true) AS sellable,
               coalesce((SELECT -sum(e.quantity) FROM ledger_entries e
                         WHERE e.sku = l.sku AND e.location = l.location
                           AND e.kind = 'adjustment' AND e.quantity < 0), 0)::bigint AS shrinkage
        FROM inventory_levels l LEFT JOIN locations loc ON loc.code = l.location
        WHERE l.on_hand < 0 OR l.reserved < 0 OR l.committed < 0
           OR (coalesce(loc.sellable, true) AND l.reserved + l.committed > l.on_hand)
        ORDER BY l.sku, l.location
        """
    )
    out: list[str] = []
    for r in rows:
        where = f"{r['sku']} at {r['location']}"
        level = (r["on_hand"], r["reserved"], r["committed"])
        negative = [name for name, v in zip(_COLUMNS, level, strict=True) if v < 0]
        if negative:
            out.append(f"{where}: negative {', '.join(negative)} ({_show(level)})")
        shortfall = r["reserved"] + r["committed"] - r["on_hand"]
        if r["sellable"] and shortfall > 0 and shortfall > r["shrinkage"]:
            explained = f", only {r['shrinkage']} explained by negative adjustments"
            out.append(
                f"{where}: oversold by {shortfall} ({_show(level)}"
                f"{explained if r['shrinkage'] else ''})"
            )
    return out


async def check_reservations_match_levels(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """
        WITH open_lines AS (
            SELECT sku, location,
                   coalesce(sum(quantity) FILTER (WHERE status = 'held'), 0)::bigint AS held,
                   coalesce(sum(quantity) FILTER (WHERE status = 'committed'), 0)::bigint
                       AS committed
            FROM open_reservation_lines
            GROUP BY sku, location
        )
        SELECT coalesce(o.sku, l.sku) AS sku, coalesce(o.location, l.location) AS location,
               coalesce(o.held, 0) AS held, coalesce(o.committed, 0) AS lines_committed,
               coalesce(l.reserved, 0) AS reserved, coalesce(l.committed, 0) AS committed
        FROM open_lines o FULL OUTER JOIN inventory_levels l
          ON l.sku = o.sku AND l.location = o.location
        WHERE coalesce(o.held, 0) <> coalesce(l.reserved, 0)
           OR coalesce(o.committed, 0) <> coalesce(l.committed, 0)
        ORDER BY 1, 2
        """
    )
    out: list[str] = []
    for r in rows:
        where = f"{r['sku']} at {r['location']}"
        if r["held"] != r["reserved"]:
            out.append(
                f"{where}: held reservation lines sum to {r['held']} "
                f"but reserved is {r['reserved']}"
            )
        if r["lines_committed"] != r["committed"]:
            out.append(
                f"{where}: committed reservation lines sum to {r['lines_committed']} "
                f"but committed is {r['committed']}"
            )
    empty = await conn.fetch(
        """
        SELECT r.id, r.status FROM reservations r
        WHERE r.status IN ('held', 'committed')
          AND NOT EXISTS (SELECT 1 FROM reservation_lines rl WHERE rl.reservation_id = r.id)
        ORDER BY r.seq
        """
    )
    out += [f"reservation {r['id']} is {r['status']} but has no lines" for r in empty]
    return out


async def check_catalogue_references(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """
        SELECT l.sku, l.location, i.sku IS NULL AS unknown_sku, loc.code IS NULL AS unknown_loc
        FROM inventory_levels l
        LEFT JOIN items i ON i.sku = l.sku
        LEFT JOIN locations loc ON loc.code = l.location
        WHERE i.sku IS NULL OR loc.code IS NULL
        ORDER BY 1, 2
        """
    )
    out: list[str] = []
    for r in rows:
        if r["unknown_sku"]:
            out.append(f"{r['sku']} at {r['location']}: SKU {r['sku']!r} is not in items")
        if r["unknown_loc"]:
            out.append(
                f"{r['sku']} at {r['location']}: location {r['location']!r} is not in locations"
            )
    return out


async def check_lots_match_ledger(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        f"""
        WITH folded AS (
            SELECT sku, location, lot, sum({fold_sql(0)})::bigint AS on_hand
            FROM ledger_entries
            WHERE lot IS NOT NULL AND lsn > (SELECT lots_from_lsn FROM ledger_head)
            GROUP BY sku, location, lot
        )
        SELECT coalesce(f.sku, l.sku) AS sku, coalesce(f.location, l.location) AS location,
               coalesce(f.lot, l.lot) AS lot, coalesce(f.on_hand, 0) AS folded,
               coalesce(l.on_hand, 0) AS stored
        FROM folded f FULL OUTER JOIN lot_levels l
          ON l.sku = f.sku AND l.location = f.location AND l.lot = f.lot
        WHERE coalesce(f.on_hand, 0) <> coalesce(l.on_hand, 0)
        ORDER BY 1, 2, 3
        """
    )
    out = [
        f"{r['sku']} at {r['location']}, lot {r['lot']}: the ledger folds to {r['folded']} "
        f"units but lot_levels has {r['stored']}"
        for r in rows
    ]
    over = await conn.fetch(
        """
        SELECT x.sku, x.location, sum(x.on_hand)::bigint AS lotted,
               coalesce(max(l.on_hand), 0) AS on_hand
        FROM lot_levels x LEFT JOIN inventory_levels l USING (sku, location)
        GROUP BY x.sku, x.location
        HAVING sum(x.on_hand) > coalesce(max(l.on_hand), 0)
        ORDER BY 1, 2
        """
    )
    out += [
        f"{r['sku']} at {r['location']}: {r['lotted']} units in lots but on_hand is {r['on_hand']}"
        for r in over
    ]
    return out


def _triple(row: asyncpg.Record, prefix: str) -> tuple[int, int, int]:
    return tuple(row[prefix + c] or 0 for c in _COLUMNS)  # type: ignore[return-value]


def _show(level: tuple[int, int, int]) -> str:
    return ", ".join(f"{name}={v}" for name, v in zip(_COLUMNS, level, strict=True))
