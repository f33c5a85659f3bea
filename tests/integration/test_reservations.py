"""Reservations through real HTTP against a real server and PostgreSQL: the storefront's
reserve → commit / release / extend cycle, as the client and the ledger see it."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import asyncpg
import httpx
import pytest
from tests.integration.stock_helpers import ledger_count, level, post_concurrently, stock

from reservoir.ledger.verify import verify
from reservoir.lib.clock import to_ms

SKU, BIN = "RES-SKU-1", "RES-BIN-1"


@pytest.fixture(scope="module", autouse=True)
def stocked(server):
    stock(server, SKU, BIN, 50)
    stock(server, "RES-SKU-2", "RES-BIN-2", 5)
    stock(server, "RES-SKU-2", "RES-QC", 100, sellable=False)


@pytest.fixture
def storefront(server):
    with server.client("storefront") as client:
        yield client


def reserve(client: httpx.Client, *lines: tuple, **extra) -> httpx.Response:
    body = {
        "lines": [
            {"sku": sku, "quantity": quantity, **({"location": loc[0]} if loc else {})}
            for sku, quantity, *loc in lines
        ],
        **extra,
    }
    return client.post("/v1/reservations", json=body)


async def test_reserve_holds_units_and_writes_the_ledger(storefront, server_db):
    before = await level(server_db, SKU, BIN)
    response = reserve(storefront, (SKU, 3), ttl_seconds=120, channel="web", reference="cart-9")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("rsv_")
    assert body["status"] == "held"
    assert body["lines"] == [{"sku": SKU, "quantity": 3, "location": BIN}]
    assert body["channel"] == "web" and body["reference"] == "cart-9"
    assert body["expires_at"].endswith("Z") and body["created_at"].endswith("Z")
    assert await level(server_db, SKU, BIN) == (before[0], before[1] + 3, before[2])
    rows = await server_db.fetch(
        "SELECT kind, quantity, actor FROM ledger_entries WHERE reference_id = $1", body["id"]
    )
    assert [(r["kind"], r["quantity"]) for r in rows] == [("reserve", 3)]
    assert rows[0]["actor"].startswith("storefront:")
    read = storefront.get(f"/v1/reservations/{body['id']}")
    assert read.status_code == 200 and read.json() == body


async def test_commit_then_release_cancels_the_order(storefront, server_db):
    rid = reserve(storefront, (SKU, 2)).json()["id"]
    committed = storefront.post(f"/v1/reservations/{rid}/commit", json={"reference": "order-1"})
    assert committed.status_code == 200 and committed.json()["status"] == "committed"
    again = storefront.post(f"/v1/reservations/{rid}/commit")
    assert again.status_code == 200 and again.json()["status"] == "committed"
    released = storefront.post(f"/v1/reservations/{rid}/release")
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert storefront.post(f"/v1/reservations/{rid}/release").json()["status"] == "released"
    late = storefront.post(f"/v1/reservations/{rid}/commit")
    assert late.status_code == 409
    assert late.headers["content-type"].startswith("application/problem+json")
    assert late.json()["reservation_status"] == "released"
    kinds = await server_db.fetch(
        "SELECT kind FROM ledger_entries WHERE reference_id = $1 ORDER BY id", rid
    )
    assert [r["kind"] for r in kinds] == ["reserve", "commit", "cancel"]
    row = await server_db.fetchrow(
        "SELECT status, commit_reference FROM reservations WHERE id = $1", rid
    )
    assert tuple(row) == ("released", "order-1")


async def test_extend_moves_expires_at(storefront):
    body = reserve(storefront, (SKU, 1), ttl_seconds=60).json()
    extended = storefront.post(f"/v1/reservations/{body['id']}/extend", json={"ttl_seconds": 600})
    assert extended.status_code == 200
    assert extended.json()["expires_at"] > body["expires_at"]
    storefront.post(f"/v1/reservations/{body['id']}/commit")
    refused = storefront.post(f"/v1/reservations/{body['id']}/extend", json={"ttl_seconds": 60})
    assert refused.status_code == 409 and refused.json()["reservation_status"] == "committed"


async def test_insufficient_stock_is_409_with_shortages_and_holds_nothing(storefront, server_db):
    before = await ledger_count(server_db)
    response = reserve(storefront, (SKU, 1), ("RES-SKU-2", 6))
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"].endswith("insufficient-stock")
    assert problem["shortages"] == [{"sku": "RES-SKU-2", "requested": 6, "available": 5}]
    assert await ledger_count(server_db) == before


async def test_non_sellable_stock_is_never_held(storefront):
    response = reserve(storefront, ("RES-SKU-2", 1, "RES-QC"))
    assert response.status_code == 409
    availability = storefront.get("/v1/availability/RES-SKU-2").json()
    assert availability["on_hand"] == 5, "totals count sellable locations only"
    qc = next(loc for loc in availability["locations"] if loc["location"] == "RES-QC")
    assert qc["sellable"] is False and qc["on_hand"] == 100


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"lines": [{"sku": SKU, "quantity": "1"}]}, 400, "lines[0].quantity"),
        ({"lines": [{"sku": SKU, "quantity": 0}]}, 422, "lines[0].quantity"),
        ({"lines": [{"sku": SKU, "quantity": 1_000_001}]}, 422, "lines[0].quantity"),
        ({"lines": []}, 422, "lines"),
        ({"lines": [{"sku": SKU, "quantity": 1}] * 101}, 422, "lines"),
        ({"lines": [{"sku": SKU, "quantity": 1}], "ttl_seconds": 0}, 422, "ttl_seconds"),
        ({"lines": [{"sku": SKU, "quantity": 1}], "ttl_seconds": 86_401}, 422, "ttl_seconds"),
        ({"lines": [{"sku": SKU, "quantity": 1}], "colour": "red"}, 400, "colour"),
        ({"lines": [{"sku": "NO-SUCH-SKU", "quantity": 1}]}, 422, "sku"),
        ({"lines": [{"sku": SKU, "quantity": 1, "location": "NOWHERE"}]}, 422, "location"),
        ({}, 400, "lines"),
    ],
)
async def test_bad_reservations_name_the_field_and_write_nothing(
    storefront, server_db, body, status, field
):
    before = await ledger_count(server_db)
    response = storefront.post("/v1/reservations", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    named = {problem.get("field")} | {e.get("field") for e in problem.get("errors", [])}
    assert field in named, problem
    assert await ledger_count(server_db) == before


async def test_malformed_json_and_wrong_credentials(server, server_db):
    before = await ledger_count(server_db)
    with server.client("storefront") as storefront:
        broken = storefront.post(
            "/v1/reservations", content=b'{"lines": [', headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400
    with server.client() as anonymous:
        assert anonymous.post("/v1/reservations", json={"lines": []}).status_code == 401
    bad_key = {"Authorization": "Bearer nope"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=bad_key) as bad:
        assert (await bad.post("/v1/reservations", json={"lines": []})).status_code == 401
    with server.client("warehouse") as warehouse:
        wrong_role = warehouse.post(
            "/v1/reservations", json={"lines": [{"sku": SKU, "quantity": 1}]}
        )
        assert wrong_role.status_code == 403
    assert await ledger_count(server_db) == before


async def test_unknown_reservation_is_404(storefront):
    for rid in ("rsv_fffffff", "not-an-id"):
        assert storefront.get(f"/v1/reservations/{rid}").status_code == 404
        assert storefront.post(f"/v1/reservations/{rid}/commit").status_code == 404
        assert storefront.post(f"/v1/reservations/{rid}/release").status_code == 404


async def test_a_lapsed_hold_expires_within_a_second_and_gives_units_back(storefront, server_db):
    available = storefront.get(f"/v1/availability/{SKU}").json()["available"]
    rid = reserve(storefront, (SKU, 4), ttl_seconds=1).json()["id"]
    assert storefront.get(f"/v1/availability/{SKU}").json()["available"] == available - 4
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        if storefront.get(f"/v1/availability/{SKU}").json()["available"] == available:
            break
        await asyncio.sleep(0.05)
    assert storefront.get(f"/v1/availability/{SKU}").json()["available"] == available
    assert storefront.get(f"/v1/reservations/{rid}").json()["status"] == "expired"
    assert storefront.post(f"/v1/reservations/{rid}/release").json()["status"] == "expired"
    assert storefront.post(f"/v1/reservations/{rid}/commit").status_code == 409
    await asyncio.sleep(0.2)
    rows = await server_db.fetch(
        "SELECT kind, actor FROM ledger_entries WHERE reference_id = $1 ORDER BY id", rid
    )
    assert [(r["kind"], r["actor"]) for r in rows][-1] == ("expire", "system")


async def test_the_ledger_verifies_clean(server_db):
    assert await verify(server_db) == []


async def test_2000_concurrent_buyers_for_100_units(server, database_factory):
    """Exactly 100 holds for 100 units, however the 2,000 requests interleave."""
    sku, location = "FLASH-100", "FLASH-BIN"
    stock(server, sku, location, 100)
    body = {"lines": [{"sku": sku, "quantity": 1}]}
    responses = await post_concurrently(server, "storefront", "/v1/reservations", [body] * 2000)
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 100
    assert statuses.count(409) == 1900
    shortage = next(r for r in responses if r.status_code == 409).json()["shortages"]
    assert shortage == [{"sku": sku, "requested": 1, "available": 0}]
    conn = await asyncpg.connect(server.database_url)
    try:
        assert await ledger_count(conn, sku=sku, kind="reserve") == 100
        assert await level(conn, sku, location) == (100, 100, 0)
        assert await verify(conn) == []
    finally:
        await conn.close()


async def test_the_running_engine_equals_the_ledger_even_under_load(server):
    """verify pauses the writer and compares ledger + unwritten changes with the engine."""
    body = {"lines": [{"sku": SKU, "quantity": 1}], "ttl_seconds": 60}
    load = asyncio.create_task(
        post_concurrently(server, "storefront", "/v1/reservations", [body] * 300)
    )
    async with server.async_client("admin", timeout=30) as admin:
        checks = []
        while not load.done():
            checks.append((await admin.get("/v1/admin/verify")).json())
    assert {r.status_code for r in await load} <= {201, 409}
    assert checks and all(check == {"ok": True, "differences": []} for check in checks)


def test_the_verify_command_checks_the_server_engine(server, run_reservoir):
    settings = {
        "RESERVOIR_DATABASE_URL": server.database_url,
        "RESERVOIR_API_KEYS": ",".join(f"{r}:{k}" for r, k in server.keys.items()),
    }
    result = run_reservoir("verify", "--server", server.base_url, settings=settings)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "engine at" in result.stdout and "equals it" in result.stdout


def _received_at(response: httpx.Response) -> int:
    value = response.headers.get("Reservoir-Received-At")
    assert value is not None and value.isdigit(), dict(response.headers)
    return int(value)


def test_every_response_says_when_the_server_received_it(server, storefront):
    """`Reservoir-Received-At`: the server's clock (ms) at receipt, on answers of handlers,
    of refusals before the handler (401) and of the router (404)."""
    stock(server, "RES-SKU-AT", "RES-BIN-AT", 5)
    before_ms = time.time_ns() // 1_000_000
    answers = [
        reserve(storefront, ("RES-SKU-AT", 1), ttl_seconds=60),
        storefront.get("/v1/reservations/rsv_999999999"),
        storefront.get("/v1/no-such-route"),
        httpx.get(f"{server.base_url}/v1/availability/{SKU}"),  # no key: 401
    ]
    after_ms = time.time_ns() // 1_000_000
    assert [r.status_code for r in answers] == [201, 404, 404, 401]
    stamps = [_received_at(r) for r in answers]
    assert all(before_ms <= at <= after_ms for at in stamps), (before_ms, stamps, after_ms)
    assert stamps == sorted(stamps)


def test_a_commit_refused_for_expiry_was_received_after_expires_at(server, storefront):
    stock(server, "RES-SKU-EXP", "RES-BIN-EXP", 5)
    held = reserve(storefront, ("RES-SKU-EXP", 1), ttl_seconds=1).json()
    expires_ms = to_ms(datetime.fromisoformat(held["expires_at"].replace("Z", "+00:00")))
    time.sleep(max(0.0, (expires_ms + 50) / 1000 - time.time()))
    refused = storefront.post(f"/v1/reservations/{held['id']}/commit", json={})
    assert refused.status_code == 409, refused.text
    assert refused.json()["reservation_status"] == "expired"
    assert _received_at(refused) >= expires_ms
