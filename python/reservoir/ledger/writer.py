"""The group-commit writer: one task drains the engine's log and writes each batch in ONE
PostgreSQL transaction; every request in the batch is answered when it commits.

Requests never wait for each other's fsync: while one transaction is in flight the next
batch accumulates, so one commit answers as many requests as arrived meanwhile. A failed
transaction answers nothing 2xx: every waiter gets `LedgerUnavailable`, the writer stops and
calls `on_failure`, and the owner rebuilds the engine from the ledger before writes resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from reservoir import _core
from reservoir.ledger.batch_statement import store_batch
from reservoir.ledger.changes import ChangeMeta, IdempotencyRecord
from reservoir.lib import metrics

logger = logging.getLogger("reservoir.writer")

_BATCHES = metrics.counter("reservoir_ledger_batches_total", "Ledger transactions committed.")
_ROWS = metrics.counter("reservoir_ledger_rows_total", "Ledger rows committed.")
_FAILURES = metrics.counter("reservoir_ledger_failures_total", "Ledger transactions that failed.")


class LedgerUnavailable(Exception):
    """The ledger could not commit a change (or the engine is being rebuilt from it): nothing
    was acknowledged. The edge answers it as 503 `ledger-unavailable` with `Retry-After`."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class LedgerWriter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: _core.Engine,
        *,
        batch_rows_max: int,
        flush_interval_ms: int,
        on_failure: Callable[[BaseException], Any],
        epoch: int,
        on_durable: Callable[[_core.Batch], None] | None = None,
    ) -> None:
        self._pool = pool
        self._engine = engine
        self.epoch = epoch  # the fencing token every batch carries (ledger/fencing.py)
        self._batch_rows_max = batch_rows_max
        self._gather_s = flush_interval_ms / 1000
        self._on_failure = on_failure
        self._on_durable = on_durable  # told of each batch once it is committed
        self._metas: dict[int, ChangeMeta] = {}
        self._loose: list[tuple[IdempotencyRecord, asyncio.Future[None]]] = []
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._tiebreak = itertools.count()
        self._wake = asyncio.Event()
        self._batch_lock = asyncio.Lock()
        self._conn: asyncpg.pool.PoolConnectionProxy | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.failed = False
        self.durable_lsn = engine.last_lsn
        self._drained_lsn = engine.last_lsn

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ledger-writer")

    async def close(self) -> None:
        """Writes what is pending, then stops."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self._drop_connection()

    async def _connection(self) -> asyncpg.pool.PoolConnectionProxy:
        """The writer's own connection, kept between batches: handing it back to the pool
        after every batch would cost a reset round trip each time."""
        if self._conn is None:
            self._conn = await self._pool.acquire()
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection is terminated
                await self._pool.release(conn, timeout=5)

    def reset(self, engine: _core.Engine, epoch: int) -> None:
        """Continues on a rebuilt engine after a failure (as the owner of `epoch`)."""
        self._engine = engine
        self.epoch = epoch
        self.durable_lsn = self._drained_lsn = engine.last_lsn
        self.failed = False
        if self._task is None or self._task.done():
            self.start()

    def fail(self, exc: BaseException) -> None:
        """Stops writing, as if a batch had failed with `exc`: every waiter gets 503 and
        `on_failure` is called (once per stop). A batch in flight still ends: see `stopped`."""
        if not self.failed:
            self._fail(exc, [])
            self._wake.set()  # an idle task ends too

    async def stopped(self) -> None:
        """Returns once the writer task has ended (after a failed batch it has)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._task)

    async def halt(self) -> None:
        """Ends the writer task now (after `fail`), even if it waits on a connection or a
        statement that will not answer: a batch in flight is abandoned, never acknowledged.
        Only for a new owner's epoch: it either committed before the bump (and the rebuild
        reads it) or the bump fences it."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        await self._drop_connection()

    # --- what requests call -------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def durable(
        self,
        lsn: int,
        meta: ChangeMeta | None = None,
        loose: IdempotencyRecord | None = None,
    ) -> None:
        """Returns once the change at `lsn` (and `meta`) is committed in the ledger.

        Call right after the engine call that returned `lsn`, with no await in between, so
        `meta` joins the batch that carries the change. `loose` is a record to store even
        when the call changed nothing (its batch may have been written already).

        The first `meta` of an LSN is its change's (the request that made the change waits
        first). A later caller that found the change already made (a no-op commit or release
        answers that change's LSN) must not replace it: only its idempotency record is kept.
        """
        if self.failed:
            raise LedgerUnavailable("the ledger is recovering")
        loop = asyncio.get_running_loop()
        if meta is not None:
            if lsn > self._drained_lsn and lsn not in self._metas:
                self._metas[lsn] = meta
            elif meta.idempotency is not None:  # its batch is gone or taken: the record alone
                loose = meta.idempotency
        if loose is not None:
            stored: asyncio.Future[None] = loop.create_future()
            self._loose.append((loose, stored))
            self._wake.set()
            await stored
        if lsn <= self.durable_lsn:
            return
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiters, (lsn, next(self._tiebreak), future))
        self._wake.set()
        await future

    def note(self, lsn: int, meta: ChangeMeta) -> None:
        """Attaches `meta` to the change at `lsn` without waiting (when one request makes
        several changes and waits for the last). Call right after the engine call."""
        if lsn > self._drained_lsn:
            self._metas[lsn] = meta

    async def flush(self) -> None:
        """Returns once everything logged so far is durable."""
        await self.durable(self._engine.last_lsn)

    # --- the task -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._gather_s and self._engine.pending() < self._batch_rows_max // 2:
                await asyncio.sleep(self._gather_s)
            while not self.failed and (self._engine.pending() or self._loose):
                await self._write_batch()
            if self.failed or (self._closing and not self._engine.pending()):
                return

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """No batch is in flight or starts while inside: the ledger stands still (requests
        still apply in memory and wait), so it can be compared with the engine."""
        async with self._batch_lock:
            yield

    async def _write_batch(self) -> None:
        async with self._batch_lock:
            await self._write_locked()

    async def _write_locked(self) -> None:
        engine = self._engine
        batch = engine.drain(self._batch_rows_max)
        metas = self._take_metas(batch)
        loose, self._loose = self._loose, []
        try:
            conn = await self._connection()
            await store_batch(conn, batch, metas, [record for record, _ in loose], epoch=self.epoch)
        except BaseException as exc:
            await self._drop_connection()
            self._fail(exc, [future for _, future in loose])
            if not isinstance(exc, Exception):
                raise
            return
        if batch.last_lsn:
            self.durable_lsn = batch.last_lsn
            engine.prune_finished(batch.last_lsn)
            if self._on_durable is not None:
                self._on_durable(batch)
        _BATCHES.inc()
        _ROWS.inc(len(batch.rows))
        self._answer([future for _, future in loose])

    def _take_metas(self, batch: _core.Batch) -> dict[int, ChangeMeta]:
        """The metadata of the batch's LSNs, taken out of the pending ones; later `durable`
        calls for these LSNs know their batch is gone."""
        if not batch.last_lsn:
            return {}
        self._drained_lsn = batch.last_lsn
        metas = {}
        for lsn in range(batch.first_lsn, batch.last_lsn + 1):
            meta = self._metas.pop(lsn, None)
            if meta is not None:
                metas[lsn] = meta
        return metas

    def _answer(self, loose: list[asyncio.Future[None]]) -> None:
        """Wakes the callers whose changes (or loose records) are now durable."""
        for future in loose:
            if not future.done():
                future.set_result(None)
        while self._waiters and self._waiters[0][0] <= self.durable_lsn:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)

    def _fail(self, exc: BaseException, loose: list[asyncio.Future[None]]) -> None:
        """Answers every waiter 503: the engine ran ahead of the ledger and is rebuilt."""
        _FAILURES.inc()
        logger.error("ledger write failed; not acknowledging and rebuilding: %r", exc)
        self.failed = True
        error = LedgerUnavailable(f"the ledger write failed: {exc!r}")
        pending = [f for _, _, f in self._waiters] + loose
        pending += [f for _, f in self._loose]
        self._waiters.clear()
        self._loose.clear()
        self._metas.clear()
        for future in pending:
            if not future.done():
                future.set_exception(error)
        self._on_failure(exc)
