"""The rig: a private PostgreSQL cluster, a private Redis and one `reservoir serve` on them,
all on 127.0.0.1, set up in a temporary directory and torn down whole (also on failure)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil

from faults.cluster import Cluster
from faults.redis_server import RedisServer
from faults.service import Service, free_port

DATABASE = "reservoir_faults"
UNITS = 1_000_000  # per cycle's SKU: far more than a cycle's load can hold


@dataclass
class Rig:
    directory: Path
    cluster: Cluster
    redis: RedisServer
    service: Service
    ready_timeout_s: float
    paused: list[psutil.Process] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return self.cluster.dsn(DATABASE)

    async def ensure_service(self) -> None:
        """A ready service for the next cycle: the one running, or a new process."""
        if self.service.alive():
            readiness = await asyncio.to_thread(self.service.wait_ready, self.ready_timeout_s)
            if readiness.ready:
                return
            await asyncio.to_thread(self.service.kill)
        await asyncio.to_thread(self.service.start)
        readiness = await asyncio.to_thread(self.service.wait_ready, self.ready_timeout_s)
        if not readiness.ready:
            raise RuntimeError(
                f"reservoir serve not ready: {readiness.describe()}\n{self.service.log_tail()}"
            )

    async def stock(self, sku: str, location: str = "FAULT-BIN") -> None:
        async with httpx.AsyncClient(base_url=self.service.base_url, timeout=30) as client:
            admin, warehouse = self.service.headers("admin"), self.service.headers("warehouse")
            answers = [
                await client.put(f"/v1/items/{sku}", json={"name": sku}, headers=admin),
                await client.put(
                    f"/v1/locations/{location}",
                    json={"kind": "bin", "sellable": True},
                    headers=admin,
                ),
                await client.post(
                    "/v1/stock/receipts",
                    json={"sku": sku, "location": location, "quantity": UNITS},
                    headers=warehouse,
                ),
            ]
        for answer in answers:
            if answer.status_code not in (200, 201):
                raise RuntimeError(f"stocking {sku}: {answer.status_code} {answer.text}")


@contextlib.contextmanager
def rig(ready_timeout_s: float, keep: bool = False) -> Iterator[Rig]:
    """Starts PostgreSQL, Redis and the service; stops every one of them on the way out."""
    directory = Path(tempfile.mkdtemp(prefix="reservoir-faults-"))
    cluster = Cluster(directory / "pg", free_port())
    redis = RedisServer(directory / "redis", free_port())
    service: Service | None = None
    the_rig: Rig | None = None
    try:
        cluster.init()
        cluster.start()
        asyncio.run(_create_database(cluster.dsn(), DATABASE))
        redis.start()
        service = Service(
            directory / "service",
            free_port(),
            cluster.dsn(DATABASE),
            RESERVOIR_REDIS_URL=redis.url,
        )
        the_rig = Rig(directory, cluster, redis, service, ready_timeout_s)
        yield the_rig
    finally:
        if the_rig is not None:
            Cluster.resume(the_rig.paused)  # a cycle that failed mid-pause
        if service is not None:
            with contextlib.suppress(Exception):
                service.stop(timeout_s=15)
        with contextlib.suppress(Exception):
            redis.stop(save=False)
        with contextlib.suppress(Exception):
            cluster.stop()
        if cluster.running():  # a clean stop failed (e.g. still paused): crash it
            with contextlib.suppress(Exception):
                cluster.crash()
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            print(f"kept {directory}")


async def _create_database(dsn: str, name: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
