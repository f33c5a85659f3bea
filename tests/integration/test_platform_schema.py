"""Migrations, the ledger's append-only trigger and its monthly partitions, on real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import pytest_asyncio

from reservoir.ledger.maintenance import delete_old_idempotency_keys
from reservoir.ledger.migrate import (
    LATEST_VERSION,
    MIGRATIONS,
    Migration,
    MigrationError,
    migrate,
    prepare_ledger,
    schema_version,
)
from reservoir.ledger.partitions import ensure_ledger_partitions


@pytest_asyncio.fixture
async def empty_db(database_factory: Callable[[], str]) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_factory())
    try:
        yield conn
    finally:
        await conn.close()


@pytest_asyncio.fixture
async def ledger_db(ledger_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """The session's migrated database; every test's changes are rolled back."""
    conn = await asyncpg.connect(ledger_database_url)
    tx = conn.transaction()
    await tx.start()
    try:
        yield conn
    finally:
        await tx.rollback()
        await conn.close()


async def test_migrations_apply_once_and_are_recorded(empty_db: asyncpg.Connection) -> None:
    assert await schema_version(empty_db) == 0
    assert await migrate(empty_db) == [m.version for m in MIGRATIONS]
    assert await migrate(empty_db) == []
    assert await prepare_ledger(empty_db) == []
    rows = await empty_db.fetch("SELECT version, name, applied_at FROM schema_migrations")
    assert [(r["version"], r["name"]) for r in rows] == [(m.version, m.name) for m in MIGRATIONS]
    assert all(r["applied_at"] is not None for r in rows)
    assert await schema_version(empty_db) == LATEST_VERSION


async def test_concurrent_migrations_serialise(database_factory: Callable[[], str]) -> None:
    url = database_factory()
    conns = [await asyncpg.connect(url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(prepare_ledger(c) for c in conns))
        assert sorted(results, key=len) == [[], [], [], [m.version for m in MIGRATIONS]]
        assert await conns[0].fetchval("SELECT count(*) FROM schema_migrations") == len(MIGRATIONS)
    finally:
        for c in conns:
            await c.close()


async def test_a_failed_migration_changes_nothing(empty_db: asyncpg.Connection) -> None:
    broken = [*MIGRATIONS, Migration(LATEST_VERSION + 1, "broken", "CREATE TABLE x (); SELEC")]
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await migrate(empty_db, broken)
    assert await empty_db.fetchval("SELECT to_regclass('items')") is None
    assert await empty_db.fetchval("SELECT to_regclass('schema_migrations')") is None


async def test_a_database_newer_than_the_code_is_refused(empty_db: asyncpg.Connection) -> None:
    await migrate(empty_db)
    await empty_db.execute(
        "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')",
        LATEST_VERSION + 1,
    )
    with pytest.raises(MigrationError, match="newer than this reservoir"):
        await migrate(empty_db)


async def test_the_schema_has_the_agreed_tables_and_columns(ledger_db: asyncpg.Connection) -> None:
    rows = await ledger_db.fetch(
        """
        SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) AS columns
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = ANY($1::text[])
        GROUP BY table_name
        """,
        [
            "items",
            "locations",
            "ledger_entries",
            "inventory_levels",
            "reservations",
            "reservation_lines",
            "idempotency_keys",
            "outbox",
        ],
    )
    columns = {r["table_name"]: set(r["columns"]) for r in rows}
    assert {"sku", "name", "product", "attributes", "created_at", "updated_at"} <= columns["items"]
    assert {
        "code",
        "name",
        "parent",
        "kind",
        "sellable",
        "aisle",
        "position",
        "level",
        "layout",
    } <= columns["locations"]
    assert {
        "id",
        "lsn",
        "at",
        "sku",
        "location",
        "kind",
        "quantity",
        "reference_type",
        "reference_id",
        "actor",
    } <= columns["ledger_entries"]
    assert {"sku", "location", "on_hand", "reserved", "committed", "updated_at"} <= columns[
        "inventory_levels"
    ]
    assert {
        "id",
        "seq",
        "status",
        "expires_at",
        "created_at",
        "updated_at",
        "channel",
        "reference",
        "commit_reference",
        "owner",
        "lsn",
    } <= columns["reservations"]
    assert {"reservation_id", "line_no", "sku", "location", "quantity"} <= columns[
        "reservation_lines"
    ]
    assert {"owner", "key", "request_hash", "status_code", "body", "created_at"} <= columns[
        "idempotency_keys"
    ]
    assert {"id", "lsn", "topic", "payload", "created_at", "published_at"} <= columns["outbox"]
    indexes = {
        r["indexname"]
        for r in await ledger_db.fetch(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
        )
    }
    assert {
        "ledger_entries_sku_location_id_idx",
        "ledger_entries_reference_idx",
        "reservations_committed_seq_idx",
        "idempotency_keys_created_at_idx",
    } <= indexes


async def _insert_entry(conn: asyncpg.Connection, at: datetime, kind: str = "receipt") -> int:
    return await conn.fetchval(
        """
        INSERT INTO ledger_entries (lsn, at, sku, location, kind, quantity, actor)
        VALUES (1, $1, 'sku-1', 'bin-1', $2, 5, 'test') RETURNING id
        """,
        at,
        kind,
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET quantity = 6",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries",
        "TRUNCATE ledger_entries_default",
        "DELETE FROM ledger_entries_default",
    ],
)
async def test_the_ledger_is_append_only(ledger_db: asyncpg.Connection, statement: str) -> None:
    await _insert_entry(ledger_db, datetime.now(UTC))
    await _insert_entry(ledger_db, datetime(2100, 1, 1, tzinfo=UTC))  # lands in DEFAULT
    with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
        async with ledger_db.transaction():
            await ledger_db.execute(statement)
    assert await ledger_db.fetchval("SELECT count(*) FROM ledger_entries") == 2


async def test_monthly_partitions_truncate_is_refused_too(ledger_db: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    await _insert_entry(ledger_db, now)
    current = f"ledger_entries_y{now.year:04d}m{now.month:02d}"
    with pytest.raises(asyncpg.RestrictViolationError):
        async with ledger_db.transaction():
            await ledger_db.execute(f"TRUNCATE {current}")
    with pytest.raises(asyncpg.RestrictViolationError):
        async with ledger_db.transaction():
            await ledger_db.execute(f"UPDATE {current} SET actor = 'x'")


async def test_kinds_and_quantities_are_checked(ledger_db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        async with ledger_db.transaction():
            await _insert_entry(ledger_db, datetime.now(UTC), kind="gift")
    with pytest.raises(asyncpg.CheckViolationError):
        async with ledger_db.transaction():
            await ledger_db.execute(
                "INSERT INTO ledger_entries (lsn, at, sku, location, kind, quantity) "
                "VALUES (1, now(), 's', 'l', 'receipt', -1)"
            )
    await ledger_db.execute(
        "INSERT INTO ledger_entries (lsn, at, sku, location, kind, quantity) "
        "VALUES (1, now(), 's', 'l', 'adjustment', -1)"
    )


async def _partitions(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch(
        "SELECT inhrelid::regclass::text AS name FROM pg_inherits "
        "WHERE inhparent = 'ledger_entries'::regclass"
    )
    return {r["name"] for r in rows}


async def test_partitions_cover_previous_current_and_next_two_months(
    ledger_db: asyncpg.Connection,
) -> None:
    assert await ensure_ledger_partitions(ledger_db, datetime(2031, 1, 20, tzinfo=UTC)) == [
        "ledger_entries_y2030m12",
        "ledger_entries_y2031m01",
        "ledger_entries_y2031m02",
        "ledger_entries_y2031m03",
    ]
    assert await ensure_ledger_partitions(ledger_db, datetime(2031, 1, 20, tzinfo=UTC)) == []
    names = await _partitions(ledger_db)
    assert "ledger_entries_default" in names
    assert {"ledger_entries_y2031m01", "ledger_entries_y2031m03"} <= names
    entry = await _insert_entry(ledger_db, datetime(2031, 2, 28, 23, 59, tzinfo=UTC))
    where = await ledger_db.fetchval(
        "SELECT tableoid::regclass::text FROM ledger_entries WHERE id = $1", entry
    )
    assert where == "ledger_entries_y2031m02"


async def test_rows_stranded_in_default_move_to_their_new_month(
    ledger_db: asyncpg.Connection,
) -> None:
    stranded = datetime(2040, 6, 10, 12, 0, tzinfo=UTC)
    first = await _insert_entry(ledger_db, stranded)
    second = await _insert_entry(ledger_db, stranded + timedelta(days=1), kind="adjustment")
    assert await ensure_ledger_partitions(ledger_db, stranded) == [
        "ledger_entries_y2040m05",
        "ledger_entries_y2040m06",
        "ledger_entries_y2040m07",
        "ledger_entries_y2040m08",
    ]
    rows = await ledger_db.fetch(
        "SELECT id, kind, at, tableoid::regclass::text AS part FROM ledger_entries "
        "WHERE at >= '2040-01-01' ORDER BY id"
    )
    assert [(r["id"], r["kind"], r["part"]) for r in rows] == [
        (first, "receipt", "ledger_entries_y2040m06"),
        (second, "adjustment", "ledger_entries_y2040m06"),
    ]
    # still append-only after the move
    enabled = await ledger_db.fetch(
        "SELECT tgrelid::regclass::text AS rel, tgenabled FROM pg_trigger "
        "WHERE tgname = 'ledger_entries_append_only'"
    )
    assert enabled and all(r["tgenabled"] in (b"O", "O") for r in enabled), enabled
    await _insert_entry(ledger_db, datetime(2100, 1, 1, tzinfo=UTC))
    with pytest.raises(asyncpg.RestrictViolationError):
        async with ledger_db.transaction():
            await ledger_db.execute("DELETE FROM ledger_entries_default")
    with pytest.raises(asyncpg.RestrictViolationError):
        async with ledger_db.transaction():
            await ledger_db.execute("DELETE FROM ledger_entries_y2040m06")


async def test_old_idempotency_keys_are_cleaned_up_after_48h(ledger_db: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    await ledger_db.executemany(
        "INSERT INTO idempotency_keys (owner, key, request_hash, status_code, body, created_at) "
        "VALUES ('o', $1, 'h', 201, ''::bytea, $2)",
        [("old", now - timedelta(hours=49)), ("day", now - timedelta(hours=25)), ("new", now)],
    )
    assert await delete_old_idempotency_keys(ledger_db, now) == 1
    keys = await ledger_db.fetch("SELECT key FROM idempotency_keys ORDER BY key")
    assert [r["key"] for r in keys] == ["day", "new"]
