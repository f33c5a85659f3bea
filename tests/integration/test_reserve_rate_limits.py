"""Rate limits on the reserve path (issue 12): past RESERVOIR_RESERVE_RATE_PER_KEY or
_PER_BUYER holds per second, a hold is 429 `rate-limited` with `Retry-After`, writes
nothing, and the hot path and the route answer it alike."""

from __future__ import annotations

import asyncpg
import pytest
from tests.integration.stock_helpers import ledger_count, post_via_route, stock

SKU, BIN = "RATE-SKU-1", "RATE-BIN"


@pytest.fixture(scope="module")
def limited(start_server, database_factory):
    # one hold per buyer per 5 s (a burst of one): slow enough that no refill lands inside
    # the test even on a loaded machine
    server = start_server(
        database_factory(),
        env={"RESERVOIR_RESERVE_RATE_PER_KEY": "1000", "RESERVOIR_RESERVE_RATE_PER_BUYER": "0.2"},
    )
    stock(server, SKU, BIN, 1_000)
    yield server
    server.stop()


def without_timing(problem: dict) -> dict:
    return {k: v for k, v in problem.items() if k not in ("detail", "retry_after_seconds")}


async def test_a_buyer_past_its_rate_gets_429_and_nothing_is_written(limited):
    body = {"lines": [{"sku": SKU, "quantity": 1}], "buyer": "fast-fingers"}
    conn = await asyncpg.connect(limited.database_url)
    try:
        with limited.client("storefront") as storefront:
            assert storefront.post("/v1/reservations", json=body).status_code == 201
            reserves = await ledger_count(conn, kind="reserve")
            refused = storefront.post("/v1/reservations", json=body)
            assert refused.status_code == 429
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert 1 <= int(refused.headers["Retry-After"]) <= 5
            problem = refused.json()
            assert problem["type"].endswith("rate-limited")
            assert (problem["limit"], problem["field"]) == ("buyer", "buyer")
            routed = post_via_route(storefront, "/v1/reservations", body)
            assert routed.status_code == 429
            assert without_timing(routed.json()) == without_timing(problem)
            assert await ledger_count(conn, kind="reserve") == reserves
            # another buyer has its own bucket; a retry of its hold under the same
            # Idempotency-Key is replayed, not limited; a new hold of it is limited
            keyed = {"Idempotency-Key": "rate-retry-1"}
            patient = {**body, "buyer": "patient-buyer"}
            first = storefront.post("/v1/reservations", json=patient, headers=keyed)
            assert first.status_code == 201
            again = storefront.post("/v1/reservations", json=patient, headers=keyed)
            assert again.status_code == 201, "the bucket is empty, but this is a replay"
            assert again.headers["Idempotent-Replayed"] == "true"
            assert again.json() == first.json()
            fresh = storefront.post("/v1/reservations", json=patient)
            assert fresh.status_code == 429, "a new hold is still limited"
    finally:
        await conn.close()
