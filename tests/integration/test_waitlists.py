"""Waitlists (issue 12): a buyer refused for lack of stock waits; units that come back
(release, expiry) are offered to the oldest entry as a hold of its own with the offer TTL; an
offer left alone expires and passes on; entries survive a `kill -9`; bad input changes
nothing. Real HTTP against `reservoir serve` on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx
import pytest
from tests.conftest import random_api_keys
from tests.integration.stock_helpers import put_item, put_location, receive

from reservoir.ledger.verify import verify

SKU, OTHER, BIN = "WAIT-SKU-1", "WAIT-SKU-2", "WAIT-BIN"
OFFER_TTL_S = 2
SETTLE_S = 15.0  # how long a test waits for the server's expiry (it expires within 1 s)


OTHER_STOREFRONT_KEY = "other-storefront-" + "7" * 32


@pytest.fixture(scope="module")
def shop(start_server, database_factory):
    keys = random_api_keys()
    configured = ",".join(f"{role}:{key}" for role, key in keys.items())
    env = {
        "RESERVOIR_OFFER_TTL_SECONDS": str(OFFER_TTL_S),
        # a second storefront: another shop's key, which must not see the first one's entries
        "RESERVOIR_API_KEYS": f"{configured},storefront:{OTHER_STOREFRONT_KEY}",
    }
    server = start_server(database_factory(), api_keys=keys, env=env)
    with server.client("admin") as admin, server.client("warehouse") as warehouse:
        put_location(admin, BIN)
        for sku in (SKU, OTHER):
            put_item(admin, sku)
        receive(warehouse, SKU, BIN, 2)
        receive(warehouse, OTHER, BIN, 1)
    yield server
    server.stop()


@pytest.fixture
async def db(shop):
    conn = await asyncpg.connect(shop.database_url)
    yield conn
    await conn.close()


def hold(client: httpx.Client, quantity: int, sku: str = SKU, **fields: Any) -> httpx.Response:
    return client.post(
        "/v1/reservations", json={"lines": [{"sku": sku, "quantity": quantity}], **fields}
    )


def join(client: httpx.Client, buyer: str, quantity: int = 1, sku: str = SKU, **fields: Any):
    return client.post(
        f"/v1/waitlists/{sku}/entries", json={"buyer": buyer, "quantity": quantity, **fields}
    )


def entry(client: httpx.Client, eid: str) -> dict[str, Any]:
    got = client.get(f"/v1/waitlist-entries/{eid}")
    assert got.status_code == 200, got.text
    return got.json()


def wait_for_status(client: httpx.Client, eid: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + SETTLE_S
    while True:
        seen = entry(client, eid)
        if seen["status"] == status or time.monotonic() > deadline:
            assert seen["status"] == status, seen
            return seen
        time.sleep(0.1)


def hold_when_free(client: httpx.Client) -> None:
    """Holds one unit of SKU once the server has given the last offer's unit back."""
    deadline = time.monotonic() + SETTLE_S
    while (taken := hold(client, 1)).status_code != 201 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert taken.status_code == 201, taken.text


def other_shop(shop) -> httpx.Client:
    headers = {"Authorization": f"Bearer {OTHER_STOREFRONT_KEY}"}
    return httpx.Client(base_url=shop.base_url, headers=headers)


async def test_units_that_come_back_go_to_the_waitlist_in_order(shop, db):
    with shop.client("storefront") as shop_a:
        cart_1 = hold(shop_a, 1, ttl_seconds=600).json()
        cart_2 = hold(shop_a, 1, ttl_seconds=3).json()

        # refused for lack of stock: the buyer joins with the refusal
        refused = hold(shop_a, 1, buyer="first", waitlist=True)
        assert refused.status_code == 409
        assert refused.headers["content-type"].startswith("application/problem+json")
        body = refused.json()
        assert body["type"].endswith("insufficient-stock")
        assert body["shortages"] == [{"sku": SKU, "requested": 1, "available": 0}]
        first = body["waitlist_entry"]
        assert (first["status"], first["position"], first["buyer"]) == ("waiting", 1, "first")
        # or directly
        joined = join(shop_a, "second", callback="https://shop.example/offers")
        assert joined.status_code == 201, joined.text
        second = joined.json()
        assert (second["status"], second["position"]) == ("waiting", 2)

        queue = shop_a.get(f"/v1/waitlists/{SKU}").json()
        assert (queue["waiting"], queue["units"]) == (2, 2)
        assert [e["id"] for e in queue["entries"]] == [first["id"], second["id"]]
        # nobody overtakes them: a fresh hold finds nothing
        assert hold(shop_a, 1).status_code == 409
        levels = shop_a.get(f"/v1/availability/{SKU}").json()
        assert (levels["available"], levels["waitlisted"]) == (0, 2)

        # a cart is released: its unit is offered to the first entry, as a hold of its own
        assert shop_a.post(f"/v1/reservations/{cart_1['id']}/release").status_code == 200
        offered = wait_for_status(shop_a, first["id"], "offered")
        offer = shop_a.get(f"/v1/reservations/{offered['reservation_id']}").json()
        assert (offer["status"], offer["buyer"]) == ("held", "first")
        assert offer["expires_at"] == offered["offer_expires_at"]
        assert entry(shop_a, second["id"])["position"] == 1
        # the first buyer places the order
        commit = shop_a.post(f"/v1/reservations/{offer['id']}/commit")
        assert commit.status_code == 200, commit.text
        assert entry(shop_a, first["id"])["status"] == "committed"

        # the second cart is abandoned: its expiry offers the unit to the second entry, whose
        # offer expires in turn; with nobody left waiting the unit is anyone's
        second_offer = wait_for_status(shop_a, second["id"], "offered")
        wait_for_status(shop_a, second["id"], "expired")
        assert shop_a.get(f"/v1/waitlists/{SKU}").json()["waiting"] == 0
        hold_when_free(shop_a)

    # the ledger: each offer's reserve row comes after the change that freed its unit
    rows = await db.fetch(
        "SELECT lsn, kind, reference_id FROM ledger_entries WHERE sku = $1 ORDER BY id", SKU
    )
    lsn_of = {(r["kind"], r["reference_id"]): r["lsn"] for r in rows}
    assert lsn_of[("reserve", offered["reservation_id"])] > lsn_of[("release", cart_1["id"])]
    assert lsn_of[("reserve", second_offer["reservation_id"])] > lsn_of[("expire", cart_2["id"])]
    assert ("expire", second_offer["reservation_id"]) in lsn_of
    stored = await db.fetch(
        "SELECT id, owner, reservation_id FROM waitlist_entries WHERE sku = $1 ORDER BY id", SKU
    )
    assert [r["reservation_id"] for r in stored] == [
        offered["reservation_id"],
        second_offer["reservation_id"],
    ]
    event = await db.fetchval(
        "SELECT payload FROM outbox WHERE topic = 'waitlist' AND payload::text LIKE $1",
        f'%{second["id"]}"%',
    )
    assert event is not None and "https://shop.example/offers" in event
    assert await verify(db) == []


async def test_waiting_entries_survive_a_kill_and_keep_their_order(shop, db):
    with shop.client("storefront") as client:
        cart = hold(client, 1, sku=OTHER, ttl_seconds=600).json()
        ids = [join(client, f"k{i}", sku=OTHER).json()["id"] for i in range(3)]
        assert client.delete(f"/v1/waitlist-entries/{ids[0]}").status_code == 200
    await asyncio.to_thread(shop.restart, kill=True)
    with shop.client("storefront") as client:
        assert entry(client, ids[0])["status"] == "cancelled"
        assert [entry(client, e)["position"] for e in ids[1:]] == [1, 2]
        assert client.post(f"/v1/reservations/{cart['id']}/release").status_code == 200
        wait_for_status(client, ids[1], "offered")
        assert entry(client, ids[2])["status"] == "waiting"
    assert await verify(db) == []


async def test_bad_input_names_the_field_and_changes_nothing(shop, db):
    before = await db.fetchval("SELECT count(*) FROM waitlist_entries")
    with shop.client("storefront") as client, shop.client("admin") as admin:
        put_item(admin, "WAIT-EMPTY")
        cases = [
            (join(client, "x", sku="NO-SUCH-SKU"), 422, "sku"),
            (join(client, "x", quantity=0, sku="WAIT-EMPTY"), 422, "quantity"),
            (client.post("/v1/waitlists/WAIT-EMPTY/entries", json={"quantity": 1}), 400, "buyer"),
            (join(client, "x", sku="WAIT-EMPTY", callback="ftp://nope"), 422, "callback"),
            (join(client, " ", sku="WAIT-EMPTY"), 422, "buyer"),
            (hold(client, 1, sku="WAIT-EMPTY", waitlist=True), 422, "buyer"),
            (
                client.post(
                    "/v1/reservations",
                    json={
                        "lines": [
                            {"sku": "WAIT-EMPTY", "quantity": 1},
                            {"sku": SKU, "quantity": 1},
                        ],
                        "buyer": "x",
                        "waitlist": True,
                    },
                ),
                422,
                "waitlist",
            ),
        ]
        for answer, status, field in cases:
            assert answer.status_code == status, answer.text
            problem = answer.json()
            named = problem.get("field") or [e["field"] for e in problem.get("errors", [])]
            assert field in named, problem
        # units there and nobody waiting: reserve them instead
        with shop.client("warehouse") as warehouse:
            receive(warehouse, "WAIT-EMPTY", BIN, 1)
        there = join(client, "x", sku="WAIT-EMPTY")
        assert there.status_code == 409 and there.json()["type"].endswith("units-available")
        assert there.json()["available"] == 1
        assert await db.fetchval("SELECT count(*) FROM waitlist_entries") == before

        # one entry per buyer and SKU; another key cannot see or cancel it
        hold(client, 1, sku="WAIT-EMPTY")
        mine = join(client, "dup", sku="WAIT-EMPTY").json()
        again = join(client, "dup", sku="WAIT-EMPTY")
        assert again.status_code == 409 and again.json()["entry"] == mine["id"]
    with other_shop(shop) as stranger:
        assert stranger.get(f"/v1/waitlist-entries/{mine['id']}").status_code == 404
        assert stranger.delete(f"/v1/waitlist-entries/{mine['id']}").status_code == 404
        listed = stranger.get("/v1/waitlists/WAIT-EMPTY").json()
        assert (listed["waiting"], listed["entries"]) == (1, [])
    with shop.client("storefront") as client:
        assert client.get("/v1/waitlist-entries/wl_999999").status_code == 404
        assert client.get("/v1/waitlist-entries/nope").status_code == 404
        left = client.delete(f"/v1/waitlist-entries/{mine['id']}")
        assert left.status_code == 200 and left.json()["status"] == "cancelled"
        twice = client.delete(f"/v1/waitlist-entries/{mine['id']}")
        assert twice.status_code == 409, twice.text
        assert twice.json()["entry_status"] == "cancelled"
    assert await db.fetchval("SELECT count(*) FROM waitlist_entries") == before + 1
