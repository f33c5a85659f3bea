"""Inbound (issue 13): purchase orders received in parts (damaged, over tolerance, wrong
item) and short-closed; a transfer shipped, half received, the rest lost; returns by
condition. Each across a `kill -9` and restart, with `verify` clean after it. Real HTTP
against `reservoir serve` on a real PostgreSQL."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from tests.integration.stock_helpers import put_item, put_location, receive

from reservoir.ledger.verify import verify

WH, BIN, WH2, BIN2 = "IN-WH1", "IN-WH1-A01", "IN-WH2", "IN-WH2-A01"
SKU, OTHER, STRAY = "IN-SKU-1", "IN-SKU-2", "IN-SKU-STRAY"


@pytest.fixture(scope="module")
def depot(start_server, database_factory):
    server = start_server(database_factory())
    with server.client("admin") as admin, server.client("purchasing") as buyer:
        put_location(admin, WH, kind="warehouse")
        put_location(admin, BIN, parent=WH, kind="bin", aisle=1, position=1)
        put_location(admin, WH2, kind="warehouse")
        put_location(admin, BIN2, parent=WH2, kind="bin", aisle=1, position=1)
        for sku in (SKU, OTHER, STRAY):
            put_item(admin, sku)
        assert buyer.put("/v1/suppliers/ACME", json={"name": "Acme"}).status_code == 201
    yield server
    server.stop()


@pytest.fixture
async def db(depot):
    conn = await asyncpg.connect(depot.database_url)
    yield conn
    await conn.close()


def levels(client: httpx.Client, sku: str) -> dict[str, Any]:
    got = client.get(f"/v1/availability/{sku}")
    assert got.status_code == 200, got.text
    return got.json()


def by_sku(order: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["sku"]: line for line in order["lines"]}


def restart(depot) -> None:
    depot.restart(kill=True)


async def test_a_purchase_order_received_in_parts_then_short_closed(depot, db):
    with (
        depot.client("purchasing") as buyer,
        depot.client("warehouse") as dock,
        depot.client("storefront") as shop,
    ):
        placed = buyer.post(
            "/v1/purchase-orders",
            json={
                "supplier": "ACME",
                "warehouse": WH,
                "expected_on": "2026-12-20",
                "lines": [
                    {"sku": SKU, "quantity": 10, "unit_cost": "4.20"},
                    {"sku": OTHER, "quantity": 5},
                ],
            },
        )
        assert placed.status_code == 201, placed.text
        order = placed.json()
        po = order["id"]
        assert (order["status"], by_sku(order)[SKU]["outstanding"]) == ("open", 10)
        view = levels(shop, SKU)
        assert (view["incoming"], view["available"]) == (10, 0)

        # 1: four good, two damaged (into the warehouse's quarantine, not sellable)
        first = dock.post(
            f"/v1/purchase-orders/{po}/receipts",
            json={
                "location": BIN,
                "lines": [
                    {"sku": SKU, "quantity": 4},
                    {"sku": SKU, "quantity": 2, "condition": "damaged", "note": "box crushed"},
                ],
            },
        )
        assert first.status_code == 201, first.text
        lines = by_sku(first.json()["purchase_order"])
        assert (lines[SKU]["accepted"], lines[SKU]["rejected"], lines[SKU]["outstanding"]) == (
            4,
            2,
            4,
        )
        assert first.json()["purchase_order"]["status"] == "partially_received"
        quarantine = first.json()["lines"][1]["location"]
        assert quarantine != BIN
        view = levels(shop, SKU)
        assert (view["incoming"], view["available"], view["on_hand"]) == (4, 4, 4)

        # 2: over the ordered quantity (tolerance 0 %): refused, naming the line; nothing moves
        over = dock.post(
            f"/v1/purchase-orders/{po}/receipts",
            json={
                "location": BIN,
                "lines": [{"sku": OTHER, "quantity": 1}, {"sku": SKU, "quantity": 5}],
            },
        )
        assert over.status_code == 422 and over.json()["field"] == "lines[1].quantity", over.text
        assert levels(shop, OTHER)["on_hand"] == 0

        # 3: a wrong item (not on the order) goes to quarantine as a discrepancy
        third = dock.post(
            f"/v1/purchase-orders/{po}/receipts",
            json={
                "location": BIN,
                "lines": [{"sku": OTHER, "quantity": 5}, {"sku": STRAY, "quantity": 3}],
            },
        )
        assert third.status_code == 201, third.text
        outcomes = {(r["sku"], r["outcome"], r["location"]) for r in third.json()["lines"]}
        assert outcomes == {(OTHER, "accepted", BIN), (STRAY, "wrong_item", quarantine)}
        assert levels(shop, STRAY)["available"] == 0, "a wrong item is not sellable"

    restart(depot)
    assert await verify(db) == []
    with depot.client("purchasing") as buyer, depot.client("storefront") as shop:
        assert levels(shop, SKU)["incoming"] == 4, "recovery rebuilds incoming"
        closed = buyer.post(f"/v1/purchase-orders/{po}/close", json={"reason": "supplier out"})
        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "closed"
        assert by_sku(closed.json())[SKU]["outstanding"] == 0
        assert "incoming" not in levels(shop, SKU)
        again = buyer.post(
            f"/v1/purchase-orders/{po}/receipts", json={"location": BIN, "lines": []}
        )
        assert again.status_code in (403, 422), "the purchasing role does not receive"
        found = buyer.get("/v1/discrepancies", params={"purchase_order": po}).json()
    kinds = sorted((d["kind"], d["sku"], d["quantity"]) for d in found["discrepancies"])
    assert kinds == [("damaged", SKU, 2), ("short", SKU, 4), ("wrong_item", STRAY, 3)]
    damaged = next(d for d in found["discrepancies"] if d["kind"] == "damaged")
    assert (damaged["reason"], damaged["line_no"]) == ("box crushed", 1)

    with depot.client("warehouse") as dock:
        late = dock.post(
            f"/v1/purchase-orders/{po}/receipts",
            json={"location": BIN, "lines": [{"sku": SKU, "quantity": 1}]},
        )
        assert late.status_code == 409, late.text
        assert late.json()["type"].endswith("purchase-order-not-open")
    rows = await db.fetch(
        "SELECT reference_type, sku, location, quantity FROM ledger_entries "
        "WHERE reference_id = $1 ORDER BY id",
        po,
    )
    assert [tuple(r) for r in rows] == [
        ("purchase_order", SKU, BIN, 4),
        ("purchase_order_damaged", SKU, quarantine, 2),
        ("purchase_order", OTHER, BIN, 5),
        ("purchase_order_wrong_item", STRAY, quarantine, 3),
    ]
    assert await verify(db) == []


async def test_a_transfer_shipped_half_received_rest_lost(depot, db):
    with depot.client("warehouse") as dock, depot.client("storefront") as shop:
        receive(dock, SKU, BIN, 20)
        hold = shop.post(
            "/v1/reservations", json={"lines": [{"sku": SKU, "quantity": 18, "location": BIN}]}
        )
        assert hold.status_code == 201, hold.text
        draft = dock.post(
            "/v1/transfers", json={"from": BIN, "to": BIN2, "lines": [{"sku": SKU, "quantity": 8}]}
        )
        assert draft.status_code == 201 and draft.json()["status"] == "draft", draft.text
        tid = draft.json()["id"]
        short = dock.post(f"/v1/transfers/{tid}/ship")
        assert short.status_code == 409, short.text
        assert short.json()["shortages"][0]["requested"] == 8
        assert shop.post(f"/v1/reservations/{hold.json()['id']}/release").status_code == 200

        before = levels(shop, SKU)
        shipped = dock.post(f"/v1/transfers/{tid}/ship")
        assert shipped.status_code == 200 and shipped.json()["status"] == "shipped", shipped.text
        after = levels(shop, SKU)
        assert after["on_hand"] == before["on_hand"] - 8
        assert after["in_transit"] == 8 and after["available"] == before["available"] - 8
        assert dock.post(f"/v1/transfers/{tid}/ship").status_code == 409

    restart(depot)
    assert await verify(db) == []
    with depot.client("warehouse") as dock, depot.client("storefront") as shop:
        assert levels(shop, SKU)["in_transit"] == 8, "recovery rebuilds in_transit"
        too_many = dock.post(
            f"/v1/transfers/{tid}/receipts", json={"lines": [{"sku": SKU, "quantity": 9}]}
        )
        assert too_many.status_code == 422 and too_many.json()["field"] == "lines[0].quantity"
        half = dock.post(
            f"/v1/transfers/{tid}/receipts", json={"lines": [{"sku": SKU, "quantity": 4}]}
        )
        assert half.status_code == 200 and half.json()["status"] == "partially_received"
        there = {loc["location"]: loc for loc in levels(shop, SKU)["locations"]}
        assert (there[BIN2]["on_hand"], there[BIN2]["in_transit"]) == (4, 4)
        closed = dock.post(f"/v1/transfers/{tid}/close", json={"reason": "truck lost"})
        assert closed.status_code == 200, closed.text
        line = closed.json()["lines"][0]
        assert (closed.json()["status"], line["received"], line["lost"]) == ("closed", 4, 4)
        assert "in_transit" not in levels(shop, SKU)
        lost = dock.get("/v1/discrepancies", params={"transfer": tid}).json()["discrepancies"]
        assert [(d["kind"], d["quantity"], d["reason"]) for d in lost] == [
            ("lost_in_transit", 4, "truck lost")
        ]
    kinds = await db.fetch(
        "SELECT kind, location, quantity FROM ledger_entries WHERE reference_id = $1 ORDER BY id",
        tid,
    )
    assert [tuple(r) for r in kinds] == [
        ("transit_out", BIN, 8),
        ("transit", BIN2, 8),
        ("transit_in", BIN2, 4),
        ("transit_lost", BIN2, 4),
    ]
    assert await verify(db) == []


async def test_returns_by_condition_and_of_an_order(depot, db):
    with depot.client("warehouse") as dock, depot.client("storefront") as shop:
        receive(dock, OTHER, BIN2, 3)
        order = shop.post(
            "/v1/reservations", json={"lines": [{"sku": OTHER, "quantity": 2, "location": BIN2}]}
        ).json()
        assert shop.post(f"/v1/reservations/{order['id']}/commit").status_code == 200
        pick = dock.post("/v1/picklists", json={"warehouse": WH2, "reservations": [order["id"]]})
        assert pick.status_code == 201, pick.text
        stops = pick.json()["stops"]
        confirmed = dock.post(
            f"/v1/picklists/{pick.json()['id']}/confirm",
            json={"picks": [{"seq": s["seq"], "quantity": s["quantity"]} for s in stops]},
        )
        assert confirmed.status_code == 200, confirmed.text
        base = levels(shop, OTHER)

        def back(condition: str, quantity: int = 1) -> httpx.Response:
            return dock.post(
                "/v1/stock/returns",
                json={
                    "sku": OTHER,
                    "location": BIN2,
                    "quantity": quantity,
                    "condition": condition,
                    "reservation": order["id"],
                    "reason": f"customer: {condition}",
                },
            )

        resold = back("resellable")
        assert resold.status_code == 201, resold.text
        damaged = back("damaged")
        assert damaged.status_code == 201 and damaged.json()["location"] != BIN2
        view = levels(shop, OTHER)
        assert view["available"] == base["available"] + 1, "only the resellable unit sells"
        assert view["on_hand"] == base["on_hand"] + 1, "the damaged one is in quarantine"
        more = back("write_off")
        assert more.status_code == 422 and more.json()["field"] == "quantity", more.text
        # without an order, a write-off is recorded and never in stock
        off = dock.post(
            "/v1/stock/returns",
            json={"sku": OTHER, "location": BIN2, "quantity": 2, "condition": "write_off"},
        )
        assert off.status_code == 201, off.text
        assert levels(shop, OTHER)["on_hand"] == view["on_hand"]
    restart(depot)
    assert await verify(db) == []
    kinds = await db.fetch(
        "SELECT kind, reference_type FROM ledger_entries WHERE sku = $1 "
        "AND kind IN ('return', 'write_off') ORDER BY id",
        OTHER,
    )
    assert [tuple(r) for r in kinds] == [
        ("return", "order_return"),
        ("return", "order_return"),
        ("write_off", "return"),
    ]


def test_bad_input_names_the_field_and_changes_nothing(depot):
    with depot.client("purchasing") as buyer, depot.client("warehouse") as dock:
        bad_orders = [
            (
                {"supplier": "NOPE", "warehouse": WH, "lines": [{"sku": SKU, "quantity": 1}]},
                "supplier",
            ),
            (
                {
                    "supplier": "ACME",
                    "warehouse": "NOWHERE",
                    "lines": [{"sku": SKU, "quantity": 1}],
                },
                "warehouse",
            ),
            (
                {"supplier": "ACME", "warehouse": WH, "lines": [{"sku": "NO-SKU", "quantity": 1}]},
                "lines[0].sku",
            ),
            (
                {"supplier": "ACME", "warehouse": WH, "lines": [{"sku": SKU, "quantity": 0}]},
                "lines[0].quantity",
            ),
            ({"supplier": "ACME", "warehouse": WH, "lines": []}, "lines"),
        ]
        listed = len(buyer.get("/v1/purchase-orders").json()["purchase_orders"])
        for body, field in bad_orders:
            refused = buyer.post("/v1/purchase-orders", json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.json()["field"] == field, refused.json()
        assert len(buyer.get("/v1/purchase-orders").json()["purchase_orders"]) == listed
        assert buyer.get("/v1/purchase-orders/PO-999999").status_code == 404
        unknown = dock.post(
            "/v1/purchase-orders/PO-999999/receipts",
            json={"location": BIN, "lines": [{"sku": SKU, "quantity": 1}]},
        )
        assert unknown.status_code == 404 and unknown.json()["type"].endswith(
            "purchase-order-not-found"
        )
        order = buyer.post(
            "/v1/purchase-orders",
            json={"supplier": "ACME", "warehouse": WH, "lines": [{"sku": SKU, "quantity": 2}]},
        ).json()
        cases = [
            ({"location": BIN2, "lines": [{"sku": SKU, "quantity": 1}]}, "location"),
            ({"location": BIN, "lines": [{"sku": "NO-SKU", "quantity": 1}]}, "lines[0].sku"),
            ({"location": BIN, "lines": [{"sku": SKU, "quantity": 0}]}, "lines[0].quantity"),
        ]
        for body, field in cases:
            refused = dock.post(f"/v1/purchase-orders/{order['id']}/receipts", json=body)
            assert refused.status_code == 422, refused.text
            assert refused.json()["field"] == field, refused.json()
        assert buyer.get(f"/v1/purchase-orders/{order['id']}").json()["status"] == "open"
        cancelled = buyer.post(f"/v1/purchase-orders/{order['id']}/cancel", json={"reason": "dup"})
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert buyer.post("/v1/purchase-orders", json={}).status_code == 400
        assert (
            dock.post(
                "/v1/transfers",
                json={"from": BIN, "to": BIN, "lines": [{"sku": SKU, "quantity": 1}]},
            ).json()["field"]
            == "to"
        )
        assert dock.post("/v1/transfers/TR-999999/ship").status_code == 404
        assert (
            dock.post(
                "/v1/stock/returns",
                json={"sku": SKU, "location": BIN, "quantity": 1, "reservation": "rsv_999999"},
            ).json()["field"]
            == "reservation"
        )
        assert buyer.get("/v1/purchase-orders", params={"status": "nope"}).status_code == 400
