"""Redis baseline: check-and-decrement in a Redis Lua script, then the durable ledger INSERT
in PostgreSQL (one statement, autocommit, synchronous_commit on); answered after it commits.
If the INSERT fails the units are given back in Redis (compensation) and the answer is 503.
Run: python benchmarks/baselines/redis_app.py --port N
"""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis
from litestar import Litestar, Response, post

from common import (
    INSERT_RESERVATION_AND_LEDGER,
    RESET_LEVEL,
    AuthHeader,
    ReservationOut,
    ReservationRequest,
    bench,
    cli,
    connect_pool,
    ledger_args,
    new_reservation,
    problem,
    readyz,
    serve,
    unauthorized,
)

PREFIX = "bench:avail:"
# All lines or none: check every key, then decrement every key. Returns {0, 0} on success,
# else {index of the short line (1-based), available there (-1: unknown key)}.
CHECK_AND_DECREMENT = """
for i = 1, #KEYS do
  local a = tonumber(redis.call('GET', KEYS[i]))
  if a == nil then return {i, -1} end
  if a < tonumber(ARGV[i]) then return {i, a} end
end
for i = 1, #KEYS do redis.call('DECRBY', KEYS[i], ARGV[i]) end
return {0, 0}
"""


@post("/v1/reservations", status_code=201)
async def reserve(data: ReservationRequest, authorization: AuthHeader) -> ReservationOut | Response:
    if denied := unauthorized(authorization):
        return denied
    out, lines = new_reservation(data)
    keys = [f"{PREFIX}{sku}:{loc}" for sku, loc, _ in lines]
    qtys = [qty for *_, qty in lines]
    short, available = await script(keys=keys, args=qtys)
    if short:
        sku, loc, qty = lines[short - 1]
        if available < 0:
            return problem(422, "Unknown SKU", f"no stock record for {sku} at {loc}")
        shortage = {"sku": sku, "requested": qty, "available": available}
        return problem(409, "Insufficient stock", "not enough stock", shortages=[shortage])
    try:
        await pool.execute(INSERT_RESERVATION_AND_LEDGER, *ledger_args(out, lines))
    except Exception:
        async with redis.pipeline(transaction=True) as p:
            for key, qty in zip(keys, qtys, strict=True):
                p.incrby(key, qty)
            await p.execute()
        return problem(503, "Ledger unavailable", "the ledger write failed; nothing was held")
    return out


@post("/admin/reset", status_code=200)
async def reset(
    authorization: AuthHeader, on_hand: int, sku: str = "HOT-1", location: str = "WH-1-A01"
) -> dict[str, int] | Response:
    if denied := unauthorized(authorization):
        return denied
    await pool.execute("TRUNCATE levels, reservations, ledger")
    await pool.execute(RESET_LEVEL, sku, location, on_hand)
    await redis.set(f"{PREFIX}{sku}:{location}", on_hand)
    return {"on_hand": on_hand}


async def startup() -> None:
    global pool, redis, script
    pool = await connect_pool(args.dsn, args.pool_size)
    conns = aioredis.BlockingConnectionPool.from_url(args.redis_url, max_connections=args.pool_size)
    redis = aioredis.Redis(connection_pool=conns)
    script = redis.register_script(CHECK_AND_DECREMENT)


async def shutdown() -> None:
    await pool.close()
    await redis.aclose()


pool: asyncpg.Pool
redis: aioredis.Redis
script: object
args = cli(__doc__.splitlines()[0], "bench_redis")
app = Litestar(
    [reserve, reset, readyz, bench.BenchController], on_startup=[startup], on_shutdown=[shutdown]
)

if __name__ == "__main__":
    serve(app, args)
