"""Drops (issue 12): no holds before `starts_at`, units ring-fenced per channel until
`spill_at`, the drop's buyer cap, the transitions recorded, across a `kill -9` and restart.
Times are the server's own clock: the drop starts a few seconds after the test defines it."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import asyncpg
import httpx
import pytest
from tests.integration.stock_helpers import ledger_count, put_item, put_location, receive

from reservoir.ledger.verify import verify

SKU, BIN, CODE = "DROP-SKU-1", "DROP-BIN", "SPRING-DROP"
OTHER_SKU = "DROP-SKU-2"
# the restart between the start and the spill must fit in between, on a slow machine too
START_IN_S, SPILL_IN_S, END_IN_S = 3.0, 15.0, 120.0


@pytest.fixture(scope="module")
def shop(start_server, database_factory):
    server = start_server(database_factory())
    with server.client("admin") as admin, server.client("warehouse") as warehouse:
        put_location(admin, BIN)
        for sku in (SKU, OTHER_SKU):
            put_item(admin, sku)
            receive(warehouse, sku, BIN, 100)
        for channel in ("web", "app"):
            assert admin.put(f"/v1/channels/{channel}", json={}).status_code == 201
    yield server
    server.stop()


@pytest.fixture
async def db(shop):
    conn = await asyncpg.connect(shop.database_url)
    yield conn
    await conn.close()


def at(seconds_from_now: float) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)
    return moment.isoformat()


def hold(client: httpx.Client, quantity: int, **fields) -> httpx.Response:
    return client.post(
        "/v1/reservations", json={"lines": [{"sku": SKU, "quantity": quantity}], **fields}
    )


def wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()) + 0.2)


async def test_a_drop_from_definition_through_the_spill(shop, db):
    defined_at = time.time()
    body = {
        "sku": SKU,
        "starts_at": at(START_IN_S),
        "spill_at": at(SPILL_IN_S),
        "ends_at": at(END_IN_S),
        "pools": [{"channel": "web", "units": 40}, {"channel": "app", "units": 30}],
        "per_buyer_max": 3,
    }
    with shop.client("admin") as admin, shop.client("storefront") as storefront:
        created = admin.put(f"/v1/drops/{CODE}", json=body)
        assert created.status_code == 201, created.text
        drop = created.json()
        assert (drop["phase"], drop["per_buyer_max"]) == ("not_started", 3)
        assert [(p["channel"], p["units"], p["unsold"]) for p in drop["pools"]] == [
            ("web", 40, 40),
            ("app", 30, 30),
        ]
        early = hold(storefront, 1, channel="web")
        assert early.status_code == 409
        assert early.json()["type"].endswith("drop-not-started")
        assert (early.json()["drop"], early.json()["sku"]) == (CODE, SKU)
        assert await ledger_count(db, kind="reserve") == 0

        wait_until(defined_at + START_IN_S)
        refused = hold(storefront, 31)  # no channel: the general 30 only
        assert refused.status_code == 409
        assert refused.json()["shortages"][0]["available"] == 30
        assert hold(storefront, 40, channel="web").status_code == 201
        app_view = storefront.get(f"/v1/availability/{SKU}", params={"channel": "app"}).json()
        assert app_view["available_to_channel"] == 60, "app's 30 and the general 30"
        assert hold(storefront, 3, channel="web", buyer="cust-1").status_code == 201
        capped = hold(storefront, 1, channel="web", buyer="cust-1")
        assert capped.status_code == 409 and capped.json()["type"].endswith("buyer-limit")

    await asyncio.to_thread(shop.restart, kill=True)
    with shop.client("storefront") as storefront:
        pools = {p["channel"]: p for p in storefront.get(f"/v1/drops/{CODE}").json()["pools"]}
        assert (pools["web"]["taken"], pools["app"]["unsold"]) == (43, 30)
        after = hold(storefront, 28)
        assert after.status_code == 409, "app's pool is still fenced after the restart"
        assert after.json()["shortages"][0]["available"] == 27
        assert hold(storefront, 1, channel="web", buyer="cust-1").status_code == 409

        wait_until(defined_at + SPILL_IN_S + 1.0)  # the clock records within 0.5 s
        spilled = storefront.get(f"/v1/drops/{CODE}").json()
        assert spilled["phase"] == "spilled"
        assert [e["event"] for e in spilled["events"]] == ["defined", "started", "spilled"]
        assert [p["unsold"] for p in spilled["events"][-1]["pools"]] == [0, 0]
        assert hold(storefront, 57).status_code == 201, "app's unsold 30 are everyone's now"
    assert await verify(db) == []


def test_bad_drops_name_the_field_and_change_nothing(shop):
    good = {"sku": OTHER_SKU, "starts_at": at(60), "ends_at": at(120)}
    cases = [
        ({**good, "pools": [{"channel": "web", "units": 101}]}, 422, "pools"),
        ({**good, "pools": [{"channel": "nope", "units": 1}]}, 422, "pools[0].channel"),
        ({**good, "pools": [{"channel": "web", "units": 0}]}, 422, "pools[0].units"),
        ({**good, "ends_at": at(30)}, 422, "ends_at"),
        ({**good, "spill_at": at(200)}, 422, "spill_at"),
        ({**good, "per_buyer_max": 0}, 422, "per_buyer_max"),
        ({**good, "starts_at": "2030-01-01T00:00:00"}, 422, "starts_at"),
        ({**good, "sku": "NO-SUCH-SKU"}, 422, "sku"),
    ]
    with shop.client("admin") as admin:
        for body, status, field in cases:
            refused = admin.put("/v1/drops/BAD-DROP", json=body)
            assert refused.status_code == status, (body, refused.text)
            assert refused.json()["field"] == field, refused.json()
        assert admin.get("/v1/drops/BAD-DROP").status_code == 404
    with shop.client("storefront") as storefront:
        assert storefront.put("/v1/drops/BAD-DROP", json=good).status_code == 403
