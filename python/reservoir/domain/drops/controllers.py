"""`PUT /v1/drops/{code}` (admin) and `GET /v1/drops/{code}` (every role).

A drop sells one SKU in a window: no holds before `starts_at`, units ring-fenced per channel
until `spill_at`, a per-buyer cap while it runs. The engine enforces all of it with each hold.
"""

from __future__ import annotations

import asyncpg
from litestar import Controller, Response, get, put
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from reservoir.domain.drops import services
from reservoir.domain.drops.schemas import Drop, DropIn
from reservoir.ledger.write_path import WritePath
from reservoir.lib.auth import AuthedRequest, requires_role
from reservoir.lib.bodies import StrictBody
from reservoir.lib.codes import path_code
from reservoir.lib.openapi import AUTHED, BODY, problem_responses


class DropController(Controller):
    path = "/v1/drops"
    tags = ["drops"]

    @put(
        "/{code:path}",
        before_request=requires_role("admin"),
        dto=StrictBody[DropIn],
        return_dto=None,
        status_code=200,
        responses={
            201: ResponseSpec(Drop, description="Created"),
            **problem_responses(*AUTHED, *BODY, 503),
        },
        summary="Create or replace a drop: its window, pools per channel and buyer cap",
    )
    async def put_drop(
        self,
        code: FromPath[str],
        data: JSONBody[DropIn],
        request: AuthedRequest,
        pool: NamedDependency[asyncpg.Pool],
        write_path: NamedDependency[WritePath],
    ) -> Response[Drop]:
        drop_code = path_code(code)
        drop, created = await services.put_drop(
            pool, write_path, drop_code, data, request.auth.actor
        )
        return Response(drop, status_code=201 if created else 200)

    @get(
        "/{code:path}",
        before_request=requires_role("storefront", "warehouse"),
        summary="Read a drop: its phase, each pool's units taken and unsold, its transitions",
        responses=problem_responses(*AUTHED, 400, 404, 503),
    )
    async def get_drop(
        self,
        code: FromPath[str],
        pool: NamedDependency[asyncpg.Pool],
        write_path: NamedDependency[WritePath],
    ) -> Drop:
        drop_code = path_code(code)
        drop = await services.get_drop(pool, write_path.reader(), drop_code)
        if drop is None:
            raise services.unknown_drop(drop_code)
        return drop
