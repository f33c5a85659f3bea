"""Carries ledger events from the Postgres outbox to a Redis stream.

Each ledger transaction writes one outbox row (all its changes) in the same transaction, so
an event exists exactly when its change is durable, and one more (topic `waitlist`) when it
offers units to waitlist entries. This relay publishes them in order to
the stream `reservoir:events`, one stream entry per change, then marks the row published.
Delivery is at least once (a crash between XADD and the mark repeats a row): consumers
deduplicate by `lsn` + `sku` + `location` + `kind` + `lot` (one pick may ship two lots of
a bin). Without Redis, events stay in the outbox. The server runs `relay` for its life
(server/lifespan.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import msgspec

from reservoir.lib import metrics

logger = logging.getLogger("reservoir.outbox")

STREAM = "reservoir:events"
STREAM_LENGTH_MAX = 1_000_000  # approximate trim, so Redis memory stays bounded
ROWS_PER_POLL_MAX = 500
POLL_INTERVAL_S = 0.05
PUBLISHED_RETENTION = "1 day"
CHANGE_FIELDS = ("lsn", "at_ms", "kind", "reservation_id", "sku", "location", "quantity", "lot")

_PUBLISHED = metrics.counter("reservoir_events_published_total", "Events published to Redis.")

SELECT_UNPUBLISHED = """
SELECT id, payload::text FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1
"""
MARK_PUBLISHED = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::int8[])"
DELETE_PUBLISHED = f"""
DELETE FROM outbox WHERE published_at < now() - interval '{PUBLISHED_RETENTION}'
"""


OFFER_FIELDS = (
    "entry",
    "reservation_id",
    "at_ms",
    "sku",
    "quantity",
    "buyer",
    "channel",
    "callback",
    "expires_at_ms",
)
OFFER_KIND = "waitlist.offered"


def stream_entries(payload: dict[str, Any]) -> list[dict[str, str]]:
    """One stream entry per change of an outbox row, and one per waitlist offer (kind
    `waitlist.offered`, deduplicated by `entry`). Redis field values are strings."""
    entries = [
        {
            name: "" if value is None else str(value)
            for name, value in zip(CHANGE_FIELDS, change, strict=True)
        }
        for change in payload.get("changes", ())
    ]
    summary = payload.get("reconciliation")
    if summary is not None:  # a reconciliation with flagged lines: one entry, its summary
        entries.append(
            {
                "kind": summary["event"],
                "reconciliation": str(summary["id"]),
                "source": str(summary["source"]),
                "flagged": str(summary["flagged"]),
            }
        )
    for offer in payload.get("offers", ()):
        entry = {"kind": OFFER_KIND}
        entry.update({name: _field(offer.get(name)) for name in OFFER_FIELDS})
        entries.append(entry)
    return entries


def _field(value: Any) -> str:
    return "" if value is None else str(value)


async def publish_once(pool: asyncpg.Pool, redis: Any) -> int:
    """Publishes the oldest unpublished rows; returns how many rows."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(SELECT_UNPUBLISHED, ROWS_PER_POLL_MAX)
    if not rows:
        return 0
    pipe = redis.pipeline(transaction=False)
    published = 0
    for _, payload in rows:
        for entry in stream_entries(msgspec.json.decode(payload)):
            pipe.xadd(STREAM, entry, maxlen=STREAM_LENGTH_MAX, approximate=True)
            published += 1
    await pipe.execute()
    async with pool.acquire() as conn:
        await conn.execute(MARK_PUBLISHED, [row[0] for row in rows])
    _PUBLISHED.inc(published)
    return len(rows)


async def relay(pool: asyncpg.Pool, redis: Any) -> None:
    """Publishes forever; a Redis or database outage only delays events."""
    polls = 0
    while True:
        try:
            if not await publish_once(pool, redis):
                await asyncio.sleep(POLL_INTERVAL_S)
            polls += 1
            if polls % 10_000 == 0:
                async with pool.acquire() as conn:
                    await conn.execute(DELETE_PUBLISHED)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("outbox relay: %r; retrying", exc)
            await asyncio.sleep(1.0)
