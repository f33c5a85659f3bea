"""Confirming a pick list: check every pick against the list and the engine first, then ship
each reservation's picked units through the engine (one call per reservation), so a refused
confirmation changes nothing.

A stop's units ship from the lot it names. Where that lot no longer has them at the bin (a
transfer or a count since the list was made), the rest ships from the bin's other units,
oldest lot first, then unlotted ones: the units the picker took there. More than the bin
holds is refused (a count must record the loss first). The engine decides both which lots
ship (`Engine.lots_to_ship`) and where a short pick's missing units go
(`Engine.reallocate_spare`); this module checks the picks against the list, calls it and
records what it did.

An interrupted confirmation (ledger has the `ship` entries, the list was not marked) is
recognised by `ship` entries of the list's stops after the LSN the list was created at (no
other list can hold those units meanwhile) and settled from the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from reservoir import _core
from reservoir.domain.picklists import problems, store
from reservoir.domain.picklists.schemas import (
    DiscrepancyOut,
    PickIn,
    PickListOut,
    ReservationStatusOut,
)
from reservoir.ledger.changes import SYSTEM_ACTOR
from reservoir.lib.clock import now_ms, rfc3339
from reservoir.lib.errors import backpressure

Line = tuple[str, str, int, str | None]  # (sku, location, quantity, lot)


@dataclass(slots=True)
class Plan:
    """What a confirmation ships and records."""

    pick_list: store.StoredList
    picked: list[int]  # per stop (index-aligned with pick_list.stops)
    short: list[int]  # indices of stops recorded as discrepancies
    ships: dict[str, list[Line]] = field(default_factory=dict)  # reservation -> lines
    untouched: list[str] = field(default_factory=list)  # reservations nothing ships for
    # short stop index -> the bin its shortfall is now committed at (None: none had enough)
    reallocated: dict[int, str | None] = field(default_factory=dict)


def picked_per_stop(stops: Sequence[store.StoredStop], picks: Sequence[PickIn]) -> list[int]:
    """Quantities picked, one per stop; every stop confirmed exactly once."""
    index = {s.seq: i for i, s in enumerate(stops)}
    picked: list[int | None] = [None] * len(stops)
    for n, pick in enumerate(picks):
        i = index.get(pick.seq)
        if i is None:
            raise problems.bad_pick(f"picks[{n}].seq", f"The list has no stop {pick.seq}.")
        if picked[i] is not None:
            raise problems.bad_pick(f"picks[{n}].seq", f"Stop {pick.seq} is confirmed twice.")
        if not 0 <= pick.quantity <= stops[i].quantity:
            raise problems.bad_pick(
                f"picks[{n}].quantity",
                f"Stop {pick.seq} asks for {stops[i].quantity}; picked must be "
                f"0..{stops[i].quantity}.",
            )
        picked[i] = pick.quantity
    missing = [stops[i].seq for i, q in enumerate(picked) if q is None]
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (", …" if len(missing) > 20 else "")
        raise problems.bad_pick("picks", f"Every stop must be confirmed; missing seq {shown}.")
    return [q or 0 for q in picked]


def plan(
    pick_list: store.StoredList, picks: Sequence[PickIn], engine: _core.Engine, log_room: int
) -> Plan:
    """Checks the picks against the list and the engine; refuses (changing nothing) if any
    reservation could not ship what was picked."""
    if pick_list.status == "confirmed":
        raise problems.already_confirmed(pick_list.id)
    stops = pick_list.stops
    picked = picked_per_stop(stops, picks)
    field_of = {s.seq: f"picks[{n}].quantity" for n, s in enumerate(picks)}
    result = Plan(pick_list, picked, short=[])
    statuses: dict[str, str | None] = {}
    for i, stop in enumerate(stops):
        rid = stop.reservation_id
        if rid not in statuses:
            current = engine.get(rid)
            statuses[rid] = None if current is None else current.status
        committed = statuses[rid] == "committed"
        if picked[i] < stop.quantity and committed:
            result.short.append(i)
        if picked[i] == 0:
            continue
        if not committed:
            raise problems.cannot_ship(
                field_of[stop.seq],
                f"Reservation {rid!r} is {statuses[rid] or 'no longer open'}: put stop "
                f"{stop.seq}'s units back and confirm 0 for it.",
                reservation_id=rid,
            )
        result.ships.setdefault(rid, []).append((stop.sku, stop.location, picked[i], stop.lot))
    result.untouched = [rid for rid in statuses if rid not in result.ships]
    _ship_from_lots_on_hand(result, engine, field_of)
    # one log entry per reservation shipped and per short stop's reallocation
    if len(result.ships) + len(result.short) > log_room:
        raise backpressure()
    return result


def _ship_from_lots_on_hand(result: Plan, engine: _core.Engine, field_of: dict[int, str]) -> None:
    """Resolves every ship line against the units at its bin now: the engine says which lots
    each pick ships, over the whole confirmation at once (`Engine.lots_to_ship`; see the
    module), and refuses a pick of more than the bin holds."""
    picks = [(rid, line) for rid, lines in result.ships.items() for line in lines]
    lots, short = engine.lots_to_ship([line for _, line in picks])
    if short is not None:
        pick, on_hand = short
        rid, (sku, location, quantity, _) = picks[pick]
        seq = next(
            st.seq
            for st in result.pick_list.stops
            if (st.reservation_id, st.sku, st.location) == (rid, sku, location)
        )
        raise problems.cannot_ship(
            field_of[seq],
            f"{quantity} of {sku} picked at {location}, but only {on_hand} of "
            "them are on hand there: record a stock adjustment first.",
            sku=sku,
            location=location,
        )
    ships: dict[str, list[Line]] = {rid: [] for rid in result.ships}
    for (rid, (sku, location, _, _)), shipped in zip(picks, lots, strict=True):
        ships[rid] += [(sku, location, units, lot) for lot, units in shipped]
    result.ships = ships


def ship(engine: _core.Engine, confirmed: Plan, at_ms: int) -> tuple[list[int], dict[str, str]]:
    """Ships every reservation's picks (no await: one atomic step for the event loop).
    Returns the LSNs to wait for and each reservation's status afterwards."""
    lsns: list[int] = []
    statuses: dict[str, str] = {}
    for rid, lines in confirmed.ships.items():
        out = engine.ship(rid, lines, at_ms)
        lsns.append(out.lsn)
        statuses[rid] = out.status
    for rid in confirmed.untouched:
        current = engine.get(rid)
        statuses[rid] = current.status if current is not None else "released"
    lsns += reallocate_shortfalls(engine, confirmed, at_ms)
    return lsns, statuses


def reallocate_shortfalls(engine: _core.Engine, confirmed: Plan, at_ms: int) -> list[int]:
    """Moves each short stop's missing units to the sellable bin the engine picks (the first
    in its allocation order with enough to spare, never one where this confirmation just came
    up short), so a later list can pick them there; where no bin has enough, they stay
    (reported)."""
    lsns = []
    short_bins = {
        (confirmed.pick_list.stops[i].sku, confirmed.pick_list.stops[i].location)
        for i in confirmed.short
    }
    for i in confirmed.short:
        stop = confirmed.pick_list.stops[i]
        shortfall = stop.quantity - confirmed.picked[i]
        if engine.get(stop.reservation_id) is None:
            confirmed.reallocated[i] = None
            continue
        exclude = sorted(location for sku, location in short_bins if sku == stop.sku)
        moved = engine.reallocate_spare(
            stop.reservation_id, stop.sku, stop.location, exclude, shortfall, at_ms
        )
        if moved is None:
            confirmed.reallocated[i] = None
            continue
        target, out = moved
        lsns.append(out.lsn)
        confirmed.reallocated[i] = target
    return lsns


def confirmed_view(
    shown: PickListOut, confirmed: Plan, at_ms: int, statuses: dict[str, str]
) -> PickListOut:
    """`shown` (the list before) as it reads once the confirmation is recorded, with each
    reservation's status after shipping."""
    at = rfc3339(at_ms)
    stops = confirmed.pick_list.stops
    shown.status = "confirmed"
    shown.confirmed_at = at
    for stop_out, picked in zip(shown.stops, confirmed.picked, strict=True):
        stop_out.picked = picked
    shown.discrepancies = [
        DiscrepancyOut(
            stops[i].seq,
            stops[i].reservation_id,
            stops[i].sku,
            stops[i].location,
            stops[i].quantity,
            confirmed.picked[i],
            at,
            confirmed.reallocated.get(i),
            stops[i].lot,
        )
        for i in confirmed.short
    ]
    shown.reservations = [ReservationStatusOut(rid, status) for rid, status in statuses.items()]
    return shown


SELECT_SHIPPED_SINCE = """
SELECT reference_id, sku, location, lot, sum(quantity)::int8 FROM ledger_entries
WHERE kind = 'ship' AND reference_type = 'reservation' AND reference_id = ANY($1::text[])
  AND lsn > $2
GROUP BY 1, 2, 3, 4
"""


async def settle_interrupted(pool: asyncpg.Pool, pick_list_id: str) -> None:
    """Marks a list confirmed from the ledger if its picks were shipped but the list was not
    marked (the process stopped in between)."""
    status = await pool.fetchval("SELECT status FROM pick_lists WHERE id = $1", pick_list_id)
    if status is None or status == "confirmed":
        return
    async with pool.acquire() as conn, conn.transaction():
        pick_list = await store.load(conn, pick_list_id, for_update=True)
        if pick_list is None or pick_list.status == "confirmed":
            return
        rids = sorted({s.reservation_id for s in pick_list.stops})
        rows = await conn.fetch(SELECT_SHIPPED_SINCE, rids, pick_list.created_lsn)
        if not rows:
            return
        # Each stop first gets what shipped of its own lot, then (a pick may have shipped
        # another lot than its stop's) what is left for its reservation, SKU and bin.
        shipped = {(r[0], r[1], r[2], r[3]): r[4] for r in rows}
        picked = []
        for s in pick_list.stops:
            key = (s.reservation_id, s.sku, s.location, s.lot)
            take = min(shipped.get(key, 0), s.quantity)
            shipped[key] = shipped.get(key, 0) - take
            picked.append(take)
        for i, s in enumerate(pick_list.stops):
            for key in [k for k in shipped if k[:3] == (s.reservation_id, s.sku, s.location)]:
                take = min(shipped[key], s.quantity - picked[i])
                shipped[key] -= take
                picked[i] += take
        short = [i for i, s in enumerate(pick_list.stops) if picked[i] < s.quantity]
        await store.record_confirmation(conn, pick_list, picked, short, SYSTEM_ACTOR, now_ms())
