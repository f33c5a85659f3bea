"""Faults: kill -9 under load, holds that lapse while the server is down, and a ledger that
refuses writes. No acknowledged write is lost; nothing unacknowledged is half-applied."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import pytest
from tests.integration.stock_helpers import ledger_count, level, stock

from reservoir.ledger.verify import verify

SKU, BIN = "DUR-SKU", "DUR-BIN"


@pytest.fixture(scope="module")
def own_server(start_server, database_factory):
    """A server of this module's own: these tests kill and restart it."""
    server = start_server(database_factory())
    stock(server, SKU, BIN, 100_000)
    yield server
    server.stop()


@pytest.fixture
async def db(own_server):
    conn = await asyncpg.connect(own_server.database_url)
    yield conn
    await conn.close()


async def test_kill_9_under_load_loses_no_acknowledged_hold(own_server, db):
    acknowledged: list[str] = []
    stop, enough = asyncio.Event(), asyncio.Event()

    async def buyer(client: httpx.AsyncClient) -> None:
        body = {"lines": [{"sku": SKU, "quantity": 1}]}
        while not stop.is_set():
            try:
                response = await client.post("/v1/reservations", json=body)
            except httpx.TransportError:
                return  # the server is gone
            if response.status_code == 201:
                acknowledged.append(response.json()["id"])
                if len(acknowledged) >= 300:
                    enough.set()

    clients = [own_server.async_client("storefront", timeout=10) for _ in range(16)]
    buyers = [asyncio.create_task(buyer(client)) for client in clients]
    await asyncio.wait_for(enough.wait(), timeout=60)
    await asyncio.to_thread(own_server.kill)  # mid-flight: requests are in every state
    stop.set()
    await asyncio.gather(*buyers)
    for client in clients:
        await client.aclose()

    await asyncio.to_thread(own_server.start)
    with own_server.client("storefront") as storefront:
        for rid in acknowledged:
            response = storefront.get(f"/v1/reservations/{rid}")
            assert response.status_code == 200, rid
            assert response.json()["status"] == "held"
    rows = await db.fetch(
        "SELECT reference_id FROM ledger_entries WHERE kind = 'reserve' AND sku = $1", SKU
    )
    assert set(acknowledged) <= {r["reference_id"] for r in rows}
    on_hand, reserved, _ = await level(db, SKU, BIN)
    assert reserved == len(rows) >= len(acknowledged)
    assert reserved <= on_hand
    assert await verify(db) == []


async def test_a_hold_that_lapses_while_the_server_is_down_is_expired_at_restart(own_server, db):
    with own_server.client("storefront") as storefront:
        body = {"lines": [{"sku": SKU, "quantity": 7}], "ttl_seconds": 1}
        rid = storefront.post("/v1/reservations", json=body).json()["id"]
    reserved = (await level(db, SKU, BIN))[1]
    await asyncio.to_thread(own_server.stop)
    await asyncio.sleep(1.2)
    assert await ledger_count(db, reference_id=rid, kind="expire") == 0, "nobody expired it yet"
    await asyncio.to_thread(own_server.start)
    # Ready means recovered: the lapsed hold is already an `expire` entry in the ledger.
    assert await ledger_count(db, reference_id=rid, kind="expire") == 1
    assert (await level(db, SKU, BIN))[1] == reserved - 7
    with own_server.client("storefront") as storefront:
        assert storefront.get(f"/v1/reservations/{rid}").json()["status"] == "expired"
    assert await verify(db) == []


async def test_idempotent_answers_survive_a_restart(own_server, db):
    body = {"lines": [{"sku": SKU, "quantity": 1}], "reference": "cart-restart"}
    headers = {"Idempotency-Key": "restart-key-1"}
    with own_server.client("storefront") as storefront:
        first = storefront.post("/v1/reservations", json=body, headers=headers)
    assert first.status_code == 201
    await asyncio.to_thread(own_server.restart, kill=True)
    with own_server.client("storefront") as storefront:
        again = storefront.post("/v1/reservations", json=body, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await ledger_count(db, reference_id=first.json()["id"], kind="reserve") == 1


INJECT_FAULT = """
CREATE OR REPLACE FUNCTION test_injected_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'injected fault: the ledger refuses writes'; END $$;
CREATE TRIGGER test_injected_fault BEFORE UPDATE ON ledger_head
    FOR EACH ROW EXECUTE FUNCTION test_injected_fault();
"""
REMOVE_FAULT = "DROP TRIGGER test_injected_fault ON ledger_head"


async def test_a_failed_ledger_write_is_never_acknowledged_and_the_engine_is_rebuilt(
    own_server, db
):
    with own_server.client("storefront") as storefront:
        available = storefront.get(f"/v1/availability/{SKU}").json()["available"]
        entries = await ledger_count(db)
        await db.execute(INJECT_FAULT)
        try:
            body = {"lines": [{"sku": SKU, "quantity": 5}]}
            for _ in range(5):
                response = storefront.post("/v1/reservations", json=body)
                assert response.status_code == 503, response.text
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.headers["Retry-After"] == "1"
            assert await ledger_count(db) == entries
        finally:
            await db.execute(REMOVE_FAULT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if own_server.client().get("/readyz").status_code == 200:
                availability = storefront.get(f"/v1/availability/{SKU}").json()
                if availability["available"] == available:
                    break
            await asyncio.sleep(0.05)
        # The rebuilt engine holds none of the refused reservations.
        assert storefront.get(f"/v1/availability/{SKU}").json()["available"] == available
        response = storefront.post(
            "/v1/reservations", json={"lines": [{"sku": SKU, "quantity": 5}]}
        )
        assert response.status_code == 201
    assert await ledger_count(db) == entries + 1
    assert await verify(db) == []
