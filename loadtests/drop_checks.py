"""The drop-pools scenario, judged by the ledger (issue 12): no hold before the start, the
fence held at every moment until the spill, and the spill recorded on time."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from check import Check

# every ledger row of the drop SKU's reservations, in order, with the hold's channel and
# whether it was made while the pools were fenced
ROWS = """
SELECT e.at, e.kind, e.quantity, r.channel, r.created_at >= d.starts_at
       AND r.created_at < d.spill_at AS fenced
FROM ledger_entries e
JOIN reservations r ON r.id = e.reference_id AND e.reference_type = 'reservation'
JOIN drops d ON d.sku = e.sku
WHERE d.code = $1
ORDER BY e.lsn, e.id
"""
DROP = "SELECT starts_at, spill_at, sku, pools FROM drops WHERE code = $1"
SPILLED = "SELECT at FROM drop_events WHERE code = $1 AND event = 'spilled'"
# what a reservation's ledger row does to the units its holder has taken (a commit moves
# them from held to committed, a ship keeps them taken)
TAKEN = {"reserve": 1, "release": -1, "expire": -1, "cancel": -1}


async def check_drop_pools(
    conn: asyncpg.Connection, config: dict[str, Any], info: dict[str, Any]
) -> list[Check]:
    code = config["drop_code"]
    drop = await conn.fetchrow(DROP, code)
    assert drop is not None
    pools = {p["channel"]: p["units"] for p in _json(drop["pools"])}
    stock = config["drop_units"]
    rows = await conn.fetch(ROWS, code)
    early = [r for r in rows if r["kind"] == "reserve" and r["at"] < drop["starts_at"]]
    # units taken (held, committed or shipped) per pool channel by its holds made while
    # fenced, and by every other hold; while fenced, the units taken and the pools' unsold
    # units together never pass the stock: nobody else took a pool's units
    taken: dict[str, int] = dict.fromkeys(pools, 0)
    others = 0
    worst = None
    for r in rows:
        units = TAKEN.get(r["kind"], 0) * r["quantity"]
        if r["fenced"] and r["channel"] in pools:
            taken[r["channel"]] += units
        else:
            others += units
        if r["at"] < drop["spill_at"] and worst is None:
            unsold = sum(max(0, units_ - taken[c]) for c, units_ in pools.items())
            if sum(taken.values()) + others + unsold > stock:
                worst = (r["at"].isoformat(), dict(taken), others, unsold)
    spilled = await conn.fetchval(SPILLED, code)
    lag = None if spilled is None else (spilled - drop["spill_at"]).total_seconds()
    info["pools"] = (
        ", ".join(f"{c} took {taken[c]} of its {p}" for c, p in pools.items())
        + f"; other holds {others}; spill recorded "
        + ("never" if lag is None else f"{lag:.2f} s after spill_at")
    )
    return [
        Check("drop: no hold before starts_at", not early, f"{len(early)} reserve rows early"),
        Check(
            "drop: the pools' fence held at every ledger row until the spill",
            worst is None,
            f"{len(rows)} rows replayed" if worst is None else f"broken at {worst}",
        ),
        Check(
            "drop: the spill recorded within 1.5 s of spill_at",
            lag is not None and 0 <= lag <= 1.5,
            "never" if lag is None else f"{lag:.2f} s",
        ),
    ]


def _json(value: Any) -> Any:
    """asyncpg hands `jsonb` over as text."""
    return json.loads(value) if isinstance(value, str) else value
