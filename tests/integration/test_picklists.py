"""Pick lists through real HTTP against a real server and PostgreSQL: committed reservations
allocated and routed, claimed by pickers, confirmed into `ship` ledger entries.

Each test builds its own warehouse (codes prefixed by the test's tag) so they share one
server without sharing work."""

from __future__ import annotations

import asyncio
import itertools
import json

import httpx
import pytest
from tests.integration.stock_helpers import level, put_item, put_location, receive

from reservoir import _core
from reservoir.ledger.verify import verify
from reservoir.ledger.webhook_fanout import name_fulfilled

_tags = itertools.count(1)


class Warehouse:
    """A warehouse with a zone and bins placed on the grid, stocked through the API."""

    def __init__(self, server, *, layout: dict | None = None) -> None:
        self.server = server
        self.code = f"PLW{next(_tags)}"
        self.bins: dict[str, tuple[int, int]] = {}
        with server.client("admin") as admin:
            body = {"kind": "warehouse", **({"layout": layout} if layout else {})}
            assert admin.put(f"/v1/locations/{self.code}", json=body).status_code == 201
            put_location(admin, f"{self.code}-Z", kind="zone", parent=self.code)

    def bin(self, aisle: int, position: int) -> str:
        code = f"{self.code}-A{aisle:02d}-P{position:02d}"
        if code not in self.bins:
            with self.server.client("admin") as admin:
                put_location(
                    admin, code, parent=f"{self.code}-Z", aisle=aisle, position=position, level=1
                )
            self.bins[code] = (aisle, position)
        return code

    def stock(self, sku: str, aisle: int, position: int, quantity: int) -> str:
        code = self.bin(aisle, position)
        with self.server.client("admin") as admin, self.server.client("warehouse") as wh:
            put_item(admin, sku)
            receive(wh, sku, code, quantity)
        return code


def order(server, *lines: tuple[str, int, str], commit: bool = True) -> str:
    """A reservation of (sku, quantity, location) lines, committed unless told otherwise."""
    body = {"lines": [{"sku": s, "quantity": q, "location": loc} for s, q, loc in lines]}
    with server.client("storefront") as storefront:
        held = storefront.post("/v1/reservations", json=body)
        assert held.status_code == 201, held.text
        rid = held.json()["id"]
        if commit:
            assert storefront.post(f"/v1/reservations/{rid}/commit").status_code == 200
    return rid


@pytest.fixture
def warehouse(server):
    with server.client("warehouse") as client:
        yield client


def create(client: httpx.Client, code: str, **body) -> httpx.Response:
    return client.post("/v1/picklists", json={"warehouse": code, **body})


def confirm(client: httpx.Client, pick_list: dict, picked: dict[int, int] | None = None, **kw):
    """Confirms every stop in full, except the seqs `picked` names."""
    picks = [
        {"seq": s["seq"], "quantity": (picked or {}).get(s["seq"], s["quantity"])}
        for s in pick_list["stops"]
    ]
    return client.post(f"/v1/picklists/{pick_list['id']}/confirm", json={"picks": picks}, **kw)


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    if field is not None:
        named = {problem.get("field")} | {e.get("field") for e in problem.get("errors", [])}
        assert field in named, problem
    return problem


# --- creating and routing ------------------------------------------------------------------


async def test_a_pick_list_routes_committed_units_across_aisles(server, warehouse):
    wh = Warehouse(server)
    spots = [(2, 30), (9, 4), (5, 18), (2, 3), (7, 35)]
    bins = [wh.stock(f"{wh.code}-S{i}", a, p, 20) for i, (a, p) in enumerate(spots)]
    lines = [(f"{wh.code}-S{i}", i + 1, b) for i, b in enumerate(bins)]
    first, second = order(server, *lines), order(server, *lines)

    optimal = create(warehouse, wh.code, reservations=[first])
    assert optimal.status_code == 201, optimal.text
    body = optimal.json()
    assert body["id"].startswith("pl_") and body["strategy"] == "optimal"
    assert body["status"] == "open" and body["warehouse"] == wh.code
    assert [s["seq"] for s in body["stops"]] == [1, 2, 3, 4, 5]
    assert {(s["sku"], s["quantity"], s["location"]) for s in body["stops"]} == set(lines)
    assert {s["reservation_id"] for s in body["stops"]} == {first}

    s_shape = create(warehouse, wh.code, reservations=[second], strategy="s-shape").json()
    assert s_shape["strategy"] == "s-shape"
    assert body["distance"] <= s_shape["distance"]
    # the same route the core gives for the warehouse's layout (one block sized by its bins)
    layout = _core.layout_from_bins([(a, p, 1) for a, p in spots])
    points = [(*wh.bins[s["location"]], 1) for s in body["stops"]]
    order_, distance_m = _core.route_picks(layout, points, "optimal")
    assert order_ == list(range(5)), "stops are listed in visiting order"
    assert body["distance"] == pytest.approx(distance_m, abs=1e-3)
    # plausible: at least out to the farthest aisle and back, at most visiting each stop
    # from the depot separately
    matrix = _core.distance_matrix(layout, points)
    assert 2 * (9 - 1) * 3.0 <= body["distance"] <= sum(2 * d for d in matrix[0])
    read = warehouse.get(f"/v1/picklists/{body['id']}")
    assert read.status_code == 200 and read.json() == body


async def test_the_oldest_committed_reservation_is_taken_first(server, warehouse):
    wh = Warehouse(server)
    b = wh.stock(f"{wh.code}-S", 3, 3, 10)
    order(server, (f"{wh.code}-S", 1, b), commit=False)  # held: never picked
    older, newer = order(server, (f"{wh.code}-S", 1, b)), order(server, (f"{wh.code}-S", 2, b))
    first = create(warehouse, wh.code).json()
    second = create(warehouse, wh.code).json()
    assert [s["reservation_id"] for s in first["stops"]] == [older]
    assert [s["reservation_id"] for s in second["stops"]] == [newer]
    assert assert_problem(create(warehouse, wh.code), 409)["type"].endswith("nothing-to-pick")


async def test_batch_picking_groups_neighbouring_orders_into_one_list(server, warehouse):
    wh = Warehouse(server)
    near = [wh.stock(f"{wh.code}-N{i}", 8, 30 + i, 5) for i in range(3)]
    far = wh.stock(f"{wh.code}-F", 1, 2, 5)
    rids = [order(server, (f"{wh.code}-N{i}", 1, near[i])) for i in range(3)]
    alone = order(server, (f"{wh.code}-F", 1, far))
    batch = create(warehouse, wh.code, max_orders=3)
    assert batch.status_code == 201, batch.text
    assert {s["reservation_id"] for s in batch.json()["stops"]} == set(rids)
    single = create(warehouse, wh.code, max_orders=3).json()
    assert [s["reservation_id"] for s in single["stops"]] == [alone]


# --- confirmation ------------------------------------------------------------------------


async def test_confirm_with_a_short_pick_ships_and_records_the_discrepancy(
    server, warehouse, server_db
):
    wh = Warehouse(server)
    sku_a, sku_b = f"{wh.code}-A", f"{wh.code}-B"
    bin_a, bin_b = wh.stock(sku_a, 2, 10, 10), wh.stock(sku_b, 6, 25, 10)
    rid = order(server, (sku_a, 3, bin_a), (sku_b, 2, bin_b))
    pick_list = create(warehouse, wh.code, reservations=[rid]).json()
    short_seq = next(s["seq"] for s in pick_list["stops"] if s["sku"] == sku_b)

    confirmed = confirm(warehouse, pick_list, {short_seq: 1})
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["status"] == "confirmed" and body["confirmed_at"].endswith("Z")
    assert {s["sku"]: s["picked"] for s in body["stops"]} == {sku_a: 3, sku_b: 1}
    assert [(d["seq"], d["expected"], d["picked"]) for d in body["discrepancies"]] == [
        (short_seq, 2, 1)
    ]
    assert body["reservations"] == [{"id": rid, "status": "committed"}]
    # durable before the answer: the ledger has the ship entries, by the caller
    rows = await server_db.fetch(
        "SELECT sku, location, quantity, actor FROM ledger_entries"
        " WHERE reference_id = $1 AND kind = 'ship' ORDER BY sku",
        rid,
    )
    assert [(r["sku"], r["location"], r["quantity"]) for r in rows] == [
        (sku_a, bin_a, 3),
        (sku_b, bin_b, 1),
    ]
    assert all(r["actor"].startswith("warehouse:") for r in rows)
    assert await level(server_db, sku_a, bin_a) == (7, 0, 0)
    assert await level(server_db, sku_b, bin_b) == (9, 0, 1), "the shortfall stays committed"
    availability = warehouse.get(f"/v1/availability/{sku_b}").json()
    assert (availability["on_hand"], availability["committed"]) == (9, 1)
    assert (availability["available"]) == 8
    stored = await server_db.fetch(
        "SELECT seq, expected, picked FROM pick_discrepancies WHERE pick_list_id = $1",
        pick_list["id"],
    )
    assert [tuple(r) for r in stored] == [(short_seq, 2, 1)]
    assert warehouse.get(f"/v1/picklists/{pick_list['id']}").json() == {
        k: v for k, v in body.items() if k != "reservations"
    }
    with server.client("storefront") as storefront:
        assert storefront.get(f"/v1/reservations/{rid}").json()["status"] == "committed"

    again = confirm(warehouse, pick_list)
    assert assert_problem(again, 409)["type"].endswith("pick-list-confirmed")

    # the shortfall goes into a later list; shipping it fulfils the reservation
    rest = create(warehouse, wh.code, reservations=[rid])
    assert rest.status_code == 201, rest.text
    assert [(s["sku"], s["quantity"]) for s in rest.json()["stops"]] == [(sku_b, 1)]
    done = confirm(warehouse, rest.json())
    assert done.status_code == 200 and done.json()["discrepancies"] == []
    assert done.json()["reservations"] == [{"id": rid, "status": "fulfilled"}]
    assert await level(server_db, sku_b, bin_b) == (8, 0, 0)
    with server.client("storefront") as storefront:
        assert storefront.get(f"/v1/reservations/{rid}").json()["status"] == "fulfilled"
    assert await verify(server_db) == []


async def test_a_list_of_several_orders_confirms_all_or_nothing(server, warehouse, server_db):
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    b1, b2 = wh.stock(sku, 1, 5, 4), wh.stock(sku, 4, 5, 4)
    first, second = order(server, (sku, 2, b1)), order(server, (sku, 2, b2))
    pick_list = create(warehouse, wh.code, reservations=[first, second]).json()
    with server.client("storefront") as storefront:
        assert storefront.post(f"/v1/reservations/{second}/release").status_code == 200
    refused = confirm(warehouse, pick_list)
    assert assert_problem(refused, 409)["reservation_id"] == second
    assert await level(server_db, sku, b1) == (4, 0, 2), "nothing shipped"
    seq = next(s["seq"] for s in pick_list["stops"] if s["reservation_id"] == second)
    ok = confirm(warehouse, pick_list, {seq: 0})
    assert ok.status_code == 200, ok.text
    assert ok.json()["discrepancies"] == [], "a cancelled order's stop is not a short pick"
    assert {r["id"]: r["status"] for r in ok.json()["reservations"]} == {
        first: "fulfilled",
        second: "released",
    }
    assert await level(server_db, sku, b1) == (2, 0, 0)
    assert await level(server_db, sku, b2) == (4, 0, 0)


async def test_a_confirmation_is_replayed_for_its_idempotency_key(server, warehouse, server_db):
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    rid = order(server, (sku, 1, wh.stock(sku, 2, 2, 3)))
    pick_list = create(warehouse, wh.code, reservations=[rid]).json()
    key = {"Idempotency-Key": f"confirm-{pick_list['id']}"}
    first = confirm(warehouse, pick_list, headers=key)
    replay = confirm(warehouse, pick_list, headers=key)
    assert first.status_code == replay.status_code == 200
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.content == first.content
    ships = await server_db.fetchval(
        "SELECT count(*) FROM ledger_entries WHERE reference_id = $1 AND kind = 'ship'", rid
    )
    assert ships == 1


async def test_an_interrupted_confirmation_is_settled_from_the_ledger(server, warehouse, server_db):
    """Ship entries durable but the list not marked (the process died in between): the list
    reads confirmed, from the ledger, and a second confirmation ships nothing twice."""
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    rid = order(server, (sku, 3, wh.stock(sku, 3, 3, 5)))
    pick_list = create(warehouse, wh.code, reservations=[rid]).json()
    assert confirm(warehouse, pick_list, {1: 2}).status_code == 200
    async with server_db.transaction():  # undo the list's bookkeeping, keep the ledger
        await server_db.execute(
            "DELETE FROM pick_discrepancies WHERE pick_list_id = $1", pick_list["id"]
        )
        await server_db.execute(
            "UPDATE pick_list_stops SET picked = NULL WHERE pick_list_id = $1", pick_list["id"]
        )
        await server_db.execute(
            "UPDATE pick_lists SET status = 'claimed', claimed_by = 'x', claimed_at = now(),"
            " confirmed_at = NULL WHERE id = $1",
            pick_list["id"],
        )
        await server_db.execute(
            "INSERT INTO pick_allocations (reservation_id, sku, location, pick_list_id, quantity)"
            " SELECT reservation_id, sku, location, pick_list_id, quantity"
            " FROM pick_list_stops WHERE pick_list_id = $1",
            pick_list["id"],
        )
    assert_problem(confirm(warehouse, pick_list), 409)
    read = warehouse.get(f"/v1/picklists/{pick_list['id']}").json()
    assert read["status"] == "confirmed"
    assert [(s["quantity"], s["picked"]) for s in read["stops"]] == [(3, 2)]
    assert [(d["expected"], d["picked"]) for d in read["discrepancies"]] == [(3, 2)]
    ships = await server_db.fetchval(
        "SELECT sum(quantity) FROM ledger_entries WHERE reference_id = $1 AND kind = 'ship'", rid
    )
    assert ships == 2


async def test_the_ledger_verifies_after_a_short_pick(server, warehouse, server_db):
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    rid = order(server, (sku, 4, wh.stock(sku, 2, 2, 5)))
    pick_list = create(warehouse, wh.code, reservations=[rid]).json()
    assert confirm(warehouse, pick_list, {1: 1}).status_code == 200
    assert await verify(server_db) == []


# --- claims and allocations ------------------------------------------------------------


async def test_concurrent_next_calls_never_get_the_same_list(server, warehouse):
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    b = wh.stock(sku, 4, 4, 50)
    created = []
    for _ in range(6):
        order(server, (sku, 1, b))
        created.append(create(warehouse, wh.code).json()["id"])
    clients = [server.async_client("warehouse") for _ in range(12)]
    try:
        answers = await asyncio.gather(
            *(c.post("/v1/picklists/next", json={"warehouse": wh.code}) for c in clients)
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    claimed = [a.json()["id"] for a in answers if a.status_code == 200]
    assert sorted(a.status_code for a in answers) == [200] * 6 + [204] * 6
    assert sorted(claimed) == sorted(created), "each list once"
    first = warehouse.get(f"/v1/picklists/{created[0]}").json()
    assert first["status"] == "claimed" and first["claimed_by"].startswith("warehouse:")
    assert first["claimed_at"].endswith("Z")
    assert warehouse.post("/v1/picklists/next", json={"warehouse": wh.code}).status_code == 204


async def test_next_claims_the_oldest_open_list(server, warehouse):
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    b = wh.stock(sku, 1, 1, 5)
    ids = []
    for _ in range(2):
        order(server, (sku, 1, b))
        ids.append(create(warehouse, wh.code).json()["id"])
    got = [warehouse.post("/v1/picklists/next", json={"warehouse": wh.code}) for _ in ids]
    assert [g.json()["id"] for g in got] == ids


async def test_the_same_units_are_never_in_two_open_lists(server, warehouse):
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    rid = order(server, (sku, 2, wh.stock(sku, 5, 5, 5)))
    clients = [server.async_client("warehouse") for _ in range(8)]
    body = {"warehouse": wh.code, "reservations": [rid]}
    try:
        answers = await asyncio.gather(*(c.post("/v1/picklists", json=body) for c in clients))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 7
    winner = next(a.json() for a in answers if a.status_code == 201)
    refused = next(a.json() for a in answers if a.status_code == 409)
    assert refused["type"].endswith("reservation-allocated")
    assert refused["pick_list_id"] == winner["id"] and refused["field"] == "reservations[0]"
    assert_problem(create(warehouse, wh.code), 409)  # nothing unallocated left either


# --- bad input -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_input_warehouse(server):
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    wh.stock(sku, 2, 2, 10)
    return wh


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"warehouse": "NO-SUCH-WH"}, 422, "warehouse"),
        ({"warehouse": "bad code!"}, 422, "warehouse"),
        ({"warehouse": "{wh}", "strategy": "fastest"}, 400, "strategy"),
        ({"warehouse": "{wh}", "max_orders": 0}, 422, "max_orders"),
        ({"warehouse": "{wh}", "max_orders": 51}, 422, "max_orders"),
        ({"warehouse": "{wh}", "reservations": []}, 422, "reservations"),
        ({"warehouse": "{wh}", "reservations": ["rsv_fffffff"]}, 422, "reservations[0]"),
        ({"warehouse": "{wh}", "reservations": ["x", "y"], "max_orders": 1}, 422, "max_orders"),
        ({"warehouse": "{wh}", "colour": "red"}, 400, "colour"),
        ({}, 400, "warehouse"),
    ],
)
def test_bad_create_requests_name_the_field(warehouse, bad_input_warehouse, body, status, field):
    code = bad_input_warehouse.code
    body = {k: v.format(wh=code) if isinstance(v, str) else v for k, v in body.items()}
    assert_problem(warehouse.post("/v1/picklists", json=body), status, field)


def test_reservations_that_cannot_be_picked_are_refused(server, warehouse, bad_input_warehouse):
    wh = bad_input_warehouse
    sku = f"{wh.code}-S"
    held = order(server, (sku, 1, f"{wh.code}-A02-P02"), commit=False)
    problem = assert_problem(
        create(warehouse, wh.code, reservations=[held]), 409, "reservations[0]"
    )
    assert problem["reservation_status"] == "held"
    committed = order(server, (sku, 1, f"{wh.code}-A02-P02"))
    twice = create(warehouse, wh.code, reservations=[committed, committed])
    assert_problem(twice, 422, "reservations[1]")
    elsewhere = Warehouse(server)
    assert_problem(create(warehouse, elsewhere.code, reservations=[committed]), 409)
    with server.client("admin") as admin:
        put_location(admin, f"{wh.code}-FLOOR", parent=wh.code)  # in the warehouse, no grid
        put_item(admin, f"{wh.code}-T")
        receive(warehouse, f"{wh.code}-T", f"{wh.code}-FLOOR", 2)
    unplaced = order(server, (f"{wh.code}-T", 1, f"{wh.code}-FLOOR"))
    problem = assert_problem(create(warehouse, wh.code, reservations=[unplaced]), 422)
    assert problem["type"].endswith("unplaced-bin")
    zone = assert_problem(create(warehouse, f"{wh.code}-Z"), 422, "warehouse")
    assert "zone" in zone["detail"]
    with server.client("storefront") as storefront:
        assert storefront.post("/v1/picklists", json={"warehouse": wh.code}).status_code == 403


def test_an_unusable_warehouse_layout_is_422_naming_the_layout_key(server, warehouse):
    wh = Warehouse(server, layout={"middle_cross_aisles": [30]})
    sku = f"{wh.code}-S"
    rid = order(server, (sku, 1, wh.stock(sku, 2, 8, 3)))
    problem = assert_problem(create(warehouse, wh.code, reservations=[rid]), 422, "warehouse")
    assert problem["type"].endswith("invalid-warehouse-layout")
    assert problem["layout_field"] == "layout.middle_cross_aisles[0]"


def test_a_multi_block_layout_routes_through_the_middle_cross_aisle(server, warehouse):
    wh = Warehouse(server, layout={"middle_cross_aisles": [10], "aisle_width_m": 4.0})
    sku = f"{wh.code}-S"
    spots = [(1, 12), (2, 12), (6, 20)]
    bins = [wh.stock(f"{sku}{i}", a, p, 3) for i, (a, p) in enumerate(spots)]
    rid = order(server, *((f"{sku}{i}", 1, b) for i, b in enumerate(bins)))
    body = create(warehouse, wh.code, reservations=[rid]).json()
    layout = _core.layout_from_bins(
        [(a, p, 1) for a, p in spots], middle_cross_aisles=[10], aisle_width_m=4.0
    )
    _, distance_m = _core.route_picks(layout, [(a, p, 1) for a, p in spots], "optimal")
    assert body["distance"] == pytest.approx(distance_m, abs=1e-3)


def test_bad_confirmations_name_the_field_and_ship_nothing(server, warehouse):
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    b = wh.stock(sku, 3, 3, 5)
    rid = order(server, (sku, 2, b), (f"{sku}", 1, wh.stock(sku, 4, 4, 5)))
    pick_list = create(warehouse, wh.code, reservations=[rid]).json()
    url = f"/v1/picklists/{pick_list['id']}/confirm"
    cases = [
        ({"picks": [{"seq": 1, "quantity": 2}, {"seq": 9, "quantity": 1}]}, 422, "picks[1].seq"),
        ({"picks": [{"seq": 1, "quantity": 2}, {"seq": 1, "quantity": 1}]}, 422, "picks[1].seq"),
        (
            {"picks": [{"seq": 1, "quantity": 3}, {"seq": 2, "quantity": 1}]},
            422,
            "picks[0].quantity",
        ),
        (
            {"picks": [{"seq": 1, "quantity": -1}, {"seq": 2, "quantity": 1}]},
            422,
            "picks[0].quantity",
        ),
        ({"picks": [{"seq": 1, "quantity": 2}]}, 422, "picks"),
        ({"picks": [{"seq": 1, "quantity": "2"}]}, 400, "picks[0].quantity"),
        ({"picks": [{"seq": 1, "quantity": 2, "lot": "x"}]}, 400, "picks[0].lot"),
    ]
    for body, status, field in cases:
        assert_problem(warehouse.post(url, json=body), status, field)
    assert warehouse.get(f"/v1/picklists/{pick_list['id']}").json()["status"] == "open"
    assert_problem(warehouse.post("/v1/picklists/pl_0/confirm", json={"picks": []}), 404)
    assert_problem(warehouse.get("/v1/picklists/pl_0"), 404)
    assert_problem(
        warehouse.post("/v1/picklists/next", json={"warehouse": "NOPE"}), 422, "warehouse"
    )


# --- last: restarts the module's server ----------------------------------------------------


async def test_open_lists_and_their_allocations_survive_a_kill(server, server_db):
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    rid = order(server, (sku, 2, wh.stock(sku, 3, 9, 4)))
    with server.client("warehouse") as client:
        pick_list = create(client, wh.code, reservations=[rid]).json()
    server.restart(kill=True)
    with server.client("warehouse") as client:
        assert_problem(create(client, wh.code, reservations=[rid]), 409)
        claimed = client.post("/v1/picklists/next", json={"warehouse": wh.code})
        assert claimed.status_code == 200 and claimed.json()["id"] == pick_list["id"]
        done = confirm(client, pick_list)
        assert done.status_code == 200, done.text
        assert done.json()["reservations"] == [{"id": rid, "status": "fulfilled"}]
    assert await level(server_db, sku, f"{wh.code}-A03-P09") == (2, 0, 0)


async def test_a_short_pick_survives_a_restart_with_the_rest_still_committed(server, server_db):
    """Recovery loads what is left to ship (reserved less shipped), not the lines as reserved."""
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    bin_code = wh.stock(sku, 2, 3, 6)
    rid = order(server, (sku, 4, bin_code))
    with server.client("warehouse") as client:
        first = create(client, wh.code, reservations=[rid]).json()
        assert confirm(client, first, {1: 1}).status_code == 200
    assert await level(server_db, sku, bin_code) == (5, 0, 3)
    server.restart(kill=True)
    with server.client("admin") as admin:
        assert admin.get("/v1/admin/verify").json() == {"ok": True, "differences": []}
    with server.client("warehouse") as client:
        rest = create(client, wh.code, reservations=[rid]).json()
        assert [s["quantity"] for s in rest["stops"]] == [3]
        done = confirm(client, rest)
        assert done.status_code == 200 and done.json()["reservations"][0]["status"] == "fulfilled"
    assert await level(server_db, sku, bin_code) == (2, 0, 0)
    assert await verify(server_db) == []


async def test_a_batch_confirmation_ships_every_order_in_the_callers_name(
    server, warehouse, server_db
):
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    bin_code = wh.stock(sku, 1, 2, 20)
    rids = [order(server, (sku, 1, bin_code)) for _ in range(4)]
    pick_list = create(warehouse, wh.code, reservations=rids).json()
    assert confirm(warehouse, pick_list).status_code == 200
    rows = await server_db.fetch(
        "SELECT reference_id, actor FROM ledger_entries WHERE kind = 'ship' AND sku = $1", sku
    )
    assert sorted(r["reference_id"] for r in rows) == sorted(rids)
    assert all(r["actor"].startswith("warehouse:") for r in rows), rows


async def test_a_shortfall_moves_to_a_bin_with_units_to_spare(server, warehouse, server_db):
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    short_bin = wh.stock(sku, 1, 1, 4)
    spare_bin = wh.stock(sku, 5, 7, 10)
    rid = order(server, (sku, 4, short_bin))
    first = create(warehouse, wh.code, reservations=[rid]).json()
    done = confirm(warehouse, first, {1: 1})  # only 1 of 4 found
    assert done.status_code == 200, done.text
    (discrepancy,) = done.json()["discrepancies"]
    assert (discrepancy["expected"], discrepancy["picked"]) == (4, 1)
    assert discrepancy["reallocated_to"] == spare_bin
    assert warehouse.get(f"/v1/picklists/{first['id']}").json()["discrepancies"] == [discrepancy]
    assert await level(server_db, sku, short_bin) == (3, 0, 0), "nothing is promised there"
    assert await level(server_db, sku, spare_bin) == (10, 0, 3)
    kinds = await server_db.fetch(
        "SELECT kind, location, quantity FROM ledger_entries WHERE reference_id = $1"
        " AND kind IN ('cancel', 'reserve', 'commit') ORDER BY id",
        rid,
    )
    assert [tuple(k) for k in kinds][-3:] == [
        ("cancel", short_bin, 3),
        ("reserve", spare_bin, 3),
        ("commit", spare_bin, 3),
    ]
    server.restart(kill=True)  # recovery reads where the order's units are now
    with server.client("admin") as admin:
        assert admin.get("/v1/admin/verify").json() == {"ok": True, "differences": []}
    with server.client("warehouse") as client:
        rest = create(client, wh.code, reservations=[rid]).json()
        assert [(s["location"], s["quantity"]) for s in rest["stops"]] == [(spare_bin, 3)]
        finished = confirm(client, rest)
        assert finished.json()["reservations"] == [{"id": rid, "status": "fulfilled"}]
    assert await level(server_db, sku, spare_bin) == (7, 0, 0)
    assert await verify(server_db) == []


async def test_a_reservation_shipped_by_two_lists_is_fulfilled_by_the_second_only(
    server, warehouse, server_db
):
    """The webhook fan-out names a reservation `fulfilled` in the batch that fulfilled it,
    not in an earlier batch that shipped part of it, however late it reads that batch."""
    wh = Warehouse(server)
    sku = f"{wh.code}-F"
    bin_ = wh.stock(sku, 3, 12, 10)
    rid = order(server, (sku, 2, bin_))
    first = create(warehouse, wh.code, reservations=[rid]).json()
    assert confirm(warehouse, first, {first["stops"][0]["seq"]: 1}).status_code == 200
    second = create(warehouse, wh.code, reservations=[rid]).json()
    assert [s["quantity"] for s in second["stops"]] == [1], "the rest, on a later list"
    assert confirm(warehouse, second).json()["reservations"] == [{"id": rid, "status": "fulfilled"}]
    # both ship batches are in the outbox now: read them as a late fan-out would
    payloads = [
        json.loads(text)
        for (text,) in await server_db.fetch(
            "SELECT payload::text FROM outbox WHERE topic = 'ledger' AND payload::text LIKE $1"
            " ORDER BY id",
            f'%"ship", "{rid}"%',
        )
    ]
    assert len(payloads) == 2, "one batch per confirmation"
    for payload in payloads:
        await name_fulfilled(server_db, payload)
    assert [p.get("fulfilled") for p in payloads] == [[], [rid]]
