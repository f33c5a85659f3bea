"""Waitlists: joining (directly, or with `"waitlist": true` on a hold refused for lack of
stock), reading an entry and a SKU's list, and leaving.

The engine keeps who waits and makes the offers (rust_core/engine/src/waitlists.rs); the
ledger writer records every entry in `waitlist_entries`. An entry's status after its offer is
its reservation's, read from the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from litestar.response.base import ASGIResponse

from reservoir import _core
from reservoir.domain.waitlists.schemas import EntryIn, EntryOut, WaitlistOut
from reservoir.domain.writes import WriteRequest, Writes, Written
from reservoir.ledger.changes import ChangeMeta, WaitlistJoin
from reservoir.lib.auth import Identity, sees
from reservoir.lib.clock import now_ms, rfc3339, to_ms
from reservoir.lib.errors import ProblemError, invalid_input
from reservoir.lib.text import check_text

ENTRY_PREFIX = "wl_"
BUYER_LENGTH_MAX = 128  # the engine's `BUYER_BYTES_MAX`, as on a hold
CALLBACK_LENGTH_MAX = 2048
REFERENCE_TYPE = "waitlist_entry"

encode = msgspec.json.Encoder().encode

SELECT_ENTRY = """
SELECT w.id, w.sku, w.quantity, w.buyer, w.channel, w.callback, w.owner, w.created_at,
       w.reservation_id, w.offered_at, w.ended_at, w.end_reason, r.status, r.expires_at
FROM waitlist_entries w LEFT JOIN reservations r ON r.id = w.reservation_id
"""
SELECT_ONE = SELECT_ENTRY + "WHERE w.id = $1"
SELECT_WAITING = (
    SELECT_ENTRY
    + "WHERE w.id = ANY($1::int8[]) AND w.reservation_id IS NULL AND w.ended_at IS NULL"
)
# an offer's status by its reservation's
OFFER_STATUS = {
    "held": "offered",
    "committed": "committed",
    "fulfilled": "fulfilled",
    "released": "declined",
    "expired": "expired",
}


def entry_id(entry: int) -> str:
    return f"{ENTRY_PREFIX}{entry}"


def entry_number(eid: str) -> int:
    """The number inside `wl_<n>`; anything else names no entry (404)."""
    digits = eid.removeprefix(ENTRY_PREFIX)
    if eid.startswith(ENTRY_PREFIX) and digits.isdigit() and len(digits) <= 18:
        return int(digits)
    raise not_found(eid)


def not_found(eid: str) -> ProblemError:
    return ProblemError(
        404,
        "waitlist-entry-not-found",
        "Waitlist entry not found",
        f"No waitlist entry {eid!r}.",
        entry=eid,
    )


def check_entry(buyer: str | None, channel: str | None, callback: str | None) -> None:
    """Edge checks of what an entry carries, each naming its field."""
    check_text("buyer", buyer, required=True, length_max=BUYER_LENGTH_MAX)
    check_text("channel", channel)
    check_text("callback", callback, length_max=CALLBACK_LENGTH_MAX)
    if callback is not None and not callback.startswith(("http://", "https://")):
        raise invalid_input("callback", "`callback` must be an http:// or https:// URL.")


def join_entry(
    engine: _core.Engine,
    caller: Identity,
    sku: str,
    quantity: int,
    buyer: str,
    channel: str | None,
    callback: str | None,
    now: int,
) -> tuple[EntryOut, int, ChangeMeta]:
    """Puts `buyer` on `sku`'s waitlist in the engine: the entry as answered, the LSN to
    answer at, and what the ledger records with it."""
    entry, lsn, position = engine.join_waitlist(sku, quantity, now, buyer=buyer, channel=channel)
    out = EntryOut(
        id=entry_id(entry),
        sku=sku,
        quantity=quantity,
        buyer=buyer,
        status="waiting",
        created_at=rfc3339(now),
        position=position,
        channel=channel,
        callback=callback,
    )
    meta = ChangeMeta(
        caller.actor,
        reference_type=REFERENCE_TYPE,
        reference_id=out.id,
        waitlist=WaitlistJoin(caller.actor, callback),
    )
    return out, lsn, meta


async def join(
    writes: Writes,
    request: WriteRequest,
    caller: Identity,
    sku: str,
    data: EntryIn,
    channel: str | None,
) -> ASGIResponse:
    """`POST /v1/waitlists/{sku}/entries`: 201 with the entry once the ledger has it."""
    check_entry(data.buyer, data.channel, data.callback)
    write_path = writes.write_path

    def apply() -> Written:
        now = now_ms()
        out, lsn, meta = join_entry(
            write_path.engine(), caller, sku, data.quantity, data.buyer, channel, data.callback, now
        )
        return Written(201, encode(out), lsn, meta)

    return await writes.perform(request, caller, apply)


def waitlist_request(
    lines: list[tuple[str, int, str | None]], buyer: str | None
) -> tuple[str, int]:
    """What a hold with `"waitlist": true` waits for when refused: its one SKU and the units
    asked for it. Lines of several SKUs, or naming a location, cannot wait (422 naming
    `waitlist`); nor can a hold without a buyer (422 naming `buyer`)."""
    if buyer is None:
        raise invalid_input("buyer", "A hold with `waitlist: true` names its `buyer`.")
    skus = {sku for sku, _, _ in lines}
    if len(skus) != 1 or any(location is not None for _, _, location in lines):
        raise invalid_input(
            "waitlist",
            "`waitlist: true` needs lines of one SKU without a location (a waitlist is per SKU).",
        )
    return skus.pop(), sum(quantity for _, quantity, _ in lines)


def waitlisted_problem(exc: _core.InsufficientStock, entry: EntryOut) -> bytes:
    """The refused hold's 409 `insufficient-stock`, with the entry it joined."""
    shortages = [
        {"sku": sku, "requested": requested, "available": available}
        for sku, requested, available in exc.shortages
    ]
    problem = ProblemError(
        409,
        "insufficient-stock",
        "Insufficient stock",
        f"Not enough available stock; nothing was reserved. The buyer waits as {entry.id} "
        f"(position {entry.position}) and is offered the units when they come back.",
        shortages=shortages,
        waitlist_entry=msgspec.to_builtins(entry),
    )
    return encode(problem.to_body())


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A waitlist entry as the ledger has it."""

    number: int
    row: asyncpg.Record

    @property
    def owner(self) -> str | None:
        return str(self.row["owner"]) if self.row["owner"] is not None else None

    @property
    def waiting(self) -> bool:
        return self.row["reservation_id"] is None and self.row["ended_at"] is None


async def fetch(pool: asyncpg.Pool, eid: str, caller: Identity) -> StoredEntry:
    """The stored entry, or 404 (also one another key made: admin sees all)."""
    number = entry_number(eid)
    async with pool.acquire() as conn:
        row = await conn.fetchrow(SELECT_ONE, number)
    if row is None or not sees(caller, row["owner"]):
        raise not_found(eid)
    return StoredEntry(number, row)


def entry_out(row: asyncpg.Record, position: int | None, now: int) -> EntryOut:
    """The entry as the API shows it, its status from its end or its offer's reservation."""
    status = row["end_reason"] or "waiting"
    offer_expires_at = None
    if row["reservation_id"] is not None:
        expires_ms = to_ms(row["expires_at"])
        status = OFFER_STATUS.get(row["status"], row["status"])
        if status == "offered" and expires_ms <= now:
            status = "expired"
        offer_expires_at = rfc3339(expires_ms)
    return EntryOut(
        id=entry_id(row["id"]),
        sku=row["sku"],
        quantity=row["quantity"],
        buyer=row["buyer"],
        status=status,
        created_at=_time(row["created_at"]),
        position=position if status == "waiting" else None,
        channel=row["channel"],
        callback=row["callback"],
        reservation_id=row["reservation_id"],
        offered_at=_time(row["offered_at"]),
        offer_expires_at=offer_expires_at,
        ended_at=_time(row["ended_at"]),
    )


def _time(value: datetime | None) -> Any:
    return None if value is None else rfc3339(to_ms(value))


def position(engine: _core.Engine, number: int) -> int | None:
    waiting = engine.waitlist_entry(number)
    return None if waiting is None else waiting[4]


async def read(pool: asyncpg.Pool, engine: _core.Engine, eid: str, caller: Identity) -> EntryOut:
    stored = await fetch(pool, eid, caller)
    return entry_out(stored.row, position(engine, stored.number), now_ms())


async def leave(writes: Writes, request: WriteRequest, caller: Identity, eid: str) -> ASGIResponse:
    """`DELETE /v1/waitlist-entries/{id}`: a waiting entry leaves its list (200 with status
    `cancelled`); one already offered or ended is 409 `waitlist-entry-not-waiting`."""
    stored = await fetch(writes.pool, eid, caller)
    write_path = writes.write_path

    def apply() -> Written:
        engine = write_path.engine()
        if engine.waitlist_entry(stored.number) is None:
            current = entry_out(stored.row, None, now_ms())
            raise ProblemError(
                409,
                "waitlist-entry-not-waiting",
                "Waitlist entry not waiting",
                f"{eid} is {current.status}; only a waiting entry can leave"
                + (
                    f" (release {current.reservation_id} to decline the offer)."
                    if current.status == "offered"
                    else "."
                ),
                entry=eid,
                entry_status=current.status,
            )
        now = now_ms()
        lsn = engine.leave_waitlist(stored.number, now)
        out = msgspec.structs.replace(
            entry_out(stored.row, None, now), status="cancelled", ended_at=rfc3339(now)
        )
        meta = ChangeMeta(caller.actor, reference_type=REFERENCE_TYPE, reference_id=eid)
        return Written(200, encode(out), lsn, meta)

    return await writes.perform(request, caller, apply)


async def waitlist(
    pool: asyncpg.Pool, engine: _core.Engine, sku: str, caller: Identity, limit: int
) -> WaitlistOut:
    """`GET /v1/waitlists/{sku}`: how many wait and for how many units, and the caller's own
    waiting entries (admin: everyone's) in order, with their positions."""
    queue = engine.waitlist(sku, limit=engine.waiting_count())
    positions = {entry: i for i, (entry, _, _, _) in enumerate(queue, start=1)}
    units = engine.waitlisted_units(sku)
    async with pool.acquire() as conn:
        rows = await conn.fetch(SELECT_WAITING, list(positions))
    now = now_ms()
    mine = sorted(
        (row for row in rows if sees(caller, row["owner"])), key=lambda row: positions[row["id"]]
    )
    entries = [entry_out(row, positions[row["id"]], now) for row in mine[:limit]]
    return WaitlistOut(sku=sku, waiting=len(positions), units=units, entries=entries)
