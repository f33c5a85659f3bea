"""Sales channels (issue 12): a channel's safety buffer is withheld from its holds, it sells
only from its locations (and what is inside them), availability answers per channel, and a
storefront key bound to channels reserves only for them. Across a `kill -9` and restart."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import httpx
import pytest
from tests.conftest import random_api_keys
from tests.integration.stock_helpers import (
    ledger_count,
    post_via_route,
    put_item,
    put_location,
    receive,
)

from reservoir.ledger.verify import verify

SKU = "CH-SKU-1"
WEB_KEY = f"sf_web_{secrets.token_urlsafe(12)}"


@pytest.fixture(scope="module")
def shop(start_server, database_factory):
    """EAST (bins E1, E2) and WEST (bin W1), 10 units of SKU in each bin; channels `web`
    (buffer 2 units, everywhere) and `east-app` (10% buffer, EAST only); a storefront key
    bound to `web`."""
    keys = random_api_keys()
    listed = ",".join(f"{role}:{key}" for role, key in keys.items())
    server = start_server(
        database_factory(),
        api_keys=keys,
        env={"RESERVOIR_API_KEYS": f"{listed},storefront:{WEB_KEY}@web"},
    )
    with server.client("admin") as admin, server.client("warehouse") as warehouse:
        put_item(admin, SKU)
        put_location(admin, "EAST", kind="warehouse")
        put_location(admin, "WEST", kind="warehouse")
        for bin_, parent in (("E1", "EAST"), ("E2", "EAST"), ("W1", "WEST")):
            put_location(admin, bin_, parent=parent)
            receive(warehouse, SKU, bin_, 10)
        web = admin.put("/v1/channels/web", json={"name": "Web shop", "safety_buffer": 2})
        assert web.status_code == 201, web.text
        app = admin.put(
            "/v1/channels/east-app", json={"safety_buffer_percent": 10, "locations": ["EAST"]}
        )
        assert app.status_code == 201, app.text
    yield server
    server.stop()


@pytest.fixture
async def db(shop):
    conn = await asyncpg.connect(shop.database_url)
    yield conn
    await conn.close()


def hold(client: httpx.Client, quantity: int, **fields) -> httpx.Response:
    body = {"lines": [{"sku": SKU, "quantity": quantity}], **fields}
    return client.post("/v1/reservations", json=body)


def to_channel(client: httpx.Client, channel: str) -> int:
    answer = client.get(f"/v1/availability/{SKU}", params={"channel": channel})
    assert answer.status_code == 200, answer.text
    assert answer.json()["channel"] == channel
    return answer.json()["available_to_channel"]


def test_channels_are_listed_and_read(shop):
    with shop.client("storefront") as storefront:
        listed = storefront.get("/v1/channels")
        assert listed.status_code == 200
        assert [c["code"] for c in listed.json()] == ["east-app", "web"]
        web = storefront.get("/v1/channels/web").json()
        assert (web["name"], web["safety_buffer"]) == ("Web shop", 2)
        app = storefront.get("/v1/channels/east-app").json()
        assert (app["safety_buffer_percent"], app["locations"]) == (10, ["EAST"])
        assert storefront.get("/v1/channels/nope").status_code == 404
        plain = storefront.get(f"/v1/availability/{SKU}").json()
        assert "available_to_channel" not in plain and plain["available"] == 30


async def test_a_channel_leaves_its_buffer_and_sells_only_from_its_places(shop, db):
    with shop.client("storefront") as storefront:
        assert to_channel(storefront, "web") == 28
        assert to_channel(storefront, "east-app") == 18  # EAST's 20 less ceil(10% of 20)
        app_hold = hold(storefront, 18, channel="east-app")
        assert app_hold.status_code == 201, app_hold.text
        assert {line["location"] for line in app_hold.json()["lines"]} <= {"E1", "E2"}
        reserves = await ledger_count(db, kind="reserve")
        refused = hold(storefront, 1, channel="east-app")
        assert refused.status_code == 409
        assert refused.json()["shortages"] == [{"sku": SKU, "requested": 1, "available": 0}]
        named = storefront.post(
            "/v1/reservations",
            json={"lines": [{"sku": SKU, "quantity": 1, "location": "W1"}], "channel": "east-app"},
        )
        assert named.status_code == 422
        assert named.json()["field"] == "lines[0].location"
        unknown = hold(storefront, 1, channel="pos")
        assert unknown.status_code == 422
        assert (unknown.json()["field"], unknown.json()["channel"]) == ("channel", "pos")
        assert await ledger_count(db, kind="reserve") == reserves, "refusals write nothing"
        # web sells everywhere: W1's 10 and E's 2 left, less its buffer of 2
        assert to_channel(storefront, "web") == 10
        assert hold(storefront, 11, channel="web").status_code == 409
        assert hold(storefront, 10, channel="web").status_code == 201
        # the buffered units are still there for a hold without a channel
        assert hold(storefront, 2).status_code == 201


async def test_a_bound_key_reserves_only_for_its_channel_and_defaults_to_it(shop, db):
    with shop.client("admin") as admin, shop.client("warehouse") as warehouse:
        receive(warehouse, SKU, "W1", 10)
        assert admin.put("/v1/channels/web", json={"safety_buffer": 0}).status_code == 200
    bound = httpx.Client(base_url=shop.base_url, headers={"Authorization": f"Bearer {WEB_KEY}"})
    with bound:
        defaulted = hold(bound, 1)
        assert defaulted.status_code == 201, defaulted.text
        assert defaulted.json()["channel"] == "web"
        reserves = await ledger_count(db, kind="reserve")
        other = hold(bound, 1, channel="east-app")
        assert other.status_code == 403
        assert other.headers["content-type"].startswith("application/problem+json")
        assert (other.json()["field"], other.json()["channels"]) == ("channel", ["web"])
        assert await ledger_count(db, kind="reserve") == reserves
        assert hold(bound, 1, channel="web").status_code == 201
        # the route answers the same (a chunked body is Litestar's, not the hot path's)
        body = {"lines": [{"sku": SKU, "quantity": 1}], "channel": "east-app"}
        routed = post_via_route(bound, "/v1/reservations", body)
        assert (routed.status_code, routed.json()) == (403, other.json())


async def test_channels_and_their_rules_survive_a_kill_9(shop, db):
    with shop.client("storefront") as storefront:
        before = to_channel(storefront, "east-app")
    await asyncio.to_thread(shop.restart, kill=True)
    with shop.client("storefront") as storefront:
        assert to_channel(storefront, "east-app") == before
        assert hold(storefront, before + 1, channel="east-app").status_code == 409
        assert hold(storefront, 1, channel="pos").status_code == 422
    assert await verify(db) == []


def test_bad_channels_are_refused_by_field_and_change_nothing(shop):
    with shop.client("admin") as admin:
        cases = [
            ({"safety_buffer": 1, "safety_buffer_percent": 5}, "safety_buffer_percent"),
            ({"safety_buffer_percent": 101}, "safety_buffer_percent"),
            ({"safety_buffer": -1}, "safety_buffer"),
            ({"locations": ["NOWHERE"]}, "locations[0]"),
        ]
        for body, field in cases:
            refused = admin.put("/v1/channels/bad", json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.json()["field"] == field
        assert admin.get("/v1/channels/bad").status_code == 404
    with shop.client("storefront") as storefront:
        assert storefront.put("/v1/channels/x", json={}).status_code == 403
