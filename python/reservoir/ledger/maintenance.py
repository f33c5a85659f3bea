"""Housekeeping while the service runs: next months' ledger partitions and the cleanup of
idempotency keys older than 48 h (the contract promises at least 24 h)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import asyncpg

from reservoir.ledger.partitions import ensure_ledger_partitions

IDEMPOTENCY_KEYS_KEPT = timedelta(hours=48)
MAINTENANCE_INTERVAL_S = 300.0
_DELETE_BATCH = 10_000

logger = logging.getLogger("reservoir.maintenance")


async def delete_old_idempotency_keys(
    conn: asyncpg.Connection, now: datetime | None = None, kept: timedelta = IDEMPOTENCY_KEYS_KEPT
) -> int:
    """Deletes idempotency keys created before `now - kept`, in batches; returns how many."""
    cutoff = (now or datetime.now(UTC)) - kept
    total = 0
    while True:
        status = await conn.execute(
            """
            DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
                SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2))
            """,
            cutoff,
            _DELETE_BATCH,
        )
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < _DELETE_BATCH:
            return total


async def maintain_once(pool: asyncpg.Pool, now: datetime | None = None) -> None:
    async with pool.acquire() as conn:
        created = await ensure_ledger_partitions(conn, now)
        if created:
            logger.info("created ledger partitions: %s", ", ".join(created))
        deleted = await delete_old_idempotency_keys(conn, now)
        if deleted:
            logger.info("deleted %d idempotency keys older than %s", deleted, IDEMPOTENCY_KEYS_KEPT)


async def run_maintenance(pool: asyncpg.Pool, interval_s: float = MAINTENANCE_INTERVAL_S) -> None:
    """Runs `maintain_once` every `interval_s` until cancelled; failures are logged, not fatal."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await maintain_once(pool)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("ledger maintenance failed; will retry")
