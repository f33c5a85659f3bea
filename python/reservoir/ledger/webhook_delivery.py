"""Delivers webhook messages: each due message POSTed to its endpoint, signed, in order per
endpoint and ordering key (the next message of a SKU waits until the one before is delivered
or dead). A 2xx delivers it; 410 disables the endpoint; anything else (a status, a timeout, a
refused connection) is retried on the schedule (seconds after the first attempt, with
jitter, never before the receiver's `Retry-After`), and after the last retry the message is
dead. Every attempt is logged (`webhook_attempts`). An endpoint failing for longer than
`disable_after_s` is disabled, and a `webhook.disabled` event says so.

Runs in its own task with its own HTTP client: a slow or dead receiver delays only its own
messages, never the reserve path or the ledger writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx

from reservoir.lib import metrics
from reservoir.lib.webhook_signing import next_attempt, signature_header
from reservoir.lib.webhook_targets import PrivateTarget, check_target

logger = logging.getLogger("reservoir.webhooks")

_DELIVERED = metrics.counter("reservoir_webhook_deliveries_total", "Webhook messages delivered.")
_FAILED = metrics.counter("reservoir_webhook_failures_total", "Failed webhook attempts.")

DUE_MAX = 200
CONCURRENCY = 16
RESPONSE_EXCERPT_MAX = 500
IDLE_S = 0.25

SELECT_DUE = """
SELECT m.id, m.msg_id, m.endpoint, m.payload::text, m.attempts, m.schedule_from, e.url,
       e.secret, e.previous_secret, e.previous_secret_until
FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint AND e.enabled
WHERE m.status = 'pending' AND m.next_attempt_at <= now()
  AND NOT EXISTS (
      SELECT 1 FROM webhook_messages p
      WHERE p.endpoint = m.endpoint AND p.status = 'pending' AND p.id < m.id
        AND p.ordering_key IS NOT DISTINCT FROM m.ordering_key)
ORDER BY m.id
LIMIT $1
"""


@dataclass(frozen=True, slots=True)
class Policy:
    schedule: Sequence[int]
    timeout_s: float
    disable_after_s: float
    deny_private: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None
    response: str | None
    retry_after_s: float | None


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    return None


async def _post(client: httpx.AsyncClient, row: asyncpg.Record, policy: Policy) -> Outcome:
    body = row["payload"].encode()
    timestamp = int(time.time())
    in_force = [row["secret"]]
    until = row["previous_secret_until"]
    if row["previous_secret"] and until is not None and until > datetime.now(UTC):
        in_force.append(row["previous_secret"])
    headers = {
        "content-type": "application/json",
        "webhook-id": row["msg_id"],
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(in_force, row["msg_id"], timestamp, body),
    }
    started = time.perf_counter()
    try:
        if policy.deny_private:
            await check_target(row["url"])
        response = await client.post(row["url"], content=body, headers=headers)
    except (httpx.HTTPError, PrivateTarget, OSError) as exc:
        latency = int((time.perf_counter() - started) * 1000)
        return Outcome(None, latency, repr(exc)[:RESPONSE_EXCERPT_MAX], None, None)
    latency = int((time.perf_counter() - started) * 1000)
    return Outcome(
        response.status_code,
        latency,
        None,
        response.text[:RESPONSE_EXCERPT_MAX],
        _retry_after(response.headers.get("retry-after")),
    )


async def _record(
    conn: asyncpg.Connection, row: asyncpg.Record, out: Outcome, policy: Policy
) -> None:
    attempt = row["attempts"] + 1
    await conn.execute(
        "INSERT INTO webhook_attempts (message, attempt, status_code, latency_ms, error, response)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        row["id"],
        attempt,
        out.status_code,
        out.latency_ms,
        out.error,
        out.response,
    )
    if out.status_code is not None and 200 <= out.status_code < 300:
        _DELIVERED.inc()
        await conn.execute(
            "UPDATE webhook_messages SET status = 'delivered', attempts = $2,"
            " delivered_at = now() WHERE id = $1",
            row["id"],
            attempt,
        )
        await conn.execute(
            "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1", row["endpoint"]
        )
        return
    _FAILED.inc()
    if out.status_code == 410:
        await _disable(conn, row["endpoint"], "the endpoint answered 410 Gone")
        await conn.execute(
            "UPDATE webhook_messages SET attempts = $2 WHERE id = $1", row["id"], attempt
        )
        return
    first = row["schedule_from"].timestamp()
    now = time.time()
    due = next_attempt(policy.schedule, first, attempt, now, out.retry_after_s, random.Random())
    if due is None:
        await conn.execute(
            "UPDATE webhook_messages SET status = 'dead', attempts = $2 WHERE id = $1",
            row["id"],
            attempt,
        )
    else:
        await conn.execute(
            "UPDATE webhook_messages SET attempts = $2,"
            " next_attempt_at = to_timestamp($3) WHERE id = $1",
            row["id"],
            attempt,
            due,
        )
    failing = await conn.fetchval(
        "UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now())"
        " WHERE id = $1 RETURNING extract(epoch FROM now() - failing_since)",
        row["endpoint"],
    )
    if failing is not None and float(failing) > policy.disable_after_s:
        await _disable(conn, row["endpoint"], f"failing for more than {policy.disable_after_s:g} s")


async def _disable(conn: asyncpg.Connection, endpoint: str, reason: str) -> None:
    """Disables the endpoint, once, and emits `webhook.disabled` (to the other endpoints)."""
    changed = await conn.fetchval(
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, updated_at = now()"
        " WHERE id = $1 AND enabled RETURNING url",
        endpoint,
        reason,
    )
    if changed is None:
        return
    logger.warning("webhook endpoint %s disabled: %s", endpoint, reason)
    payload = {"webhook_disabled": {"endpoint": endpoint, "url": changed, "reason": reason}}
    await conn.execute(
        "INSERT INTO outbox (lsn, topic, payload) VALUES (NULL, 'webhook', $1::jsonb)",
        json.dumps(payload),
    )


async def deliver_once(pool: asyncpg.Pool, client: httpx.AsyncClient, policy: Policy) -> int:
    """Delivers what is due (at most one message per endpoint and key at a time)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(SELECT_DUE, DUE_MAX)
    if not rows:
        return 0
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(row: asyncpg.Record) -> None:
        async with limit:
            outcome = await _post(client, row, policy)
            async with pool.acquire() as conn, conn.transaction():
                await _record(conn, row, outcome, policy)

    await asyncio.gather(*(one(row) for row in rows))
    return len(rows)


async def deliver(pool: asyncpg.Pool, policy: Policy, wake: asyncio.Event) -> None:
    """Runs forever."""
    async with httpx.AsyncClient(timeout=policy.timeout_s, follow_redirects=False) as client:
        while True:
            try:
                if not await deliver_once(pool, client, policy):
                    wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), IDLE_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("webhook delivery: %r; retrying", exc)
                await asyncio.sleep(1.0)
