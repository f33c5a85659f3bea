"""`GET /v1/ledger` over real HTTP: roles, filters, paging with the opaque cursor, bad params."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from reservoir.lib.auth import key_id

PROBLEMS = "https://reservoir.dev/problems/"


@pytest_asyncio.fixture(scope="module")
async def entry_ids(server: Any) -> list[int]:
    """25 entries: sku-a at bin-1 (10), sku-a at bin-2 (10), sku-b at bin-1 (5), ids ascending."""
    conn = await asyncpg.connect(server.database_url)
    try:
        start = datetime.now(UTC) - timedelta(minutes=5)
        rows = []
        for i in range(25):
            sku, loc = (
                ("sku-a", "bin-1")
                if i < 10
                else ("sku-a", "bin-2")
                if i < 20
                else ("sku-b", "bin-1")
            )
            kind, quantity = ("receipt", 5) if i % 2 == 0 else ("adjustment", -1)
            rows.append((i + 1, start + timedelta(seconds=i), sku, loc, kind, quantity, f"ref-{i}"))
        ids = []
        for row in rows:
            ids.append(
                await conn.fetchval(
                    """
                    INSERT INTO ledger_entries (lsn, at, sku, location, kind, quantity,
                                                reference_type, reference_id, actor)
                    VALUES ($1, $2, $3, $4, $5, $6, 'test', $7, 'admin:test') RETURNING id
                    """,
                    *row,
                )
            )
        return ids
    finally:
        await conn.close()


async def get(
    server: Any, role: str | None, params: dict[str, Any] | None = None
) -> httpx.Response:
    async with server.async_client(role) as client:
        return await client.get("/v1/ledger", params=params)


async def test_entries_have_the_contract_shape(server: Any, entry_ids: list[int]) -> None:
    r = await get(server, "warehouse")
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["next"] is None
    assert [e["id"] for e in page["entries"]] == entry_ids
    first = page["entries"][0]
    assert set(first) >= {
        "id",
        "at",
        "sku",
        "location",
        "kind",
        "quantity",
        "reference_type",
        "reference_id",
        "actor",
    }
    assert first["sku"] == "sku-a" and first["location"] == "bin-1"
    assert (first["kind"], first["quantity"]) == ("receipt", 5)
    assert page["entries"][1]["quantity"] == -1
    assert (first["reference_type"], first["reference_id"]) == ("test", "ref-0")
    assert first["at"].endswith("Z")
    datetime.fromisoformat(first["at"].replace("Z", "+00:00"))


async def test_paging_with_the_cursor_walks_every_entry_once(
    server: Any, entry_ids: list[int]
) -> None:
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 10}
    pages = 0
    while True:
        r = await get(server, "admin", params)
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        seen += [e["id"] for e in page["entries"]]
        if page["next"] is None:
            break
        assert str(seen[-1]) not in page["next"] or len(page["next"]) > 4
        params = {"limit": 10, "after": page["next"]}
    assert pages == 3
    assert seen == entry_ids


async def test_an_exactly_full_last_page_ends_the_walk(server: Any, entry_ids: list[int]) -> None:
    r = await get(server, "warehouse", {"limit": 25})
    assert len(r.json()["entries"]) == 25 and r.json()["next"] is None
    r = await get(server, "warehouse", {"limit": 24})
    assert r.json()["next"] is not None
    last = await get(server, "warehouse", {"limit": 24, "after": r.json()["next"]})
    assert [e["id"] for e in last.json()["entries"]] == entry_ids[24:]
    assert last.json()["next"] is None


async def test_filters_by_sku_and_location(server: Any, entry_ids: list[int]) -> None:
    by_sku = (await get(server, "warehouse", {"sku": "sku-a"})).json()["entries"]
    assert [e["id"] for e in by_sku] == entry_ids[:20]
    both = (await get(server, "warehouse", {"sku": "sku-a", "location": "bin-2"})).json()
    assert [e["id"] for e in both["entries"]] == entry_ids[10:20]
    by_location = (await get(server, "warehouse", {"location": "bin-1", "limit": 12})).json()
    assert [e["id"] for e in by_location["entries"]] == entry_ids[:10] + entry_ids[20:22]
    rest = await get(server, "warehouse", {"location": "bin-1", "after": by_location["next"]})
    assert [e["id"] for e in rest.json()["entries"]] == entry_ids[22:]
    assert (await get(server, "warehouse", {"sku": "none"})).json() == {"entries": [], "next": None}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "ten"}, "limit"),
        ({"after": "not-a-cursor"}, "after"),
        ({"after": "aWQ6LTU"}, "after"),  # "id:-5"
        ({"sku": "bad sku"}, "sku"),
        ({"sku": "x" * 65}, "sku"),
        ({"location": "a?b"}, "location"),
    ],
)
async def test_bad_parameters_are_400_naming_the_field(
    server: Any, entry_ids: list[int], params: dict[str, Any], field: str
) -> None:
    r = await get(server, "warehouse", params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == PROBLEMS + "invalid-request"
    assert body["field"] == field


@pytest.mark.parametrize("limit", [0, 1001])
async def test_a_limit_out_of_range_is_422_naming_it(
    server: Any, entry_ids: list[int], limit: int
) -> None:
    r = await get(server, "warehouse", {"limit": limit})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == PROBLEMS + "invalid-input"
    assert body["field"] == "limit"


async def test_the_ledger_is_for_warehouse_and_admin(server: Any, entry_ids: list[int]) -> None:
    r = await get(server, None)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert (await get(server, "storefront")).status_code == 403
    assert (await get(server, "warehouse", {"limit": 1})).status_code == 200
    assert (await get(server, "admin", {"limit": 1})).status_code == 200


async def test_writes_through_the_api_show_who_made_them(server: Any, entry_ids: list[int]) -> None:
    async with server.async_client("admin") as admin:
        await admin.put("/v1/items/actor-sku", json={"name": "Actor"})
        await admin.put("/v1/locations/actor-bin", json={"kind": "bin"})
    async with server.async_client("warehouse") as warehouse:
        r = await warehouse.post(
            "/v1/stock/receipts", json={"sku": "actor-sku", "location": "actor-bin", "quantity": 2}
        )
        assert r.status_code == 201, r.text
        entries = (await warehouse.get("/v1/ledger", params={"sku": "actor-sku"})).json()["entries"]
    assert [(e["kind"], e["quantity"], e["location"]) for e in entries] == [
        ("receipt", 2, "actor-bin")
    ]
    assert entries[0]["actor"] == f"warehouse:{key_id(server.keys['warehouse'])}"
