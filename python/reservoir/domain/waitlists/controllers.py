"""Waitlists (role storefront): join a SKU's list, read it, read or leave an entry.

- `POST /v1/waitlists/{sku}/entries` `{buyer, quantity, channel?, callback?}` → 201 entry
- `GET /v1/waitlists/{sku}` → how many wait, for how many units, and the caller's entries
- `GET /v1/waitlist-entries/{id}`, `DELETE /v1/waitlist-entries/{id}`

SKU codes may hold `/`, so the SKU routes take the rest of the path and split `/entries`
off its end themselves. An entry belongs to the key that made it (404 to other keys).
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response.base import ASGIResponse

from reservoir import _core
from reservoir.domain.reservations.services import hold_channel
from reservoir.domain.waitlists import services
from reservoir.domain.waitlists.schemas import EntryIn, EntryOut, WaitlistOut
from reservoir.domain.writes import Writes
from reservoir.ledger.write_path import WritePath
from reservoir.lib.auth import AuthedRequest, requires_role
from reservoir.lib.bodies import StrictBody
from reservoir.lib.codes import check_code, path_code
from reservoir.lib.errors import ProblemError, unknown_sku
from reservoir.lib.openapi import AUTHED, BODY, problem_responses

STOREFRONT = requires_role("storefront")
ENTRIES_SUFFIX = "/entries"
LIMIT_MAX = 1000


class WaitlistController(Controller):
    path = "/v1/waitlists"
    tags = ["waitlists"]
    before_request = STOREFRONT

    @post(
        "/{path:path}",
        dto=StrictBody[EntryIn],
        return_dto=None,
        status_code=201,
        responses={
            201: ResponseSpec(EntryOut, description="Joined: waiting for units"),
            **problem_responses(*AUTHED, *BODY, 404, 409, 503),
        },
        summary="Join a SKU's waitlist (path: /v1/waitlists/{sku}/entries)",
    )
    async def join(
        self,
        path: FromPath[str],
        request: AuthedRequest,
        data: JSONBody[EntryIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        rest = path_code(path)
        if not rest.endswith(ENTRIES_SUFFIX):
            raise ProblemError(404, "not-found", "Not Found", "POST /v1/waitlists/{sku}/entries.")
        sku = rest.removesuffix(ENTRIES_SUFFIX)
        check_code(sku, "sku")
        channel = hold_channel(request.auth, data.channel)
        return await services.join(writes, request, request.auth, sku, data, channel)

    @get(
        "/{sku:path}",
        summary="A SKU's waitlist: entries and units waiting, the caller's entries in order",
        responses=problem_responses(*AUTHED, 400, 404, 422, 503),
    )
    async def read_waitlist(
        self,
        sku: FromPath[str],
        request: AuthedRequest,
        pool: NamedDependency[asyncpg.Pool],
        write_path: NamedDependency[WritePath],
        limit: Annotated[
            int, QueryParameter(ge=1, le=LIMIT_MAX, description="Entries listed at most")
        ] = 100,
    ) -> WaitlistOut:
        code = path_code(sku)
        check_code(code, "sku", status=400)
        try:
            return await services.waitlist(pool, write_path.reader(), code, request.auth, limit)
        except _core.UnknownSku:
            raise unknown_sku(code, status=404) from None


class WaitlistEntryController(Controller):
    path = "/v1/waitlist-entries"
    tags = ["waitlists"]
    before_request = STOREFRONT

    @get(
        "/{entry_id:str}",
        summary="Read a waitlist entry: its status, place in line, offer",
        responses=problem_responses(*AUTHED, 404, 503),
    )
    async def read_entry(
        self,
        entry_id: FromPath[str],
        request: AuthedRequest,
        pool: NamedDependency[asyncpg.Pool],
        write_path: NamedDependency[WritePath],
    ) -> EntryOut:
        return await services.read(pool, write_path.reader(), entry_id, request.auth)

    @delete(
        "/{entry_id:str}",
        status_code=200,
        summary="Leave a waitlist (a waiting entry only)",
        responses=problem_responses(*AUTHED, 404, 409, 503),
    )
    async def leave(
        self,
        entry_id: FromPath[str],
        request: AuthedRequest,
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        return await services.leave(writes, request, request.auth, entry_id)
