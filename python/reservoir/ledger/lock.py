"""One writer per ledger: a session-level advisory lock on a dedicated connection, held for the
life of the process. A second `reservoir serve` on the same database fails to take it and
refuses to start with `LedgerLockedError`.

PostgreSQL drops the lock if the connection dies; `LedgerLock` notices (termination listener
plus `check()`) and calls its `on_lost` callbacks, so the service stops writing instead of
racing a successor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
from collections.abc import Callable

import asyncpg

# pg_try_advisory_lock key of the ledger's one writer ("reservoi"); advisory locks are per
# database, so every database has its own writer.
LEDGER_LOCK_KEY = 0x7265_7365_7276_6F69

logger = logging.getLogger("reservoir.lock")

# The lock connection's application_name says who holds the ledger (shown to a second process).
_OWN_NAME = f"reservoir-ledger-lock pid={os.getpid()} host={socket.gethostname()[:30]}"
_NAME = re.compile(r"reservoir-ledger-lock pid=(?P<pid>\d+) host=(?P<host>.*)")


class LedgerLockedError(RuntimeError):
    """Another process holds the ledger lock."""


class LedgerLock:
    def __init__(self, connection: asyncpg.Connection, key: int) -> None:
        self.connection = connection
        self.key = key
        self.lost = False
        self._released = False
        self._on_lost: list[Callable[[LedgerLock], None]] = []
        connection.add_termination_listener(self._terminated)

    @classmethod
    async def acquire(
        cls,
        dsn: str,
        *,
        key: int = LEDGER_LOCK_KEY,
        connect_timeout_s: float = 10.0,
        dead_holder_wait_s: float = 10.0,
    ) -> LedgerLock:
        """Takes the lock or raises `LedgerLockedError` naming the holder.

        If the holder is a reservoir process on this host that no longer exists (it was
        killed and PostgreSQL has not yet noticed its connection is gone), waits up to
        `dead_holder_wait_s` for PostgreSQL to let go.
        """
        conn = await asyncpg.connect(
            dsn, timeout=connect_timeout_s, server_settings={"application_name": _OWN_NAME[:63]}
        )
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + dead_holder_wait_s
            while True:
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                    logger.info("ledger lock taken (database %s)", await _database(conn))
                    return cls(conn, key)
                holder = await _holder(conn, key)
                if not (_holder_is_dead(holder) and loop.time() < deadline):
                    raise LedgerLockedError(_describe(await _database(conn), holder))
                await asyncio.sleep(0.1)
        except BaseException:
            await conn.close()
            raise

    @property
    def held(self) -> bool:
        return not self.lost and not self._released and not self.connection.is_closed()

    @property
    def backend_pid(self) -> int:
        """The PostgreSQL backend holding the lock (for fencing checks in SQL)."""
        pid: int = self.connection.get_server_pid()
        return pid

    def on_lost(self, callback: Callable[[LedgerLock], None]) -> None:
        self._on_lost.append(callback)

    async def check(self, timeout_s: float = 5.0) -> bool:
        """Round-trips on the lock's connection; False (and `on_lost` fired) if it is gone."""
        if not self.held:
            return False
        try:
            await self.connection.fetchval("SELECT 1", timeout=timeout_s)
        except Exception:  # any failure on this connection means the lock may be gone
            self._mark_lost()
        return self.held

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        if not self.connection.is_closed():
            with contextlib.suppress(Exception):
                await self.connection.execute("SELECT pg_advisory_unlock($1)", self.key)
            with contextlib.suppress(Exception):
                await self.connection.close(timeout=5)

    def _terminated(self, _connection: asyncpg.Connection) -> None:
        if not self._released:
            self._mark_lost()

    def _mark_lost(self) -> None:
        if self.lost or self._released:
            return
        self.lost = True
        logger.critical(
            "the ledger lock's connection is gone: this process no longer owns the ledger"
        )
        for callback in self._on_lost:
            try:
                callback(self)
            except Exception:
                logger.exception("ledger lock on_lost callback failed")


async def _database(conn: asyncpg.Connection) -> str:
    name: str = await conn.fetchval("SELECT current_database()")
    return name


async def _holder(conn: asyncpg.Connection, key: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT a.pid, a.application_name, a.client_addr::text AS client, a.backend_start
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.classid::bigint = $1 AND l.objid::bigint = $2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """,
        (key >> 32) & 0xFFFF_FFFF,
        key & 0xFFFF_FFFF,
    )


def _holder_is_dead(holder: asyncpg.Record | None) -> bool:
    """True if the holder is a reservoir process of this host that no longer runs."""
    if holder is None:
        return True  # released between our attempt and the lookup: try again
    match = _NAME.fullmatch(holder["application_name"] or "")
    if match is None or match.group("host") != socket.gethostname()[:30]:
        return False
    try:
        os.kill(int(match.group("pid")), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _describe(database: str, holder: asyncpg.Record | None) -> str:
    detail = ""
    if holder is not None:
        name = holder["application_name"] or "unknown client"
        detail = f"; held by {name}, backend pid {holder['pid']}"
        if holder["client"]:
            detail += f" from {holder['client']}"
        if holder["backend_start"]:
            detail += f" since {holder['backend_start']:%Y-%m-%d %H:%M:%S%z}"
    return (
        f"another reservoir process owns this ledger (database {database!r}{detail}); "
        "only one `reservoir serve` may run per database"
    )
