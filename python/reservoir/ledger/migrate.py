"""Applies the schema's migrations: in order, in one transaction, under an advisory
transaction lock (concurrent starters wait, then find nothing to do), recorded in
`schema_migrations`. Running it again is a no-op.

The migrations are the SQL files in `ledger/migrations/`, `NNNN_<what>.sql`, applied in order
of their number NNNN (the version recorded). A file starts with `-- name: <name>` (the name
recorded) and maybe more `--` comment lines; the SQL after that header is what runs. Add a
new migration as a file with the next number; never edit one that has shipped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from typing import NamedTuple

import asyncpg

from reservoir.ledger.partitions import ensure_ledger_partitions
from reservoir.ledger.schema import MIGRATION_LOCK_KEY

logger = logging.getLogger("reservoir.migrations")

SCHEMA_MIGRATIONS_SQL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""

_FILE_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
_NAME_LINE = "-- name: "


class MigrationError(RuntimeError):
    pass


class Migration(NamedTuple):
    version: int
    name: str
    sql: str


def load_migrations(directory: Traversable | None = None) -> list[Migration]:
    """The migrations in `directory` (default: the ones shipped in the package), by version."""
    if directory is None:
        directory = resources.files("reservoir.ledger").joinpath("migrations")
    migrations = []
    for entry in directory.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.fullmatch(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r}: expected NNNN_<what>.sql")
        migrations.append(_parse(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    migrations.sort(key=lambda m: m.version)
    _check_order(migrations)
    return migrations


def _parse(version: int, file_name: str, text: str) -> Migration:
    """A migration file: its `--` header lines (the first names it), then its SQL."""
    header: list[str] = []
    sql = text
    while sql.startswith("--"):
        line, _, sql = sql.partition("\n")
        header.append(line)
    if not header or not header[0].startswith(_NAME_LINE) or not header[0][len(_NAME_LINE) :]:
        raise MigrationError(f"migration file {file_name!r}: must start with {_NAME_LINE!r}<name>")
    if not sql.strip():
        raise MigrationError(f"migration file {file_name!r}: no SQL")
    return Migration(version, header[0][len(_NAME_LINE) :].strip(), sql)


def _check_order(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or any(v < 1 for v in versions):
        raise MigrationError(f"migration versions must be unique, positive, ascending: {versions}")


MIGRATIONS: list[Migration] = load_migrations()
LATEST_VERSION = MIGRATIONS[-1].version


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
    version: int = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
    return version


async def prepare_ledger(conn: asyncpg.Connection, now: datetime | None = None) -> list[int]:
    """What start-up and `reservoir migrate` run: the migrations, then the monthly partitions."""
    applied = await migrate(conn)
    created = await ensure_ledger_partitions(conn, now)
    if created:
        logger.info("created ledger partitions: %s", ", ".join(created))
    return applied
