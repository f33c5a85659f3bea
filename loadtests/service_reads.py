"""Reads of the running service for the checks, a few requests in flight at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def gather_limited(n: int, coros: Iterable[Any]) -> list[Any]:
    sem = asyncio.Semaphore(n)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


async def availability(client: Any, skus: Iterable[str]) -> dict[str, dict]:
    async def one(sku: str) -> tuple[str, dict]:
        r = await client.get(f"/v1/availability/{sku}")
        r.raise_for_status()
        return sku, r.json()

    return dict(await gather_limited(16, (one(s) for s in sorted(set(skus)))))


async def read_reservations(client: Any, ids: Iterable[str]) -> dict[str, tuple[int, str | None]]:
    async def one(rid: str) -> tuple[str, tuple[int, str | None]]:
        r = await client.get(f"/v1/reservations/{rid}")
        return rid, (r.status_code, r.json().get("status") if r.status_code == 200 else None)

    return dict(await gather_limited(16, (one(i) for i in ids)))
