"""Catalogue over real HTTP against `reservoir serve`: PUT/GET items and locations.

Every refused request is checked for what the client sees (status, problem+json, the field
named) and for what it leaves behind (nothing).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

PROBLEMS = "https://reservoir.dev/problems/"


def assert_problem(r: httpx.Response, status: int, slug: str, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == PROBLEMS + slug, body
    assert body["status"] == status
    assert body["title"] and body["detail"]
    if field is not None:
        assert body["field"] == field, body
    return body


async def item_count(db: asyncpg.Connection, sku: str) -> int:
    return await db.fetchval("SELECT count(*) FROM items WHERE sku = $1", sku)


async def location_row(db: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    return await db.fetchrow("SELECT * FROM locations WHERE code = $1", code)


# --- items ------------------------------------------------------------------------------------


async def test_put_item_creates_then_replaces(server: Any, server_db: asyncpg.Connection) -> None:
    async with server.async_client("admin") as admin:
        body = {"name": "Tee, red, L", "product": "tee", "attributes": {"colour": "red", "n": [1]}}
        created = await admin.put("/v1/items/tee-red-l", json=body)
        assert created.status_code == 201, created.text
        item = created.json()
        assert item["sku"] == "tee-red-l"
        assert item["name"] == "Tee, red, L"
        assert item["product"] == "tee"
        assert item["attributes"] == {"colour": "red", "n": [1]}
        assert item["created_at"].endswith("Z") and item["updated_at"] == item["created_at"]

        replaced = await admin.put("/v1/items/tee-red-l", json={"name": "Tee (red, L)"})
        assert replaced.status_code == 200, replaced.text
        again = replaced.json()
        assert again["name"] == "Tee (red, L)"
        assert again["product"] is None and again["attributes"] == {}
        assert again["created_at"] == item["created_at"]
        assert again["updated_at"] > item["updated_at"]

    async with server.async_client("storefront") as storefront:
        got = await storefront.get("/v1/items/tee-red-l")
    assert got.status_code == 200
    assert got.json() == again
    row = await server_db.fetchrow(
        "SELECT name, attributes::text FROM items WHERE sku = $1", "tee-red-l"
    )
    assert row is not None and row["name"] == "Tee (red, L)" and row["attributes"] == "{}"


async def test_codes_may_hold_slashes_colons_dots(
    server: Any, server_db: asyncpg.Connection
) -> None:
    sku = "ACME/shirt:red.L-1_x"
    async with server.async_client("admin") as admin:
        r = await admin.put(f"/v1/items/{sku}", json={"name": "Shirt"})
        assert r.status_code == 201, r.text
        assert r.json()["sku"] == sku
        assert (await admin.get(f"/v1/items/{sku}")).json()["sku"] == sku
    assert await item_count(server_db, sku) == 1


async def test_unknown_item_is_404(server: Any) -> None:
    async with server.async_client("warehouse") as warehouse:
        body = assert_problem(await warehouse.get("/v1/items/no-such"), 404, "unknown-sku", "sku")
    assert body["sku"] == "no-such"


BAD_ITEMS = [
    (b'{"name": 1}', 400, "invalid-request", "name"),
    (b'{"name": "x", "colour": "red"}', 400, "invalid-request", "colour"),
    (b'{"name": "x", "attributes": [1]}', 400, "invalid-request", "attributes"),
    (b'{"name": "x", "product": 5}', 400, "invalid-request", "product"),
    (b"{}", 400, "invalid-request", "name"),
    (b"[]", 400, "invalid-request", "body"),
    (b'{"name": ', 400, "malformed-json", "body"),
    (b"", 400, "invalid-request", "body"),
    (b'{"name": ""}', 422, "invalid-input", "name"),
    (b'{"name": "   "}', 422, "invalid-input", "name"),
    (b'{"name": "' + b"n" * 201 + b'"}', 422, "invalid-input", "name"),
    (b'{"name": "x", "product": ""}', 422, "invalid-input", "product"),
    (b'{"name": "x", "attributes": {"a": "\\u0000"}}', 422, "invalid-input", "attributes"),
]


@pytest.mark.parametrize(("body", "status", "slug", "field"), BAD_ITEMS)
async def test_bad_item_bodies_name_the_field_and_write_nothing(
    server: Any, server_db: asyncpg.Connection, body: bytes, status: int, slug: str, field: str
) -> None:
    async with server.async_client("admin") as admin:
        r = await admin.put(
            "/v1/items/never", content=body, headers={"content-type": "application/json"}
        )
    assert_problem(r, status, slug, field)
    assert await item_count(server_db, "never") == 0


@pytest.mark.parametrize("sku", ["x" * 65, "a%20b", "caf%C3%A9", "a%3Fb", "a%0Ab"])
async def test_bad_sku_codes_are_422(server: Any, server_db: asyncpg.Connection, sku: str) -> None:
    async with server.async_client("admin") as admin:
        r = await admin.put(f"/v1/items/{sku}", json={"name": "x"})
    assert_problem(r, 422, "invalid-input", "sku")
    assert await server_db.fetchval("SELECT count(*) FROM items WHERE name = 'x'") == 0


async def test_item_writes_need_an_admin_key(server: Any, server_db: asyncpg.Connection) -> None:
    body = {"name": "Forbidden"}
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        r = await anonymous.put("/v1/items/guarded", json=body)
        assert_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")
        r = await anonymous.put(
            "/v1/items/guarded", json=body, headers={"Authorization": "Bearer not-a-key"}
        )
        assert_problem(r, 401, "unauthorized")
        assert 'error="invalid_token"' in r.headers["www-authenticate"]
        r = await anonymous.put(
            "/v1/items/guarded",
            json=body,
            headers={"Authorization": f"Basic {server.keys['admin']}"},
        )
        assert_problem(r, 401, "unauthorized")
        r = await anonymous.get("/v1/items/guarded")
        assert_problem(r, 401, "unauthorized")
    for role in ("storefront", "warehouse"):
        async with server.async_client(role) as client:
            r = await client.put("/v1/items/guarded", json=body)
        problem = assert_problem(r, 403, "forbidden")
        assert role in problem["detail"]
    assert await item_count(server_db, "guarded") == 0


async def test_a_bad_key_with_a_bad_body_is_401_not_400(server: Any) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        r = await anonymous.put("/v1/items/x", content=b"{nope")
    assert_problem(r, 401, "unauthorized")


async def test_bodies_over_64_kib_are_413(server: Any, server_db: asyncpg.Connection) -> None:
    body = {"name": "big", "attributes": {"blob": "x" * 70_000}}
    async with server.async_client("admin") as admin:
        r = await admin.put("/v1/items/too-big", json=body)
    problem = assert_problem(r, 413, "body-too-large", "body")
    assert problem["limit_bytes"] == 65_536
    assert await item_count(server_db, "too-big") == 0


# --- locations --------------------------------------------------------------------------------

LAYOUT = {
    "middle_cross_aisles": [10, 20],
    "aisle_width_m": 2.5,
    "cross_aisle_width_m": 3,
    "bin_pitch_m": 1.2,
    "depot_aisle": 0,
}


async def test_a_warehouse_tree(server: Any, server_db: asyncpg.Connection) -> None:
    async with server.async_client("admin") as admin:
        wh = await admin.put(
            "/v1/locations/WH1", json={"kind": "warehouse", "name": "Main", "layout": LAYOUT}
        )
        assert wh.status_code == 201, wh.text
        assert wh.json()["layout"] == {**LAYOUT, "cross_aisle_width_m": 3.0}
        assert wh.json()["parent"] is None and wh.json()["sellable"] is True
        zone = await admin.put("/v1/locations/WH1/A", json={"kind": "zone", "parent": "WH1"})
        assert zone.status_code == 201, zone.text
        bin_body = {
            "kind": "bin",
            "parent": "WH1/A",
            "aisle": 3,
            "position": 12,
            "level": 0,
            "sellable": False,
        }
        created = await admin.put("/v1/locations/WH1/A/03-12-0", json=bin_body)
        assert created.status_code == 201, created.text
        replaced = await admin.put("/v1/locations/WH1/A/03-12-0", json={**bin_body, "level": 1})
        assert replaced.status_code == 200, replaced.text
    async with server.async_client("storefront") as storefront:
        got = (await storefront.get("/v1/locations/WH1/A/03-12-0")).json()
    assert {k: got[k] for k in ("code", "kind", "parent", "aisle", "position", "level")} == {
        "code": "WH1/A/03-12-0",
        "kind": "bin",
        "parent": "WH1/A",
        "aisle": 3,
        "position": 12,
        "level": 1,
    }
    assert got["sellable"] is False and got["layout"] is None
    row = await location_row(server_db, "WH1")
    assert row is not None and row["kind"] == "warehouse" and row["layout"] is not None


async def test_unknown_location_is_404(server: Any) -> None:
    async with server.async_client("warehouse") as warehouse:
        r = await warehouse.get("/v1/locations/nowhere")
    assert_problem(r, 404, "unknown-location", "location")


async def test_unknown_parent_is_422(server: Any, server_db: asyncpg.Connection) -> None:
    async with server.async_client("admin") as admin:
        r = await admin.put("/v1/locations/orphan", json={"kind": "bin", "parent": "no-such"})
    body = assert_problem(r, 422, "unknown-location", "parent")
    assert body["location"] == "no-such"
    assert await location_row(server_db, "orphan") is None


async def test_parent_cycles_are_422(server: Any, server_db: asyncpg.Connection) -> None:
    async with server.async_client("admin") as admin:
        for code, body in [
            ("CYC", {"kind": "warehouse"}),
            ("CYC-Z", {"kind": "zone", "parent": "CYC"}),
            ("CYC-B", {"kind": "bin", "parent": "CYC-Z"}),
        ]:
            assert (await admin.put(f"/v1/locations/{code}", json=body)).status_code == 201
        cycle = await admin.put("/v1/locations/CYC", json={"kind": "warehouse", "parent": "CYC-B"})
        assert_problem(cycle, 422, "parent-cycle", "parent")
        itself = await admin.put("/v1/locations/CYC-Z", json={"kind": "zone", "parent": "CYC-Z"})
        assert_problem(itself, 422, "parent-cycle", "parent")
    top = await location_row(server_db, "CYC")
    zone = await location_row(server_db, "CYC-Z")
    assert top is not None and top["parent"] is None
    assert zone is not None and zone["parent"] == "CYC"


BAD_LOCATIONS: list[tuple[dict[str, Any] | bytes, int, str, str]] = [
    ({"kind": "shelf"}, 400, "invalid-request", "kind"),
    ({"name": "no kind"}, 400, "invalid-request", "kind"),
    ({"kind": "bin", "sellable": "yes"}, 400, "invalid-request", "sellable"),
    ({"kind": "bin", "sellable": 1}, 400, "invalid-request", "sellable"),
    ({"kind": "bin", "aisle": "3"}, 400, "invalid-request", "aisle"),
    ({"kind": "bin", "position": 1.5}, 400, "invalid-request", "position"),
    ({"kind": "bin", "shelf": 2}, 400, "invalid-request", "shelf"),
    ({"kind": "bin", "parent": 7}, 400, "invalid-request", "parent"),
    (b'{"kind": "bin"', 400, "malformed-json", "body"),
    ({"kind": "bin", "aisle": -1}, 422, "invalid-input", "aisle"),
    ({"kind": "bin", "level": 10**7}, 422, "invalid-input", "level"),
    ({"kind": "bin", "parent": "a b"}, 422, "invalid-input", "parent"),
    ({"kind": "bin", "name": ""}, 422, "invalid-input", "name"),
    ({"kind": "bin", "layout": {}}, 422, "invalid-input", "layout"),
    ({"kind": "warehouse", "layout": []}, 400, "invalid-request", "layout"),
    ({"kind": "warehouse", "layout": {"depot": 1}}, 400, "invalid-request", "layout.depot"),
    (
        {"kind": "warehouse", "layout": {"aisle_width_m": "wide"}},
        400,
        "invalid-request",
        "layout.aisle_width_m",
    ),
    (
        {"kind": "warehouse", "layout": {"middle_cross_aisles": ["a"]}},
        400,
        "invalid-request",
        "layout.middle_cross_aisles[0]",
    ),
    (
        {"kind": "warehouse", "layout": {"aisle_width_m": -1}},
        422,
        "invalid-input",
        "layout.aisle_width_m",
    ),
    (
        {"kind": "warehouse", "layout": {"bin_pitch_m": 0}},
        422,
        "invalid-input",
        "layout.bin_pitch_m",
    ),
    (
        {"kind": "warehouse", "layout": {"middle_cross_aisles": [5, 5]}},
        422,
        "invalid-input",
        "layout.middle_cross_aisles",
    ),
    (
        {"kind": "warehouse", "layout": {"middle_cross_aisles": [-2]}},
        422,
        "invalid-input",
        "layout.middle_cross_aisles[0]",
    ),
]


@pytest.mark.parametrize(("body", "status", "slug", "field"), BAD_LOCATIONS)
async def test_bad_location_bodies_name_the_field_and_write_nothing(
    server: Any,
    server_db: asyncpg.Connection,
    body: dict[str, Any] | bytes,
    status: int,
    slug: str,
    field: str,
) -> None:
    async with server.async_client("admin") as admin:
        if isinstance(body, bytes):
            r = await admin.put("/v1/locations/never", content=body)
        else:
            r = await admin.put("/v1/locations/never", json=body)
    assert_problem(r, status, slug, field)
    assert await location_row(server_db, "never") is None


async def test_a_bad_location_code_is_422(server: Any, server_db: asyncpg.Connection) -> None:
    async with server.async_client("admin") as admin:
        r = await admin.put("/v1/locations/bad%20code", json={"kind": "bin"})
    assert_problem(r, 422, "invalid-input", "code")
    assert await location_row(server_db, "bad code") is None


async def test_a_failed_replace_keeps_the_old_location(
    server: Any, server_db: asyncpg.Connection
) -> None:
    async with server.async_client("admin") as admin:
        assert (
            await admin.put("/v1/locations/KEEP", json={"kind": "warehouse"})
        ).status_code == 201
        r = await admin.put("/v1/locations/KEEP", json={"kind": "warehouse", "parent": "ghost"})
        assert_problem(r, 422, "unknown-location", "parent")
    row = await location_row(server_db, "KEEP")
    assert row is not None and row["parent"] is None


async def test_location_writes_need_an_admin_key(
    server: Any, server_db: asyncpg.Connection
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        r = await anonymous.put("/v1/locations/guarded", json={"kind": "bin"})
        assert_problem(r, 401, "unauthorized")
    for role in ("storefront", "warehouse"):
        async with server.async_client(role) as client:
            r = await client.put("/v1/locations/guarded", json={"kind": "bin"})
        assert_problem(r, 403, "forbidden")
    assert await location_row(server_db, "guarded") is None


async def test_the_engine_learns_new_skus_and_locations(server: Any) -> None:
    """A receipt right after the catalogue PUTs works: the running engine was told."""
    async with server.async_client("admin") as admin:
        assert (await admin.put("/v1/items/fresh-sku", json={"name": "Fresh"})).status_code == 201
        r = await admin.put("/v1/locations/fresh-bin", json={"kind": "bin"})
        assert r.status_code == 201
    async with server.async_client("warehouse") as warehouse:
        r = await warehouse.post(
            "/v1/stock/receipts", json={"sku": "fresh-sku", "location": "fresh-bin", "quantity": 3}
        )
    assert r.status_code == 201, r.text
    assert r.json()["on_hand"] == 3
