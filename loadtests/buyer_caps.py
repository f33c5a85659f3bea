"""The flash drop's per-buyer cap, judged by the ledger (issue 12): no buyer ever above the
cap, and how many buyers the drop served."""

from __future__ import annotations

import asyncpg

from check import Check

# what each buyer has taken of the SKU: held, committed or shipped (the view of migration
# 0009, the engine's own count), and the most a buyer ever held at once is no more than that
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


async def check_buyer_cap(conn: asyncpg.Connection, sku: str, cap: int) -> tuple[Check, str]:
    """The check, and the report's line: buyers served, and the most units one buyer has."""
    row = await conn.fetchrow(BUYERS_OF_SKU, sku)
    assert row is not None
    served = await conn.fetchval(SERVED, sku)
    line = (
        f"{served} buyers served (a committed order), {row['buyers']} holding or bought units;"
        f" most units per buyer {row['most']} (cap {cap})"
    )
    return Check(f"flash drop: no buyer above {cap} units", row["most"] <= cap, line), line
