"""Row-lock baseline: the design most peers use (one locked row per SKU and location).

Per request, in ONE transaction: a conditional `UPDATE levels ... RETURNING` per line, then
the reservation row and the `reserve` ledger rows; answered after COMMIT
(synchronous_commit on: durable acks). Run: python benchmarks/baselines/rowlock_app.py --port N
"""

from __future__ import annotations

import asyncpg
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

RESERVE = """
UPDATE levels SET reserved = reserved + $3
WHERE sku = $1 AND location = $2 AND on_hand - reserved - committed >= $3
RETURNING on_hand - reserved - committed
"""
AVAILABLE = "SELECT on_hand - reserved - committed FROM levels WHERE sku = $1 AND location = $2"


class Shortage(Exception):
    pass


@post("/v1/reservations", status_code=201)
async def reserve(data: ReservationRequest, authorization: AuthHeader) -> ReservationOut | Response:
    if denied := unauthorized(authorization):
        return denied
    out, lines = new_reservation(data)
    try:
        async with pool.acquire() as con, con.transaction():
            for sku, loc, qty in lines:
                if await con.fetchval(RESERVE, sku, loc, qty) is None:
                    raise Shortage(sku, loc, qty, await con.fetchval(AVAILABLE, sku, loc))
            await con.execute(INSERT_RESERVATION_AND_LEDGER, *ledger_args(out, lines))
    except Shortage as e:
        sku, loc, qty, available = e.args
        if available is None:
            return problem(422, "Unknown SKU", f"no stock record for {sku} at {loc}")
        shortage = {"sku": sku, "requested": qty, "available": available}
        return problem(409, "Insufficient stock", "not enough stock", shortages=[shortage])
    return out


@post("/admin/reset", status_code=200)
async def reset(
    authorization: AuthHeader, on_hand: int, sku: str = "HOT-1", location: str = "WH-1-A01"
) -> dict[str, int] | Response:
    if denied := unauthorized(authorization):
        return denied
    async with pool.acquire() as con, con.transaction():
        await con.execute("TRUNCATE levels, reservations, ledger")
        await con.execute(RESET_LEVEL, sku, location, on_hand)
    return {"on_hand": on_hand}


async def startup() -> None:
    global pool
    pool = await connect_pool(args.dsn, args.pool_size)


async def shutdown() -> None:
    await pool.close()


pool: asyncpg.Pool
args = cli(__doc__.splitlines()[0], "bench_rowlock")
app = Litestar(
    [reserve, reset, readyz, bench.BenchController],
    on_startup=[startup],
    on_shutdown=[shutdown],
)

if __name__ == "__main__":
    serve(app, args)
