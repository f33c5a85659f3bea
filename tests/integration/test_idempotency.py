"""`Idempotency-Key`: exactly once per key and API key, replayed with the same answer."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from tests.integration.stock_helpers import ledger_count, stock

SKU, BIN = "IDEM-SKU", "IDEM-BIN"
BODY = {"lines": [{"sku": SKU, "quantity": 1}]}


@pytest.fixture(scope="module", autouse=True)
def stocked(server):
    stock(server, SKU, BIN, 1_000)


async def test_the_same_key_and_body_replays_the_first_answer(server, server_db):
    headers = {"Idempotency-Key": "idem-1"}
    with server.client("storefront") as storefront:
        first = storefront.post("/v1/reservations", json=BODY, headers=headers)
        second = storefront.post("/v1/reservations", json=BODY, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await ledger_count(server_db, reference_id=first.json()["id"]) == 1
    assert await ledger_count(server_db, kind="reserve", sku=SKU) == 1


async def test_the_same_key_with_another_body_is_422(server, server_db):
    headers = {"Idempotency-Key": "idem-2"}
    with server.client("storefront") as storefront:
        assert storefront.post("/v1/reservations", json=BODY, headers=headers).status_code == 201
        before = await ledger_count(server_db)
        other = {"lines": [{"sku": SKU, "quantity": 2}]}
        response = storefront.post("/v1/reservations", json=other, headers=headers)
    assert response.status_code == 422
    assert response.json()["type"].endswith("idempotency-key-reused")
    assert await ledger_count(server_db) == before


async def test_keys_are_scoped_to_the_api_key(server, server_db):
    headers = {"Idempotency-Key": "idem-3"}
    with server.client("storefront") as storefront, server.client("admin") as admin:
        mine = storefront.post("/v1/reservations", json=BODY, headers=headers)
        theirs = admin.post("/v1/reservations", json=BODY, headers=headers)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"], "never another client's answer"
    assert "Idempotent-Replayed" not in theirs.headers


async def test_commit_and_release_replay_too(server, server_db):
    with server.client("storefront") as storefront:
        rid = storefront.post("/v1/reservations", json=BODY).json()["id"]
        headers = {"Idempotency-Key": "idem-commit"}
        first = storefront.post(f"/v1/reservations/{rid}/commit", headers=headers)
        storefront.post(f"/v1/reservations/{rid}/release")
        replay = storefront.post(f"/v1/reservations/{rid}/commit", headers=headers)
    assert first.status_code == replay.status_code == 200
    assert replay.json()["status"] == "committed", "the first answer, not today's state"
    assert replay.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "é"])
async def test_a_malformed_key_is_400_and_writes_nothing(server, server_db, key):
    before = await ledger_count(server_db)
    with server.client("storefront") as storefront:
        response = storefront.post(
            "/v1/reservations", json=BODY, headers={"Idempotency-Key": key.encode("utf-8")}
        )
    assert response.status_code == 400
    assert response.json()["field"] == "Idempotency-Key"
    assert await ledger_count(server_db) == before


async def test_a_duplicate_while_the_first_is_in_flight_is_409(start_server, database_factory):
    """A slow writer (300 ms gathering) keeps the first request in flight long enough."""
    slow = start_server(database_factory(), env={"RESERVOIR_FLUSH_INTERVAL_MS": "300"})
    stock(slow, SKU, BIN, 10)
    headers = {"Idempotency-Key": "idem-concurrent"}
    async with slow.async_client("storefront", timeout=10) as storefront:
        first = asyncio.create_task(storefront.post("/v1/reservations", json=BODY, headers=headers))
        await asyncio.sleep(0.1)
        duplicate = await storefront.post("/v1/reservations", json=BODY, headers=headers)
        assert duplicate.status_code == 409
        assert duplicate.json()["type"].endswith("idempotency-key-in-flight")
        assert (await first).status_code == 201
        replay = await storefront.post("/v1/reservations", json=BODY, headers=headers)
        assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    slow.stop()


async def test_a_no_op_commit_in_the_same_batch_keeps_the_first_commits_record(
    start_server, database_factory
):
    """A second commit of a hold while the first is still being written is a no-op that
    answers the first's LSN. It must not replace the first's metadata in the batch: the first
    commit's Idempotency-Key answer is stored, and a retry with that key replays it."""
    dsn = database_factory()
    slow = start_server(dsn, env={"RESERVOIR_FLUSH_INTERVAL_MS": "1000"})
    stock(slow, SKU, BIN, 10)
    key = {"Idempotency-Key": "commit-once"}
    async with slow.async_client("storefront", timeout=20) as storefront:
        rid = (await storefront.post("/v1/reservations", json=BODY)).json()["id"]
        commit = f"/v1/reservations/{rid}/commit"
        first = asyncio.create_task(
            storefront.post(commit, json={"reference": "order-1"}, headers=key)
        )
        await asyncio.sleep(0.3)  # the first is applied and waits for its batch
        again = await storefront.post(commit, json={})
        answered = await first
        assert answered.status_code == again.status_code == 200, (answered.text, again.text)
        replay = await storefront.post(commit, json={"reference": "order-1"}, headers=key)
        assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
        assert replay.content == answered.content
    conn = await asyncpg.connect(dsn)
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE key = $1", "commit-once"
        )
        commits = await conn.fetchval(
            "SELECT count(*) FROM ledger_entries WHERE kind = 'commit' AND reference_id = $1", rid
        )
    finally:
        await conn.close()
    assert (stored, commits) == (1, 1)
    slow.stop()
