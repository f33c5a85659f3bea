"""The run's database: the DSN given, a fresh database created on that server (dropped
afterwards), or the embedded PostgreSQL of the service's data dir."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


async def admin_sql(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@dataclass
class Database:
    dsn: str | None  # None: the embedded PostgreSQL, known once the service started it
    note: str  # for the report
    created: str | None = None  # the fresh database's name

    @classmethod
    async def prepare(cls, dsn: str | None, fresh: bool, tag: str) -> Database:
        """With `fresh`, creates `reservoir_load_<tag>` on the server of `dsn`."""
        if dsn and fresh:
            created = f"reservoir_load_{tag}"
            await admin_sql(dsn, f'CREATE DATABASE "{created}"')
            dsn = with_database(dsn, created)
            return cls(dsn, f"fresh database {created} on {urlsplit(dsn).netloc}", created)
        if dsn:
            return cls(dsn, f"given database {urlsplit(dsn).netloc}{urlsplit(dsn).path}")
        return cls(None, "embedded PostgreSQL in the data dir")

    async def drop_created(self, admin_dsn: str) -> None:
        """Drops the fresh database, if one was created (errors ignored: best effort)."""
        if self.created:
            with contextlib.suppress(Exception):
                await admin_sql(admin_dsn, f'DROP DATABASE IF EXISTS "{self.created}" WITH (FORCE)')
