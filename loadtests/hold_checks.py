"""Hold invariants of a load test run: every acknowledged hold is in the ledger and reads
back, ends as its client was told, commits are refused only after expiry, and abandoned
holds expire on time."""

from __future__ import annotations

from collections import Counter, defaultdict

import asyncpg

from check import Check
from percentiles import percentile
from records import Records

# How close to `expires_at` the server may have received a refused commit and still be fair:
# the hold may have expired between receipt (Reservoir-Received-At, stamped before the body
# is read) and the handler's engine call, while the request waited on a busy event loop.
# Judged by the server's clock, so a starved client's late sends do not count against it.
COMMIT_EXPIRY_MARGIN_S = 0.5
EXPIRY_LAG_MAX_S = 1.0  # DESIGN.md invariant 5: units back within 1 s of expires_at

Units = Counter[tuple[str, str]]  # (sku, location) -> units


async def check_acked_holds(
    conn: asyncpg.Connection, rec: Records, read: dict[str, tuple[int, str | None]]
) -> list[Check]:
    """Every 201 to a reserve: its `reserve` rows in the ledger (same lines), GET 200, and a
    final status that matches what its client was told (committed, released, expired)."""
    ledger = await _ledger_by_hold(conn, list(rec.holds))
    return [
        _check_reserve_rows(rec, ledger),
        _check_read_back(rec, read),
        _check_final_states(rec, read, ledger),
    ]


async def _ledger_by_hold(conn: asyncpg.Connection, ids: list[str]) -> dict[str, dict[str, Units]]:
    """Reservation id -> ledger kind -> units per (sku, location)."""
    rows = await conn.fetch(
        "SELECT reference_id, kind, sku, location, sum(quantity)::bigint AS q"
        " FROM ledger_entries WHERE reference_type = 'reservation' AND reference_id = ANY($1)"
        " GROUP BY reference_id, kind, sku, location",
        ids,
    )
    ledger: dict[str, dict[str, Units]] = defaultdict(lambda: defaultdict(Counter))
    for r in rows:
        ledger[r["reference_id"]][r["kind"]][r["sku"], r["location"]] += r["q"]
    return ledger


def _check_reserve_rows(rec: Records, ledger: dict[str, dict[str, Units]]) -> Check:
    missing, wrong_lines = [], []
    for rid, hold in rec.holds.items():
        reserved = ledger[rid]["reserve"]
        if not reserved:
            missing.append(rid)
            continue
        want: Units = Counter()
        for sku, loc, q in hold.lines:
            want[sku, loc] += q
        if +reserved != +want:
            wrong_lines.append(f"{rid}: acked {dict(want)} ledger {dict(reserved)}")
    return Check(
        "every acknowledged hold has its reserve rows in the ledger",
        not missing and not wrong_lines,
        f"{len(rec.holds)} acknowledged holds"
        if not missing and not wrong_lines
        else f"{len(missing)} missing {missing[:3]}, {len(wrong_lines)} differ {wrong_lines[:2]}",
    )


def _check_read_back(rec: Records, read: dict[str, tuple[int, str | None]]) -> Check:
    not_found = [rid for rid, (st, _) in read.items() if st != 200]
    return Check(
        "every acknowledged hold reads back (GET 200)",
        not not_found and len(read) == len(rec.holds),
        f"{len(read)} read" if not not_found else f"{len(not_found)} not 200: {not_found[:3]}",
    )


# the ledger kind whose rows settle a hold in each final status (released: release or cancel)
SETTLED_BY = {"committed": "commit", "fulfilled": "commit", "expired": "expire", "released": None}


def _check_final_states(
    rec: Records, read: dict[str, tuple[int, str | None]], ledger: dict[str, dict[str, Units]]
) -> Check:
    picked = rec.picked_ids()
    wrong = []
    for rid, hold in rec.holds.items():
        status = read.get(rid, (0, None))[1]
        allowed = hold.allowed_statuses(picked=rid in picked)
        if status not in allowed:
            wrong.append(f"{rid}: reads {status}, client was told {sorted(allowed)}")
            continue
        kinds = ledger[rid]
        settled = SETTLED_BY[status]
        if settled and +kinds[settled] != +kinds["reserve"]:
            wrong.append(f"{rid}: {status} but ledger {settled} {dict(kinds[settled])}")
        if status == "released" and not (kinds["release"] or kinds["cancel"]):
            wrong.append(f"{rid}: released but no release/cancel row")
    return Check(
        "final states match the acknowledgements (API and ledger)",
        not wrong,
        "all match" if not wrong else f"{len(wrong)} differ: {wrong[:3]}",
    )


def check_commit_answers(rec: Records) -> Check:
    """A commit is refused (409) only when the hold had expired: one the server received well
    before `expires_at` (both by the server's clock) must succeed."""
    early = [
        f"{h.id} received {h.exp - at:.2f}s before expiry"
        for h in rec.holds.values()
        for op, st, _, at in h.answers
        if op == "commit" and st == 409 and at < h.exp - COMMIT_EXPIRY_MARGIN_S
    ]
    late = sum(1 for h in rec.holds.values() if h.answered("commit", 409))
    return Check(
        "commits refused only after expiry",
        not early,
        f"{late} commits refused, all received by the server after (or within"
        f" {COMMIT_EXPIRY_MARGIN_S:.1f} s of) expires_at"
        if not early
        else f"{len(early)} refused early: {early[:3]}",
    )


async def check_abandoned_expired(
    conn: asyncpg.Connection,
    rec: Records,
    levels: dict[str, dict],
    read: dict[str, tuple[int, str | None]],
    skus: list[str],
) -> list[Check]:
    """After every TTL + 2 s: nothing is reserved any more (API and levels), no reservation
    on these SKUs is still `held`, and every abandoned hold has its `expire` rows and reads
    `expired` (the rows are checked by `check_acked_holds`)."""
    reserved_api = {sku: a["reserved"] for sku, a in levels.items() if a["reserved"]}
    reserved_db = await conn.fetchval(
        "SELECT coalesce(sum(reserved), 0) FROM inventory_levels WHERE sku = ANY($1)", skus
    )
    still_held = await conn.fetchval(
        "SELECT count(DISTINCT r.id) FROM reservations r JOIN reservation_lines l"
        " ON l.reservation_id = r.id WHERE r.status = 'held' AND l.sku = ANY($1)",
        skus,
    )
    abandoned = [h for h in rec.holds.values() if h.allowed_statuses() == {"expired"}]
    units = sum(h.units for h in abandoned)
    not_expired = [h.id for h in abandoned if read.get(h.id, (0, None))[1] != "expired"]
    ok = not reserved_api and reserved_db == 0 and still_held == 0 and not not_expired
    detail = (
        f"{len(abandoned)} abandoned holds ({units} units) expired and back in available;"
        f" reserved 0 on {len(levels)} SKUs"
    )
    if not ok:
        detail = (
            f"reserved via API {dict(list(reserved_api.items())[:3])}, in levels {reserved_db},"
            f" {still_held} still held, {len(not_expired)} abandoned not expired"
            f" {not_expired[:3]}"
        )
    checks = [Check("every abandoned hold expired and is back in available", ok, detail)]

    lags = await conn.fetch(
        "SELECT extract(epoch FROM min(l.at) - r.expires_at)::float8 AS lag"
        " FROM reservations r JOIN ledger_entries l ON l.reference_type = 'reservation'"
        " AND l.reference_id = r.id AND l.kind = 'expire'"
        " WHERE r.id = ANY($1) GROUP BY r.id, r.expires_at",
        [h.id for h in abandoned],
    )
    values = sorted(r["lag"] for r in lags)
    if values:
        p50, p99, top = percentile(values, 0.5), percentile(values, 0.99), values[-1]
        checks.append(
            Check(
                f"expiry within {EXPIRY_LAG_MAX_S:.0f} s of expires_at (ledger `at`)",
                top <= EXPIRY_LAG_MAX_S and values[0] >= -0.01,
                f"lag p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms,"
                f" max {top * 1000:.0f} ms over {len(values)} expiries",
            )
        )
    return checks
