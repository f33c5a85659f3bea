"""Stock invariants of a load test run, through the API and the ledger: no oversell (at the
end and at any moment of the ledger), committed units and on_hand as the clients were told."""

from __future__ import annotations

from collections import Counter, defaultdict

import asyncpg

from check import Check
from records import Records
from reservoir.ledger.fold import FOLD


def check_no_oversell_now(levels: dict[str, dict], when: str) -> Check:
    """Per SKU and sellable location: reserved + committed <= on_hand (from the API)."""
    bad = []
    for sku, a in levels.items():
        for loc in a["locations"]:
            if loc.get("sellable", True) and loc["reserved"] + loc["committed"] > loc["on_hand"]:
                bad.append(f"{sku}@{loc['location']} {loc}")
        if a["reserved"] + a["committed"] > a["on_hand"]:
            bad.append(f"{sku} total {a}")
    detail = f"{len(levels)} SKUs, {when}" if not bad else f"{len(bad)} oversold: {bad[:3]}"
    return Check(f"no oversell ({when}, API)", not bad, detail)


async def check_no_oversell_ever(conn: asyncpg.Connection, skus: list[str]) -> Check:
    """Replays the ledger in LSN order: after every change, reserved + committed <= on_hand
    per SKU and location: no oversell at any moment, not only at the end."""
    rows = await conn.fetch(
        "SELECT lsn, sku, location, kind, quantity FROM ledger_entries"
        " WHERE sku = ANY($1) ORDER BY lsn, id",
        skus,
    )
    sellable = {
        r["code"]: r["sellable"] for r in await conn.fetch("SELECT code, sellable FROM locations")
    }
    levels: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    shrink: set[tuple[str, str]] = set()
    bad: list[str] = []
    touched: set[tuple[str, str]] = set()
    last_lsn = None
    for row in rows:
        if row["lsn"] != last_lsn:
            bad += _oversold(levels, touched, shrink, sellable, last_lsn)
            touched.clear()
            last_lsn = row["lsn"]
        key = (row["sku"], row["location"])
        if row["kind"] == "adjustment" and row["quantity"] < 0:
            shrink.add(key)  # shrinkage may break the rule (DESIGN invariant 1)
        d = FOLD[row["kind"]]
        level = levels[key]
        for i in range(3):
            level[i] += d[i] * row["quantity"]
        touched.add(key)
    bad += _oversold(levels, touched, shrink, sellable, last_lsn)
    detail = f"{len(rows)} ledger entries replayed in LSN order over {len(levels)} levels"
    if bad:
        detail = f"{len(bad)} moments oversold, first: {bad[:3]}"
    return Check("no oversell at any moment (ledger replay)", not bad, detail)


def _oversold(levels, touched, shrink, sellable, lsn) -> list[str]:
    out = []
    for key in touched:
        on_hand, reserved, committed = levels[key]
        negative = min(on_hand, reserved, committed) < 0
        over = sellable.get(key[1], True) and reserved + committed > on_hand
        if negative or (over and key not in shrink):
            out.append(f"lsn {lsn} {key[0]}@{key[1]} on_hand={on_hand} r={reserved} c={committed}")
    return out


def check_levels_match_acks(rec: Records, levels: dict[str, dict], exact: bool) -> Check:
    """Committed units per SKU equal the committed holds the clients know of (no phantom
    commit, no lost one); exact when every request got an answer."""
    want: Counter[str] = Counter()
    slack: Counter[str] = Counter()
    for h in rec.holds.values():
        allowed = h.allowed_statuses()
        for sku, _, q in h.lines:
            if allowed == {"committed"}:
                want[sku] += q
            elif "committed" in allowed:
                slack[sku] += q
    shipped: Counter[str] = Counter()
    for (sku, _), q in rec.shipped().items():
        shipped[sku] += q
    maybe_shipped = rec.unknown_shipped()
    bad = []
    for sku, a in levels.items():
        got = a["committed"] + shipped[sku]
        low, high = want[sku] - maybe_shipped[sku], want[sku] + slack[sku]
        if not low <= got <= high or (exact and not maybe_shipped and got != want[sku]):
            bad.append(f"{sku}: committed+shipped {got}, acknowledged {want[sku]}+{slack[sku]}?")
    return Check(
        "committed units = acknowledged commits",
        not bad,
        f"{sum(want.values())} units committed by acknowledged commits"
        + (f" (+{sum(slack.values())} unknown)" if slack else "")
        if not bad
        else f"{len(bad)} SKUs differ: {bad[:3]}",
    )


async def check_receipts(
    conn: asyncpg.Connection, rec: Records, seeded: dict[str, int], levels: dict[str, dict]
) -> list[Check]:
    """Every acknowledged receipt has its ledger row; on_hand = seeded + receipts - shipped."""
    acked = rec.acked_receipts()
    rows = await conn.fetch(
        "SELECT reference_id, sku, location, quantity FROM ledger_entries"
        " WHERE kind = 'receipt' AND reference_type = 'receipt' AND reference_id = ANY($1)",
        [r["ref"] for r in acked],
    )
    found = {r["reference_id"]: (r["sku"], r["location"], r["quantity"]) for r in rows}
    missing = [r["ref"] for r in acked if found.get(r["ref"]) != (r["sku"], r["loc"], r["qty"])]
    checks = [
        Check(
            "every acknowledged receipt is in the ledger",
            not missing,
            f"{len(acked)} receipts ({sum(r['qty'] for r in acked)} units)"
            if not missing
            else f"{len(missing)} missing: {missing[:3]}",
        )
    ]
    unknown = rec.unknown_receipts()
    maybe_shipped = rec.unknown_shipped()
    slack: Counter[str] = Counter()
    for r in unknown:
        slack[r["sku"]] += r["qty"]
    want: Counter[str] = Counter(seeded)
    for r in acked:
        want[r["sku"]] += r["qty"]
    for (sku, _), q in rec.shipped().items():
        want[sku] -= q
    bad = [
        f"{sku}: on_hand {levels[sku]['on_hand']} expected {want[sku]}"
        + (f" (+ up to {slack[sku]} unanswered)" if slack[sku] else "")
        for sku in want
        if sku in levels
        and not want[sku] - maybe_shipped[sku] <= levels[sku]["on_hand"] <= want[sku] + slack[sku]
    ]
    checks.append(
        Check(
            "on_hand = seeded + acknowledged receipts - shipped",
            not bad,
            f"{len(want)} SKUs" + (f" ({len(unknown)} receipts unanswered)" if unknown else "")
            if not bad
            else f"{len(bad)} differ: {bad[:3]}",
        )
    )
    return checks
