"""The drop scenarios' waitlist, judged by the ledger (the server's own clock and records):
offers in arrival order, each a hold for its entry's buyer lasting the offer TTL, made when
units came back; no fresh hold took units the waiting entries asked for; and what the
buyers were told matches. Also the runner's end-of-load step that cancels the entries still
waiting, so that the last offers lapse and the run can settle.

Times are the engine's (`ledger_entries.at`, `waitlist_entries.offered_at` / `ended_at`,
`reservations.expires_at`); order is the LSN's (an offer's LSN is its `reserve` row's)."""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from check import Check
from errors import RunError
from percentiles import percentile
from records import Records
from scenarios import Run
from service_reads import gather_limited

OFFER_LAG_GOAL_S = 1.0  # the goal: an offer within 1 s of units coming back
# ledger kinds that make units available again
FREEING = {"release", "expire", "cancel", "receipt", "return", "transfer_in"}
# what a reservation's ledger row does to the units its buyer has taken
TAKEN = {"reserve": 1, "release": -1, "expire": -1, "cancel": -1}
# an offer's status in the entry (the API's names) by its reservation's
OFFER_STATUS = {"held": "offered", "committed": "committed", "fulfilled": "fulfilled"}
OFFER_STATUS |= {"released": "declined", "expired": "expired"}
NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)

ENTRIES = """
SELECT w.id, w.sku, w.quantity, w.buyer, w.channel, w.owner, w.created_at, w.lsn,
       w.reservation_id, w.offered_at, w.ended_at, w.end_reason,
       r.buyer AS r_buyer, r.owner AS r_owner, r.channel AS r_channel, r.status,
       r.created_at AS r_created, r.expires_at AS r_expires
FROM waitlist_entries w LEFT JOIN reservations r ON r.id = w.reservation_id
WHERE w.sku = $1 ORDER BY w.id
"""
OFFER_LINES = """
SELECT l.reservation_id, l.sku, sum(l.quantity)::bigint AS q
FROM reservation_lines l JOIN waitlist_entries w ON w.reservation_id = l.reservation_id
WHERE w.sku = $1 GROUP BY l.reservation_id, l.sku
"""
# every ledger row of the SKU, with its reservation's buyer and expiry
ROWS = """
SELECT e.lsn, e.at, e.kind, e.quantity, e.reference_id, r.buyer, r.expires_at,
       l.sellable
FROM ledger_entries e
LEFT JOIN reservations r ON e.reference_type = 'reservation' AND r.id = e.reference_id
LEFT JOIN locations l ON l.code = e.location
WHERE e.sku = $1 ORDER BY e.lsn, e.id
"""
DROP_TIMES = "SELECT starts_at, spill_at FROM drops WHERE sku = $1"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# --- the runner's step at the end of the load -------------------------------------------------


async def cancel_waiting(run: Run, sku: str, bound_s: float = 60.0) -> int:
    """Cancels (`DELETE /v1/waitlist-entries/{id}`) every entry still waiting for `sku` once
    the load is over: nobody is left to take their offers, and the chain of lapsing offers
    would outlast the run. Returns how many it cancelled (409: offered meanwhile)."""
    storefront = run.api.role("storefront")
    cancelled = 0
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        r = await storefront.get(f"/v1/waitlists/{sku}?limit=1000")
        if r.status_code != 200:
            raise RunError(f"GET /v1/waitlists/{sku} answered {r.status_code}: {r.text[:300]}")
        ids = [e["id"] for e in r.json()["entries"]]
        if not ids:
            break

        async def leave(eid: str) -> bool:
            answer = await run.api["storefront"].delete(f"/v1/waitlist-entries/{eid}")
            if answer.status_code not in (200, 409):
                raise RunError(f"DELETE {eid} answered {answer.status_code}: {answer.text[:300]}")
            return answer.status_code == 200

        cancelled += sum(await gather_limited(4, (leave(e) for e in ids)))
    return cancelled


# --- the checks -------------------------------------------------------------------------------


@dataclass
class Offer:
    entry: int
    lsn: int
    at: dt.datetime
    cause: str = "none"
    lag_s: float | None = None
    from_expiry_s: float | None = None  # from the expired hold's expires_at (expiry causes)


@dataclass
class Ledger:
    """The SKU's waitlist entries and ledger rows as the checks read them."""

    entries: list[asyncpg.Record]
    offer_lsn: dict[str, int]  # reservation id -> LSN of its reserve row
    lines: dict[str, Counter[str]]  # offer reservation id -> units per SKU
    rows: list[asyncpg.Record]
    starts_at: dt.datetime | None = None
    spill_at: dt.datetime | None = None
    offers: list[Offer] = field(default_factory=list)

    @classmethod
    async def read(cls, conn: asyncpg.Connection, sku: str) -> Ledger:
        entries = await conn.fetch(ENTRIES, sku)
        lines: dict[str, Counter[str]] = defaultdict(Counter)
        for r in await conn.fetch(OFFER_LINES, sku):
            lines[r["reservation_id"]][r["sku"]] += r["q"]
        rows = await conn.fetch(ROWS, sku)
        offer_ids = {e["reservation_id"] for e in entries if e["reservation_id"]}
        offer_lsn: dict[str, int] = {}
        for r in rows:
            if r["kind"] == "reserve" and r["reference_id"] in offer_ids:
                offer_lsn.setdefault(r["reference_id"], r["lsn"])
        drop = await conn.fetchrow(DROP_TIMES, sku)
        ledger = cls(entries, offer_lsn, lines, rows)
        if drop is not None:
            ledger.starts_at, ledger.spill_at = drop["starts_at"], drop["spill_at"]
        return ledger

    def exit_key(self, e: asyncpg.Record) -> tuple[dt.datetime, int]:
        """When an entry stopped waiting: its offer (time, LSN), or its end (time, before any
        offer of the same millisecond: a leave or refusal unblocks those behind it), or
        never."""
        if e["reservation_id"] is not None:
            return e["offered_at"], self.offer_lsn.get(e["reservation_id"], 0)
        if e["ended_at"] is not None:
            return e["ended_at"], -1
        return NEVER, -1


def check_order(led: Ledger) -> Check:
    """Offers in arrival order per SKU, nobody overtaken: when an entry is offered, every
    entry that joined before it has already been offered (lower LSN) or left (cancelled, or
    refused at its turn) at or before that moment."""
    overtaken = []
    latest: tuple[dt.datetime, int] | None = None
    latest_id = None
    for e in led.entries:  # in id order: arrival order
        key = led.exit_key(e)
        if e["reservation_id"] is not None and latest is not None and latest > key:
            overtaken.append(f"wl_{e['id']} offered at lsn {key[1]} before wl_{latest_id} left")
        if latest is None or key > latest:
            latest, latest_id = key, e["id"]
    offered = sum(1 for e in led.entries if e["reservation_id"] is not None)
    return Check(
        "waitlist: offers in arrival order, nobody overtaken (ledger)",
        not overtaken,
        f"{offered} offers to {len(led.entries)} entries, each after every older entry"
        " was offered or had left"
        if not overtaken
        else f"{len(overtaken)} overtaken: {overtaken[:3]}",
    )


def check_offer_holds(led: Ledger, offer_ttl_s: int) -> Check:
    """Each offer is a hold for its entry: the entry's buyer, key (owner) and channel, one
    line of its SKU and quantity, made after the entry joined, lasting the offer TTL."""
    wrong = []
    ttl = dt.timedelta(seconds=offer_ttl_s)
    for e in led.entries:
        rid = e["reservation_id"]
        if rid is None:
            continue
        got = (e["r_buyer"], e["r_owner"], e["r_channel"])
        if got != (e["buyer"], e["owner"], e["channel"]):
            wrong.append(f"wl_{e['id']}: entry {e['buyer']}, offer {rid} {got}")
        elif +led.lines.get(rid, Counter()) != Counter({e["sku"]: e["quantity"]}):
            wrong.append(f"wl_{e['id']}: {e['quantity']} asked, {rid} {dict(led.lines[rid])}")
        elif led.offer_lsn.get(rid, 0) <= e["lsn"]:
            wrong.append(f"wl_{e['id']}: offer lsn {led.offer_lsn.get(rid)} <= join {e['lsn']}")
        elif e["r_created"] != e["offered_at"] or e["r_expires"] - e["r_created"] != ttl:
            wrong.append(f"wl_{e['id']}: {rid} {e['r_created']}..{e['r_expires']}")
    offered = sum(1 for e in led.entries if e["reservation_id"] is not None)
    return Check(
        "waitlist: each offer a hold for its entry's buyer, for the offer TTL (ledger)",
        not wrong,
        f"{offered} offers: buyer, key, channel, SKU and quantity of their entry,"
        f" {offer_ttl_s} s each"
        if not wrong
        else f"{len(wrong)} differ: {wrong[:3]}",
    )


def _leaves(led: Ledger) -> tuple[list[dt.datetime], list[int]]:
    ended = sorted((e["ended_at"], e["id"]) for e in led.entries if e["ended_at"] is not None)
    return [t for t, _ in ended], [i for _, i in ended]


# what a row does to the units free to hold (on_hand - reserved - committed)
FOLD_FREE = {
    "receipt": 1,
    "return": 1,
    "transfer_in": 1,
    "adjustment": 1,
    "transfer_out": -1,
    "reserve": -1,
    "release": 1,
    "expire": 1,
    "cancel": 1,
}


class Replay:
    """Walks the SKU's ledger in LSN order. Gives each offer its cause (the latest row that
    freed units, a leave ahead of it, or the drop starting or spilling) and lag. Before each
    change that is not an offer (the engine between two calls: the serving that follows a
    change is over) it finds heads left waiting for over 1 s while their units were free to
    them (and their buyer under the cap), and at each fresh hold, one that took units the
    waiting entries asked for.

    Before a drop's spill the pools decide what each channel may take; only changes from
    the spill on are judged for fresh holds and heads."""

    def __init__(self, led: Ledger, cap: int | None) -> None:
        self.led, self.cap = led, cap
        self.offer_of = {e["reservation_id"]: e for e in led.entries if e["reservation_id"]}
        self.leave_at, self.leave_id = _leaves(led)
        self.joins = sorted(led.entries, key=lambda e: e["lsn"])
        self.joined = 0
        self.waiting: dict[int, asyncpg.Record] = {}  # joined, not yet out, by id
        self.asked = 0  # units the waiting entries ask for
        self.heads: list[int] = []  # heap of waiting ids (lazy: some may be out)
        self.exits: list[tuple[tuple[dt.datetime, int], int]] = []  # heap: (exit key, id)
        self.free = 0
        self.taken: Counter[str] = Counter()  # units per buyer
        self.freed: asyncpg.Record | None = None  # the latest row that freed units
        self.took: list[str] = []
        self.stuck: list[str] = []
        # the head that has waited with its units free, since when, and whether it is told
        self.since: tuple[int, dt.datetime, bool] | None = None
        # a reservation's units at its reserve LSN (a hold may take several rows)
        self.asking: Counter[tuple[int, str]] = Counter()
        for row in led.rows:
            if row["kind"] == "reserve":
                self.asking[row["lsn"], row["reference_id"]] += row["quantity"]

    def run(self) -> Replay:
        last_lsn = None
        for row in self.led.rows:
            rid, kind = row["reference_id"], row["kind"]
            is_offer = kind == "reserve" and rid in self.offer_of
            if row["lsn"] != last_lsn:  # a change's first row
                last_lsn = row["lsn"]
                self.join_before(row["lsn"])
                if is_offer:
                    self.offered(row)
                elif _judged(self.led, row["at"]):
                    self.between_calls(row)
            if (row["sellable"] is None or row["sellable"]) and kind in FOLD_FREE:
                self.free += FOLD_FREE[kind] * row["quantity"]
            if row["buyer"] is not None:
                self.taken[row["buyer"]] += TAKEN.get(kind, 0) * row["quantity"]
            if kind in FREEING or (kind == "adjustment" and row["quantity"] > 0):
                self.freed = row
        return self

    def join_before(self, lsn: int) -> None:
        """The entries that joined before `lsn` wait."""
        while self.joined < len(self.joins) and self.joins[self.joined]["lsn"] < lsn:
            entry = self.joins[self.joined]
            self.joined += 1
            self.waiting[entry["id"]] = entry
            self.asked += entry["quantity"]
            heapq.heappush(self.heads, entry["id"])
            heapq.heappush(self.exits, (self.led.exit_key(entry), entry["id"]))

    def out(self, eid: int) -> None:
        entry = self.waiting.pop(eid, None)
        if entry is not None:
            self.asked -= entry["quantity"]

    def offered(self, row: asyncpg.Record) -> None:
        e = self.offer_of[row["reference_id"]]
        self.out(e["id"])
        self.led.offers.append(_offer(self.led, e, row, self.freed, self.leave_at, self.leave_id))

    def between_calls(self, row: asyncpg.Record) -> None:
        """The entries out by now leave (ends in the same millisecond count as out, which
        can only hide a finding, never make one); then the head and a fresh hold judged."""
        now = (row["at"], row["lsn"])
        while self.exits and self.exits[0][0] <= now:
            self.out(heapq.heappop(self.exits)[1])
        while self.heads and self.heads[0] not in self.waiting:
            heapq.heappop(self.heads)
        head = self.waiting[self.heads[0]] if self.heads else None
        if head is None or head["quantity"] > self.free or not self.within_cap(head):
            self.since = None
        elif self.since is None or self.since[0] != head["id"]:
            self.since = (head["id"], row["at"], False)
        elif not self.since[2] and (row["at"] - self.since[1]).total_seconds() > OFFER_LAG_GOAL_S:
            # served late (the ticker serves what time alone frees, as a drop's spill)
            # is fine within the goal; longer is a head left waiting
            self.since = (head["id"], self.since[1], True)
            self.stuck.append(
                f"lsn {row['lsn']}: wl_{head['id']} waited since {self.since[1]:%H:%M:%S.%f},"
                f" {self.free} free"
            )
        rid = row["reference_id"]
        if row["kind"] == "reserve" and self.free - self.asked < self.asking[row["lsn"], rid]:
            self.took.append(
                f"lsn {row['lsn']} {rid} took {self.asking[row['lsn'], rid]} of"
                f" {self.free} free, {self.asked} waited for"
            )

    def within_cap(self, entry: asyncpg.Record) -> bool:
        return self.cap is None or self.taken[entry["buyer"]] + entry["quantity"] <= self.cap


def _judged(led: Ledger, at: dt.datetime) -> bool:
    return led.spill_at is None or at >= led.spill_at


def _offer(
    led: Ledger,
    e: asyncpg.Record,
    row: asyncpg.Record,
    freed: asyncpg.Record | None,
    leave_at: list[dt.datetime],
    leave_id: list[int],
) -> Offer:
    """The offer of entry `e` at its reserve row, with its cause and lag."""
    offer = Offer(e["id"], row["lsn"], row["at"])
    causes: list[tuple[dt.datetime, str]] = []
    if freed is not None:
        causes.append((freed["at"], freed["kind"]))
    i = bisect.bisect_right(leave_at, row["at"]) - 1
    while i >= 0 and leave_id[i] > e["id"]:
        i -= 1  # only an entry ahead of it leaving can unblock it
    if i >= 0:
        causes.append((leave_at[i], "leave"))
    for name, at in (("drop start", led.starts_at), ("spill", led.spill_at)):
        if at is not None and at <= row["at"]:
            causes.append((at, name))
    if causes:
        at, offer.cause = max(causes)
        offer.lag_s = (row["at"] - at).total_seconds()
        if offer.cause == "expire" and freed is not None and freed["expires_at"] is not None:
            offer.from_expiry_s = (row["at"] - freed["expires_at"]).total_seconds()
    return offer


def check_offer_causes(led: Ledger) -> tuple[Check, str]:
    """Every offer came at or after something that made its units holdable (a ledger row
    that freed units, an older entry leaving, the drop's start or spill), and within 1 s of
    the latest such (p99); the report's line on it."""
    offers = led.offers
    without = [f"wl_{o.entry}" for o in offers if o.lag_s is None or o.lag_s < 0]
    lags = sorted(o.lag_s for o in offers if o.lag_s is not None)
    if not lags:
        return Check("waitlist: offers made when units came back", not without, "no offers"), ""
    p50, p99, top = percentile(lags, 0.5), percentile(lags, 0.99), lags[-1]
    late = sum(1 for v in lags if v > OFFER_LAG_GOAL_S)
    causes = Counter(o.cause for o in offers)
    from_exp = sorted(o.from_expiry_s for o in offers if o.from_expiry_s is not None)
    line = (
        f"units back -> offer (ledger `at`): p50 {_ms(p50)}, p99 {_ms(p99)}, max {_ms(top)}"
        f" (goal <= {OFFER_LAG_GOAL_S:.0f} s; {late} over) over {len(lags)} offers after "
        + ", ".join(f"{k} {n}" for k, n in causes.most_common())
    )
    if from_exp:
        line += (
            f"; from the expired hold's expires_at p50 {_ms(percentile(from_exp, 0.5))},"
            f" p99 {_ms(percentile(from_exp, 0.99))}"
        )
    ok = not without and p99 <= OFFER_LAG_GOAL_S
    detail = line if not without else f"{len(without)} offers with no cause before: {without[:3]}"
    return Check(
        f"waitlist: offers made when units came back (p99 <= {OFFER_LAG_GOAL_S:.0f} s)", ok, detail
    ), line


def check_no_fresh_hold_took(took: list[str], stuck: list[str], judged_from: str) -> Check:
    return Check(
        "waitlist: no fresh hold took waiting entries' units, no head left waiting with its"
        f" units free over {OFFER_LAG_GOAL_S:.0f} s (ledger replay)",
        not took and not stuck,
        f"every fresh hold {judged_from} took only units beyond those waited for"
        if not took and not stuck
        else f"{len(took)} fresh holds took waited-for units {took[:2]};"
        f" {len(stuck)} heads waited with units free {stuck[:2]}",
    )


def check_told(led: Ledger, rec: Records, sku: str) -> Check:
    """What the buyers were told matches the ledger: every entry a join answered (201, or a
    409 carrying it) is stored with its SKU, buyer and quantity; every entry an
    `already-waiting` named is the buyer's; every offer a poll saw is the entry's
    reservation, and the last status seen is one the entry went through."""
    stored = {f"wl_{e['id']}": e for e in led.entries}
    wrong = []
    for eid, told in rec.entries.items():
        e = stored.get(eid)
        if e is None:
            if told.sku == sku:
                wrong.append(f"{eid}: not stored")
            continue
        if (e["sku"], e["buyer"]) != (told.sku, told.buyer) or (
            told.qty is not None and e["quantity"] != told.qty
        ):
            wrong.append(f"{eid}: told {told.sku} {told.buyer} {told.qty}, stored {dict(e)}")
        elif told.offer is not None and told.offer != e["reservation_id"]:
            wrong.append(f"{eid}: saw offer {told.offer}, stored {e['reservation_id']}")
        elif told.seen and not _may_have_read(told.seen[-1], e):
            wrong.append(f"{eid}: saw {told.seen[-1]}, ended {_final(e)}")
    for hold in rec.offers():
        e = stored.get(hold.entry or "")
        if e is None or e["reservation_id"] != hold.id:
            wrong.append(f"offer {hold.id} read for {hold.entry}, not its reservation")
    joined = sum(1 for t in rec.entries.values() if t.qty is not None)
    return Check(
        "waitlist: what the buyers were told matches the ledger",
        not wrong,
        f"{joined} joins, {rec.already_waiting} already-waiting, {len(rec.offers())} offers"
        " read by their buyers"
        if not wrong
        else f"{len(wrong)} differ: {wrong[:3]}",
    )


def _final(e: asyncpg.Record) -> str:
    if e["reservation_id"] is not None:
        return OFFER_STATUS.get(e["status"], e["status"])
    return e["end_reason"] or "waiting"


def _may_have_read(seen: str, e: asyncpg.Record) -> bool:
    """A poll saw `seen` last: the entry's status then; an offer read `offered` may have
    been committed, declined or expired since."""
    final = _final(e)
    if seen == final:
        return True
    if seen == "waiting":
        return True  # a poll before the offer, then the cart stopped
    return seen == "offered" and final in ("committed", "fulfilled", "declined", "expired")


async def check_waitlist(
    conn: asyncpg.Connection, run: Run, rec: Records, info: dict[str, Any]
) -> list[Check]:
    sku = run.config["drop_sku"]
    led = await Ledger.read(conn, sku)
    walk = Replay(led, run.config.get("per_buyer_max")).run()
    causes, lag_line = check_offer_causes(led)
    judged_from = "after the spill" if led.spill_at is not None else "of the run"
    checks = [
        check_order(led),
        check_offer_holds(led, run.config["offer_ttl_s"]),
        causes,
        check_no_fresh_hold_took(walk.took, walk.stuck, judged_from),
        check_told(led, rec, sku),
    ]
    info["waitlist"], info["offer_lag"] = _figures(led, rec, info.get("cancelled", 0)), lag_line
    lags = sorted(o.lag_s for o in led.offers if o.lag_s is not None)
    info["waitlist_figures"] = {
        "entries": len(led.entries),
        "offers": len(led.offers),
        "offer_status": dict(Counter(_final(e) for e in led.entries if e["reservation_id"])),
        "lag_ms_p50": percentile(lags, 0.5) * 1000 if lags else None,
        "lag_ms_p99": percentile(lags, 0.99) * 1000 if lags else None,
        "lag_ms_max": lags[-1] * 1000 if lags else None,
    }
    return checks


def _figures(led: Ledger, rec: Records, cancelled_by_runner: int) -> str:
    status = Counter(_final(e) for e in led.entries)
    offers = sum(1 for e in led.entries if e["reservation_id"] is not None)
    via = Counter(t.via for t in rec.entries.values() if t.qty is not None)
    seen = rec.offers()
    committed_seen = sum(1 for h in seen if h.allowed_statuses() == {"committed"})
    lapsed = sum(1 for h in seen if h.read != "held")
    return (
        f"{len(led.entries)} entries ({via['hold']} by a refused hold, {via['direct']} direct"
        f" as the buyers were told); offers made {offers}: committed"
        f" {status['committed'] + status['fulfilled']}, expired {status['expired']},"
        f" declined {status['declined']}, still held {status['offered']};"
        f" {len(seen)} offers read by their carts ({lapsed} already lapsed,"
        f" {committed_seen} committed by them);"
        f" refused at their turn {status['refused']};"
        f" cancelled {status['cancelled']} ({cancelled_by_runner} by the runner at the end)"
    )
