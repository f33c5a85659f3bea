"""Webhook endpoints: checked (an http(s) URL, known event types, a well-formed secret; no
private target when denied), stored, read without their secrets, rotated, replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from reservoir.domain.webhooks.schemas import (
    Attempt,
    DeliveryLog,
    Endpoint,
    EndpointIn,
    EndpointPatch,
    Message,
    ReplayIn,
)
from reservoir.ledger.webhook_fanout import EVENT_TYPES
from reservoir.lib.auth import Identity
from reservoir.lib.errors import ProblemError, invalid_input
from reservoir.lib.settings import Settings
from reservoir.lib.webhook_signing import is_secret, new_secret
from reservoir.lib.webhook_targets import PrivateTarget, check_target, url_problem

COLUMNS = """id, url, events, enabled, disabled_reason, failing_since, created_at, updated_at,
previous_secret_until"""
LOG_MAX = 100


def not_found(endpoint: str) -> ProblemError:
    return ProblemError(
        404,
        "webhook-not-found",
        "Webhook not found",
        f"No webhook endpoint {endpoint!r}.",
        webhook=endpoint,
    )


async def check_url(url: str, settings: Settings) -> None:
    problem = url_problem(url)
    if problem is not None:
        raise invalid_input("url", f"`url` {problem}.")
    if settings.webhook_private_targets == "deny":
        try:
            await check_target(url)
        except PrivateTarget as exc:
            raise invalid_input(
                "url",
                f"`url` may not point inside this network ({exc}): private targets are denied.",
            ) from None


def check_events(events: list[str]) -> None:
    if not events:
        raise invalid_input("events", "Name at least one event type.")
    for i, event in enumerate(events):
        if event not in EVENT_TYPES:
            raise invalid_input(
                f"events[{i}]", f"Unknown event type {event!r} (one of {', '.join(EVENT_TYPES)})."
            )


def _endpoint(row: asyncpg.Record, secret: str | None = None) -> Endpoint:
    return Endpoint(
        id=row["id"],
        url=row["url"],
        events=list(row["events"]),
        enabled=row["enabled"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        disabled_reason=row["disabled_reason"],
        failing_since=row["failing_since"],
        secret=secret,
        previous_secret_until=row["previous_secret_until"],
    )


async def create(
    pool: asyncpg.Pool, settings: Settings, caller: Identity, body: EndpointIn
) -> Endpoint:
    await check_url(body.url, settings)
    check_events(body.events)
    if body.secret is not None and not is_secret(body.secret):
        raise invalid_input("secret", "`secret` is whsec_ and the base64 of 16 to 64 bytes.")
    secret = body.secret or new_secret()
    async with pool.acquire() as conn:
        number = await conn.fetchval("SELECT nextval('webhook_endpoint_numbers')")
        row = await conn.fetchrow(
            f"INSERT INTO webhook_endpoints (id, url, events, secret, created_by)"
            f" VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}",
            f"wh_{number}",
            body.url,
            sorted(set(body.events)),
            secret,
            caller.actor,
        )
    return _endpoint(row, secret)


async def read(pool: asyncpg.Pool, endpoint: str) -> Endpoint:
    row = await pool.fetchrow(f"SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1", endpoint)
    if row is None:
        raise not_found(endpoint)
    return _endpoint(row)


async def list_all(pool: asyncpg.Pool) -> list[Endpoint]:
    rows = await pool.fetch(f"SELECT {COLUMNS} FROM webhook_endpoints ORDER BY created_at, id")
    return [_endpoint(r) for r in rows]


async def update(
    pool: asyncpg.Pool, settings: Settings, endpoint: str, body: EndpointPatch
) -> Endpoint:
    if body.url is not None:
        await check_url(body.url, settings)
    if body.events is not None:
        check_events(body.events)
    row = await pool.fetchrow(
        f"""
        UPDATE webhook_endpoints SET
            url = coalesce($2, url),
            events = coalesce($3, events),
            enabled = coalesce($4, enabled),
            disabled_reason = CASE WHEN $4 THEN NULL ELSE disabled_reason END,
            failing_since = CASE WHEN $4 THEN NULL ELSE failing_since END,
            updated_at = now()
        WHERE id = $1 RETURNING {COLUMNS}
        """,
        endpoint,
        body.url,
        None if body.events is None else sorted(set(body.events)),
        body.enabled,
    )
    if row is None:
        raise not_found(endpoint)
    return _endpoint(row)


async def rotate(pool: asyncpg.Pool, settings: Settings, endpoint: str) -> Endpoint:
    """A new secret, shown once; the old one still signs (beside it) for the grace period."""
    secret = new_secret()
    until = datetime.now(UTC) + timedelta(seconds=settings.webhook_rotation_grace_seconds)
    row = await pool.fetchrow(
        f"""
        UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $3,
                                     secret = $2, updated_at = now()
        WHERE id = $1 RETURNING {COLUMNS}
        """,
        endpoint,
        secret,
        until,
    )
    if row is None:
        raise not_found(endpoint)
    return _endpoint(row, secret)


async def delivery_log(pool: asyncpg.Pool, endpoint: str, status: str | None) -> DeliveryLog:
    await read(pool, endpoint)
    messages = await pool.fetch(
        """
        SELECT msg_id, event_type, status, attempts, created_at, next_attempt_at, delivered_at,
               ordering_key
        FROM webhook_messages WHERE endpoint = $1 AND ($2::text IS NULL OR status = $2)
        ORDER BY id DESC LIMIT $3
        """,
        endpoint,
        status,
        LOG_MAX,
    )
    attempts = await pool.fetch(
        """
        SELECT m.msg_id, a.attempt, a.at, a.latency_ms, a.status_code, a.error, a.response
        FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message
        WHERE m.endpoint = $1 ORDER BY a.at DESC, a.attempt DESC LIMIT $2
        """,
        endpoint,
        LOG_MAX,
    )
    return DeliveryLog(
        messages=[
            Message(
                id=m["msg_id"],
                event_type=m["event_type"],
                status=m["status"],
                attempts=m["attempts"],
                created_at=m["created_at"],
                next_attempt_at=m["next_attempt_at"] if m["status"] == "pending" else None,
                delivered_at=m["delivered_at"],
                ordering_key=m["ordering_key"],
            )
            for m in messages
        ],
        attempts=[
            Attempt(
                message=a["msg_id"],
                attempt=a["attempt"],
                at=a["at"],
                latency_ms=a["latency_ms"],
                status_code=a["status_code"],
                error=a["error"],
                response=a["response"],
            )
            for a in attempts
        ],
    )


async def replay(pool: asyncpg.Pool, endpoint: str, body: ReplayIn) -> int:
    """Sends messages again (same ids): one by id, or those made in a time range; each
    starts its schedule over. Returns how many."""
    if (body.message is None) == (body.since is None):
        raise invalid_input("message", "Name `message`, or `since` (and `until`).")
    await read(pool, endpoint)
    if body.message is not None:
        done = await pool.execute(
            "UPDATE webhook_messages SET status = 'pending', attempts = 0, next_attempt_at = now(),"
            " schedule_from = now() WHERE endpoint = $1 AND msg_id = $2",
            endpoint,
            body.message,
        )
        if done == "UPDATE 0":
            raise ProblemError(
                404,
                "webhook-message-not-found",
                "Webhook message not found",
                f"No message {body.message!r} for {endpoint}.",
                field="message",
            )
        return 1
    done = await pool.execute(
        "UPDATE webhook_messages SET status = 'pending', attempts = 0, next_attempt_at = now(),"
        " schedule_from = now() WHERE endpoint = $1 AND created_at >= $2"
        " AND ($3::timestamptz IS NULL OR created_at < $3)",
        endpoint,
        body.since,
        body.until,
    )
    return int(done.split()[-1])
