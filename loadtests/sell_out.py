"""The drop's sell-out timeline, read from the ledger for the report."""

from __future__ import annotations

import datetime as dt

import asyncpg

from reservoir.ledger.fold import FOLD


async def sell_out(conn: asyncpg.Connection, sku: str) -> str:
    """From the ledger: how long after the first hold every unit of the drop was held or
    committed (sold out for new buyers), and when the last commit came."""
    rows = await conn.fetch(
        "SELECT at, kind, quantity FROM ledger_entries WHERE sku = $1 ORDER BY lsn, id", sku
    )
    on_hand = reserved = committed = received = shipped = 0
    first = held_out = last_commit = None
    for row in rows:
        d = FOLD[row["kind"]]
        on_hand += d[0] * row["quantity"]
        reserved += d[1] * row["quantity"]
        committed += d[2] * row["quantity"]
        received += row["quantity"] if row["kind"] == "receipt" else 0
        shipped += row["quantity"] if row["kind"] == "ship" else 0
        if row["kind"] == "reserve" and first is None:
            first = row["at"]
        if first is not None and held_out is None and reserved + committed >= on_hand:
            held_out = row["at"]
        if row["kind"] == "commit":
            last_commit = row["at"]
    if first is None:
        return "no holds"

    def after(at: dt.datetime | None) -> str:
        return f"{(at - first).total_seconds():.1f} s" if at else "never"

    return (
        f"every unit held or committed {after(held_out)} after the first hold;"
        f" {committed + shipped} of {received} units received sold (committed or shipped),"
        f" the last commit at {after(last_commit)}"
    )
