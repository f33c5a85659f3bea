"""Receipts, adjustments and availability, as a warehouse client and a storefront see them."""

from __future__ import annotations

import pytest
from tests.integration.stock_helpers import ledger_count, level, put_item, put_location

from reservoir.ledger.verify import verify

SKU, BIN, BIN2 = "STK-SKU", "STK-BIN-1", "STK-BIN-2"


@pytest.fixture(scope="module", autouse=True)
def catalogue(server):
    with server.client("admin") as admin:
        put_item(admin, SKU)
        put_location(admin, BIN)
        put_location(admin, BIN2)
        put_location(admin, "STK-DAMAGED", sellable=False)


@pytest.fixture
def warehouse(server):
    with server.client("warehouse") as client:
        yield client


async def test_a_receipt_adds_on_hand_with_its_lot(warehouse, server_db):
    body = {
        "sku": SKU,
        "location": BIN,
        "quantity": 12,
        "reference": "PO-77",
        "lot": "L-2026-11",
        "expires_on": "2027-06-30",
    }
    response = warehouse.post("/v1/stock/receipts", json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["transaction_id"].startswith("txn_")
    assert (answer["sku"], answer["location"], answer["on_hand"]) == (SKU, BIN, 12)
    row = await server_db.fetchrow(
        "SELECT kind, quantity, reference_type, reference_id, lot, expires_on::text, actor"
        " FROM ledger_entries WHERE sku = $1 AND location = $2",
        SKU,
        BIN,
    )
    assert tuple(row)[:6] == ("receipt", 12, "receipt", "PO-77", "L-2026-11", "2027-06-30")
    assert row["actor"].startswith("warehouse:")
    assert await level(server_db, SKU, BIN) == (12, 0, 0)


async def test_shrinkage_below_what_is_held_reads_zero_available_and_a_shortfall(
    server, warehouse, server_db
):
    warehouse.post("/v1/stock/receipts", json={"sku": SKU, "location": BIN2, "quantity": 5})
    with server.client("storefront") as storefront:
        held = storefront.post(
            "/v1/reservations", json={"lines": [{"sku": SKU, "quantity": 4, "location": BIN2}]}
        )
        assert held.status_code == 201
        response = warehouse.post(
            "/v1/stock/adjustments",
            json={"sku": SKU, "location": BIN2, "delta": -3, "reason": "cycle count"},
        )
        assert response.status_code == 201, response.text
        answer = response.json()
        assert (answer["on_hand"], answer["available"], answer["shortfall"]) == (2, 0, 2)
        availability = storefront.get(f"/v1/availability/{SKU}").json()
        bin2 = next(loc for loc in availability["locations"] if loc["location"] == BIN2)
        assert bin2["available"] == 0 and bin2["reserved"] == 4
    adjustment = await server_db.fetchrow(
        "SELECT quantity, reference_id FROM ledger_entries WHERE kind = 'adjustment'"
    )
    assert tuple(adjustment) == (-3, "cycle count")


async def test_availability_totals_sellable_locations(server, warehouse):
    warehouse.post(
        "/v1/stock/receipts", json={"sku": SKU, "location": "STK-DAMAGED", "quantity": 9}
    )
    with server.client("storefront") as storefront:
        availability = storefront.get(f"/v1/availability/{SKU}").json()
    sellable = [loc for loc in availability["locations"] if loc["sellable"]]
    for field in ("on_hand", "reserved", "committed", "available"):
        assert availability[field] == sum(loc[field] for loc in sellable), field
    damaged = next(loc for loc in availability["locations"] if loc["location"] == "STK-DAMAGED")
    assert (damaged["on_hand"], damaged["available"], damaged["sellable"]) == (9, 0, False)


async def test_unknown_sku_availability_is_404(server):
    with server.client("storefront") as storefront:
        response = storefront.get("/v1/availability/NO-SUCH-SKU")
    assert response.status_code == 404
    assert response.json()["type"].endswith("unknown-sku")


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("receipts", {"sku": "GHOST", "location": BIN, "quantity": 1}, 422, "sku"),
        ("receipts", {"sku": SKU, "location": "NOWHERE", "quantity": 1}, 422, "location"),
        ("receipts", {"sku": SKU, "location": BIN, "quantity": 0}, 422, "quantity"),
        ("receipts", {"sku": SKU, "location": BIN, "quantity": 1.5}, 400, "quantity"),
        ("receipts", {"sku": SKU, "location": BIN, "quantity": 1, "colour": 1}, 400, "colour"),
        (
            "receipts",
            {"sku": SKU, "location": BIN, "quantity": 1, "expires_on": "soon"},
            400,
            "expires_on",
        ),
        ("adjustments", {"sku": SKU, "location": BIN, "delta": 1}, 400, "reason"),
        ("adjustments", {"sku": SKU, "location": BIN, "delta": 1, "reason": " "}, 422, "reason"),
        ("adjustments", {"sku": SKU, "location": BIN, "delta": 0, "reason": "x"}, 422, "delta"),
        (
            "adjustments",
            {"sku": SKU, "location": BIN, "delta": -10_000, "reason": "x"},
            422,
            "delta",
        ),
    ],
)
async def test_bad_movements_name_the_field_and_write_nothing(
    warehouse, server_db, path, body, status, field
):
    before = await ledger_count(server_db)
    response = warehouse.post(f"/v1/stock/{path}", json=body)
    assert response.status_code == status, response.text
    problem = response.json()
    named = {problem.get("field")} | {e.get("field") for e in problem.get("errors", [])}
    assert field in named, problem
    assert await ledger_count(server_db) == before


async def test_only_warehouse_and_admin_move_stock(server, server_db):
    before = await ledger_count(server_db)
    body = {"sku": SKU, "location": BIN, "quantity": 1}
    with server.client("storefront") as storefront:
        assert storefront.post("/v1/stock/receipts", json=body).status_code == 403
    with server.client() as anonymous:
        assert anonymous.post("/v1/stock/receipts", json=body).status_code == 401
    assert await ledger_count(server_db) == before
    with server.client("admin") as admin:
        assert admin.post("/v1/stock/receipts", json=body).status_code == 201


async def test_the_ledger_verifies_clean(server_db):
    assert await verify(server_db) == []


async def test_a_return_adds_on_hand_as_a_return_entry(server, warehouse, server_db):
    body = {"sku": SKU, "location": "STK-DAMAGED", "quantity": 2, "reason": "wrong size"}
    response = warehouse.post("/v1/stock/returns", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["location"] == "STK-DAMAGED"
    row = await server_db.fetchrow(
        "SELECT kind, quantity, reference_type, reference_id FROM ledger_entries"
        " WHERE kind = 'return'"
    )
    assert tuple(row) == ("return", 2, "return", "wrong size")
    assert await verify(server_db) == []


async def test_a_transfer_moves_only_units_nobody_holds(server, warehouse, server_db):
    sku, a, b = "STK-MOVE", "STK-MOVE-A", "STK-MOVE-B"
    with server.client("admin") as admin:
        put_item(admin, sku)
        put_location(admin, a)
        put_location(admin, b)
    warehouse.post("/v1/stock/receipts", json={"sku": sku, "location": a, "quantity": 5})
    with server.client("storefront") as storefront:
        held = {"lines": [{"sku": sku, "quantity": 3, "location": a}]}
        assert storefront.post("/v1/reservations", json=held).status_code == 201
    before = await ledger_count(server_db)
    too_many = {"sku": sku, "from": a, "to": b, "quantity": 3}
    refused = warehouse.post("/v1/stock/transfers", json=too_many)
    assert refused.status_code == 409
    assert refused.json()["shortages"] == [{"sku": sku, "requested": 3, "available": 2}]
    assert await ledger_count(server_db) == before
    moved = warehouse.post(
        "/v1/stock/transfers", json={**too_many, "quantity": 2, "reference": "MOVE-1"}
    )
    assert moved.status_code == 201, moved.text
    answer = moved.json()
    assert answer["from"] == {
        "location": a,
        "on_hand": 3,
        "reserved": 3,
        "committed": 0,
        "available": 0,
    }
    assert answer["to"]["on_hand"] == 2
    rows = await server_db.fetch(
        "SELECT kind, location, quantity FROM ledger_entries WHERE reference_id = 'MOVE-1'"
        " ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [("transfer_out", a, 2), ("transfer_in", b, 2)]
    assert await level(server_db, sku, a) == (3, 3, 0)
    assert await level(server_db, sku, b) == (2, 0, 0)
    assert await verify(server_db) == []


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"sku": SKU, "from": BIN, "to": BIN, "quantity": 1}, 422, "to"),
        ({"sku": SKU, "from": BIN, "to": "NOWHERE", "quantity": 1}, 422, "location"),
        ({"sku": SKU, "from": BIN, "to": BIN2, "quantity": 0}, 422, "quantity"),
        ({"sku": SKU, "to": BIN2, "quantity": 1}, 400, "from"),
        ({"sku": "GHOST", "from": BIN, "to": BIN2, "quantity": 1}, 422, "sku"),
    ],
)
async def test_bad_transfers_name_the_field_and_write_nothing(
    warehouse, server_db, body, status, field
):
    before = await ledger_count(server_db)
    response = warehouse.post("/v1/stock/transfers", json=body)
    assert response.status_code == status, response.text
    problem = response.json()
    named = {problem.get("field")} | {e.get("field") for e in problem.get("errors", [])}
    assert field in named, problem
    assert await ledger_count(server_db) == before
