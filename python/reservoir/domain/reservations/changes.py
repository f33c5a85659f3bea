"""Commit, release and extend of an existing reservation: the one implementation of each,
called by the route handlers (`controllers.py`) and by the hot path (server/hot_path.py)
with the request's raw body.

Each reads the stored reservation first (`services.fetch`: 404 for an unknown id and for
another key's reservation), applies the change in the engine and answers 200 once durable.
When the engine no longer holds the reservation, its settled state from the ledger answers
if the operation allows it (releasing a released reservation), else 409.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
from litestar.response.base import ASGIResponse

from reservoir import _core
from reservoir.domain.reservations import services
from reservoir.domain.reservations.schemas import CommitIn, ExtendIn
from reservoir.domain.writes import WriteRequest, Writes, Written
from reservoir.ledger.changes import ChangeMeta
from reservoir.ledger.writer import LedgerUnavailable
from reservoir.lib.auth import Identity
from reservoir.lib.bodies import decode_body
from reservoir.lib.clock import now_ms
from reservoir.lib.text import check_text

# (writes, request, caller, reservation id, raw body) -> the answer
Change = Callable[[Writes, WriteRequest, Identity, str, bytes], Awaitable[ASGIResponse]]


class _NoFields(msgspec.Struct, forbid_unknown_fields=True):
    """The body of release: nothing (an empty object is accepted)."""


async def commit(
    writes: Writes, request: WriteRequest, caller: Identity, rid: str, raw: bytes
) -> ASGIResponse:
    data = decode_body(raw, CommitIn) if raw.strip() else CommitIn()
    check_text("reference", data.reference)
    stored, _ = await services.fetch(writes.pool, rid, caller)
    meta = ChangeMeta(caller.actor, commit_reference=data.reference)
    return await _change(
        request, writes, caller, stored, meta, lambda engine: engine.commit(rid, now_ms())
    )


async def release(
    writes: Writes, request: WriteRequest, caller: Identity, rid: str, raw: bytes
) -> ASGIResponse:
    if raw.strip():
        decode_body(raw, _NoFields)
    stored, lines = await services.fetch(writes.pool, rid, caller, with_lines=True)
    return await _change(
        request,
        writes,
        caller,
        stored,
        ChangeMeta(caller.actor),
        lambda engine: engine.release(rid, now_ms()),
        settled_ok=("released", "expired"),
        lines=lines,
    )


async def extend(
    writes: Writes, request: WriteRequest, caller: Identity, rid: str, raw: bytes
) -> ASGIResponse:
    data = decode_body(raw, ExtendIn)
    ttl_ms = services.check_ttl(writes.settings, data.ttl_seconds)
    stored, _ = await services.fetch(writes.pool, rid, caller)
    return await _change(
        request,
        writes,
        caller,
        stored,
        ChangeMeta(caller.actor),
        lambda engine: engine.extend(rid, ttl_ms, now_ms()),
    )


# by the last segment of their path: /v1/reservations/{reservation_id}/<name>
CHANGES: dict[str, Change] = {"commit": commit, "release": release, "extend": extend}


async def _change(
    request: WriteRequest,
    writes: Writes,
    caller: Identity,
    stored: services.Stored,
    meta: ChangeMeta,
    operation: Callable[[_core.Engine], _core.Outcome],
    *,
    settled_ok: tuple[str, ...] = (),
    lines: list[tuple[str, str, int]] | None = None,
) -> ASGIResponse:
    """Applies `operation` to an existing reservation and answers 200 once durable. When the
    engine no longer holds it, its settled state from the ledger answers if in `settled_ok`
    (e.g. releasing a released reservation), else 409."""
    write_path = writes.write_path

    async def apply() -> Written:
        try:
            out = operation(write_path.engine())
        except _core.ReservationNotFound:
            settled = stored
            if stored.status not in services.FINAL_STATUSES:
                # read while the change that ended it (an expiry) was not durable yet; the
                # engine forgets a finished reservation only once it is, so the ledger has
                # it now (this path changed nothing: awaiting here is safe)
                settled, _ = await services.fetch(writes.pool, stored.id, caller)
            status = _settled(settled, allowed=settled_ok)
            return Written(
                200, services.render_stored(settled, status, lines or []), 0, changed=False
            )
        body = services.render_outcome(out, stored)
        return Written(200, body, out.lsn, meta, changed=out.changed)

    return await writes.perform(request, caller, apply)


def _settled(stored: services.Stored, allowed: tuple[str, ...]) -> str:
    """For a reservation the engine no longer holds: its final state from the ledger when it
    is one of `allowed`; otherwise raises the 409 (or a 503 if the ledger says it is open,
    which would mean the engine and the ledger disagree)."""
    if stored.status not in services.FINAL_STATUSES:
        raise LedgerUnavailable(f"reservation {stored.id} is {stored.status} in the ledger only")
    if stored.status not in allowed:
        raise services.invalid_state(stored.id, stored.status)
    return stored.status
