"""A PostgreSQL crash under load: the same `reservoir serve` process is ready again once
PostgreSQL is back, without a restart, and loses no acknowledged hold.

PostgreSQL runs in a private cluster of its own here (initdb/pg_ctl), so the test can crash
it with `pg_ctl stop -m immediate` without disturbing anything else."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from faults.service import free_port
from tests.integration.stock_helpers import stock

from reservoir.ledger.verify import verify

SKU, BIN = "CRASH-SKU", "CRASH-BIN"
HOLD = {"lines": [{"sku": SKU, "quantity": 1}]}
SYSTEM_PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _pg_bin() -> Path:
    """The machine's PostgreSQL 15 binaries when present, else those of the pgserver package."""
    if (SYSTEM_PG_BIN / "pg_ctl").exists():
        return SYSTEM_PG_BIN
    import pgserver

    return Path(os.path.dirname(pgserver.__file__)) / "pginstall" / "bin"


class Cluster:
    """A private PostgreSQL cluster (run as an unprivileged user when we are root)."""

    def __init__(self, directory: Path) -> None:
        self.bin = _pg_bin()
        self.pgdata = directory / "pgdata"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:  # initdb refuses to run as root
            from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

            self.user = "pgserver"
            ensure_user_exists(self.user)
            directory.mkdir(parents=True, exist_ok=True)
            ensure_prefix_permissions(directory)
            os.chmod(directory, 0o777)
        self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
            user=self.user,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.pgdata} -c listen_addresses=127.0.0.1"
        log = str(self.pgdata / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.pgdata), "-o", options, "-l", log, "-w", "-t", "120", "start"
        )

    def crash(self) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=120,
            user=self.user,
        )


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp("cluster")
    instance = Cluster(directory)
    instance.start()
    yield instance
    instance.stop()
    shutil.rmtree(directory, ignore_errors=True)


class Buyers:
    """Clients holding one unit at a time until `stop`: the acknowledged ids, the refusals
    (503 with Retry-After while PostgreSQL is down), `enough` once 50 are acknowledged."""

    def __init__(self) -> None:
        self.acknowledged: list[str] = []
        self.refused = 0
        self.stop, self.enough = asyncio.Event(), asyncio.Event()

    async def buy(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            try:
                response = await client.post("/v1/reservations", json=HOLD)
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            if response.status_code == 201:
                self.acknowledged.append(response.json()["id"])
                if len(self.acknowledged) >= 50:
                    self.enough.set()
            else:  # while PostgreSQL is down: refused, nothing acknowledged
                assert response.status_code == 503, response.text
                assert response.headers["Retry-After"] == "1"
                self.refused += 1
                await asyncio.sleep(0.05)


async def test_a_postgres_crash_is_recovered_in_the_same_process(
    cluster: Cluster, start_server: Callable[..., Any]
) -> None:
    server = start_server(cluster.url)
    stock(server, SKU, BIN, 100_000)
    assert server.process is not None
    pid = server.process.pid
    buyers_state = Buyers()
    acknowledged = buyers_state.acknowledged
    stop, enough = buyers_state.stop, buyers_state.enough
    buyer = buyers_state.buy

    clients = [server.async_client("storefront", timeout=60) for _ in range(8)]
    buyers = [asyncio.create_task(buyer(client)) for client in clients]
    try:
        await asyncio.wait_for(enough.wait(), timeout=60)
        await asyncio.to_thread(cluster.crash)  # mid-flight
        async with server.async_client() as probe:
            deadline = time.monotonic() + 60
            while (await probe.get("/readyz")).status_code == 200:
                assert time.monotonic() < deadline, "never noticed PostgreSQL was gone"
                await asyncio.sleep(0.05)
            await asyncio.sleep(1)  # down for a while, under load
            await asyncio.to_thread(cluster.start)
            deadline = time.monotonic() + 120
            while (await probe.get("/readyz")).status_code != 200:
                assert server.process.poll() is None, server.log()
                assert time.monotonic() < deadline, f"not ready again:\n{server.log()}"
                await asyncio.sleep(0.1)
        before = len(acknowledged)
        deadline = time.monotonic() + 60
        while len(acknowledged) < before + 20:  # writes are acknowledged again
            assert time.monotonic() < deadline, server.log()
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*buyers)
        for client in clients:
            await client.aclose()

    # the same process, never restarted
    assert server.process.poll() is None and server.process.pid == pid
    assert buyers_state.refused > 0
    conn = await asyncpg.connect(cluster.url)
    try:
        rows = await conn.fetch(
            "SELECT reference_id FROM ledger_entries WHERE kind = 'reserve' AND sku = $1", SKU
        )
        assert set(acknowledged) <= {r["reference_id"] for r in rows}
        assert await verify(conn) == []
    finally:
        await conn.close()
    with server.client("storefront") as storefront:
        for rid in acknowledged[-5:]:
            assert storefront.get(f"/v1/reservations/{rid}").json()["status"] == "held"
    assert server.stop() in (0, -signal.SIGTERM)
