"""`/v1/reservations`: hold (reserve), read, commit, release, extend. Role storefront.

A reservation belongs to the API key that made it (`reservations.owner`): to every other
storefront key it is 404 `reservation-not-found`, as an unknown id; admin sees all
(`services.fetch`, `lib/auth.sees`).

Each write applies in the engine, then answers once the ledger has the change. A reservation
the engine no longer holds (released, expired, fulfilled and durable) is answered from the
ledger's record of it.
"""

from __future__ import annotations

import asyncpg
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response.base import ASGIResponse

from reservoir.domain.reservations import changes, services
from reservoir.domain.reservations.schemas import ReservationOut, ReserveIn
from reservoir.domain.writes import Writes
from reservoir.lib.auth import AuthedRequest, requires_role
from reservoir.lib.bodies import StrictBody
from reservoir.lib.clock import now_ms
from reservoir.lib.openapi import AUTHED, BODY, problem_responses

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
        responses=problem_responses(*AUTHED, *BODY, 409, 429, 503),
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
        raw = await request.body()
        return await changes.commit(writes, request, request.auth, reservation_id, raw)

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
        raw = await request.body()
        return await changes.release(writes, request, request.auth, reservation_id, raw)

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
        raw = await request.body()
        return await changes.extend(writes, request, request.auth, reservation_id, raw)
