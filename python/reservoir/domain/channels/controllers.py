"""`PUT/GET /v1/channels/{code}` (admin; GET every role) and `GET /v1/channels`.

A channel is a place that sells. Once any channel is defined, a hold's `channel` must name
one; its safety buffer and locations apply to the hold (the engine enforces both).
"""

from __future__ import annotations

import asyncpg
from litestar import Controller, Response, get, put
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from reservoir.domain.channels import services
from reservoir.domain.channels.schemas import Channel, ChannelIn
from reservoir.ledger.write_path import WritePath
from reservoir.lib.auth import requires_role
from reservoir.lib.bodies import StrictBody
from reservoir.lib.codes import path_code
from reservoir.lib.openapi import AUTHED, BODY, problem_responses

ANY_ROLE = requires_role("storefront", "warehouse", "purchasing")
ADMIN_ONLY = requires_role("admin")


class ChannelController(Controller):
    path = "/v1/channels"
    tags = ["channels"]

    @put(
        "/{code:path}",
        before_request=ADMIN_ONLY,
        dto=StrictBody[ChannelIn],
        return_dto=None,
        status_code=200,
        responses={
            201: ResponseSpec(Channel, description="Created"),
            **problem_responses(*AUTHED, *BODY, 503),
        },
        summary="Create or replace a sales channel (its safety buffer and locations)",
    )
    async def put_channel(
        self,
        code: FromPath[str],
        data: JSONBody[ChannelIn],
        pool: NamedDependency[asyncpg.Pool],
        write_path: NamedDependency[WritePath],
    ) -> Response[Channel]:
        channel_code = path_code(code)
        channel, created = await services.put_channel(pool, channel_code, data)
        write_path.define_channel(
            channel_code, channel.safety_buffer, channel.safety_buffer_percent, channel.locations
        )
        return Response(channel, status_code=201 if created else 200)

    @get(
        "/{code:path}",
        before_request=ANY_ROLE,
        summary="Read a sales channel",
        responses=problem_responses(*AUTHED, 400, 404, 503),
    )
    async def get_channel(
        self, code: FromPath[str], pool: NamedDependency[asyncpg.Pool]
    ) -> Channel:
        channel_code = path_code(code)
        channel = await services.get_channel(pool, channel_code)
        if channel is None:
            raise services.unknown_channel(channel_code)
        return channel

    @get(
        "/",
        before_request=ANY_ROLE,
        summary="List the sales channels",
        responses=problem_responses(*AUTHED, 503),
    )
    async def list_channels(self, pool: NamedDependency[asyncpg.Pool]) -> list[Channel]:
        return await services.list_channels(pool)
