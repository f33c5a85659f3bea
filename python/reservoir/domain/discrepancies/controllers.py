"""`GET /v1/discrepancies` (roles warehouse, purchasing): every discrepancy, newest first.

Kinds: `damaged` and `wrong_item` (a purchase order's receipt, into quarantine), `over`
(received past the ordered quantity, within the tolerance), `short` (a short-closed order's
missing units), `lost_in_transit` (a closed transfer's), `short_pick` (a pick list's). The
rows are the view `discrepancies`, folded from the ledger and the documents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import asyncpg
import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from reservoir.lib.auth import requires_role
from reservoir.lib.openapi import AUTHED, problem_responses

Kind = Literal["damaged", "wrong_item", "over", "short", "lost_in_transit", "short_pick"]
LIMIT_MAX = 1000


class Discrepancy(msgspec.Struct, omit_defaults=True):
    id: str
    kind: str
    sku: str
    location: str
    quantity: int
    at: datetime | None = None
    purchase_order: str | None = None
    transfer: str | None = None
    pick_list: str | None = None
    line_no: int | None = None
    reason: str | None = None
    actor: str | None = None


class DiscrepancyPage(msgspec.Struct):
    discrepancies: list[Discrepancy]


SELECT = """
SELECT id, kind, sku, location, quantity, at, purchase_order, transfer, pick_list, line_no,
       reason, actor
FROM discrepancies
WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR purchase_order = $2)
  AND ($3::text IS NULL OR transfer = $3) AND ($4::text IS NULL OR sku = $4)
ORDER BY at DESC NULLS LAST, id
LIMIT $5
"""


class DiscrepancyController(Controller):
    path = "/v1/discrepancies"
    tags = ["discrepancies"]
    before_request = requires_role("warehouse", "purchasing")

    @get(
        "/",
        summary="Every discrepancy to work through, newest first",
        responses=problem_responses(*AUTHED, 400, 422, 503),
    )
    async def list_discrepancies(
        self,
        pool: NamedDependency[asyncpg.Pool],
        kind: Annotated[Kind | None, QueryParameter(description="Only this kind")] = None,
        purchase_order: Annotated[
            str | None, QueryParameter(description="Only this order's")
        ] = None,
        transfer: Annotated[str | None, QueryParameter(description="Only this transfer's")] = None,
        sku: Annotated[str | None, QueryParameter(description="Only this SKU's")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=LIMIT_MAX)] = 100,
    ) -> DiscrepancyPage:
        rows = await pool.fetch(SELECT, kind, purchase_order, transfer, sku, limit)
        return DiscrepancyPage(discrepancies=[Discrepancy(**dict(row)) for row in rows])
