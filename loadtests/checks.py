"""The invariants a load test run must keep, checked through the API and the ledger.

`Records` folds the Locust users' record file (see common.py) into what each acknowledged
hold, receipt and pick should have become. The checks compare that with what the service
answers (`GET /v1/reservations/{id}`, `GET /v1/availability/{sku}`) and with the ledger
(asyncpg on the service's database). Each check gives a `Check(name, ok, detail)`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from reservoir.ledger.fold import FOLD

# How close to `expires_at` a refused commit may have been sent and still be fair: the hold
# may have expired while the request waited in the server's queue.
COMMIT_EXPIRY_MARGIN_S = 1.0
EXPIRY_LAG_MAX_S = 1.0  # DESIGN.md invariant 5: units back within 1 s of expires_at


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


def _ts(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# --- the record of acknowledged writes --------------------------------------------------------


@dataclass
class Hold:
    id: str
    lines: list[tuple[str, str, int]]
    exp: float
    t: float
    abandoned: bool = False
    sent: Counter[str] = field(default_factory=Counter)
    answers: list[tuple[str, int, str | None, float]] = field(default_factory=list)

    @property
    def units(self) -> int:
        return sum(q for _, _, q in self.lines)

    def answered(self, op: str, status: int) -> bool:
        return any(o == op and s == status for o, s, _, _ in self.answers)

    def unanswered(self) -> bool:
        """A commit/release/extend left without a definite answer (transport error, 5xx,
        or Locust stopped before it came back): its outcome is unknown."""
        answered = Counter(o for o, s, _, _ in self.answers if s in (200, 409))
        return any(answered[op] < n for op, n in self.sent.items())

    def allowed_statuses(self, *, picked: bool = False) -> set[str]:
        """The statuses this hold may read now (after every TTL ran out), given the answers
        its client got."""
        committed = {"committed", "fulfilled"} if picked else {"committed"}
        if self.unanswered():
            return committed | {"expired", "released"}
        result: str | None = None
        for op, status, body, _ in self.answers:
            if op == "commit" and status == 200:
                result = "committed"
            elif op == "commit" and status == 409:
                result = result or "expired"
            elif op == "release" and status == 200:
                result = body or "released"
        if result is None:
            return {"expired"}  # abandoned, or only extended: the hold ran out
        return committed if result == "committed" else {result}


@dataclass
class Records:
    holds: dict[str, Hold] = field(default_factory=dict)
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    receipts_sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    picks: list[dict[str, Any]] = field(default_factory=list)
    picks_sent: dict[str, list] = field(default_factory=dict)
    bad_lines: int = 0

    @classmethod
    def load(cls, path: Path) -> Records:
        rec = cls()
        if not path.exists():
            return rec
        for raw in path.read_text(encoding="utf-8").splitlines():
            try:
                ev = json.loads(raw)
            except ValueError:
                rec.bad_lines += 1
                continue
            kind = ev.get("e")
            if kind == "hold":
                lines = [(s, loc, int(q)) for s, loc, q in ev["lines"]]
                rec.holds[ev["id"]] = Hold(ev["id"], lines, _ts(ev["exp"]), ev["t"])
            elif kind in ("sent", "commit", "release", "extend", "abandon"):
                hold = rec.holds.get(ev["id"])
                if hold is None:
                    rec.bad_lines += 1
                elif kind == "sent":
                    hold.sent[ev["op"]] += 1
                elif kind == "abandon":
                    hold.abandoned = True
                else:
                    hold.answers.append((kind, ev["st"], ev.get("body"), ev["t0"]))
                    if kind == "extend" and ev.get("exp"):
                        hold.exp = max(hold.exp, _ts(ev["exp"]))
            elif kind == "rsent":
                rec.receipts_sent[ev["ref"]] = ev
            elif kind == "receipt":
                rec.receipts[ev["ref"]] = ev
            elif kind == "psent":
                rec.picks_sent[ev["list"]] = ev["stops"]
            elif kind == "pick":
                rec.picks.append(ev)
        return rec

    @property
    def latest_expiry(self) -> float:
        return max((h.exp for h in self.holds.values()), default=0.0)

    def skus(self) -> set[str]:
        found = {s for h in self.holds.values() for s, _, _ in h.lines}
        return found | {r["sku"] for r in self.receipts.values()}

    def picked_ids(self) -> set[str]:
        return {stop[0] for p in self.picks for stop in p["stops"] if stop[0]}

    def shipped(self) -> Counter[tuple[str, str]]:
        units: Counter[tuple[str, str]] = Counter()
        for p in self.picks:
            if p["st"] == 200:
                for _, sku, loc, qty in p["stops"]:
                    units[sku, loc] += int(qty)
        return units

    def unknown_shipped(self) -> Counter[str]:
        """Units per SKU of pick confirmations without a definite answer."""
        done = {p["list"]: p["st"] for p in self.picks}
        units: Counter[str] = Counter()
        for list_id, stops in self.picks_sent.items():
            if done.get(list_id, 0) == 0 or done[list_id] >= 500:
                for _, sku, _, qty in stops:
                    units[sku] += int(qty)
        return units

    def acked_receipts(self) -> list[dict[str, Any]]:
        return [r for r in self.receipts.values() if r["st"] == 201]

    def unknown_receipts(self) -> list[dict[str, Any]]:
        """Receipts sent without a definite answer: they may or may not have happened."""
        return [
            sent
            for ref, sent in self.receipts_sent.items()
            if ref not in self.receipts or self.receipts[ref]["st"] not in (201, 409, 422)
        ]


# --- reading the service ----------------------------------------------------------------------


async def gather_limited(n: int, coros: Iterable[Any]) -> list[Any]:
    sem = asyncio.Semaphore(n)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


async def availability(client: Any, skus: Iterable[str]) -> dict[str, dict]:
    async def one(sku: str) -> tuple[str, dict]:
        r = await client.get(f"/v1/availability/{sku}")
        r.raise_for_status()
        return sku, r.json()

    return dict(await gather_limited(16, (one(s) for s in sorted(set(skus)))))


async def read_reservations(client: Any, ids: Iterable[str]) -> dict[str, tuple[int, str | None]]:
    async def one(rid: str) -> tuple[str, tuple[int, str | None]]:
        r = await client.get(f"/v1/reservations/{rid}")
        return rid, (r.status_code, r.json().get("status") if r.status_code == 200 else None)

    return dict(await gather_limited(16, (one(i) for i in ids)))


# --- the checks -------------------------------------------------------------------------------


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


async def check_acked_holds(
    conn: asyncpg.Connection, rec: Records, read: dict[str, tuple[int, str | None]]
) -> list[Check]:
    """Every 201 to a reserve: its `reserve` rows in the ledger (same lines), GET 200, and a
    final status that matches what its client was told (committed, released, expired)."""
    ids = list(rec.holds)
    rows = await conn.fetch(
        "SELECT reference_id, kind, sku, location, sum(quantity)::bigint AS q"
        " FROM ledger_entries WHERE reference_type = 'reservation' AND reference_id = ANY($1)"
        " GROUP BY reference_id, kind, sku, location",
        ids,
    )
    ledger: dict[str, dict[str, Counter[tuple[str, str]]]] = defaultdict(
        lambda: defaultdict(Counter)
    )
    for r in rows:
        ledger[r["reference_id"]][r["kind"]][r["sku"], r["location"]] += r["q"]

    missing, wrong_lines = [], []
    for rid, hold in rec.holds.items():
        reserved = ledger[rid]["reserve"]
        if not reserved:
            missing.append(rid)
            continue
        want: Counter[tuple[str, str]] = Counter()
        for sku, loc, q in hold.lines:
            want[sku, loc] += q
        if +reserved != +want:
            wrong_lines.append(f"{rid}: acked {dict(want)} ledger {dict(reserved)}")
    checks = [
        Check(
            "every acknowledged hold has its reserve rows in the ledger",
            not missing and not wrong_lines,
            f"{len(ids)} acknowledged holds"
            if not missing and not wrong_lines
            else f"{len(missing)} missing {missing[:3]},"
            f" {len(wrong_lines)} differ {wrong_lines[:2]}",
        )
    ]
    not_found = [rid for rid, (st, _) in read.items() if st != 200]
    checks.append(
        Check(
            "every acknowledged hold reads back (GET 200)",
            not not_found and len(read) == len(ids),
            f"{len(read)} read" if not not_found else f"{len(not_found)} not 200: {not_found[:3]}",
        )
    )
    picked = rec.picked_ids()
    wrong = []
    for rid, hold in rec.holds.items():
        status = read.get(rid, (0, None))[1]
        allowed = hold.allowed_statuses(picked=rid in picked)
        if status not in allowed:
            wrong.append(f"{rid}: reads {status}, client was told {sorted(allowed)}")
            continue
        kinds = ledger[rid]
        settled = {
            "committed": "commit",
            "fulfilled": "commit",
            "expired": "expire",
            "released": None,
        }[status]
        if settled and +kinds[settled] != +kinds["reserve"]:
            wrong.append(f"{rid}: {status} but ledger {settled} {dict(kinds[settled])}")
        if status == "released" and not (kinds["release"] or kinds["cancel"]):
            wrong.append(f"{rid}: released but no release/cancel row")
    checks.append(
        Check(
            "final states match the acknowledgements (API and ledger)",
            not wrong,
            "all match" if not wrong else f"{len(wrong)} differ: {wrong[:3]}",
        )
    )
    return checks


def check_commit_answers(rec: Records) -> Check:
    """A commit is refused (409) only when the hold had expired: one sent well before
    `expires_at` must succeed."""
    early = [
        f"{h.id} sent {h.exp - t0:.2f}s before expiry"
        for h in rec.holds.values()
        for op, st, _, t0 in h.answers
        if op == "commit" and st == 409 and t0 < h.exp - COMMIT_EXPIRY_MARGIN_S
    ]
    late = sum(1 for h in rec.holds.values() if h.answered("commit", 409))
    return Check(
        "commits refused only after expiry",
        not early,
        f"{late} commits refused, all sent after (or within {COMMIT_EXPIRY_MARGIN_S:.0f}s of)"
        " expires_at"
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
        p50, p99, top = values[len(values) // 2], values[int(len(values) * 0.99)], values[-1]
        checks.append(
            Check(
                f"expiry within {EXPIRY_LAG_MAX_S:.0f} s of expires_at (ledger `at`)",
                top <= EXPIRY_LAG_MAX_S and values[0] >= -0.01,
                f"lag p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms,"
                f" max {top * 1000:.0f} ms over {len(values)} expiries",
            )
        )
    return checks


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
