"""`/v1/transfers` (role warehouse): a draft, then ship, receive (in parts), close."""

from __future__ import annotations

import asyncpg
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.response.base import ASGIResponse

from reservoir.domain.transfers import services
from reservoir.domain.transfers.schemas import (
    Transfer,
    TransitArrivalIn,
    TransitCloseIn,
    TransitTransferIn,
)
from reservoir.domain.writes import Writes
from reservoir.lib.auth import AuthedRequest, requires_role
from reservoir.lib.bodies import StrictBody
from reservoir.lib.openapi import AUTHED, BODY, problem_responses

STEP_PROBLEMS = problem_responses(*AUTHED, *BODY, 404, 409, 503)


class TransferController(Controller):
    path = "/v1/transfers"
    tags = ["transfers"]
    before_request = requires_role("warehouse")

    @post(
        "/",
        dto=StrictBody[TransitTransferIn],
        return_dto=None,
        status_code=201,
        responses={
            201: ResponseSpec(Transfer, description="A draft: nothing moved yet"),
            **problem_responses(*AUTHED, *BODY, 503),
        },
        summary="Plan a transfer between two locations (a draft)",
    )
    async def create(
        self,
        request: AuthedRequest,
        data: JSONBody[TransitTransferIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        return await services.create(writes, request, request.auth, data)

    @get(
        "/{transfer_id:str}",
        summary="Read a transfer: its status and each line's shipped, received, lost units",
        responses=problem_responses(*AUTHED, 404, 503),
    )
    async def read(
        self, transfer_id: FromPath[str], pool: NamedDependency[asyncpg.Pool]
    ) -> Transfer:
        async with pool.acquire() as conn:
            return await services.read_transfer(conn, transfer_id)

    @post(
        "/{transfer_id:str}/ship",
        status_code=200,
        summary="Ship a draft: its units leave the source and are in transit",
        responses=STEP_PROBLEMS,
    )
    async def ship(
        self, transfer_id: FromPath[str], request: AuthedRequest, writes: NamedDependency[Writes]
    ) -> ASGIResponse:
        return await services.ship(writes, request, request.auth, transfer_id)

    @post(
        "/{transfer_id:str}/receipts",
        dto=StrictBody[TransitArrivalIn],
        return_dto=None,
        status_code=200,
        summary="Receive the units of a shipped transfer that arrived",
        responses=STEP_PROBLEMS,
    )
    async def receive(
        self,
        transfer_id: FromPath[str],
        request: AuthedRequest,
        data: JSONBody[TransitArrivalIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        return await services.receive(writes, request, request.auth, transfer_id, data)

    @post(
        "/{transfer_id:str}/close",
        dto=StrictBody[TransitCloseIn],
        return_dto=None,
        status_code=200,
        summary="Close a transfer: what is still in transit is lost",
        responses=STEP_PROBLEMS,
    )
    async def close(
        self,
        transfer_id: FromPath[str],
        request: AuthedRequest,
        data: JSONBody[TransitCloseIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        return await services.close(writes, request, request.auth, transfer_id, data)
