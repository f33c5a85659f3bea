"""Recovery time: start-to-ready of `reservoir serve` on a ledger with N open holds.

Fills a fresh database with N held reservations the way real traffic would: the catalogue
rows a PUT writes, then receipts and holds applied by the real engine and written by the
real batch statement (`ledger/batch_statement.py`, as the writer does), so what
`reservoir serve` recovers from is exactly a ledger of real traffic. Checks it with
`reservoir verify`, then measures from process start to the first 200 from `/readyz`.

    .venv/bin/python benchmarks/recovery_time.py \
        --database-url postgresql://postgres@127.0.0.1:5432/postgres [--holds 1000000]

A database `reservoir_recovery_<random>` is created on that server and dropped at the end
(`--keep` keeps it). Not a test: it prints a figure, it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from flashdrop.server import free_port
from reservoir import _core
from reservoir.ledger.batch_statement import store_batch
from reservoir.ledger.fencing import bump_epoch
from reservoir.ledger.migrate import prepare_ledger
from reservoir.lib.clock import now_ms

BATCH_ROWS = 20_000
TTL_MS = 6 * 3600 * 1000  # long enough that nothing expires while measuring
READY_TIMEOUT_S = 600.0


def with_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path="/" + database))


def reservoir_command() -> list[str]:
    script = Path(sys.executable).with_name("reservoir")
    return [str(script)] if script.exists() else [sys.executable, "-m", "reservoir.cli"]


async def fill(dsn: str, holds: int, skus: int, locations: int) -> None:
    """The catalogue, one receipt per SKU and location, then `holds` one-line holds."""
    conn = await asyncpg.connect(dsn)
    try:
        await prepare_ledger(conn)
        epoch = await bump_epoch(conn)  # as a process that owns the ledger
        sku_codes = [f"SKU-{i:05d}" for i in range(skus)]
        bins = [f"BIN-{i:03d}" for i in range(locations)]
        await conn.executemany(
            "INSERT INTO items (sku, name) VALUES ($1, $1)", [(s,) for s in sku_codes]
        )
        await conn.executemany(
            "INSERT INTO locations (code, kind) VALUES ($1, 'bin')", [(b,) for b in bins]
        )
        engine = _core.Engine(_core.Limits())
        for sku in sku_codes:
            engine.define_sku(sku)
        for code in bins:
            engine.define_location(code, True)
        per_level = holds // (skus * locations) + 10
        at = now_ms()
        for sku in sku_codes:
            for code in bins:
                engine.receive(sku, code, per_level, at)
        written = 0
        started = time.monotonic()
        for i in range(holds):
            engine.reserve([(sku_codes[i % skus], 1, None)], TTL_MS, at)
            if engine.pending() >= BATCH_ROWS:
                written += await _write(conn, engine, epoch)
        while engine.pending():
            written += await _write(conn, engine, epoch)
        print(
            f"filled: {holds:,} holds over {skus} SKUs x {locations} bins "
            f"({written:,} ledger rows) in {time.monotonic() - started:.1f} s",
            flush=True,
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def _write(conn: asyncpg.Connection, engine: _core.Engine, epoch: int) -> int:
    batch = engine.drain(BATCH_ROWS)
    await store_batch(conn, batch, {}, [], epoch=epoch)
    engine.prune_finished(batch.last_lsn)
    return len(batch.rows)


def verify(env: dict[str, str]) -> None:
    result = subprocess.run(
        [*reservoir_command(), "verify"], env=env, capture_output=True, text=True, timeout=1800
    )
    print(f"reservoir verify: {(result.stdout or result.stderr).strip()}", flush=True)
    if result.returncode != 0:
        raise SystemExit("the filled ledger does not verify")


def start_to_ready(env: dict[str, str], port: int, data_dir: Path) -> float:
    """Seconds from starting `reservoir serve` to its first 200 from /readyz."""
    command = [*reservoir_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = (data_dir / "serve.log").open("wb")
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2.0) as client:
            while time.monotonic() - started < READY_TIMEOUT_S:
                if process.poll() is not None:
                    raise SystemExit(f"reservoir serve exited with {process.returncode}")
                try:
                    if client.get("/readyz").status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        raise SystemExit(f"not ready after {READY_TIMEOUT_S} s")
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


async def _admin(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("RESERVOIR_TEST_DATABASE_URL"),
        help="a PostgreSQL server to create the database on (default: RESERVOIR_TEST_DATABASE_URL)",
    )
    parser.add_argument("--holds", type=int, default=1_000_000)
    parser.add_argument("--skus", type=int, default=1_000)
    parser.add_argument("--locations", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url (or RESERVOIR_TEST_DATABASE_URL) is required")
    name = f"reservoir_recovery_{secrets.token_hex(4)}"
    dsn = with_database(args.database_url, name)
    asyncio.run(_admin(args.database_url, f'CREATE DATABASE "{name}"'))
    data_dir = Path(tempfile.mkdtemp(prefix="reservoir-recovery-"))
    try:
        asyncio.run(fill(dsn, args.holds, args.skus, args.locations))
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESERVOIR_")}
        env |= {
            "RESERVOIR_DATABASE_URL": dsn,
            "RESERVOIR_DATA_DIR": str(data_dir),
            "RESERVOIR_API_KEYS": f"admin:{secrets.token_urlsafe(18)}",
            "RESERVOIR_LOG_LEVEL": "warning",
        }
        verify(env)
        seconds = start_to_ready(env, free_port(), data_dir)
        command = " ".join(sys.argv)
        print(
            f"recovery: start-to-ready {seconds:.2f} s with {args.holds:,} open holds "
            f"(reservoir serve, process start to first 200 from /readyz)\ncommand: {command}"
        )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if not args.keep:
            asyncio.run(_admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
