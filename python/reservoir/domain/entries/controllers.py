"""`GET /v1/ledger?sku=&location=&after=&limit=` (roles warehouse, admin)."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from reservoir.domain.entries import services
from reservoir.domain.entries.schemas import LedgerPage
from reservoir.lib.auth import requires_role
from reservoir.lib.codes import check_code
from reservoir.lib.openapi import AUTHED, problem_responses


class LedgerController(Controller):
    path = "/v1/ledger"
    tags = ["ledger"]
    before_request = requires_role("warehouse")

    @get(
        "/",
        summary="Ledger entries in id order, a page at a time",
        responses=problem_responses(*AUTHED, 400, 422, 503),
    )
    async def read_ledger(
        self,
        pool: NamedDependency[asyncpg.Pool],
        sku: Annotated[str | None, QueryParameter(description="Only this SKU")] = None,
        location: Annotated[str | None, QueryParameter(description="Only this location")] = None,
        after: Annotated[
            str | None, QueryParameter(description="The `next` cursor of the previous page")
        ] = None,
        limit: Annotated[
            int, QueryParameter(ge=1, le=services.LIMIT_MAX, description="Entries per page")
        ] = services.LIMIT_DEFAULT,
    ) -> LedgerPage:
        if sku is not None:
            check_code(sku, "sku", status=400)
        if location is not None:
            check_code(location, "location", status=400)
        after_id = 0 if after is None else services.decode_cursor(after)
        return await services.read_ledger(
            pool, sku=sku, location=location, after=after_id, limit=limit
        )
