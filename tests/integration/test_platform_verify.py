"""`verify`: SUM(ledger) = levels, no oversell, reservations = levels; on real PostgreSQL.

Each test writes rows directly (the write path is not under test here) inside a transaction
that is rolled back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest_asyncio

from reservoir.ledger.verify import summarize, verify


@pytest_asyncio.fixture
async def db(ledger_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(ledger_database_url)
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(
            """
            INSERT INTO items (sku, name) VALUES ('sku-1', 'One'), ('sku-2', 'Two');
            INSERT INTO locations (code, kind) VALUES ('wh', 'warehouse');
            INSERT INTO locations (code, kind, parent) VALUES ('bin-1', 'bin', 'wh');
            INSERT INTO locations (code, kind, parent, sellable)
                VALUES ('quarantine', 'bin', 'wh', false);
            """
        )
        yield conn
    finally:
        await tx.rollback()
        await conn.close()


async def entries(conn: asyncpg.Connection, *rows: tuple) -> None:
    """Ledger rows (sku, location, kind, quantity[, reservation id])."""
    await conn.executemany(
        "INSERT INTO ledger_entries"
        " (lsn, at, sku, location, kind, quantity, actor, reference_type, reference_id)"
        " VALUES ($1, now(), $2, $3, $4, $5, 'test', $6, $7)",
        [
            (i, sku, loc, kind, q, "reservation" if ref else None, ref)
            for i, (sku, loc, kind, q, *ref_) in enumerate(rows, start=1)
            for ref in [ref_[0] if ref_ else None]
        ],
    )


async def level(conn: asyncpg.Connection, sku: str, loc: str, on_hand: int, r: int, c: int) -> None:
    await conn.execute(
        "INSERT INTO inventory_levels (sku, location, on_hand, reserved, committed) "
        "VALUES ($1, $2, $3, $4, $5)",
        sku,
        loc,
        on_hand,
        r,
        c,
    )


async def reservation(
    conn: asyncpg.Connection, rid: str, seq: int, status: str, *lines: tuple[str, str, int]
) -> None:
    now = datetime.now(UTC)
    await conn.execute(
        "INSERT INTO reservations (id, seq, status, expires_at, created_at, updated_at, lsn) "
        "VALUES ($1, $2, $3, $4, $5, $5, 1)",
        rid,
        seq,
        status,
        now + timedelta(minutes=15),
        now,
    )
    await conn.executemany(
        "INSERT INTO reservation_lines (reservation_id, line_no, sku, location, quantity) "
        "VALUES ($1, $2, $3, $4, $5)",
        [(rid, n, sku, loc, q) for n, (sku, loc, q) in enumerate(lines, start=1)],
    )


async def consistent_history(db: asyncpg.Connection) -> None:
    """receipt 10; r1 holds 3; r2 holds 2 then commits; r3 holds 1 then expires; ship 1 of r2"""
    await entries(
        db,
        ("sku-1", "bin-1", "receipt", 10),
        ("sku-1", "bin-1", "reserve", 3, "r1"),
        ("sku-1", "bin-1", "reserve", 2, "r2"),
        ("sku-1", "bin-1", "commit", 2, "r2"),
        ("sku-1", "bin-1", "reserve", 1, "r3"),
        ("sku-1", "bin-1", "expire", 1, "r3"),
        ("sku-2", "quarantine", "receipt", 4),
    )
    await level(db, "sku-1", "bin-1", 10, 3, 2)
    await level(db, "sku-2", "quarantine", 4, 0, 0)
    await reservation(db, "r1", 1, "held", ("sku-1", "bin-1", 3))
    await reservation(db, "r2", 2, "committed", ("sku-1", "bin-1", 2))
    await reservation(db, "r3", 3, "expired", ("sku-1", "bin-1", 1))


async def test_an_empty_ledger_verifies(db: asyncpg.Connection) -> None:
    assert await verify(db) == []


async def test_a_consistent_ledger_verifies(db: asyncpg.Connection) -> None:
    await consistent_history(db)
    assert await verify(db) == []
    summary = await summarize(db)
    assert (summary.entries, summary.levels, summary.open_reservations) == (7, 2, 2)
    assert str(summary) == "7 ledger entries, 2 levels, 2 open reservations"


async def test_a_level_that_differs_from_the_fold(db: asyncpg.Connection) -> None:
    await consistent_history(db)
    await db.execute("UPDATE inventory_levels SET on_hand = 11 WHERE sku = 'sku-1'")
    assert await verify(db) == ["sku-1 at bin-1: on_hand ledger 10 != levels 11"]


async def test_a_ledger_without_its_level_row(db: asyncpg.Connection) -> None:
    await entries(db, ("sku-1", "bin-1", "receipt", 5), ("sku-1", "bin-1", "adjustment", -5))
    assert await verify(db) == [
        "sku-1 at bin-1: the ledger (2 entries) folds to on_hand=0, reserved=0, committed=0 "
        "but inventory_levels has no row"
    ]


async def test_a_level_without_ledger_entries(db: asyncpg.Connection) -> None:
    await level(db, "sku-2", "bin-1", 0, 0, 0)  # all zeros: harmless
    assert await verify(db) == []
    await db.execute("UPDATE inventory_levels SET on_hand = 3")
    assert await verify(db) == [
        "sku-2 at bin-1: inventory_levels has on_hand=3, reserved=0, committed=0 "
        "but the ledger has no entries"
    ]


async def test_oversell_on_a_sellable_location_is_reported(db: asyncpg.Connection) -> None:
    await entries(db, ("sku-1", "bin-1", "receipt", 2), ("sku-1", "bin-1", "reserve", 3))
    await level(db, "sku-1", "bin-1", 2, 3, 0)
    await reservation(db, "r1", 1, "held", ("sku-1", "bin-1", 3))
    assert await verify(db) == [
        "sku-1 at bin-1: oversold by 1 (on_hand=2, reserved=3, committed=0)"
    ]


async def test_oversell_explained_by_shrinkage_is_not(db: asyncpg.Connection) -> None:
    await entries(
        db,
        ("sku-1", "bin-1", "receipt", 10),
        ("sku-1", "bin-1", "reserve", 8),
        ("sku-1", "bin-1", "adjustment", -5),
    )
    await level(db, "sku-1", "bin-1", 5, 8, 0)
    await reservation(db, "r1", 1, "held", ("sku-1", "bin-1", 8))
    assert await verify(db) == []


async def test_non_sellable_locations_are_not_checked_for_oversell(db: asyncpg.Connection) -> None:
    await entries(db, ("sku-2", "quarantine", "reserve", 1))
    await level(db, "sku-2", "quarantine", 0, 1, 0)
    await reservation(db, "r1", 1, "held", ("sku-2", "quarantine", 1))
    assert await verify(db) == []


async def test_negative_levels_are_reported(db: asyncpg.Connection) -> None:
    await entries(db, ("sku-1", "bin-1", "release", 2))
    await level(db, "sku-1", "bin-1", 0, -2, 0)
    differences = await verify(db)
    assert "sku-1 at bin-1: negative reserved (on_hand=0, reserved=-2, committed=0)" in differences
    assert "sku-1 at bin-1: held reservation lines sum to 0 but reserved is -2" in differences


async def test_reservation_lines_must_match_levels(db: asyncpg.Connection) -> None:
    await consistent_history(db)
    await db.execute("UPDATE reservations SET status = 'released' WHERE id = 'r1'")
    await db.execute("UPDATE reservations SET status = 'held' WHERE id = 'r2'")
    assert await verify(db) == [
        "sku-1 at bin-1: held reservation lines sum to 2 but reserved is 3",
        "sku-1 at bin-1: committed reservation lines sum to 0 but committed is 2",
    ]


async def test_open_reservations_need_lines(db: asyncpg.Connection) -> None:
    await reservation(db, "r-empty", 9, "held")
    assert await verify(db) == ["reservation r-empty is held but has no lines"]


async def test_levels_must_name_catalogued_skus_and_locations(db: asyncpg.Connection) -> None:
    await entries(db, ("ghost", "nowhere", "receipt", 1))
    await level(db, "ghost", "nowhere", 1, 0, 0)
    assert await verify(db) == [
        "ghost at nowhere: SKU 'ghost' is not in items",
        "ghost at nowhere: location 'nowhere' is not in locations",
    ]
