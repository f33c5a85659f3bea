"""Applies the schema's migrations: in order, in one transaction, under an advisory
transaction lock (concurrent starters wait, then find nothing to do), recorded in
`schema_migrations`. Running it again is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from reservoir.ledger.partitions import ensure_ledger_partitions
from reservoir.ledger.schema import (
    MIGRATION_LOCK_KEY,
    MIGRATIONS,
    SCHEMA_MIGRATIONS_SQL,
    Migration,
)

logger = logging.getLogger("reservoir.migrations")


class MigrationError(RuntimeError):
    pass


async def migrate(
    conn: asyncpg.Connection, migrations: Sequence[Migration] = MIGRATIONS
) -> list[int]:
    """Applies the migrations `conn`'s database lacks; returns the versions applied."""
    _check_order(migrations)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await conn.execute(SCHEMA_MIGRATIONS_SQL)
        rows = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
        applied = {r["version"]: r["name"] for r in rows}
        known = {m.version for m in migrations}
        newer = sorted(v for v in applied if v not in known and v > max(known, default=0))
        if newer:
            raise MigrationError(
                f"the database schema is at version {newer[-1]}, newer than this reservoir "
                f"knows (up to {max(known, default=0)}): upgrade reservoir"
            )
        done: list[int] = []
        for migration in migrations:
            if migration.version in applied:
                continue
            logger.info("applying migration %d: %s", migration.version, migration.name)
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
            done.append(migration.version)
    return done


async def schema_version(conn: asyncpg.Connection) -> int:
    """The highest applied version (0 for an empty database)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")


async def prepare_ledger(conn: asyncpg.Connection, now: datetime | None = None) -> list[int]:
    """What start-up and `reservoir migrate` run: the migrations, then the monthly partitions."""
    applied = await migrate(conn)
    created = await ensure_ledger_partitions(conn, now)
    if created:
        logger.info("created ledger partitions: %s", ", ".join(created))
    return applied


def _check_order(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or any(v < 1 for v in versions):
        raise MigrationError(f"migration versions must be unique, positive, ascending: {versions}")
