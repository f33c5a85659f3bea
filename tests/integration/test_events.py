"""Ledger events through a real Redis: every acknowledged change reaches the stream
`reservoir:events`, one entry per ledger row, with its lot."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis
from tests.integration.stock_helpers import put_item, put_location

from reservoir.ledger.outbox import CHANGE_FIELDS, STREAM


async def stream_entries(client: aioredis.Redis, sku: str, count: int) -> list[dict[str, str]]:
    """The stream's entries for `sku`, once `count` of them are there (the relay polls)."""
    for _ in range(200):
        entries = [
            {k.decode(): v.decode() for k, v in fields.items()}
            for _, fields in await client.xrange(STREAM)
        ]
        mine = [e for e in entries if e["sku"] == sku]
        if len(mine) >= count:
            return mine
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {len(mine)} of {count} events for {sku} reached Redis")


async def test_acknowledged_changes_reach_the_redis_stream_with_their_lots(
    start_server, database_factory, redis_url
):
    server = start_server(database_factory(), env={"RESERVOIR_REDIS_URL": redis_url})
    sku, where = f"EVT-{uuid.uuid4().hex[:8]}", "EVT-BIN"
    with server.client("admin") as admin:
        put_item(admin, sku)
        put_location(admin, where)
    with server.client("warehouse") as warehouse:
        receipt = {"sku": sku, "location": where, "quantity": 7, "lot": "L-1"}
        assert warehouse.post("/v1/stock/receipts", json=receipt).status_code == 201
    with server.client("storefront") as storefront:
        held = storefront.post("/v1/reservations", json={"lines": [{"sku": sku, "quantity": 2}]})
        assert held.status_code == 201, held.text
    client = aioredis.from_url(redis_url)
    try:
        events = await stream_entries(client, sku, 2)
    finally:
        await client.aclose()
    assert all(set(e) == set(CHANGE_FIELDS) for e in events)
    shown = [(e["kind"], e["location"], e["quantity"], e["lot"]) for e in events]
    assert shown == [("receipt", where, "7", "L-1"), ("reserve", where, "2", "")]
    assert events[1]["reservation_id"] == held.json()["id"]
    assert int(events[0]["lsn"]) < int(events[1]["lsn"])
