"""Lots through real HTTP against a real server and PostgreSQL: receipts bring lots in, holds
take the oldest lot first, counts, transfers and picks name their lot, and the lots survive
a kill -9 (the engine's lots equal `lot_levels` equal the fold of the ledger). The module's
server is its own (one per module): the last test kills and restarts it."""

from __future__ import annotations

import itertools

import pytest
from tests.integration.stock_helpers import put_item, put_location
from tests.integration.test_picklists import Warehouse, assert_problem, confirm, create

from reservoir.ledger.verify import verify

_tags = itertools.count(1)


@pytest.fixture
def warehouse(server):
    with server.client("warehouse") as client:
        yield client


def receive(client, sku: str, location: str, quantity: int, lot=None, expires_on=None):
    body = {"sku": sku, "location": location, "quantity": quantity}
    if lot is not None:
        body["lot"] = lot
    if expires_on is not None:
        body["expires_on"] = expires_on
    return client.post("/v1/stock/receipts", json=body)


def lots_at(server, sku: str) -> dict[str, list[tuple[str, int, str | None]]]:
    with server.client("warehouse") as client:
        body = client.get(f"/v1/availability/{sku}").json()
    return {
        loc["location"]: [(x["lot"], x["on_hand"], x.get("expires_on")) for x in loc["lots"]]
        for loc in body["locations"]
        if "lots" in loc
    }


def hold(server, sku: str, quantity: int, *, commit: bool = False) -> dict:
    with server.client("storefront") as storefront:
        held = storefront.post(
            "/v1/reservations", json={"lines": [{"sku": sku, "quantity": quantity}]}
        )
        assert held.status_code == 201, held.text
        body = held.json()
        if commit:
            assert storefront.post(f"/v1/reservations/{body['id']}/commit").status_code == 200
    return body


def setup_sku(server, *bins: str) -> str:
    sku = f"LOT-SKU-{next(_tags)}"
    with server.client("admin") as admin:
        put_item(admin, sku)
        for code in bins:
            put_location(admin, code)
    return sku


def placed_sku(server, aisle: int, position: int) -> tuple[Warehouse, str, str]:
    """A new warehouse with one bin on its pick grid, and a new SKU."""
    wh = Warehouse(server)
    sku = f"{wh.code}-S"
    bin_code = wh.bin(aisle, position)
    with server.client("admin") as admin:
        put_item(admin, sku)
    return wh, sku, bin_code


async def test_a_hold_takes_the_bin_with_the_oldest_lot_not_the_fullest(server, warehouse):
    big, small = "LOT-BIN-BIG", "LOT-BIN-SMALL"
    sku = setup_sku(server, big, small)
    assert receive(warehouse, sku, big, 100, "MAR", "2027-03-01").status_code == 201
    answer = receive(warehouse, sku, small, 4, "JAN", "2027-01-15")
    assert answer.status_code == 201, answer.text
    assert answer.json()["lot"] == "JAN"

    first = hold(server, sku, 3)
    assert [(line["location"], line["quantity"]) for line in first["lines"]] == [(small, 3)]
    second = hold(server, sku, 5)  # the last January unit, then March
    assert sorted((line["location"], line["quantity"]) for line in second["lines"]) == [
        (big, 4),
        (small, 1),
    ]
    assert lots_at(server, sku) == {
        big: [("MAR", 100, "2027-03-01")],
        small: [("JAN", 4, "2027-01-15")],
    }


async def test_a_lot_keeps_its_expiry_date_and_bad_lots_change_nothing(
    server, warehouse, server_db
):
    where = "LOT-BIN-DATES"
    sku = setup_sku(server, where)
    assert receive(warehouse, sku, where, 5, "L1", "2027-05-01").status_code == 201
    assert receive(warehouse, sku, where, 5, "L1").status_code == 201  # the date may be left out
    before = await server_db.fetchval("SELECT count(*) FROM ledger_entries WHERE sku = $1", sku)

    other_date = receive(warehouse, sku, where, 5, "L1", "2027-06-01")
    problem = assert_problem(other_date, 422, "expires_on")
    assert "2027-05-01" in problem["detail"]
    unknown = warehouse.post(
        "/v1/stock/adjustments",
        json={"sku": sku, "location": where, "delta": -1, "reason": "count", "lot": "L9"},
    )
    assert_problem(unknown, 422, "lot")
    assert_problem(receive(warehouse, sku, where, 1, " L1"), 422, "lot")
    after = await server_db.fetchval("SELECT count(*) FROM ledger_entries WHERE sku = $1", sku)
    assert after == before
    assert lots_at(server, sku) == {where: [("L1", 10, "2027-05-01")]}


async def test_counts_transfers_and_returns_move_the_lot_they_name(server, warehouse, server_db):
    src, dst = "LOT-BIN-SRC", "LOT-BIN-DST"
    sku = setup_sku(server, src, dst)
    receive(warehouse, sku, src, 6, "A", "2027-02-01")
    receive(warehouse, sku, src, 2)  # unlotted
    count = {"sku": sku, "location": src, "reason": "cycle count"}

    short = warehouse.post("/v1/stock/adjustments", json={**count, "delta": -3})
    problem = assert_problem(short, 422, "lot")
    assert "A (6)" in problem["detail"]
    found = warehouse.post("/v1/stock/adjustments", json={**count, "delta": -3, "lot": "A"})
    assert found.status_code == 201, found.text
    assert (found.json()["on_hand"], found.json()["lot"]) == (5, "A")

    moved = warehouse.post(
        "/v1/stock/transfers", json={"sku": sku, "from": src, "to": dst, "quantity": 2, "lot": "A"}
    )
    assert moved.status_code == 201, moved.text
    too_many = warehouse.post(
        "/v1/stock/transfers", json={"sku": sku, "from": src, "to": dst, "quantity": 2, "lot": "A"}
    )
    assert_problem(too_many, 422, "quantity")
    back = warehouse.post(
        "/v1/stock/returns", json={"sku": sku, "location": dst, "quantity": 1, "lot": "A"}
    )
    assert back.status_code == 201, back.text
    assert lots_at(server, sku) == {src: [("A", 1, "2027-02-01")], dst: [("A", 3, "2027-02-01")]}

    rows = await server_db.fetch(
        "SELECT kind, location, quantity, lot, expires_on::text FROM ledger_entries"
        " WHERE sku = $1 ORDER BY id",
        sku,
    )
    assert [tuple(r) for r in rows] == [
        ("receipt", src, 6, "A", "2027-02-01"),
        ("receipt", src, 2, None, None),
        ("adjustment", src, -3, "A", "2027-02-01"),
        ("transfer_out", src, 2, "A", "2027-02-01"),
        ("transfer_in", dst, 2, "A", "2027-02-01"),
        ("return", dst, 1, "A", "2027-02-01"),
    ]
    stored = await server_db.fetch(
        "SELECT location, on_hand FROM lot_levels WHERE sku = $1 ORDER BY location", sku
    )
    assert [tuple(r) for r in stored] == [(dst, 3), (src, 1)]
    with server.client("warehouse") as client:
        entries = client.get("/v1/ledger", params={"sku": sku}).json()["entries"]
    assert [(e["kind"], e.get("lot")) for e in entries][:3] == [
        ("receipt", "A"),
        ("receipt", None),
        ("adjustment", "A"),
    ]
    assert await verify(server_db) == []


async def test_a_pick_list_picks_the_oldest_lots_at_a_bin_and_ships_them(server, server_db):
    wh, sku, bin_code = placed_sku(server, 3, 7)
    with server.client("warehouse") as client:
        receive(client, sku, bin_code, 3, "NEW", "2027-09-01")
        receive(client, sku, bin_code, 2, "OLD", "2027-04-01")
        receive(client, sku, bin_code, 4)
    first = hold(server, sku, 4, commit=True)["id"]
    second = hold(server, sku, 3, commit=True)["id"]

    with server.client("warehouse") as client:
        one = create(client, wh.code, reservations=[first])
        assert one.status_code == 201, one.text
        stops = [(s["lot"], s["quantity"], s.get("expires_on")) for s in one.json()["stops"]]
        assert stops == [("OLD", 2, "2027-04-01"), ("NEW", 2, "2027-09-01")]
        # The next list takes what the open one leaves: one NEW unit, then unlotted units.
        two = create(client, wh.code, reservations=[second]).json()
        assert [(s.get("lot"), s["quantity"]) for s in two["stops"]] == [("NEW", 1), (None, 2)]

        done = confirm(client, one.json())
        assert done.status_code == 200, done.text
        short = confirm(client, two, {2: 1})  # one unlotted unit was not there
        assert short.status_code == 200, short.text
        assert [(d["lot"], d["picked"]) for d in short.json()["discrepancies"]] == [(None, 1)]

    shipped = await server_db.fetch(
        "SELECT reference_id, lot, quantity FROM ledger_entries"
        " WHERE sku = $1 AND kind = 'ship' ORDER BY id",
        sku,
    )
    assert [tuple(r) for r in shipped] == [
        (first, "OLD", 2),
        (first, "NEW", 2),
        (second, "NEW", 1),
        (second, None, 1),
    ]
    assert lots_at(server, sku) == {}
    assert await verify(server_db) == []


async def test_a_pick_of_more_than_a_lot_has_is_refused_and_ships_nothing(server, server_db):
    wh, sku, bin_code = placed_sku(server, 1, 2)
    with server.client("warehouse") as client:
        receive(client, sku, bin_code, 3, "L", "2027-04-01")
        rid = hold(server, sku, 3, commit=True)["id"]
        pick_list = create(client, wh.code, reservations=[rid]).json()
        count = {"sku": sku, "location": bin_code, "reason": "damaged", "lot": "L", "delta": -2}
        assert client.post("/v1/stock/adjustments", json=count).status_code == 201
        refused = confirm(client, pick_list)
        problem = assert_problem(refused, 409, "picks[0].quantity")
        assert (problem["sku"], problem["location"]) == (sku, bin_code)
        assert (
            await server_db.fetchval(
                "SELECT count(*) FROM ledger_entries WHERE sku = $1 AND kind = 'ship'", sku
            )
            == 0
        )
        assert confirm(client, pick_list, {1: 1}).status_code == 200


async def test_lots_survive_a_kill_9_and_the_engine_equals_the_ledger(server, warehouse, server_db):
    a, b = "LOT-BIN-K1", "LOT-BIN-K2"
    sku = setup_sku(server, a, b)
    receive(warehouse, sku, a, 10, "LATE", "2027-12-01")
    receive(warehouse, sku, b, 5, "EARLY", "2027-02-01")
    hold(server, sku, 2, commit=True)
    server.restart(kill=True)
    with server.client("admin") as admin:
        assert admin.get("/v1/admin/verify").json() == {"ok": True, "differences": []}
    assert lots_at(server, sku) == {
        a: [("LATE", 10, "2027-12-01")],
        b: [("EARLY", 5, "2027-02-01")],
    }
    # After the restart, holds still take the oldest lot first: three EARLY units are free.
    later = hold(server, sku, 4)
    assert sorted((line["location"], line["quantity"]) for line in later["lines"]) == [
        (a, 1),
        (b, 3),
    ]
    with server.client("warehouse") as client:
        assert receive(client, sku, a, 1, "EARLY", "2027-03-03").status_code == 422, (
            "the lot's date came back from the ledger"
        )
    assert await verify(server_db) == []


async def test_an_expiry_date_without_a_lot_is_kept_on_the_ledger_row_only(
    server, warehouse, server_db
):
    where = "LOT-BIN-NOLOT"
    sku = setup_sku(server, where)
    answer = receive(warehouse, sku, where, 4, expires_on="2027-08-01")
    assert answer.status_code == 201, answer.text
    assert "lot" not in answer.json()
    row = await server_db.fetchrow(
        "SELECT lot, expires_on::text FROM ledger_entries WHERE sku = $1", sku
    )
    assert tuple(row) == (None, "2027-08-01")
    assert lots_at(server, sku) == {}, "units without a lot are unlotted"


async def test_a_pick_whose_lot_moved_away_ships_the_bins_other_units(server, server_db):
    wh, sku, bin_code = placed_sku(server, 2, 5)
    with server.client("warehouse") as client:
        receive(client, sku, bin_code, 3, "OLD", "2027-04-01")
        receive(client, sku, bin_code, 2, "MID", "2027-06-01")
        receive(client, sku, bin_code, 5)
        rid = hold(server, sku, 3, commit=True)["id"]
        pick_list = create(client, wh.code, reservations=[rid]).json()
        assert [(s["lot"], s["quantity"]) for s in pick_list["stops"]] == [("OLD", 3)]
        # Since the list was made, two OLD units went to another bin (nobody held them).
        other = wh.bin(9, 9)
        move = {"sku": sku, "from": bin_code, "to": other, "quantity": 2, "lot": "OLD"}
        assert client.post("/v1/stock/transfers", json=move).status_code == 201
        done = confirm(client, pick_list)
        assert done.status_code == 200, done.text
    shipped = await server_db.fetch(
        "SELECT lot, quantity FROM ledger_entries WHERE sku = $1 AND kind = 'ship' ORDER BY id",
        sku,
    )
    assert [tuple(r) for r in shipped] == [("OLD", 1), ("MID", 2)]
    assert await verify(server_db) == []


async def test_a_released_orders_open_stop_does_not_keep_its_lot_from_the_next_list(server):
    wh, sku, bin_code = placed_sku(server, 4, 4)
    with server.client("warehouse") as client:
        receive(client, sku, bin_code, 5, "A", "2027-04-01")
        receive(client, sku, bin_code, 5)
        first = hold(server, sku, 5, commit=True)["id"]
        listed = create(client, wh.code, reservations=[first]).json()
        assert [(s["lot"], s["quantity"]) for s in listed["stops"]] == [("A", 5)]
        with server.client("storefront") as storefront:
            assert storefront.post(f"/v1/reservations/{first}/release").status_code == 200
        second = hold(server, sku, 5, commit=True)["id"]
        again = create(client, wh.code, reservations=[second]).json()
        assert [(s.get("lot"), s["quantity"]) for s in again["stops"]] == [("A", 5)]


async def test_an_interrupted_confirmation_is_settled_stop_by_stop_from_its_lots(server, server_db):
    wh, sku, bin_code = placed_sku(server, 8, 8)
    with server.client("warehouse") as client:
        receive(client, sku, bin_code, 2, "OLD", "2027-04-01")
        receive(client, sku, bin_code, 2, "NEW", "2027-09-01")
        rid = hold(server, sku, 4, commit=True)["id"]
        pick_list = create(client, wh.code, reservations=[rid]).json()
        assert [(s["lot"], s["quantity"]) for s in pick_list["stops"]] == [("OLD", 2), ("NEW", 2)]
        # The ship entries become durable, then marking the list fails (as if the process
        # stopped in between): the list stays open with its picks in the ledger.
        await server_db.execute(
            """
            CREATE FUNCTION test_refuse_mark() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'injected: the list cannot be marked'; END $$;
            CREATE TRIGGER test_refuse_mark BEFORE UPDATE ON pick_lists
                FOR EACH ROW WHEN (NEW.status = 'confirmed')
                EXECUTE FUNCTION test_refuse_mark();
            """
        )
        try:
            interrupted = confirm(client, pick_list, {1: 1})  # 1 OLD, 2 NEW picked
            assert interrupted.status_code == 500, interrupted.text
        finally:
            await server_db.execute(
                "DROP TRIGGER test_refuse_mark ON pick_lists; DROP FUNCTION test_refuse_mark()"
            )
        settled = client.get(f"/v1/picklists/{pick_list['id']}").json()
    assert settled["status"] == "confirmed"
    assert [(s["lot"], s["picked"]) for s in settled["stops"]] == [("OLD", 1), ("NEW", 2)]
    assert [(d["lot"], d["picked"]) for d in settled["discrepancies"]] == [("OLD", 1)]
