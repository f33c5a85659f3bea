"""Pick lists in PostgreSQL: create with stops and allocations, read, claim, record a
confirmation. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from reservoir.domain.picklists.orders import Stop
from reservoir.domain.picklists.schemas import DiscrepancyOut, PickListOut, StopOut
from reservoir.lib.clock import rfc3339, to_ms

# pg_advisory_xact_lock(class, hashtext(warehouse)): one pick-list creation per warehouse
PICK_LIST_LOCK_CLASS = 0x7069_636B  # "pick"

INSERT_PICK_LIST = """
INSERT INTO pick_lists (id, seq, warehouse, strategy, distance_m, created_lsn, created_by)
SELECT 'pl_' || s, s, $1, $2, $3, $4, $5 FROM nextval('pick_list_seq') AS s
RETURNING id
"""
INSERT_STOPS = """
INSERT INTO pick_list_stops (pick_list_id, seq, location, sku, quantity, reservation_id, lot)
SELECT $1, * FROM unnest($2::int4[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[])
"""
INSERT_ALLOCATIONS = """
INSERT INTO pick_allocations (reservation_id, sku, location, pick_list_id, quantity)
SELECT r, s, l, $1, q FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[]) AS t(r, s, l, q)
"""
SELECT_PICK_LIST = """
SELECT id, warehouse, strategy, status, distance_m, created_lsn, created_at, claimed_by,
       claimed_at, confirmed_at
FROM pick_lists WHERE id = $1
"""
SELECT_STOPS = """
SELECT s.seq, s.location, s.sku, s.quantity, s.reservation_id, s.picked, s.lot, l.expires_on
FROM pick_list_stops s LEFT JOIN lots l ON l.sku = s.sku AND l.lot = s.lot
WHERE s.pick_list_id = $1 ORDER BY s.seq
"""
SELECT_DISCREPANCIES = """
SELECT seq, reservation_id, sku, location, expected, picked, recorded_at, reallocated_to
FROM pick_discrepancies WHERE pick_list_id = $1 ORDER BY seq
"""
CLAIM_OLDEST_OPEN = """
UPDATE pick_lists p SET status = 'claimed', claimed_by = $2, claimed_at = now()
WHERE p.id = (
    SELECT id FROM pick_lists WHERE warehouse = $1 AND status = 'open'
    ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
  AND p.status = 'open'
RETURNING p.id
"""
ANY_OPEN = "SELECT EXISTS (SELECT 1 FROM pick_lists WHERE warehouse = $1 AND status = 'open')"
MARK_CONFIRMED = """
UPDATE pick_lists SET status = 'confirmed', confirmed_by = $2,
    confirmed_at = 'epoch'::timestamptz + $3 * interval '1 millisecond'
WHERE id = $1
"""
SET_PICKED = """
UPDATE pick_list_stops s SET picked = t.picked
FROM unnest($2::int4[], $3::int8[]) AS t(seq, picked)
WHERE s.pick_list_id = $1 AND s.seq = t.seq
"""
INSERT_DISCREPANCIES = """
INSERT INTO pick_discrepancies
    (pick_list_id, seq, reservation_id, sku, location, expected, picked, recorded_by,
     recorded_at, reallocated_to)
SELECT $1, seq, r, s, l, e, p, $7, 'epoch'::timestamptz + $8 * interval '1 millisecond', m
FROM unnest($2::int4[], $3::text[], $4::text[], $5::text[], $6::int8[], $9::int8[],
            $10::text[])
    AS t(seq, r, s, l, e, p, m)
"""
RELEASE_ALLOCATIONS = "DELETE FROM pick_allocations WHERE pick_list_id = $1"


@dataclass(frozen=True, slots=True)
class StoredStop:
    seq: int
    location: str
    sku: str
    quantity: int
    reservation_id: str
    picked: int | None
    lot: str | None = None
    expires_on: date | None = None


@dataclass(frozen=True, slots=True)
class StoredList:
    id: str
    warehouse: str
    strategy: str
    status: str
    distance_m: float
    created_lsn: int
    created_at: datetime
    claimed_by: str | None
    claimed_at: datetime | None
    confirmed_at: datetime | None
    stops: tuple[StoredStop, ...]


async def lock_warehouse(conn: asyncpg.Connection, warehouse: str) -> None:
    """Serialises pick-list creation per warehouse for the rest of the transaction."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1::int4, hashtext($2))", PICK_LIST_LOCK_CLASS, warehouse
    )


async def insert(
    conn: asyncpg.Connection,
    *,
    warehouse: str,
    strategy: str,
    distance_m: float,
    created_lsn: int,
    created_by: str,
    stops: Sequence[Stop],
) -> str:
    """Stores a new open list, its stops (seq 1.. in route order) and their allocations
    (one per reservation, SKU and bin, whatever lots its stops take there)."""
    pick_list_id: str = await conn.fetchval(
        INSERT_PICK_LIST, warehouse, strategy, distance_m, created_lsn, created_by
    )
    await conn.execute(
        INSERT_STOPS,
        pick_list_id,
        list(range(1, len(stops) + 1)),
        [s.location for s in stops],
        [s.sku for s in stops],
        [s.quantity for s in stops],
        [s.reservation_id for s in stops],
        [s.lot for s in stops],
    )
    allocated: dict[tuple[str, str, str], int] = {}
    for s in stops:
        key = (s.reservation_id, s.sku, s.location)
        allocated[key] = allocated.get(key, 0) + s.quantity
    await conn.execute(
        INSERT_ALLOCATIONS,
        pick_list_id,
        [k[0] for k in allocated],
        [k[1] for k in allocated],
        [k[2] for k in allocated],
        list(allocated.values()),
    )
    return pick_list_id


async def load(
    conn: asyncpg.Connection, pick_list_id: str, *, for_update: bool = False
) -> StoredList | None:
    row = await conn.fetchrow(
        SELECT_PICK_LIST + (" FOR UPDATE" if for_update else ""), pick_list_id
    )
    if row is None:
        return None
    stops = tuple(StoredStop(*r) for r in await conn.fetch(SELECT_STOPS, pick_list_id))
    (pl_id, warehouse, strategy, status, distance_m, created_lsn, created_at, *claim) = row
    claimed_by, claimed_at, confirmed_at = claim
    return StoredList(
        pl_id,
        warehouse,
        strategy,
        status,
        distance_m,
        created_lsn,
        created_at,
        claimed_by,
        claimed_at,
        confirmed_at,
        stops=stops,
    )


async def claim_oldest(conn: asyncpg.Connection, warehouse: str, claimer: str) -> str | None:
    """Claims the oldest open list of `warehouse` for `claimer`; None when there is none.
    Lists other transactions are claiming are skipped, never waited for or shared."""
    for _ in range(3):  # a list claimed meanwhile may hide the next one for one statement
        pick_list_id: str | None = await conn.fetchval(CLAIM_OLDEST_OPEN, warehouse, claimer)
        if pick_list_id is not None or not await conn.fetchval(ANY_OPEN, warehouse):
            return pick_list_id
    return None


async def record_confirmation(
    conn: asyncpg.Connection,
    pick_list: StoredList,
    picked: Sequence[int],
    short: Sequence[int],
    actor: str,
    at_ms: int,
    reallocated: Mapping[int, str | None] | None = None,
) -> None:
    """Marks the list confirmed with `picked[i]` for stop i, records the stops listed in
    `short` (indices) as discrepancies (with where each shortfall went, `reallocated`),
    and ends the list's allocations."""
    stops = pick_list.stops
    await conn.execute(MARK_CONFIRMED, pick_list.id, actor, at_ms)
    await conn.execute(SET_PICKED, pick_list.id, [s.seq for s in stops], list(picked))
    if short:
        await conn.execute(
            INSERT_DISCREPANCIES,
            pick_list.id,
            [stops[i].seq for i in short],
            [stops[i].reservation_id for i in short],
            [stops[i].sku for i in short],
            [stops[i].location for i in short],
            [stops[i].quantity for i in short],
            actor,
            at_ms,
            [picked[i] for i in short],
            [(reallocated or {}).get(i) for i in short],
        )
    await conn.execute(RELEASE_ALLOCATIONS, pick_list.id)


async def render(conn: asyncpg.Connection, pick_list: StoredList) -> PickListOut:
    """The list as the API shows it (discrepancies once confirmed)."""
    discrepancies = None
    lots = {s.seq: s.lot for s in pick_list.stops}
    if pick_list.status == "confirmed":
        discrepancies = [
            DiscrepancyOut(
                seq, rid, sku, loc, expected, picked, rfc3339(to_ms(at)), moved, lots.get(seq)
            )
            for seq, rid, sku, loc, expected, picked, at, moved in await conn.fetch(
                SELECT_DISCREPANCIES, pick_list.id
            )
        ]
    return PickListOut(
        id=pick_list.id,
        warehouse=pick_list.warehouse,
        strategy=pick_list.strategy,
        status=pick_list.status,
        distance=round(pick_list.distance_m, 3),
        created_at=rfc3339(to_ms(pick_list.created_at)),
        stops=[
            StopOut(
                s.seq,
                s.location,
                s.sku,
                s.quantity,
                s.reservation_id,
                s.picked,
                s.lot,
                None if s.expires_on is None else s.expires_on.isoformat(),
            )
            for s in pick_list.stops
        ],
        claimed_by=pick_list.claimed_by,
        claimed_at=_time(pick_list.claimed_at),
        confirmed_at=_time(pick_list.confirmed_at),
        discrepancies=discrepancies,
    )


def _time(value: datetime | None) -> str | None:
    return None if value is None else rfc3339(to_ms(value))
