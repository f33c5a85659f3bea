"""Monthly partitions of `ledger_entries`: the previous month, this one and the next two, plus
the DEFAULT partition (created by the first migration) that catches anything else.

If rows for a month already sit in the DEFAULT partition (the service ran past its partitions),
they are moved into the new month's partition in the same transaction, keeping their ids.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from reservoir.ledger.schema import APPEND_ONLY_TRIGGER, MIGRATION_LOCK_KEY, NO_TRUNCATE_TRIGGER

PARENT = "ledger_entries"
DEFAULT_PARTITION = "ledger_entries_default"


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(start: datetime, months: int) -> datetime:
    index = start.year * 12 + (start.month - 1) + months
    return start.replace(year=index // 12, month=index % 12 + 1)


def partition_name(start: datetime) -> str:
    return f"{PARENT}_y{start.year:04d}m{start.month:02d}"


def wanted_months(now: datetime, behind: int = 1, ahead: int = 2) -> list[datetime]:
    first = month_start(now)
    return [add_months(first, offset) for offset in range(-behind, ahead + 1)]


async def ensure_ledger_partitions(
    conn: asyncpg.Connection, now: datetime | None = None, *, behind: int = 1, ahead: int = 2
) -> list[str]:
    """Creates the missing monthly partitions around `now`; returns the names created."""
    now = now or datetime.now(UTC)
    created: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        for start in wanted_months(now, behind, ahead):
            name = partition_name(start)
            if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name):
                continue
            end = add_months(start, 1)
            await _create_partition(conn, name, start, end)
            created.append(name)
    return created


async def _create_partition(
    conn: asyncpg.Connection, name: str, start: datetime, end: datetime
) -> None:
    stranded = await conn.fetchval(
        f"SELECT count(*) FROM {DEFAULT_PARTITION} WHERE at >= $1 AND at < $2", start, end
    )
    columns = ""
    if stranded:
        # Out of the DEFAULT partition and back in through the parent, ids kept. The append-only
        # trigger is switched off for this one move, inside this transaction only.
        columns = await _column_list(conn)
        await conn.execute(
            f"CREATE TEMP TABLE reservoir_moving ON COMMIT DROP AS "
            f"SELECT {columns} FROM {DEFAULT_PARTITION} WHERE at >= $1 AND at < $2",
            start,
            end,
        )
        await conn.execute(f"ALTER TABLE {DEFAULT_PARTITION} DISABLE TRIGGER {APPEND_ONLY_TRIGGER}")
        await conn.execute(
            f"DELETE FROM {DEFAULT_PARTITION} WHERE at >= $1 AND at < $2", start, end
        )
        await conn.execute(f"ALTER TABLE {DEFAULT_PARTITION} ENABLE TRIGGER {APPEND_ONLY_TRIGGER}")
    await conn.execute(
        f"CREATE TABLE {name} PARTITION OF {PARENT} "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )
    await conn.execute(
        f"CREATE TRIGGER {NO_TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {name} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION reservoir_ledger_append_only()"
    )
    if stranded:
        await conn.execute(
            f"INSERT INTO {PARENT} ({columns}) OVERRIDING SYSTEM VALUE "
            f"SELECT {columns} FROM reservoir_moving"
        )
        await conn.execute("DROP TABLE reservoir_moving")


async def _column_list(conn: asyncpg.Connection) -> str:
    """Every column of the ledger, as later migrations left it."""
    names: str = await conn.fetchval(
        """
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
        """,
        PARENT,
    )
    return names
