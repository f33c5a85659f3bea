"""One writer per ledger: a session-level advisory lock on a dedicated connection, held for the
life of the process. A second `reservoir serve` on the same database fails to take it and
refuses to start with `LedgerLockedError`.

PostgreSQL drops the lock if the connection dies (a PostgreSQL restart, a terminated backend);
`LedgerLock` notices (termination listener plus `check()`) and calls its `on_lost` callbacks,
so the service stops writing. `reacquire()` then tries to take it again on a new connection:
it is ours again, or another process holds it now (`LedgerLockedError`). Holding the lock
is not enough to write: the fencing token (`ledger/fencing.py`) guards every batch.
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
    def __init__(self, connection: asyncpg.Connection, key: int, dsn: str = "") -> None:
        self.connection = connection
        self.key = key
        self.dsn = dsn
        self.lost = False
        self._released = False
        self._on_lost: list[Callable[[LedgerLock], None]] = []
        self._busy = asyncio.Lock()  # one operation at a time on the lock's connection
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
        conn = await _take(dsn, key, connect_timeout_s, dead_holder_wait_s, stale_pid=None)
        return cls(conn, key, dsn)

    async def reacquire(
        self, *, connect_timeout_s: float = 10.0, dead_holder_wait_s: float = 10.0
    ) -> None:
        """After a loss: takes the lock again on a new connection. Raises `LedgerLockedError`
        if another process holds it now, and the connection error while PostgreSQL is out of
        reach. Our own old backend, if it still holds the lock (a check that timed out), is
        terminated first."""
        if self._released:
            raise RuntimeError("the ledger lock was released")
        old = self.connection
        stale_pid = old.get_server_pid()
        if not old.is_closed():
            old.terminate()
        conn = await _take(self.dsn, self.key, connect_timeout_s, dead_holder_wait_s, stale_pid)
        self.connection = conn
        self.lost = False
        conn.add_termination_listener(self._terminated)

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
        if self._released or self.lost:
            return False
        try:
            await self.fetchval("SELECT 1", timeout_s=timeout_s)
        except Exception:  # any failure on this connection means the lock may be gone
            self._mark_lost()
        return self.held

    async def fetchval(self, query: str, *args: object, timeout_s: float = 10.0) -> object:
        """Runs `query` on the lock's connection: while it runs, the lock is held (e.g. the
        epoch bump of `ledger/fencing.py`)."""
        async with self._busy:
            if not self.held:
                raise ConnectionError("the ledger lock's connection is gone")
            return await self.connection.fetchval(query, *args, timeout=timeout_s)

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        if not self.connection.is_closed():
            with contextlib.suppress(Exception):
                await self.connection.execute("SELECT pg_advisory_unlock($1)", self.key)
            with contextlib.suppress(Exception):
                await self.connection.close(timeout=5)

    def _terminated(self, connection: asyncpg.Connection) -> None:
        if connection is self.connection and not self._released:
            self._mark_lost()

    def _mark_lost(self) -> None:
        if self.lost or self._released:
            return
        self.lost = True
        logger.error("the ledger lock's connection is gone: writes stop until it is taken again")
        for callback in self._on_lost:
            try:
                callback(self)
            except Exception:
                logger.exception("ledger lock on_lost callback failed")


async def _take(
    dsn: str,
    key: int,
    connect_timeout_s: float,
    dead_holder_wait_s: float,
    stale_pid: int | None,
) -> asyncpg.Connection:
    """A new connection holding the lock, or `LedgerLockedError` naming the holder.

    Waits up to `dead_holder_wait_s` while the holder is a reservoir process of this host that
    no longer runs (PostgreSQL has not yet noticed its connection is gone), and terminates
    `stale_pid` if that backend of this very process still holds it."""
    conn = await asyncpg.connect(
        dsn, timeout=connect_timeout_s, server_settings={"application_name": _OWN_NAME[:63]}
    )
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + dead_holder_wait_s
        while True:
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                logger.info("ledger lock taken (database %s)", await _database(conn))
                return conn
            holder = await _holder(conn, key)
            if _is_our_stale_backend(holder, stale_pid) and loop.time() < deadline:
                await conn.fetchval("SELECT pg_terminate_backend($1)", stale_pid)
            elif not (_holder_is_dead(holder) and loop.time() < deadline):
                raise LedgerLockedError(_describe(await _database(conn), holder))
            await asyncio.sleep(0.1)
    except BaseException:
        await conn.close()
        raise


def _is_our_stale_backend(holder: asyncpg.Record | None, stale_pid: int | None) -> bool:
    return (
        holder is not None
        and stale_pid is not None
        and holder["pid"] == stale_pid
        and (holder["application_name"] or "") == _OWN_NAME[:63]
    )


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
