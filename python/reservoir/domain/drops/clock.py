"""Records each drop's time-driven transitions (started, spilled, ended) as they come.

The engine needs no clock for them: it judges every hold by the time it is made. This task
only writes them down, within `INTERVAL_S` of the moment, with the pools as they stood
(`drop_events`, at most one of each per drop), so the record shows when a drop opened and
what each channel had left at the spill."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from reservoir.domain.drops.services import record_event
from reservoir.ledger.changes import SYSTEM_ACTOR
from reservoir.ledger.write_path import WritePath
from reservoir.lib.clock import now_ms

INTERVAL_S = 0.5
logger = logging.getLogger("reservoir.drops")

# drops with a transition not yet recorded
PENDING = """
SELECT d.code, coalesce(array_agg(e.event) FILTER (WHERE e.event IS NOT NULL), '{}') AS recorded
FROM drops d LEFT JOIN drop_events e ON e.code = d.code AND e.event <> 'defined'
GROUP BY d.code
HAVING NOT coalesce(bool_or(e.event = 'ended'), false)
"""
# the transitions a drop has been through by a phase, in order
THROUGH = {
    "not_started": (),
    "fenced": ("started",),
    "spilled": ("started", "spilled"),
    "ended": ("started", "spilled", "ended"),
}


async def record_due(pool: asyncpg.Pool, write_path: WritePath, at_ms: int) -> int:
    """Writes every transition due by `at_ms` and not yet written; returns how many."""
    written = 0
    async with pool.acquire() as conn:
        for code, recorded in await conn.fetch(PENDING):
            engine = write_path.reader()  # after each await: a rebuild may have replaced it
            state = engine.drop_state(code, at_ms)
            if state is None:  # not in the engine (yet): nothing to judge it by
                continue
            for event in THROUGH[state[0]]:
                if event not in recorded:
                    await record_event(conn, engine, code, event, at_ms, SYSTEM_ACTOR)
                    written += 1
    return written


async def run_drop_clock(pool: asyncpg.Pool, write_path: WritePath) -> None:
    while True:
        try:
            if write_path.accepting:
                await record_due(pool, write_path, now_ms())
        except (OSError, asyncpg.PostgresError) as exc:
            logger.warning("drop transitions not recorded yet: %s", exc)
        await asyncio.sleep(INTERVAL_S)
