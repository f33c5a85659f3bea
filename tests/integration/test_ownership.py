"""Object-level authorization (OWASP API1): a reservation belongs to the API key that made
it. Any other storefront key gets the same 404 as for an unknown id, on every reservation
endpoint, and changes nothing; admin sees and acts on all."""

from __future__ import annotations

import secrets

import pytest
from tests.integration.stock_helpers import ledger_count, level, stock

from reservoir.lib.api_keys import key_id

SKU, BIN = "OWN-SKU", "OWN-BIN"


@pytest.fixture(scope="module")
def two_shops(start_server, database_factory):
    """A server with two storefront keys: `storefront` (the owner) and `other`."""
    keys = {r: f"{r[:2]}_{secrets.token_urlsafe(18)}" for r in ("storefront", "warehouse", "admin")}
    other = f"sf2_{secrets.token_urlsafe(18)}"
    listed = ",".join(f"{r}:{k}" for r, k in keys.items()) + f",storefront:{other}"
    server = start_server(database_factory(), api_keys=keys, env={"RESERVOIR_API_KEYS": listed})
    server.keys["other"] = other
    stock(server, SKU, BIN, 20)
    yield server
    server.stop()


@pytest.fixture
async def db(two_shops):
    import asyncpg

    conn = await asyncpg.connect(two_shops.database_url)
    try:
        yield conn
    finally:
        await conn.close()


def _hold(server, quantity: int = 2) -> dict:
    with server.client("storefront") as owner:
        response = owner.post(
            "/v1/reservations",
            json={"lines": [{"sku": SKU, "quantity": quantity}], "ttl_seconds": 600},
        )
    assert response.status_code == 201, response.text
    return response.json()


def _unknown_answer(server, method: str, path: str, body: dict | None) -> str:
    with server.client("other") as other:
        response = other.request(method, path, json=body)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.text


ACTIONS = [
    ("GET", "", None),
    ("POST", "/commit", {"reference": "stolen"}),
    ("POST", "/release", None),
    ("POST", "/extend", {"ttl_seconds": 3600}),
]


@pytest.mark.parametrize(
    ("method", "suffix", "body"), ACTIONS, ids=[a[1] or "/read" for a in ACTIONS]
)
async def test_another_storefront_key_gets_404_as_for_an_unknown_id_and_changes_nothing(
    two_shops, db, method, suffix, body
):
    held = _hold(two_shops)
    rid = held["id"]
    ledger_before = await ledger_count(db)
    level_before = await level(db, SKU, BIN)
    row_before = await db.fetchrow("SELECT * FROM reservations WHERE id = $1", rid)

    with two_shops.client("other") as other:
        response = other.request(
            method,
            f"/v1/reservations/{rid}{suffix}",
            json=body,
            headers={"Idempotency-Key": f"k-{rid}{suffix}"} if method == "POST" else {},
        )
    assert response.status_code == 404, response.text
    problem = response.json()
    unknown_id = "rsv_0zzzzzz"
    unknown = _unknown_answer(two_shops, method, f"/v1/reservations/{unknown_id}{suffix}", body)
    assert problem["type"].endswith("/reservation-not-found") and problem["status"] == 404
    assert problem["reservation_id"] == rid
    # the same body as for an id that does not exist: nothing tells that it does
    assert response.text.replace(rid, unknown_id) == unknown

    assert await ledger_count(db) == ledger_before
    assert await level(db, SKU, BIN) == level_before
    assert await db.fetchrow("SELECT * FROM reservations WHERE id = $1", rid) == row_before
    with two_shops.client("storefront") as owner:
        still = owner.get(f"/v1/reservations/{rid}")
        assert still.status_code == 200 and still.json() == held
        available = owner.get(f"/v1/availability/{SKU}").json()["available"]
    assert available == level_before[0] - level_before[1] - level_before[2]


async def test_the_owner_and_admin_may_act_on_it(two_shops, db):
    rid = _hold(two_shops)["id"]
    owner_actor = await db.fetchval("SELECT owner FROM reservations WHERE id = $1", rid)
    assert owner_actor == f"storefront:{key_id(two_shops.keys['storefront'])}"
    with two_shops.client("admin") as admin:
        assert admin.get(f"/v1/reservations/{rid}").status_code == 200
        extended = admin.post(f"/v1/reservations/{rid}/extend", json={"ttl_seconds": 900})
        assert extended.status_code == 200, extended.text
        committed = admin.post(f"/v1/reservations/{rid}/commit")
        assert committed.status_code == 200 and committed.json()["status"] == "committed"
    with two_shops.client("storefront") as owner:
        released = owner.post(f"/v1/reservations/{rid}/release")
        assert released.status_code == 200 and released.json()["status"] == "released"
    kinds = await db.fetch(
        "SELECT kind, actor FROM ledger_entries WHERE reference_id = $1 ORDER BY id", rid
    )
    admin_actor = f"admin:{key_id(two_shops.keys['admin'])}"
    assert [(r["kind"], r["actor"]) for r in kinds] == [
        ("reserve", owner_actor),
        ("commit", admin_actor),
        ("cancel", owner_actor),
    ]
