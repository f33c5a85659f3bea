"""The write path (docs/architecture.md), owned in one place: the engine, the group-commit
writer, the expiry ticker, and the rebuild from the ledger after a failed write.

Handlers call `engine()` to apply a change in memory, then `await durable(lsn, meta)`; the
answer goes out only once the ledger has it. While the engine is being rebuilt, `engine()`
raises `LedgerUnavailable` (answered 503 at the edge) and `on_readiness(False)` has been
called (the server marks itself not ready). Knows nothing of HTTP: the server starts and
stops it (server/lifespan.py) and hands it to handlers as a dependency.

It owns the ledger through the lock (`ledger/lock.py`) and the epoch (`ledger/fencing.py`):
the epoch is bumped on the lock's connection before the engine is read from the ledger, and
every batch carries it. When the lock's connection is lost (PostgreSQL restarted, backend
terminated), writes stop (503) and the rebuild takes the lock again first, with a new epoch.
If another process holds the lock, or a batch was fenced, `on_fenced(reason)` is called:
that is final, this process must stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from reservoir import _core
from reservoir.ledger.changes import ChangeMeta, IdempotencyRecord
from reservoir.ledger.fencing import LedgerFenced, bump_epoch
from reservoir.ledger.level_feed import LevelFeed, skus_of
from reservoir.ledger.lock import LedgerLock, LedgerLockedError
from reservoir.ledger.recovery import rebuild_engine
from reservoir.ledger.writer import LedgerUnavailable, LedgerWriter
from reservoir.lib import metrics
from reservoir.lib.clock import now_ms
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
        offer_ttl_ms=settings.offer_ttl_seconds * 1000,
    )


class WritePath:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        lock: LedgerLock,
        on_readiness: Callable[[bool, str], None] = lambda ready, reason: None,
        on_fenced: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._limits = engine_limits(settings)
        self._lock = lock
        self._on_readiness = on_readiness
        self._on_fenced = on_fenced
        self.epoch = 0
        self._epoch_stale = False
        self.fenced: str | None = None  # why this process may never write again
        self._engine: _core.Engine | None = None
        self._writer: LedgerWriter | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._rebuilding: asyncio.Task[None] | None = None
        self.accepting = False
        # the live availability feed (`GET /v1/availability/stream`), fed by durable batches
        self.feed = LevelFeed(
            queue_max=settings.stream_queue_max,
            streams_max=settings.streams_max,
            flush_ms=settings.stream_flush_ms,
        )

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Recovers the engine from the ledger, expires what lapsed while down (as ledger
        entries), then accepts writes. Bumps the epoch first: the ledger read is the new
        owner's."""
        self.epoch = await bump_epoch(self._lock)
        engine = await rebuild_engine(self._pool, self._limits)
        self._writer = LedgerWriter(
            self._pool,
            engine,
            batch_rows_max=self._settings.batch_rows_max,
            flush_interval_ms=self._settings.flush_interval_ms,
            on_failure=self._on_write_failure,
            epoch=self.epoch,
            on_durable=self._durable_batch,
        )
        self._writer.start()
        self._engine = engine
        await self._expire_lapsed()
        self.accepting = True
        self._ticker = asyncio.create_task(self._tick_expiry(), name="expiry-ticker")
        self._lock.on_lost(self._on_lock_lost)

    async def stop(self) -> None:
        self.accepting = False
        self.feed.close()
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
            raise LedgerUnavailable(self.fenced or "the engine is being rebuilt from the ledger")
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
    def define_sku(self, sku: str, per_buyer_max: int | None = None) -> None:
        """Tells the engine of a SKU the catalogue stored, with its per-buyer cap (None: no
        cap); the catalogue row is the record of both."""
        engine = self.reader()
        engine.define_sku(sku)
        engine.set_per_buyer_max(sku, per_buyer_max)

    def define_location(self, code: str, sellable: bool = True, parent: str | None = None) -> None:
        """Tells the engine of a location the catalogue stored, and what it is inside."""
        engine = self.reader()
        engine.define_location(code, sellable)
        engine.set_location_parent(code, parent)

    def define_drop(
        self,
        code: str,
        sku: str,
        starts_at_ms: int,
        ends_at_ms: int,
        spill_at_ms: int,
        per_buyer_max: int | None,
        pools: list[tuple[str, int]],
        *,
        check_only: bool = False,
    ) -> None:
        """Tells the engine of a drop the catalogue is storing (its row is the record); with
        `check_only`, only whether the engine would take it."""
        self.reader().define_drop(
            code,
            sku,
            starts_at_ms,
            ends_at_ms,
            spill_at_ms=spill_at_ms,
            per_buyer_max=per_buyer_max,
            pools=pools,
            mode="check" if check_only else "define",
        )

    def define_channel(
        self,
        code: str,
        buffer_units: int | None,
        buffer_percent: int | None,
        locations: list[str] | None,
    ) -> None:
        """Tells the engine of a channel the catalogue stored (its row is the record)."""
        self.reader().define_channel(
            code,
            safety_buffer_units=buffer_units,
            safety_buffer_percent=buffer_percent,
            locations=locations,
        )

    # --- internals ----------------------------------------------------------------------------

    def _durable_batch(self, batch: _core.Batch) -> None:
        if self._engine is not None and batch.level_deltas:
            self.feed.publish(self._engine, skus_of(batch), batch.last_lsn)

    def _accept(self, accepting: bool, reason: str = "") -> None:
        self.accepting = accepting
        self._on_readiness(accepting, reason)

    async def _expire_lapsed(self) -> None:
        assert self._engine is not None and self._writer is not None
        while self._engine.expire_due(now_ms(), EXPIRIES_PER_TICK_MAX):
            pass
        self._engine.serve_waitlists(now_ms())
        await self._writer.flush()

    async def _tick_expiry(self) -> None:
        interval = self._settings.expiry_interval_ms / 1000
        while True:
            await asyncio.sleep(interval)
            if not self.accepting or self._engine is None or self._writer is None:
                continue
            now = now_ms()
            expired = self._engine.expire_due(now, EXPIRIES_PER_TICK_MAX)
            # what time alone makes holdable (a drop starting or spilling) goes to waitlists
            offered = self._engine.serve_waitlists(now)
            if expired:
                _EXPIRED.inc(expired)
            if expired or offered:
                self._writer.wake()

    def _on_lock_lost(self, _lock: LedgerLock) -> None:
        """Writes stop at once (nothing more is acknowledged); the rebuild takes the lock
        again or finds that another process owns the ledger."""
        if self._writer is not None:
            self._writer.fail(LedgerUnavailable("the ledger lock's connection is gone"))
        self._stop_writes("the ledger lock was lost: taking it again")

    def _on_write_failure(self, exc: BaseException) -> None:
        if isinstance(exc, LedgerFenced):
            self._fence(
                f"another reservoir process owns this ledger now (a batch was fenced: {exc})"
            )
            return
        self._stop_writes("rebuilding the engine from the ledger after a failed write")

    def _stop_writes(self, reason: str) -> None:
        if self.fenced is not None:
            return
        self._accept(False, reason)
        if self._rebuilding is None or self._rebuilding.done():
            self._rebuilding = asyncio.create_task(self._rebuild(), name="engine-rebuild")

    def _fence(self, reason: str) -> None:
        """Final: another process owns the ledger. Never writes again."""
        if self.fenced is not None:
            return
        self.fenced = reason
        self._accept(False, reason)
        if self._writer is not None:
            self._writer.fail(LedgerFenced(reason))
        self._on_fenced(reason)

    async def _regain(self) -> None:
        """The lock again (if lost), with a new epoch; no batch of the old engine in flight
        that the rebuild could miss."""
        assert self._writer is not None
        if await self._lock.check():
            await self._writer.stopped()  # a failed batch has ended it
        else:
            await self._writer.halt()  # a batch in flight is fenced by the new epoch
            await self._lock.reacquire()
            self._epoch_stale = True
        if self._epoch_stale:  # also when the bump failed after the lock was taken again
            self.epoch = await bump_epoch(self._lock)
            self._epoch_stale = False
            logger.warning("ledger lock taken again (epoch %d)", self.epoch)

    async def _rebuild(self) -> None:
        """Retries until the ledger answers, then continues on an engine rebuilt from it."""
        attempt = 0
        while self.fenced is None:
            delay = REBUILD_BACKOFF_S[min(attempt, len(REBUILD_BACKOFF_S) - 1)]
            await asyncio.sleep(delay)
            attempt += 1
            try:
                await self._regain()
                engine = await rebuild_engine(self._pool, self._limits)
            except LedgerLockedError as exc:
                self._fence(str(exc))
                return
            except Exception as exc:  # the database may still be gone: keep trying
                logger.warning("engine rebuild attempt %d failed: %r", attempt, exc)
                continue
            assert self._writer is not None
            self._engine = engine
            self._writer.reset(engine, self.epoch)
            _REBUILDS.inc()
            try:
                await self._expire_lapsed()
            except LedgerUnavailable:
                continue
            if self.fenced is not None:
                return
            logger.info("engine rebuilt from the ledger after %d attempt(s)", attempt)
            self._accept(True)
            return
