"""`/v1/reservations`: hold (reserve), read, commit, release, extend. Role storefront.

A reservation belongs to the API key that made it (`reservations.owner`): to every other
storefront key it is 404 `reservation-not-found`, as an unknown id; admin sees all
(`services.fetch`, `lib/auth.sees`).

Each write applies in the engine, then answers once the ledger has the change. A reservation
the engine no longer holds (released, expired, fulfilled and durable) is answered from the
ledger's record of it.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response.base import ASGIResponse

from reservoir import _core
from reservoir.domain.reservations import services
from reservoir.domain.reservations.schemas import CommitIn, ExtendIn, ReservationOut, ReserveIn
from reservoir.domain.writes import Writes, Written
from reservoir.ledger.changes import ChangeMeta
from reservoir.ledger.writer import LedgerUnavailable
from reservoir.lib.auth import AuthedRequest, Identity, requires_role
from reservoir.lib.bodies import StrictBody, decode_body
from reservoir.lib.clock import now_ms
from reservoir.lib.openapi import AUTHED, BODY, problem_responses
from reservoir.lib.text import check_text

STOREFRONT = requires_role("storefront")
# commit, release, extend: of an existing reservation, with an optional body
CHANGE_PROBLEMS = problem_responses(*AUTHED, *BODY, 404, 409, 503)


class ReservationController(Controller):
    path = "/v1/reservations"
    tags = ["reservations"]
    before_request = STOREFRONT

    @post(
        "/",
        dto=StrictBody[ReserveIn],
        return_dto=None,
        status_code=201,
        summary="Hold units of one or more SKUs (all lines or none)",
        responses=problem_responses(*AUTHED, *BODY, 409, 503),
    )
    async def reserve(
        self,
        request: AuthedRequest,
        data: JSONBody[ReserveIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        return await services.hold(writes, request, request.auth, data)

    @get(
        "/{reservation_id:str}",
        summary="Read a reservation and its current status",
        responses=problem_responses(*AUTHED, 400, 404, 503),
    )
    async def read(
        self,
        request: AuthedRequest,
        reservation_id: FromPath[str],
        pool: NamedDependency[asyncpg.Pool],
    ) -> ReservationOut:
        stored, lines = await services.fetch(pool, reservation_id, request.auth, with_lines=True)
        status = services.current_status(stored.status, stored.expires_at_ms, now_ms())
        return services.stored_out(stored, status, lines)

    @post(
        "/{reservation_id:str}/commit",
        status_code=200,
        summary="Commit a hold (order placed)",
        responses=CHANGE_PROBLEMS,
    )
    async def commit(
        self,
        request: AuthedRequest,
        reservation_id: FromPath[str],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        caller = request.auth
        raw = await request.body()
        data = decode_body(raw, CommitIn) if raw.strip() else CommitIn()
        check_text("reference", data.reference)
        stored, _ = await services.fetch(writes.pool, reservation_id, caller)
        meta = ChangeMeta(caller.actor, commit_reference=data.reference)
        return await _change(
            request,
            writes,
            caller,
            stored,
            meta,
            lambda engine: engine.commit(reservation_id, now_ms()),
        )

    @post(
        "/{reservation_id:str}/release",
        status_code=200,
        summary="Release a hold or cancel",
        responses=CHANGE_PROBLEMS,
    )
    async def release(
        self,
        request: AuthedRequest,
        reservation_id: FromPath[str],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        caller = request.auth
        raw = await request.body()
        if raw.strip():
            decode_body(raw, _NoFields)
        stored, lines = await services.fetch(writes.pool, reservation_id, caller, with_lines=True)
        return await _change(
            request,
            writes,
            caller,
            stored,
            ChangeMeta(caller.actor),
            lambda engine: engine.release(reservation_id, now_ms()),
            settled_ok=("released", "expired"),
            lines=lines,
        )

    @post(
        "/{reservation_id:str}/extend",
        status_code=200,
        summary="Move a hold's expiry",
        responses=CHANGE_PROBLEMS,
    )
    async def extend(
        self,
        request: AuthedRequest,
        reservation_id: FromPath[str],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        caller = request.auth
        data = decode_body(await request.body(), ExtendIn)
        ttl_ms = services.check_ttl(writes.settings, data.ttl_seconds)
        stored, _ = await services.fetch(writes.pool, reservation_id, caller)
        return await _change(
            request,
            writes,
            caller,
            stored,
            ChangeMeta(caller.actor),
            lambda engine: engine.extend(reservation_id, ttl_ms, now_ms()),
        )


class _NoFields(msgspec.Struct, forbid_unknown_fields=True):
    """The body of release: nothing (an empty object is accepted)."""


async def _change(
    request: AuthedRequest,
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

    def apply() -> Written:
        try:
            out = operation(write_path.engine())
        except _core.ReservationNotFound:
            status = _settled(stored, allowed=settled_ok)
            return Written(
                200, services.render_stored(stored, status, lines or []), 0, changed=False
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
