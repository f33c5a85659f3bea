"""Per-buyer caps (issue 12): an item's `per_buyer_max` bounds the units one buyer takes of it
over all of their carts (held, committed and shipped), enforced by the engine with the hold,
kept across a `kill -9` and restart, and refused as 409 `buyer-limit` with the buyer's count.
"""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from tests.integration.stock_helpers import ledger_count, post_via_route, put_location, receive

from reservoir.ledger.verify import verify

SKU, BIN = "CAP-DROP-1", "CAP-BIN"


@pytest.fixture(scope="module")
def capped(start_server, database_factory):
    """A server of this module's own (a test kills it) with a SKU capped at 2 per buyer."""
    server = start_server(database_factory())
    with server.client("admin") as admin, server.client("warehouse") as warehouse:
        item = admin.put(f"/v1/items/{SKU}", json={"name": "Drop sneaker", "per_buyer_max": 2})
        assert item.status_code == 201, item.text
        assert item.json()["per_buyer_max"] == 2
        put_location(admin, BIN)
        receive(warehouse, SKU, BIN, 100)
    yield server
    server.stop()


@pytest.fixture
async def db(capped):
    conn = await asyncpg.connect(capped.database_url)
    yield conn
    await conn.close()


def hold(client: httpx.Client, buyer: str | None, quantity: int = 1, **extra) -> httpx.Response:
    body: dict = {"lines": [{"sku": SKU, "quantity": quantity}], **extra}
    if buyer is not None:
        body["buyer"] = buyer
    return client.post("/v1/reservations", json=body)


async def test_a_buyer_is_capped_across_carts_and_the_refusal_names_the_count(capped, db):
    with capped.client("storefront") as storefront:
        first = hold(storefront, "cust-a")
        second = hold(storefront, "cust-a", reference="second-cart")
        assert (first.status_code, second.status_code) == (201, 201)
        assert first.json()["buyer"] == "cust-a"
        reserves = await ledger_count(db, kind="reserve")
        refused = hold(storefront, "cust-a")
        assert refused.status_code == 409
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["type"].endswith("buyer-limit")
        assert (problem["sku"], problem["current"], problem["requested"]) == (SKU, 2, 1)
        assert problem["per_buyer_max"] == 2
        assert await ledger_count(db, kind="reserve") == reserves, "a refusal writes nothing"
        # the same refusal by the route (a chunked body is Litestar's, not the hot path's)
        body = {"lines": [{"sku": SKU, "quantity": 1}], "buyer": "cust-a"}
        routed = post_via_route(storefront, "/v1/reservations", body)
        assert (routed.status_code, routed.json()) == (409, problem)
        # released units come back to the buyer; other buyers were never limited by cust-a
        released = storefront.post(f"/v1/reservations/{first.json()['id']}/release")
        assert released.status_code == 200
        assert hold(storefront, "cust-a").status_code == 201
        assert hold(storefront, "cust-b", 2).status_code == 201
        assert hold(storefront, None, 5).status_code == 201, "anonymous holds are not capped"
        read = storefront.get(f"/v1/reservations/{second.json()['id']}")
        assert read.json()["buyer"] == "cust-a"


async def test_committed_units_stay_counted_across_a_kill_9_and_restart(capped, db):
    with capped.client("storefront") as storefront:
        order = hold(storefront, "cust-c", 2)
        assert order.status_code == 201
        commit = storefront.post(f"/v1/reservations/{order.json()['id']}/commit")
        assert commit.status_code == 200
        open_hold = hold(storefront, "cust-d", 1)
        assert open_hold.status_code == 201
    await asyncio.to_thread(capped.restart, kill=True)
    with capped.client("storefront") as storefront:
        again = hold(storefront, "cust-c")
        assert again.status_code == 409, again.text
        assert again.json()["current"] == 2
        # cust-d's open hold came back with its buyer: one more fits, a second does not
        assert hold(storefront, "cust-d").status_code == 201
        assert hold(storefront, "cust-d").json()["current"] == 2
        # and its units go back to the buyer when it is released after the restart
        released = storefront.post(f"/v1/reservations/{open_hold.json()['id']}/release")
        assert released.status_code == 200
        assert hold(storefront, "cust-d").status_code == 201
    assert await verify(db) == []


async def test_a_cap_can_be_lifted_and_bad_input_names_the_field(capped, db):
    with capped.client("admin") as admin, capped.client("storefront") as storefront:
        for bad in (0, -1):
            refused = admin.put(f"/v1/items/{SKU}", json={"name": "x", "per_buyer_max": bad})
            assert refused.status_code == 422
            assert refused.json()["field"] == "per_buyer_max"
        assert admin.get(f"/v1/items/{SKU}").json()["per_buyer_max"] == 2, "nothing changed"
        for bad_buyer in ("", "a\nb", "x" * 129):
            refused = hold(storefront, bad_buyer)
            assert refused.status_code == 422, refused.text
            assert refused.json()["field"] == "buyer"
        assert hold(storefront, "cust-e", 2).status_code == 201
        assert hold(storefront, "cust-e").status_code == 409
        lifted = admin.put(f"/v1/items/{SKU}", json={"name": "Drop sneaker"})
        assert lifted.status_code == 200
        assert lifted.json().get("per_buyer_max") is None
        assert hold(storefront, "cust-e").status_code == 201
        capped_again = admin.put(f"/v1/items/{SKU}", json={"name": "x", "per_buyer_max": 3})
        assert capped_again.status_code == 200
        assert hold(storefront, "cust-e").json()["current"] == 3
