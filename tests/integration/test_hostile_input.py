"""Hostile bodies and headers (found by an outside schemathesis run): each is a clear
problem naming what is at fault, never a 500, and writes nothing."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from tests.integration.stock_helpers import ledger_count, put_item, put_location

PROBLEMS = "https://reservoir.dev/problems/"
SKU, BIN = "HOST-SKU", "HOST-BIN"
BIG = 2**63  # one past i64: was an OverflowError (500) in the core's binding


@pytest.fixture(scope="module", autouse=True)
def catalogue(server: Any) -> None:
    with server.client("admin") as admin:
        put_item(admin, SKU)
        put_location(admin, BIN)
        r = admin.post("/v1/stock/receipts", json={"sku": SKU, "location": BIN, "quantity": 5})
        assert r.status_code == 201, r.text


def assert_problem(r: httpx.Response, status: int, slug: str, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = r.json()
    assert problem["type"] == PROBLEMS + slug, problem
    assert problem["status"] == status
    assert problem["field"] == field, problem
    return problem


OUT_OF_RANGE: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "storefront",
        "/v1/reservations",
        {"lines": [{"sku": SKU, "quantity": BIG}]},
        "lines[0].quantity",
    ),
    (
        "storefront",
        "/v1/reservations",
        {"lines": [{"sku": SKU, "quantity": -BIG}]},
        "lines[0].quantity",
    ),
    (
        "storefront",
        "/v1/reservations",
        {"lines": [{"sku": SKU, "quantity": 10**30}]},
        "lines[0].quantity",
    ),
    (
        "storefront",
        "/v1/reservations",
        {"lines": [{"sku": SKU, "quantity": 1}], "ttl_seconds": BIG},
        "ttl_seconds",
    ),
    ("warehouse", "/v1/stock/receipts", {"sku": SKU, "location": BIN, "quantity": BIG}, "quantity"),
    ("warehouse", "/v1/stock/returns", {"sku": SKU, "location": BIN, "quantity": BIG}, "quantity"),
    (
        "warehouse",
        "/v1/stock/adjustments",
        {"sku": SKU, "location": BIN, "delta": -BIG, "reason": "count"},
        "delta",
    ),
    (
        "warehouse",
        "/v1/stock/transfers",
        {"sku": SKU, "from": BIN, "to": BIN, "quantity": BIG},
        "quantity",
    ),
    ("warehouse", "/v1/picklists", {"warehouse": BIN, "max_orders": BIG}, "max_orders"),
]


@pytest.mark.parametrize(("role", "path", "body", "field"), OUT_OF_RANGE)
async def test_integers_out_of_range_are_422_naming_the_field_and_write_nothing(
    server: Any,
    server_db: asyncpg.Connection,
    role: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await ledger_count(server_db)
    reservations = await server_db.fetchval("SELECT count(*) FROM reservations")
    with server.client(role) as client:
        r = client.post(path, json=body)
    assert_problem(r, 422, "invalid-input", field)
    assert await ledger_count(server_db) == before
    assert await server_db.fetchval("SELECT count(*) FROM reservations") == reservations


async def test_extend_and_confirm_bound_their_integers(server: Any) -> None:
    with server.client("storefront") as shop:
        extend = shop.post("/v1/reservations/rsv_1/extend", json={"ttl_seconds": BIG})
    assert_problem(extend, 422, "invalid-input", "ttl_seconds")
    with server.client("warehouse") as warehouse:
        body = {"picks": [{"seq": BIG, "quantity": 1}]}
        confirm = warehouse.post("/v1/picklists/pl_1/confirm", json=body)
    assert_problem(confirm, 422, "invalid-input", "picks[0].seq")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "bin", "aisle": BIG}, "aisle"),
        ({"kind": "bin", "position": -BIG}, "position"),
        ({"kind": "warehouse", "layout": {"depot_aisle": BIG}}, "layout.depot_aisle"),
        (
            {"kind": "warehouse", "layout": {"middle_cross_aisles": [1, BIG]}},
            "layout.middle_cross_aisles[1]",
        ),
    ],
)
async def test_location_numbers_out_of_range_are_422(
    server: Any, server_db: asyncpg.Connection, body: dict[str, Any], field: str
) -> None:
    with server.client("admin") as admin:
        r = admin.put("/v1/locations/HOST-RANGE", json=body)
    assert_problem(r, 422, "invalid-input", field)
    assert await server_db.fetchval("SELECT count(*) FROM locations WHERE code = 'HOST-RANGE'") == 0


async def test_a_query_limit_out_of_range_is_422(server: Any) -> None:
    with server.client("warehouse") as warehouse:
        r = warehouse.get("/v1/ledger", params={"limit": str(BIG)})
    assert_problem(r, 422, "invalid-input", "limit")


def deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


async def test_attributes_nested_1000_deep_are_422_and_write_nothing(
    server: Any, server_db: asyncpg.Connection
) -> None:
    body = b'{"name": "deep", "attributes": ' + deep(1_000) + b"}"
    assert len(body) < 65_536
    with server.client("admin") as admin:
        r = admin.put(
            "/v1/items/HOST-DEEP", content=body, headers={"content-type": "application/json"}
        )
    problem = assert_problem(r, 422, "nesting-too-deep", "body")
    assert problem["depth_max"] == 32
    assert await server_db.fetchval("SELECT count(*) FROM items WHERE sku = 'HOST-DEEP'") == 0


async def test_nesting_up_to_the_bound_is_accepted_and_brackets_in_strings_do_not_count(
    server: Any, server_db: asyncpg.Connection
) -> None:
    # 1 (the body) + 31 = 32 levels; and a name full of brackets and escaped quotes
    body = b'{"name": "[[[[\\"{{{{' + b"[" * 40 + b'", "attributes": ' + deep(31) + b"}"
    with server.client("admin") as admin:
        r = admin.put(
            "/v1/items/HOST-OK", content=body, headers={"content-type": "application/json"}
        )
        assert r.status_code == 201, r.text
        too_deep = b'{"name": "x", "attributes": ' + deep(32) + b"}"
        r = admin.put(
            "/v1/items/HOST-OK", content=too_deep, headers={"content-type": "application/json"}
        )
    assert_problem(r, 422, "nesting-too-deep", "body")
    count = await ledger_count(server_db)
    with server.client("storefront") as shop:
        r = shop.post(
            "/v1/reservations",
            content=b'{"lines": ' + b"[" * 2_000 + b"]" * 2_000 + b"}",
            headers={"content-type": "application/json"},
        )
    assert_problem(r, 422, "nesting-too-deep", "body")
    assert await ledger_count(server_db) == count


async def test_a_64_kib_header_is_431(server: Any) -> None:
    with server.client("storefront") as shop:
        r = shop.get(f"/v1/availability/{SKU}", headers={"x-filler": "a" * 65_536})
        assert_problem(r, 431, "headers-too-large", "headers")
        many = {f"x-filler-{i}": "b" * 1_000 for i in range(20)}  # 20 KB over 20 headers
        assert_problem(shop.get("/healthz", headers=many), 431, "headers-too-large", "headers")
        assert (
            shop.get(f"/v1/availability/{SKU}", headers={"x-filler": "a" * 8_000}).status_code
            == 200
        )


async def test_an_over_long_url_is_414(server: Any) -> None:
    with server.client("storefront") as shop:
        r = shop.get("/v1/availability/" + "A" * 9_000)
        assert_problem(r, 414, "uri-too-long", "url")
        r = shop.get("/healthz", params={"q": "x" * 9_000})
        assert_problem(r, 414, "uri-too-long", "url")
