"""What the two baseline apps share: the reservation API shape (the very Structs of
reservoir.server.bench), auth, problem+json answers, the schema, the server settings."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import msgspec
import uvicorn
from litestar import Response, get
from litestar.params import Parameter

_BENCH_PY = Path(__file__).resolve().parents[2] / "python/reservoir/server/bench.py"
_spec = importlib.util.spec_from_file_location("reservoir_bench_endpoints", _BENCH_PY)
assert _spec and _spec.loader
bench = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)  # by path: no import of the (growing) reservoir.server package

ReservationLine = bench.ReservationLine
ReservationRequest = bench.ReservationRequest
ReservationOut = bench.ReservationOut

API_KEY = os.environ.get("BENCH_API_KEY", "bench-key")
DEFAULT_LOCATION = os.environ.get("BENCH_DEFAULT_LOCATION", "WH-1-A01")
AuthHeader = Annotated[str | None, Parameter(header="Authorization", required=False)]

SCHEMA = """
CREATE TABLE IF NOT EXISTS levels (
  sku text NOT NULL, location text NOT NULL, on_hand bigint NOT NULL,
  reserved bigint NOT NULL DEFAULT 0, committed bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (sku, location));
CREATE TABLE IF NOT EXISTS reservations (
  id uuid PRIMARY KEY, status text NOT NULL, lines jsonb NOT NULL,
  expires_at timestamptz NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (
  id bigserial PRIMARY KEY, at timestamptz NOT NULL, sku text NOT NULL, location text NOT NULL,
  kind text NOT NULL, quantity bigint NOT NULL, reference_type text NOT NULL,
  reference_id uuid NOT NULL);
"""
RESET_LEVEL = "INSERT INTO levels (sku, location, on_hand) VALUES ($1, $2, $3)"
INSERT_RESERVATION_AND_LEDGER = """
WITH r AS (INSERT INTO reservations (id, status, lines, expires_at, created_at)
           VALUES ($1, 'held', $2::text::jsonb, $3, $4))
INSERT INTO ledger (at, sku, location, kind, quantity, reference_type, reference_id)
SELECT $4, s, l, 'reserve', q, 'reservation', $1
FROM unnest($5::text[], $6::text[], $7::bigint[]) AS t(s, l, q)
"""


def problem(status: int, title: str, detail: str, **extra: object) -> Response:
    kind = title.lower().replace(" ", "-")
    body = {"type": f"urn:reservoir:problem:{kind}", "title": title, "status": status}
    body |= {"detail": detail, **extra}
    return Response(
        msgspec.json.encode(body), status_code=status, media_type="application/problem+json"
    )


def unauthorized(authorization: str | None) -> Response | None:
    if authorization == f"Bearer {API_KEY}":
        return None
    return problem(401, "Unauthorized", "missing or unknown API key")


def new_reservation(data: ReservationRequest) -> tuple[ReservationOut, list[tuple[str, str, int]]]:
    """The answer, and its (sku, location, quantity) lines merged and sorted (lock order)."""
    merged: dict[tuple[str, str], int] = {}
    for ln in data.lines:
        key = (ln.sku, ln.location or DEFAULT_LOCATION)
        merged[key] = merged.get(key, 0) + ln.quantity
    now = datetime.now(UTC)
    out = ReservationOut(
        id=str(uuid.uuid4()),
        status="held",
        lines=[ReservationLine(sku=s, quantity=q, location=loc) for (s, loc), q in merged.items()],
        expires_at=now + timedelta(seconds=data.ttl_seconds),
        created_at=now,
        channel=data.channel,
        reference=data.reference,
    )
    return out, sorted((s, loc, q) for (s, loc), q in merged.items())


def ledger_args(out: ReservationOut, lines: list[tuple[str, str, int]]) -> tuple:
    enc = msgspec.json.encode(out.lines).decode()
    return (out.id, enc, out.expires_at, out.created_at, *map(list, zip(*lines, strict=True)))


async def connect_pool(dsn: str, size: int) -> asyncpg.Pool:
    """Create the database named in `dsn` if missing, apply the schema, return a pool."""
    try:
        con = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        base, _, name = dsn.rpartition("/")
        admin = await asyncpg.connect(f"{base}/postgres")
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        con = await asyncpg.connect(dsn)
    try:
        await con.execute(SCHEMA)
    finally:
        await con.close()
    return await asyncpg.create_pool(dsn, min_size=size, max_size=size)


@get("/readyz", sync_to_thread=False)
def readyz() -> dict[str, str]:
    return {"status": "ready"}


def cli(description: str, default_db: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--dsn", default=f"postgresql://postgres@127.0.0.1:5432/{default_db}")
    p.add_argument("--pool-size", type=int, default=int(os.environ.get("BENCH_POOL_SIZE", "32")))
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    return p.parse_args()


def serve(app: Any, args: argparse.Namespace) -> None:
    """One process, uvloop + httptools, no access log, the same keep-alive: as `reservoir
    serve` (cli.py) runs. `app` is any ASGI app (a Litestar one, or the raw ceiling)."""
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        server_header=False,
        log_level="warning",
        timeout_graceful_shutdown=10,
        timeout_keep_alive=75,  # reservoir's keep_alive_seconds default
    )
