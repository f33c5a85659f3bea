"""Start-up and shutdown, as small steps on an AsyncExitStack (shutdown runs in reverse).

`platform_lifespan` (this module) runs first:

    resolve the DSN (embedded PostgreSQL if unset)  -> app.state.database_url
    take the ledger lock (refuse to start if held)  -> app.state.ledger_lock
                     (if lost later, the write path takes it again, or stops the process)
    open the asyncpg pool                            -> app.state.pool
    migrate + monthly partitions
    connect Redis if configured                      -> app.state.redis (None without)
    start the maintenance task (partitions, idempotency-key cleanup)

then `api_keys_lifespan` (the key file reloaded on change, the keys' last use written), then
the write path's lifespans (`WRITE_PATH_LIFESPANS`: engine recovery, the group-commit
writer and expiry in `write_path_lifespan`, then the outbox relay to Redis), then
`readiness_lifespan`, which marks the app ready — and on shutdown, first of all, not ready.
The plugin (server/plugin.py) puts them in that order.

A start-up failure is recorded in `app.state.startup_error` (one line) so `reservoir serve`
can print it and exit non-zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
from litestar import Litestar

from reservoir.domain.drops.clock import run_drop_clock
from reservoir.domain.writes import Writes
from reservoir.ledger.lock import LedgerLock, LedgerLockedError
from reservoir.ledger.maintenance import run_maintenance
from reservoir.ledger.migrate import MigrationError, prepare_ledger
from reservoir.ledger.outbox import relay
from reservoir.ledger.webhook_delivery import Policy, deliver
from reservoir.ledger.webhook_fanout import fan_out
from reservoir.ledger.write_path import WritePath
from reservoir.lib.embedded import start_embedded_postgres
from reservoir.lib.idempotency import IdempotencyKeys
from reservoir.lib.key_reload import keep_keys_current
from reservoir.lib.settings import Settings
from reservoir.lib.webhook_signing import parse_schedule
from reservoir.server.readiness import mark_not_ready, mark_ready

logger = logging.getLogger("reservoir.lifespan")


class StartupError(RuntimeError):
    """A start-up step failed for a reason worth one clear line (not a traceback)."""


@asynccontextmanager
async def platform_lifespan(app: Litestar) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    mark_not_ready(app, "starting")
    async with AsyncExitStack() as stack:
        try:
            dsn = await resolve_database_url(app, stack, settings)
            await take_ledger_lock(app, stack, dsn)
            pool = await open_pool(app, stack, dsn, settings)
            await prepare_database(pool)
            await open_redis(app, stack, settings)
            start_maintenance(app, stack, pool)
        except Exception as exc:
            app.state.startup_error = _one_line(exc)
            app.state.startup_error_expected = _expected(exc)
            logger.error("start-up failed: %s", app.state.startup_error)
            raise
        yield
        mark_not_ready(app, "stopping")


@asynccontextmanager
async def write_path_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Recovers the engine and runs the writer and the expiry ticker for the app's life;
    leaves `write_path` and `writes` on the state for the dependencies."""

    def on_readiness(ready: bool, reason: str) -> None:
        if ready:
            mark_ready(app)
        else:
            mark_not_ready(app, reason)

    write_path = WritePath(
        app.state.pool,
        app.state.settings,
        app.state.ledger_lock,
        on_readiness,
        lambda reason: _ledger_fenced(app, reason),
    )
    await write_path.start()
    app.state.write_path = write_path
    app.state.writes = Writes(
        write_path, IdempotencyKeys(app.state.pool), app.state.pool, app.state.settings
    )
    try:
        yield
    finally:
        await write_path.stop()


@asynccontextmanager
async def outbox_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Runs the outbox relay while the app runs, when Redis is configured."""
    redis = app.state.get("redis")
    if redis is None:
        yield
        return
    task = asyncio.create_task(relay(app.state.pool, redis), name="outbox-relay")
    try:
        yield
    finally:
        await _cancel(task)


@asynccontextmanager
async def drop_clock_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Records drops' time-driven transitions while the app runs (domain/drops/clock.py)."""
    task = asyncio.create_task(
        run_drop_clock(app.state.pool, app.state.write_path), name="drop-clock"
    )
    try:
        yield
    finally:
        await _cancel(task)


@asynccontextmanager
async def webhooks_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Fans the outbox out to webhook messages and delivers them while the app runs."""
    settings = app.state.settings
    policy = Policy(
        schedule=parse_schedule(settings.webhook_retry_schedule),
        timeout_s=settings.webhook_timeout_seconds,
        disable_after_s=settings.webhook_disable_after_seconds,
        deny_private=settings.webhook_private_targets == "deny",
    )
    wake = asyncio.Event()
    tasks = [
        asyncio.create_task(
            fan_out(app.state.pool, wake, settings.stock_low_units), name="webhook-fan-out"
        ),
        asyncio.create_task(deliver(app.state.pool, policy, wake), name="webhook-delivery"),
    ]
    try:
        yield
    finally:
        for task in tasks:
            await _cancel(task)


WRITE_PATH_LIFESPANS = (
    write_path_lifespan,
    outbox_lifespan,
    drop_clock_lifespan,
    webhooks_lifespan,
)


@asynccontextmanager
async def api_keys_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Reloads the key file when it changes and writes the keys' last use (lib/key_reload.py)."""
    async with keep_keys_current(app.state.api_keys, app.state.settings):
        yield


@asynccontextmanager
async def readiness_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Last to start, first to stop: ready only while everything before it runs."""
    mark_ready(app)
    try:
        yield
    finally:
        mark_not_ready(app, "stopping")


# --- the steps ----------------------------------------------------------------------------------


async def resolve_database_url(app: Litestar, stack: AsyncExitStack, settings: Settings) -> str:
    if settings.database_url:
        app.state.database_url = settings.database_url
        return settings.database_url
    logger.info("RESERVOIR_DATABASE_URL unset: starting the embedded PostgreSQL")
    embedded = await asyncio.to_thread(start_embedded_postgres, settings.embedded_pgdata)
    stack.push_async_callback(asyncio.to_thread, embedded.stop)
    app.state.embedded_postgres = embedded
    app.state.database_url = embedded.dsn
    return embedded.dsn


async def take_ledger_lock(app: Litestar, stack: AsyncExitStack, dsn: str) -> LedgerLock:
    try:
        lock = await LedgerLock.acquire(dsn)
    except (OSError, asyncpg.PostgresError) as exc:
        raise StartupError(f"cannot reach PostgreSQL: {exc}") from exc
    stack.push_async_callback(lock.release)
    lock.on_lost(lambda _lock: mark_not_ready(app, "the ledger lock was lost"))
    app.state.ledger_lock = lock
    task = asyncio.create_task(_watch_lock(lock), name="reservoir-ledger-lock-watch")
    stack.push_async_callback(_cancel, task)
    return lock


async def open_pool(
    app: Litestar, stack: AsyncExitStack, dsn: str, settings: Settings
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min(2, settings.pool_size),
        max_size=settings.pool_size,
        server_settings={"application_name": f"reservoir pid={os.getpid()}", "jit": "off"},
    )
    stack.push_async_callback(pool.close)
    app.state.pool = pool
    return pool


async def prepare_database(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await prepare_ledger(conn)


async def open_redis(app: Litestar, stack: AsyncExitStack, settings: Settings) -> None:
    app.state.redis = None
    if not settings.redis_url:
        return
    import redis.asyncio as aioredis

    client = aioredis.from_url(settings.redis_url)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        raise StartupError(f"cannot reach Redis at RESERVOIR_REDIS_URL: {exc}") from exc
    stack.push_async_callback(client.aclose)
    app.state.redis = client


def start_maintenance(app: Litestar, stack: AsyncExitStack, pool: asyncpg.Pool) -> None:
    task = asyncio.create_task(run_maintenance(pool), name="reservoir-maintenance")
    stack.push_async_callback(_cancel, task)
    app.state.maintenance_task = task


# --- helpers ------------------------------------------------------------------------------------

LOCK_CHECK_INTERVAL_S = 5.0


async def _watch_lock(lock: LedgerLock) -> None:
    """Notices a silently dead lock connection (the termination listener notices the rest);
    the write path takes the lock again."""
    while True:
        await asyncio.sleep(LOCK_CHECK_INTERVAL_S)
        await lock.check()  # no-op while lost (being taken again) or released


def _ledger_fenced(app: Litestar, reason: str) -> None:
    """Another process owns the ledger: final. `reservoir serve` (exit_on_lock_loss) stops and
    exits non-zero with `reason` (app.state.stop_reason)."""
    mark_not_ready(app, reason)
    app.state.stop_reason = reason
    if not app.state.get("exit_on_lock_loss"):
        return
    logger.critical("stopping: %s", reason)
    stop = app.state.get("stop_server")
    if stop is not None:
        stop()
    else:
        os.kill(os.getpid(), signal.SIGTERM)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


def _expected(exc: BaseException) -> bool:
    return isinstance(exc, LedgerLockedError | StartupError | MigrationError)


def _one_line(exc: BaseException) -> str:
    if _expected(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}".splitlines()[0]
