"""Reconciliation (issue 14): a 100,000-line count file against a ledger that keeps moving;
the discrepancies are exactly the planted ones (movements after the count accounted for);
applying them makes `verify` clean and the counts equal; malformed lines are reported by
number and nothing is recorded. Real HTTP against `reservoir serve` on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import asyncpg
import pytest
from tests.integration.stock_helpers import put_item, put_location, receive

from reservoir.ledger.verify import verify

SKUS = [f"RC-S{i:03d}" for i in range(100)]
PLACES = [f"RC-L{i:04d}" for i in range(1000)]  # 100 x 1000 = 100,000 count lines
STOCKED = PLACES[:2]  # 200 levels with 10 units each
# (sku, location) -> what the outside count found instead of 10
PLANTED = {
    (SKUS[3], STOCKED[0]): 8,
    (SKUS[17], STOCKED[1]): 12,
    (SKUS[42], STOCKED[0]): 0,
    (SKUS[77], STOCKED[1]): 9,
}
MOVED_AFTER = SKUS[90:]  # received again after the count, at STOCKED[0]
ELSEWHERE = "RC-ELSEWHERE"  # not counted: receipts go on there while a reconciliation runs


@pytest.fixture(scope="module")
def counted(start_server, database_factory):
    server = start_server(database_factory())
    with server.client("admin") as admin, server.client("warehouse") as dock:
        for code in [*PLACES, ELSEWHERE]:
            put_location(admin, code)
        for sku in SKUS:
            put_item(admin, sku)
        for sku in SKUS:
            for place in STOCKED:
                receive(dock, sku, place, 10)
    yield server
    server.stop()


@pytest.fixture
async def db(counted):
    conn = await asyncpg.connect(counted.database_url)
    yield conn
    await conn.close()


def count_file(at: str, quantity_of) -> bytes:
    lines = ["sku,location,quantity,source,counted_at"]
    lines += [
        f"{sku},{place},{quantity_of(sku, place)},3pl,{at}" for sku in SKUS for place in PLACES
    ]
    return ("\n".join(lines) + "\n").encode()


def stocked(sku: str, place: str) -> int:
    return 10 if place in STOCKED else 0


def post_csv(client, body: bytes, **params):
    return client.post(
        "/v1/reconciliations",
        content=body,
        params={"source": "3pl", **params},
        headers={"Content-Type": "text/csv"},
        timeout=300,
    )


def keep_moving(server, stop: threading.Event) -> None:
    """Receipts at places the count did not look at, while the reconciliation runs."""
    with server.client("warehouse") as dock:
        while not stop.is_set():
            receive(dock, SKUS[0], ELSEWHERE, 1)


async def test_a_large_count_finds_exactly_the_planted_discrepancies(counted, db):
    counted_at = dt.datetime.now(dt.UTC).isoformat()
    await asyncio.sleep(0.05)
    with counted.client("warehouse") as dock:
        for sku in MOVED_AFTER:  # after the count: accounted for, not a discrepancy
            receive(dock, sku, STOCKED[0], 5)
    body = count_file(counted_at, lambda s, p: PLANTED.get((s, p), stocked(s, p)))
    assert body.count(b"\n") == 100_001
    stop = threading.Event()
    mover = threading.Thread(target=keep_moving, args=(counted, stop))
    mover.start()
    try:
        with counted.client("warehouse") as dock:
            answered = post_csv(dock, body)
    finally:
        stop.set()
        mover.join()
    assert answered.status_code == 201, answered.text[:500]
    rec = answered.json()
    assert (rec["lines"], rec["flagged"]) == (100_000, len(PLANTED))
    found = {(d["sku"], d["location"]): d for d in rec["discrepancies"]}
    assert {key: d["counted"] for key, d in found.items()} == PLANTED
    assert all(
        d["expected"] == 10 and d["flagged"] and not d.get("applied") for d in found.values()
    )
    event = await db.fetchval(
        "SELECT payload FROM outbox WHERE topic = 'reconciliation' ORDER BY id DESC LIMIT 1"
    )
    assert rec["id"] in event

    # nothing was adjusted by comparing; the admin applies the flagged lines
    assert (
        await db.fetchval(
            "SELECT count(*) FROM ledger_entries WHERE reference_type = 'reconciliation'"
        )
        == 0
    )
    with counted.client("warehouse") as dock:
        assert (
            dock.post(f"/v1/reconciliations/{rec['id']}/apply", json={"flagged": True}).status_code
            == 403
        )
    with counted.client("admin") as admin:
        applied = admin.post(f"/v1/reconciliations/{rec['id']}/apply", json={"flagged": True})
        assert applied.status_code == 200, applied.text
        assert len(applied.json()["applied"]) == len(PLANTED)
        again = admin.post(f"/v1/reconciliations/{rec['id']}/apply", json={"flagged": True})
        assert again.status_code == 200
        assert (again.json()["applied"], len(again.json()["already_applied"])) == ([], len(PLANTED))
    assert await verify(db) == []

    # a count now, of what the shelves hold after the movements, agrees everywhere
    moved = {(sku, STOCKED[0]): 5 for sku in MOVED_AFTER}
    now = dt.datetime.now(dt.UTC).isoformat()
    await asyncio.sleep(0.05)
    body = count_file(
        now,
        lambda s, p: PLANTED.get((s, p), stocked(s, p)) + moved.get((s, p), 0),
    )
    with counted.client("warehouse") as dock:
        agreed = post_csv(dock, body)
    assert agreed.status_code == 201, agreed.text[:500]
    assert (agreed.json()["flagged"], agreed.json()["discrepancies"]) == (0, [])


def test_malformed_lines_are_reported_by_number_and_nothing_is_recorded(counted):
    at = dt.datetime.now(dt.UTC).isoformat()
    body = (
        "sku,location,quantity,source,counted_at\n"
        f"{SKUS[0]},{PLACES[0]},10,3pl,{at}\n"
        f"{SKUS[0]},{PLACES[1]},-1,3pl,{at}\n"
        f"{SKUS[1]},{PLACES[0]},10,3pl,yesterday\n"
        f"{SKUS[1]},{PLACES[1]},10,3pl\n"
        f"NO-SUCH-SKU,{PLACES[0]},1,3pl,{at}\n"
    ).encode()
    with counted.client("warehouse") as dock:
        refused = post_csv(dock, body)
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["type"].endswith("malformed-counts")
        assert [(e["line"], e["field"]) for e in problem["errors"]] == [
            (3, "quantity"),
            (4, "counted_at"),
            (5, "row"),
        ]
        unknown = post_csv(
            dock,
            f"sku,location,quantity,source,counted_at\nNO-SUCH,{PLACES[0]},1,x,{at}\n".encode(),
        )
        assert unknown.status_code == 422
        assert unknown.json()["errors"] == [
            {"line": 2, "field": "sku", "message": "unknown SKU 'NO-SUCH'"}
        ]
        header = post_csv(dock, b"a,b\n1,2\n")
        assert header.status_code == 422 and header.json()["errors"][0]["field"] == "header"
        assert dock.get("/v1/reconciliations/REC-999999").status_code == 404


async def test_json_counts_and_applying_chosen_lines(counted, db):
    before = await db.fetchval("SELECT count(*) FROM reconciliations")
    at = dt.datetime.now(dt.UTC).isoformat()
    with counted.client("warehouse") as dock:
        made = dock.post(
            "/v1/reconciliations",
            json={
                "source": "marketplace",
                "threshold_units": 2,
                "counts": [
                    {"sku": SKUS[5], "location": STOCKED[0], "quantity": 9, "counted_at": at},
                    {"sku": SKUS[6], "location": STOCKED[0], "quantity": 14, "counted_at": at},
                    {"sku": SKUS[7], "quantity": 25, "counted_at": at},
                ],
            },
        )
    assert made.status_code == 201, made.text
    rec = made.json()
    flags = {d["line_no"]: (d["difference"], d["flagged"]) for d in rec["discrepancies"]}
    assert flags == {1: (-1, False), 2: (4, True), 3: (5, True)}, "a SKU total without location"
    with counted.client("admin") as admin:
        no_place = admin.post(f"/v1/reconciliations/{rec['id']}/apply", json={"lines": [3]})
        assert no_place.status_code == 422 and no_place.json()["field"] == "lines"
        same = admin.post(f"/v1/reconciliations/{rec['id']}/apply", json={"lines": [9]})
        assert same.status_code == 422
        one = admin.post(f"/v1/reconciliations/{rec['id']}/apply", json={"lines": [1]})
        assert one.status_code == 200, one.text
    row = await db.fetchrow(
        "SELECT kind, quantity, reference_type, reference_id, note FROM ledger_entries "
        "WHERE reference_type = 'reconciliation' AND reference_id = $1",
        f"{rec['id']}:1",
    )
    assert (row["kind"], row["quantity"]) == ("adjustment", -1)
    assert row["note"].startswith("counted 9, ledger 10")
    assert await db.fetchval("SELECT count(*) FROM reconciliations") == before + 1
    assert await verify(db) == []


def test_the_reconcile_command_sends_a_file_and_prints_the_summary(
    counted, run_reservoir, tmp_path
):
    at = dt.datetime.now(dt.UTC).isoformat()
    counts = tmp_path / "3pl-counts.csv"
    counts.write_text(
        "sku,location,quantity,source,counted_at\n"
        f"{SKUS[20]},{STOCKED[0]},10,3pl,{at}\n"
        f"{SKUS[21]},{STOCKED[1]},4,3pl,{at}\n"
    )
    settings = {"RESERVOIR_WAREHOUSE_KEY": counted.keys["warehouse"]}
    done = run_reservoir(
        "reconcile", "--from", str(counts), "--server", counted.base_url, settings=settings
    )
    assert done.returncode == 1, done.stderr  # a flagged discrepancy
    assert "from 3pl-counts.csv: 2 lines, 1 differ from the ledger, 1 flagged" in done.stdout
    assert f"line 3: {SKUS[21]} at {STOCKED[1]} counted 4, ledger 10 (-6)" in done.stdout
    clean = run_reservoir(
        "reconcile",
        "--from",
        str(counts),
        "--server",
        counted.base_url,
        "--threshold-units",
        "7",
        settings=settings,
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
