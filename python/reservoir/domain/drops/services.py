"""Drops: validation, the definition stored with the engine told in one transaction, the
reads, and the record of each transition (`drop_events`)."""

from __future__ import annotations

import asyncpg
import msgspec

from reservoir import _core
from reservoir.domain.channels.services import unknown_channel
from reservoir.domain.drops.schemas import Drop, DropEvent, DropIn, PoolOut
from reservoir.ledger.write_path import WritePath
from reservoir.ledger.writer import LedgerUnavailable
from reservoir.lib.clock import now_ms, rfc3339, to_datetime, to_ms
from reservoir.lib.codes import check_code
from reservoir.lib.errors import ProblemError, invalid_input

POOLS_MAX = 100
Times = tuple[int, int, int]  # starts_at, ends_at, spill_at in ms
Pools = list[tuple[str, int]]  # (channel, units)
COLUMNS = "code, sku, starts_at, ends_at, spill_at, per_buyer_max, pools, created_at, updated_at"
UPSERT = f"""
INSERT INTO drops AS d (code, sku, starts_at, ends_at, spill_at, per_buyer_max, pools)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
ON CONFLICT (code) DO UPDATE SET
    starts_at = excluded.starts_at, ends_at = excluded.ends_at, spill_at = excluded.spill_at,
    per_buyer_max = excluded.per_buyer_max, pools = excluded.pools, updated_at = now()
RETURNING {COLUMNS}, (xmax = 0) AS created
"""
INSERT_EVENT = """
INSERT INTO drop_events (code, event, at, pools, actor) VALUES ($1, $2, $3, $4::jsonb, $5)
ON CONFLICT DO NOTHING
"""


def check_drop(code: str, body: DropIn) -> None:
    """What the engine does not judge: codes and time zones (it knows the SKUs and the
    channels, and names the field of every other refusal)."""
    check_code(code, "code")
    check_code(body.sku, "sku")
    for name in ("starts_at", "ends_at", "spill_at"):
        value = getattr(body, name)
        if value is not None and value.tzinfo is None:
            raise invalid_input(name, f"`{name}` needs a time zone (e.g. 2026-12-24T09:00:00Z).")
    if len(body.pools) > POOLS_MAX:
        raise invalid_input("pools", f"At most {POOLS_MAX} pools.")
    for i, pool in enumerate(body.pools):
        check_code(pool.channel, f"pools[{i}].channel")


def check_in_engine(
    write_path: WritePath, code: str, body: DropIn, times: Times, pools: Pools
) -> None:
    """The engine's judgement of the drop, defining nothing: an unknown SKU (422
    `unknown-sku`), a bad window, pools over the stock; an undefined pool channel is named by
    its place in `pools`."""
    try:
        write_path.define_drop(code, body.sku, *times, body.per_buyer_max, pools, check_only=True)
    except _core.UnknownChannel as exc:
        i = next(i for i, (channel, _) in enumerate(pools) if channel == exc.channel)
        raise unknown_channel(exc.channel, status=422, field=f"pools[{i}].channel") from None


async def put_drop(
    pool: asyncpg.Pool, write_path: WritePath, code: str, body: DropIn, actor: str
) -> tuple[Drop, bool]:
    """Has the engine judge the drop first (pools over the stock, a bad window, a SKU in
    another drop: each refused naming its field, nothing written), then stores it, tells the
    engine and records `defined` in one transaction."""
    spill = body.spill_at or body.ends_at
    pools = [(p.channel, p.units) for p in body.pools]
    check_drop(code, body)
    times = (to_ms(body.starts_at), to_ms(body.ends_at), to_ms(spill))
    # before the row: the engine's refusals name the field, the table's constraints would not
    check_in_engine(write_path, code, body, times, pools)
    async with pool.acquire() as conn, conn.transaction():
        # stored as the engine holds them, to the millisecond, so the two agree on which
        # side of `starts_at` a hold falls
        starts_at, ends_at, spill_at = (to_datetime(ms) for ms in times)
        row = await conn.fetchrow(
            UPSERT,
            code,
            body.sku,
            starts_at,
            ends_at,
            spill_at,
            body.per_buyer_max,
            msgspec.json.encode([{"channel": c, "units": u} for c, u in pools]).decode(),
        )
        assert row is not None
        write_path.define_drop(code, body.sku, *times, body.per_buyer_max, pools)
        await record_event(conn, write_path.reader(), code, "defined", now_ms(), actor)
        events = await _events(conn, code)
    return drop_of(row, write_path.reader(), events), row["created"]


async def get_drop(pool: asyncpg.Pool, engine: _core.Engine, code: str) -> Drop | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(f"SELECT {COLUMNS} FROM drops WHERE code = $1", code)
        if row is None:
            return None
        return drop_of(row, engine, await _events(conn, code))


def drop_state(engine: _core.Engine, code: str, at_ms: int) -> tuple[str, list[PoolOut]]:
    """The drop's phase and pools at `at_ms`, as the engine judges holds by them; a drop the
    catalogue has and the engine does not is the engine and the ledger disagreeing (503)."""
    state = engine.drop_state(code, at_ms)
    if state is None:
        raise LedgerUnavailable(f"drop {code} is in the catalogue only")
    phase, pools = state
    return phase, [PoolOut(*pool) for pool in pools]


def drop_of(row: asyncpg.Record, engine: _core.Engine, events: list[DropEvent]) -> Drop:
    starts, spill, ends = to_ms(row["starts_at"]), to_ms(row["spill_at"]), to_ms(row["ends_at"])
    phase, pools = drop_state(engine, row["code"], now_ms())
    return Drop(
        code=row["code"],
        sku=row["sku"],
        starts_at=rfc3339(starts),
        ends_at=rfc3339(ends),
        spill_at=rfc3339(spill),
        phase=phase,
        pools=pools,
        events=events,
        created_at=rfc3339(to_ms(row["created_at"])),
        updated_at=rfc3339(to_ms(row["updated_at"])),
        per_buyer_max=row["per_buyer_max"],
    )


async def record_event(
    conn: asyncpg.Connection, engine: _core.Engine, code: str, event: str, at_ms: int, actor: str
) -> None:
    """Appends a transition with the pools as they stand at `at_ms` (a time-driven one at
    most once)."""
    _, state = drop_state(engine, code, at_ms)
    pools = [msgspec.structs.asdict(p) for p in state]
    pools_json = msgspec.json.encode(pools).decode()
    await conn.execute(INSERT_EVENT, code, event, to_datetime(at_ms), pools_json, actor)


async def _events(conn: asyncpg.Connection, code: str) -> list[DropEvent]:
    rows = await conn.fetch(
        "SELECT event, at, pools::text, actor FROM drop_events WHERE code = $1 ORDER BY id", code
    )
    return [
        DropEvent(r[0], rfc3339(to_ms(r[1])), msgspec.json.decode(r[2], type=list[PoolOut]), r[3])
        for r in rows
    ]


def unknown_drop(code: str) -> ProblemError:
    return ProblemError(
        404, "unknown-drop", "Unknown drop", f"No drop {code!r}.", field="drop", drop=code
    )
