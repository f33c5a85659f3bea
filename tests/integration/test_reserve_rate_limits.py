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
    server = start_server(
        database_factory(),
        env={"RESERVOIR_RESERVE_RATE_PER_KEY": "1000", "RESERVOIR_RESERVE_RATE_PER_BUYER": "2"},
    )
    stock(server, SKU, BIN, 1_000)
    yield server
    server.stop()


async def test_a_buyer_past_its_rate_gets_429_and_nothing_is_written(limited):
    body = {"lines": [{"sku": SKU, "quantity": 1}], "buyer": "fast-fingers"}
    conn = await asyncpg.connect(limited.database_url)
    try:
        with limited.client("storefront") as storefront:
            answers = [storefront.post("/v1/reservations", json=body) for _ in range(2)]
            assert [a.status_code for a in answers] == [201, 201]
            reserves = await ledger_count(conn, kind="reserve")
            refused = storefront.post("/v1/reservations", json=body)
            assert refused.status_code == 429
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert int(refused.headers["Retry-After"]) >= 1
            problem = refused.json()
            assert problem["type"].endswith("rate-limited")
            assert (problem["limit"], problem["field"]) == ("buyer", "buyer")
            routed = post_via_route(storefront, "/v1/reservations", body)
            assert routed.status_code == 429
            assert {k: v for k, v in routed.json().items() if k != "detail"} == {
                k: v for k, v in problem.items() if k != "detail"
            }
            assert await ledger_count(conn, kind="reserve") == reserves
            other = storefront.post("/v1/reservations", json={**body, "buyer": "patient-buyer"})
            assert other.status_code == 201, "another buyer has its own bucket"
    finally:
        await conn.close()
