"""One writer per ledger, with fencing: a process that lost the ledger lock can never write
after another one took it. The batch statement on real PostgreSQL, and a forced hand-over
between two real `reservoir serve` processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from tests.integration.stock_helpers import stock

from reservoir import _core
from reservoir.ledger.batch_statement import store_batch
from reservoir.ledger.changes import IdempotencyRecord
from reservoir.ledger.fencing import LedgerFenced, bump_epoch
from reservoir.ledger.migrate import prepare_ledger
from reservoir.ledger.verify import verify

SKU, BIN = "FENCE-SKU", "FENCE-BIN"
HOLD = {"lines": [{"sku": SKU, "quantity": 1}]}


def _record(key: str) -> IdempotencyRecord:
    return IdempotencyRecord("storefront", key, "hash", 201, b"{}")


async def test_a_batch_of_a_stale_epoch_writes_nothing(
    database_factory: Callable[[], str],
) -> None:
    conn = await asyncpg.connect(database_factory())
    try:
        await prepare_ledger(conn)
        old = await bump_epoch(conn)
        new = await bump_epoch(conn)  # a successor took the ledger over
        assert new == old + 1
        empty = _core.Engine(_core.Limits()).drain(10)
        with pytest.raises(LedgerFenced, match="another process owns the ledger"):
            await store_batch(conn, empty, {}, [_record("stale")], epoch=old)
        await store_batch(conn, empty, {}, [_record("current")], epoch=new)
        keys = await conn.fetch("SELECT key FROM idempotency_keys ORDER BY key")
        assert [r["key"] for r in keys] == ["current"]
        assert await conn.fetchval("SELECT epoch FROM ledger_head") == new
    finally:
        await conn.close()


async def _lock_backend(conn: asyncpg.Connection, pid: int) -> int | None:
    backend: int | None = await conn.fetchval(
        "SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1",
        f"reservoir-ledger-lock pid={pid} %",
    )
    return backend


async def _wait_for(check: Callable[[], Any], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


async def test_a_forced_hand_over_fences_the_old_owner(
    start_server: Callable[..., Any],
    database_factory: Callable[[], str],
    run_reservoir: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    url = database_factory()
    a = start_server(url)
    stock(a, SKU, BIN, 100_000)
    db = await asyncpg.connect(url)
    acknowledged: list[str] = []
    try:
        # A serves; buyers keep holds in flight against it
        stop, enough = asyncio.Event(), asyncio.Event()

        async def buyer(client: httpx.AsyncClient) -> None:
            while not stop.is_set():
                try:
                    response = await client.post("/v1/reservations", json=HOLD)
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
                    continue
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])
                    if len(acknowledged) >= 50:
                        enough.set()
                else:
                    assert response.status_code == 503, response.text
                    await asyncio.sleep(0.05)

        clients = [a.async_client("storefront", timeout=60) for _ in range(8)]
        buyers = [asyncio.create_task(buyer(client)) for client in clients]
        await asyncio.wait_for(enough.wait(), timeout=60)

        # A is frozen (think: a long pause) and its lock is taken from it
        assert a.process is not None
        a_pid = a.process.pid
        backend = await _lock_backend(db, a_pid)
        assert backend is not None
        os.kill(a_pid, signal.SIGSTOP)
        try:
            assert await db.fetchval("SELECT pg_terminate_backend($1)", backend)

            async def gone() -> bool:
                return await _lock_backend(db, a_pid) is None

            await _wait_for(gone, 30, "A's lock backend to go")
            # B starts and takes the ledger over while A still has holds in flight
            b = await asyncio.to_thread(
                start_server, url, api_keys=a.keys, data_dir=a.data_dir / "b"
            )
            takeover_lsn = await db.fetchval("SELECT lsn FROM ledger_head")
        finally:
            os.kill(a_pid, signal.SIGCONT)

        # A wakes up: its holds in flight are fenced or refused, and it exits non-zero
        assert await asyncio.to_thread(a.process.wait, 60) == 1
        stop.set()
        await asyncio.gather(*buyers)
        for client in clients:
            await client.aclose()
        log = a.log()
        assert "stopping: another reservoir process owns this ledger" in log
        assert "reservoir: stopped: another reservoir process owns this ledger" in log

        # B serves, and no row A wrote reached the ledger after B took it over
        with b.client("storefront") as storefront:
            assert storefront.get("/readyz").status_code == 200
            response = storefront.post("/v1/reservations", json=HOLD)
            assert response.status_code == 201, response.text
            b_hold = response.json()["id"]
        after = await db.fetch(
            "SELECT kind, reference_id FROM ledger_entries WHERE lsn > $1", takeover_lsn
        )
        assert [(r["kind"], r["reference_id"]) for r in after] == [("reserve", b_hold)]
        acknowledged.append(b_hold)

        # every hold either process acknowledged is in the ledger, and the ledger is sound
        rows = await db.fetch(
            "SELECT reference_id FROM ledger_entries WHERE kind = 'reserve' AND sku = $1", SKU
        )
        assert set(acknowledged) <= {r["reference_id"] for r in rows}
        assert await verify(db) == []
        result = run_reservoir("verify", "--server", b.base_url, env=b.env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "the engine at" in result.stdout
        assert b.stop() in (0, -signal.SIGTERM)
    finally:
        await db.close()
