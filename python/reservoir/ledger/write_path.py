"""The write path of DESIGN.md, owned in one place: the engine, the group-commit writer, the
expiry ticker, and the rebuild from the ledger after a failed write.

Handlers call `engine()` to apply a change in memory, then `await durable(lsn, meta)`; the
answer goes out only once the ledger has it. While the engine is being rebuilt, `engine()`
raises `LedgerUnavailable` (HTTP 503) and readiness reads false.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
from litestar import Litestar, Request

from reservoir import _core
from reservoir.ledger.changes import ChangeMeta, IdempotencyRecord
from reservoir.ledger.recovery import rebuild_engine
from reservoir.ledger.writer import LedgerUnavailable, LedgerWriter
from reservoir.lib import metrics
from reservoir.lib.clock import now_ms
from reservoir.lib.idempotency import IdempotencyKeys
from reservoir.lib.settings import Settings

logger = logging.getLogger("reservoir.write_path")

EXPIRIES_PER_TICK_MAX = 100_000
REBUILD_BACKOFF_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)

_EXPIRED = metrics.counter("reservoir_holds_expired_total", "Holds expired by the ticker.")
_REBUILDS = metrics.counter("reservoir_engine_rebuilds_total", "Engine rebuilds from the ledger.")


def engine_limits(settings: Settings) -> _core.Limits:
    return _core.Limits(
        lines_per_reservation_max=settings.lines_per_reservation_max,
        quantity_per_line_max=settings.quantity_per_line_max,
        ttl_ms_max=settings.ttl_seconds_max * 1000,
    )


class WritePath:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        on_readiness: Callable[[bool], None] = lambda ready: None,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._limits = engine_limits(settings)
        self._on_readiness = on_readiness
        self._engine: _core.Engine | None = None
        self._writer: LedgerWriter | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._rebuilding: asyncio.Task[None] | None = None
        self.accepting = False

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Recovers the engine from the ledger, expires what lapsed while down (as ledger
        entries), then accepts writes."""
        engine = await rebuild_engine(self._pool, self._limits)
        self._writer = LedgerWriter(
            self._pool,
            engine,
            batch_rows_max=self._settings.batch_rows_max,
            flush_interval_ms=self._settings.flush_interval_ms,
            on_failure=self._on_write_failure,
        )
        self._writer.start()
        self._engine = engine
        await self._expire_lapsed()
        self.accepting = True
        self._ticker = asyncio.create_task(self._tick_expiry(), name="expiry-ticker")

    async def stop(self) -> None:
        self.accepting = False
        for task in (self._ticker, self._rebuilding):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._writer is not None:
            await self._writer.close()

    # --- what handlers use --------------------------------------------------------------------

    def engine(self) -> _core.Engine:
        """The engine, for a change or a read; 503 while it is being rebuilt."""
        if not self.accepting or self._engine is None:
            raise LedgerUnavailable("the engine is being rebuilt from the ledger")
        return self._engine

    def reader(self) -> _core.Engine:
        """The engine for reads (also while a rebuild is pending)."""
        if self._engine is None:
            raise LedgerUnavailable("the engine is not recovered yet")
        return self._engine

    async def durable(
        self, lsn: int, meta: ChangeMeta | None = None, loose: IdempotencyRecord | None = None
    ) -> None:
        assert self._writer is not None
        await self._writer.durable(lsn, meta, loose)

    def note(self, lsn: int, meta: ChangeMeta) -> None:
        assert self._writer is not None
        self._writer.note(lsn, meta)

    async def flush(self) -> None:
        assert self._writer is not None
        await self._writer.flush()

    def paused(self) -> contextlib.AbstractAsyncContextManager[None]:
        assert self._writer is not None
        return self._writer.paused()

    # the catalogue tells the engine about new SKUs and locations (whichever engine is current)
    def define_sku(self, sku: str) -> None:
        self.reader().define_sku(sku)

    def define_location(self, code: str, sellable: bool = True) -> None:
        self.reader().define_location(code, sellable)

    # --- internals ----------------------------------------------------------------------------

    def _accept(self, accepting: bool) -> None:
        self.accepting = accepting
        self._on_readiness(accepting)

    async def _expire_lapsed(self) -> None:
        assert self._engine is not None and self._writer is not None
        while self._engine.expire_due(now_ms(), EXPIRIES_PER_TICK_MAX):
            pass
        await self._writer.flush()

    async def _tick_expiry(self) -> None:
        interval = self._settings.expiry_interval_ms / 1000
        while True:
            await asyncio.sleep(interval)
            if not self.accepting or self._engine is None or self._writer is None:
                continue
            expired = self._engine.expire_due(now_ms(), EXPIRIES_PER_TICK_MAX)
            if expired:
                _EXPIRED.inc(expired)
                self._writer.wake()

    def _on_write_failure(self, exc: BaseException) -> None:
        self._accept(False)
        if self._rebuilding is None or self._rebuilding.done():
            self._rebuilding = asyncio.create_task(self._rebuild(), name="engine-rebuild")

    async def _rebuild(self) -> None:
        """Retries until the ledger answers, then continues on an engine rebuilt from it."""
        attempt = 0
        while True:
            delay = REBUILD_BACKOFF_S[min(attempt, len(REBUILD_BACKOFF_S) - 1)]
            await asyncio.sleep(delay)
            attempt += 1
            try:
                engine = await rebuild_engine(self._pool, self._limits)
            except Exception as exc:  # the database may still be gone: keep trying
                logger.warning("engine rebuild attempt %d failed: %r", attempt, exc)
                continue
            assert self._writer is not None
            self._engine = engine
            self._writer.reset(engine)
            _REBUILDS.inc()
            try:
                await self._expire_lapsed()
            except LedgerUnavailable:
                continue
            logger.info("engine rebuilt from the ledger after %d attempt(s)", attempt)
            self._accept(True)
            return


def write_path_of(request: Request[Any, Any, Any]) -> WritePath:
    """The app's write path, for a handler."""
    write_path: WritePath = request.app.state.write_path
    return write_path


@contextlib.asynccontextmanager
async def write_path_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Recovers the engine and runs the writer and the expiry ticker for the app's life."""
    from reservoir.server.readiness import mark_not_ready, mark_ready

    def on_readiness(ready: bool) -> None:
        if ready:
            mark_ready(app)
        else:
            mark_not_ready(app, "rebuilding the engine from the ledger after a failed write")

    write_path = WritePath(app.state.pool, app.state.settings, on_readiness)
    await write_path.start()
    app.state.write_path = write_path
    app.state.engine = write_path
    app.state.idempotency_keys = IdempotencyKeys(app.state.pool)
    try:
        yield
    finally:
        await write_path.stop()
