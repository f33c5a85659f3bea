"""Drops: validation, the definition stored with the engine told in one transaction, the
reads, and the record of each transition (`drop_events`)."""

from __future__ import annotations

import asyncpg
import msgspec

from reservoir import _core
from reservoir.domain.drops.schemas import Drop, DropEvent, DropIn, PoolOut
from reservoir.ledger.write_path import WritePath
from reservoir.lib.clock import now_ms, rfc3339, to_datetime, to_ms
from reservoir.lib.codes import check_code
from reservoir.lib.errors import ProblemError, invalid_input

POOLS_MAX = 100
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
PHASES = ("not_started", "fenced", "spilled", "ended")


async def check_drop(conn: asyncpg.Connection, code: str, body: DropIn) -> None:
    """What the engine does not judge: codes, time zones, known SKU and channels."""
    check_code(code, "code")
    check_code(body.sku, "sku")
    for name in ("starts_at", "ends_at", "spill_at"):
        value = getattr(body, name)
        if value is not None and value.tzinfo is None:
            raise invalid_input(name, f"`{name}` needs a time zone (e.g. 2026-12-24T09:00:00Z).")
    if len(body.pools) > POOLS_MAX:
        raise invalid_input("pools", f"At most {POOLS_MAX} pools.")
    if await conn.fetchval("SELECT 1 FROM items WHERE sku = $1", body.sku) is None:
        raise ProblemError(
            422,
            "unknown-sku",
            "Unknown SKU",
            f"SKU {body.sku!r} is not in the catalogue.",
            field="sku",
            sku=body.sku,
        )
    channels = {r[0] for r in await conn.fetch("SELECT code FROM channels")}
    for i, pool in enumerate(body.pools):
        check_code(pool.channel, f"pools[{i}].channel")
        if channels and pool.channel not in channels:
            raise ProblemError(
                422,
                "unknown-channel",
                "Unknown channel",
                f"Channel {pool.channel!r} is not defined.",
                field=f"pools[{i}].channel",
                channel=pool.channel,
            )


async def put_drop(
    pool: asyncpg.Pool, write_path: WritePath, code: str, body: DropIn, actor: str
) -> tuple[Drop, bool]:
    """Stores the drop and tells the engine in one transaction: an engine refusal (pools
    over the stock, a bad window, a SKU in another drop) rolls the row back."""
    spill = body.spill_at or body.ends_at
    pools = [(p.channel, p.units) for p in body.pools]
    async with pool.acquire() as conn, conn.transaction():
        await check_drop(conn, code, body)
        times = (to_ms(body.starts_at), to_ms(body.ends_at), to_ms(spill))
        # the engine's refusals name the field; the table's constraints would not
        write_path.define_drop(code, body.sku, *times, body.per_buyer_max, pools, check_only=True)
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


def phase_at(starts_ms: int, spill_ms: int, ends_ms: int, at_ms: int) -> str:
    if at_ms < starts_ms:
        return "not_started"
    if at_ms < spill_ms:
        return "fenced"
    return "spilled" if at_ms < ends_ms else "ended"


def pools_now(engine: _core.Engine, code: str, fenced: bool) -> list[PoolOut]:
    return [
        PoolOut(channel, units, taken, max(0, units - taken) if fenced else 0)
        for channel, units, taken in engine.drop_pools(code) or []
    ]


def drop_of(row: asyncpg.Record, engine: _core.Engine, events: list[DropEvent]) -> Drop:
    starts, spill, ends = to_ms(row["starts_at"]), to_ms(row["spill_at"]), to_ms(row["ends_at"])
    phase = phase_at(starts, spill, ends, now_ms())
    return Drop(
        code=row["code"],
        sku=row["sku"],
        starts_at=rfc3339(starts),
        ends_at=rfc3339(ends),
        spill_at=rfc3339(spill),
        phase=phase,
        pools=pools_now(engine, row["code"], phase in ("not_started", "fenced")),
        events=events,
        created_at=rfc3339(to_ms(row["created_at"])),
        updated_at=rfc3339(to_ms(row["updated_at"])),
        per_buyer_max=row["per_buyer_max"],
    )


async def record_event(
    conn: asyncpg.Connection, engine: _core.Engine, code: str, event: str, at_ms: int, actor: str
) -> None:
    """Appends a transition with the pools as they stand (a time-driven one at most once)."""
    fenced = event in ("defined", "started")
    pools = [msgspec.structs.asdict(p) for p in pools_now(engine, code, fenced)]
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
