"""Reservations: edge validation, the engine calls, and the reads of what the engine does not
keep (creation time, channel, reference)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import msgspec
from litestar.response.base import ASGIResponse

from reservoir import _core
from reservoir.domain.reservations.schemas import LineOut, ReservationOut, ReserveIn
from reservoir.domain.waitlists import services as waitlists
from reservoir.domain.writes import WriteRequest, Writes, Written
from reservoir.ledger.changes import ChangeMeta, NewReservation
from reservoir.lib.auth import Identity, sees
from reservoir.lib.clock import now_ms, rfc3339, to_ms
from reservoir.lib.errors import ProblemError, invalid_input
from reservoir.lib.settings import Settings
from reservoir.lib.text import check_text

# The engine allows 128 bytes (`BUYER_BYTES_MAX`): a longer UTF-8 id is refused there, with
# the same 422 naming `buyer`.
BUYER_LENGTH_MAX = 128

encode = msgspec.json.Encoder().encode

FINAL_STATUSES = ("released", "expired", "fulfilled")

SELECT_RESERVATION = """
SELECT id, status, expires_at, created_at, channel, reference, owner, buyer
FROM reservations WHERE id = $1
"""
SELECT_LINES = """
SELECT sku, quantity, location FROM reservation_lines WHERE reservation_id = $1 ORDER BY line_no
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """A reservation as the ledger has it."""

    id: str
    status: str
    expires_at_ms: int
    created_at_ms: int
    channel: str | None
    reference: str | None
    owner: str | None  # the actor of the key that made it
    buyer: str | None


def check_ttl(settings: Settings, ttl_seconds: int | None) -> int:
    """The hold's TTL in ms (the default when unset), or 422 naming `ttl_seconds`."""
    if ttl_seconds is None:
        return settings.ttl_seconds_default * 1000
    if not 1 <= ttl_seconds <= settings.ttl_seconds_max:
        raise invalid_input(
            "ttl_seconds", f"ttl_seconds must be between 1 and {settings.ttl_seconds_max}."
        )
    return ttl_seconds * 1000


def engine_lines(data: ReserveIn, settings: Settings) -> list[tuple[str, int, str | None]]:
    """The request's lines for the engine; edge checks name the offending field."""
    if len(data.lines) > settings.lines_per_reservation_max:
        raise invalid_input(
            "lines", f"At most {settings.lines_per_reservation_max} lines per reservation."
        )
    check_text("channel", data.channel)
    check_text("reference", data.reference)
    check_text("buyer", data.buyer, length_max=BUYER_LENGTH_MAX)
    return [(line.sku, line.quantity, line.location) for line in data.lines]


async def hold(
    writes: Writes, request: WriteRequest, caller: Identity, data: ReserveIn
) -> ASGIResponse:
    """`POST /v1/reservations`: holds every line or none, answers 201 once durable. The one
    implementation, called by the route handler and by the hot path."""
    lines = engine_lines(data, writes.settings)
    ttl_ms = check_ttl(writes.settings, data.ttl_seconds)
    channel = hold_channel(caller, data.channel)
    waits = waitlists.waitlist_request(lines, data.buyer) if data.waitlist else None
    write_path = writes.write_path
    rates = writes.reserve_rates

    def apply() -> Written:
        # here, not before `perform`: a request answered before under its Idempotency-Key
        # is replayed without taking a token (and a 429 stores no answer for the key)
        rates.check(caller.key_id, data.buyer)
        now = now_ms()
        engine = write_path.engine()
        try:
            held = engine.reserve(lines, ttl_ms, now, channel=channel, buyer=data.buyer)
        except _core.InsufficientStock as refused:
            if waits is None or data.buyer is None:
                raise
            entry, lsn, meta = waitlists.join_entry(
                engine, caller, waits[0], waits[1], data.buyer, channel, None, now
            )
            return Written(409, waitlists.waitlisted_problem(refused, entry), lsn, meta)
        body = render(
            held.id,
            "held",
            held.lines,
            held.expires_at_ms,
            now,
            channel,
            data.reference,
            data.buyer,
        )
        created = NewReservation(now, caller.actor, channel, data.reference, data.buyer)
        return Written(201, body, held.lsn, ChangeMeta(caller.actor, reservation=created))

    return await writes.perform(request, caller, apply)


def hold_channel(caller: Identity, channel: str | None) -> str | None:
    """The channel a hold is for: the one it names, or its key's first when the key is bound
    to channels; a bound key naming another is 403 `channel-not-allowed`."""
    if not caller.channels:
        return channel
    if channel is None:
        return caller.channels[0]
    if channel not in caller.channels:
        raise ProblemError(
            403,
            "channel-not-allowed",
            "Channel not allowed",
            f"This API key reserves only for {', '.join(caller.channels)}, not {channel!r}.",
            field="channel",
            channels=list(caller.channels),
        )
    return channel


def reservation_out(
    rid: str,
    status: str,
    lines: list[tuple[str, str, int]],
    expires_at_ms: int,
    created_at_ms: int,
    channel: str | None,
    reference: str | None,
    buyer: str | None,
) -> ReservationOut:
    """The reservation as the API shows it; lines are (sku, location, quantity)."""
    return ReservationOut(
        id=rid,
        status=status,
        lines=[LineOut(sku=s, quantity=q, location=loc) for s, loc, q in lines],
        expires_at=rfc3339(expires_at_ms),
        created_at=rfc3339(created_at_ms),
        channel=channel,
        reference=reference,
        buyer=buyer,
    )


def render(
    rid: str,
    status: str,
    lines: list[tuple[str, str, int]],
    expires_at_ms: int,
    created_at_ms: int,
    channel: str | None,
    reference: str | None,
    buyer: str | None,
) -> bytes:
    return encode(
        reservation_out(rid, status, lines, expires_at_ms, created_at_ms, channel, reference, buyer)
    )


def not_found(rid: str) -> _core.ReservationNotFound:
    """The core's own error, so one mapping turns it into the 404 problem."""
    exc = _core.ReservationNotFound(f"reservation {rid!r} not found")
    exc.code, exc.reservation_id = "reservation-not-found", rid
    return exc


def invalid_state(rid: str, status: str) -> _core.InvalidState:
    exc = _core.InvalidState(f"reservation {rid!r} is {status}")
    exc.code, exc.reservation_id, exc.status = "invalid-state", rid, status
    return exc


async def fetch(
    pool: asyncpg.Pool, rid: str, caller: Identity, *, with_lines: bool = False
) -> tuple[Stored, list[tuple[str, str, int]]]:
    """The stored reservation (and its lines), or 404: also when it belongs to another key
    than `caller`'s (admin sees all), with the same answer as for an unknown id, so no other
    client can act on it or learn that it exists. The owner comes in the same row."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(SELECT_RESERVATION, rid)
        if row is None or not sees(caller, row[6]):
            raise not_found(rid)
        lines: list[tuple[str, str, int]] = []
        if with_lines:
            lines = [(r[0], r[2], r[1]) for r in await conn.fetch(SELECT_LINES, rid)]
    stored = Stored(row[0], row[1], to_ms(row[2]), to_ms(row[3]), row[4], row[5], row[6], row[7])
    return stored, lines


def current_status(stored_status: str, expires_at_ms: int, now_ms: int) -> str:
    """A hold past its expiry reads `expired` even in the moment before the ticker writes it."""
    if stored_status == "held" and expires_at_ms <= now_ms:
        return "expired"
    return stored_status


def stored_out(stored: Stored, status: str, lines: list[tuple[str, str, int]]) -> ReservationOut:
    return reservation_out(
        stored.id,
        status,
        lines,
        stored.expires_at_ms,
        stored.created_at_ms,
        stored.channel,
        stored.reference,
        stored.buyer,
    )


def render_stored(stored: Stored, status: str, lines: list[tuple[str, str, int]]) -> bytes:
    return encode(stored_out(stored, status, lines))


def render_outcome(outcome: _core.Outcome, stored: Stored) -> bytes:
    return render(
        outcome.id,
        outcome.status,
        outcome.lines,
        outcome.expires_at_ms,
        stored.created_at_ms,
        stored.channel,
        stored.reference,
        stored.buyer,
    )
