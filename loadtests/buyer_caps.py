"""The drop scenarios' per-buyer cap, judged by the ledger (issue 12): no buyer ever above the
cap, at the end or at any moment, and how many buyers the drop served."""

from __future__ import annotations

from collections import Counter

import asyncpg

from check import Check

# what each buyer has taken of the SKU: held, committed or shipped (the view of migration
# 0009, the engine's own count)
BUYERS_OF_SKU = """
SELECT count(*) FILTER (WHERE units > 0) AS buyers, coalesce(max(units), 0) AS most
FROM buyer_units WHERE sku = $1
"""
# buyers with a committed (or shipped) order of the SKU: the drop's customers
SERVED = """
SELECT count(DISTINCT r.buyer) FROM reservations r
JOIN reservation_lines l ON l.reservation_id = r.id
WHERE l.sku = $1 AND r.buyer IS NOT NULL AND r.status IN ('committed', 'fulfilled')
"""
# the buyers' reservation rows of the SKU in ledger order (holds, offers included)
BUYER_ROWS = """
SELECT r.buyer, e.kind, e.quantity FROM ledger_entries e
JOIN reservations r ON e.reference_type = 'reservation' AND r.id = e.reference_id
WHERE e.sku = $1 AND r.buyer IS NOT NULL ORDER BY e.lsn, e.id
"""
TAKEN = {"reserve": 1, "release": -1, "expire": -1, "cancel": -1}


async def check_buyer_cap(conn: asyncpg.Connection, sku: str, cap: int) -> tuple[Check, str]:
    """The check, and the report's line: buyers served, and the most units one buyer has
    (at the end, and at any moment of the ledger replayed)."""
    row = await conn.fetchrow(BUYERS_OF_SKU, sku)
    assert row is not None
    served = await conn.fetchval(SERVED, sku)
    taken: Counter[str] = Counter()
    ever = 0
    for r in await conn.fetch(BUYER_ROWS, sku):
        taken[r["buyer"]] += TAKEN.get(r["kind"], 0) * r["quantity"]
        ever = max(ever, taken[r["buyer"]])
    line = (
        f"{served} buyers served (a committed order), {row['buyers']} holding or bought units;"
        f" most units per buyer {row['most']} at the end, {ever} at any moment (cap {cap})"
    )
    ok = row["most"] <= cap and ever <= cap
    return Check(f"drop: no buyer above {cap} units (ledger replay)", ok, line), line
