"""`/v1/reconciliations`: outside counts (role warehouse) against the ledger at the time of
each count; applying chosen lines as adjustments is the admin's."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response.base import ASGIResponse

from reservoir.domain.reconciliations import counts, services
from reservoir.domain.reconciliations.services import ApplyIn, Reconciliation
from reservoir.domain.writes import Writes, answer
from reservoir.lib.auth import AuthedRequest, requires_role
from reservoir.lib.bodies import StrictBody, decode_body
from reservoir.lib.errors import invalid_input
from reservoir.lib.openapi import AUTHED, BODY, problem_responses
from reservoir.lib.text import check_text

# a count file may be large: 64 MiB (about a million lines), beyond the usual body limit
COUNTS_BYTES_MAX = 64 * 1024 * 1024
CSV = "text/csv"
PAGE_MAX = 10_000


class ReconciliationController(Controller):
    path = "/v1/reconciliations"
    tags = ["reconciliations"]

    @post(
        "/",
        before_request=requires_role("warehouse"),
        request_max_body_size=COUNTS_BYTES_MAX,
        status_code=201,
        responses={
            201: ResponseSpec(Reconciliation, description="Compared: the discrepancies"),
            **problem_responses(*AUTHED, *BODY, 503),
        },
        summary="Compare an outside count set (JSON, or CSV sku,location,quantity,source,"
        "counted_at) with the ledger at each count's time",
    )
    async def create(
        self,
        request: AuthedRequest,
        pool: NamedDependency[asyncpg.Pool],
        source: Annotated[
            str | None, QueryParameter(description="CSV: where the counts come from")
        ] = None,
        threshold_units: Annotated[
            int, QueryParameter(ge=0, description="CSV: flag differences from this many units")
        ] = 1,
        threshold_percent: Annotated[
            float | None, QueryParameter(ge=0, description="CSV: and from this percent")
        ] = None,
    ) -> ASGIResponse:
        """The body is JSON `{"source", "counts": [{"sku", "location"?, "quantity",
        "counted_at", "source"?}], "threshold_units"?, "threshold_percent"?}`, or a CSV file
        (`Content-Type: text/csv`) with the header `sku,location,quantity,source,counted_at`
        and `source` and the thresholds in the query."""
        raw = await request.body()
        caller = request.auth
        if request.headers.get("content-type", "").split(";")[0].strip() == CSV:
            check_text("source", source, required=True)
            assert source is not None
            found, errors = counts.parse_csv(raw)
        else:
            body = decode_body(raw, counts.CountsIn)
            check_text("source", body.source, required=True)
            if body.threshold_units < 0:
                raise invalid_input("threshold_units", "`threshold_units` must be at least 0.")
            if body.threshold_percent is not None and body.threshold_percent < 0:
                raise invalid_input("threshold_percent", "`threshold_percent` must be at least 0.")
            source, threshold_units = body.source, body.threshold_units
            threshold_percent = body.threshold_percent
            found, errors = counts.parse_json(body)
        if not errors and not found:
            raise invalid_input("counts", "No counts: send at least one line.")
        if errors:
            raise counts.refuse(errors)
        rid, errors = await services.record(
            pool, caller, source, found, threshold_units, threshold_percent
        )
        if errors:
            raise counts.refuse(errors)
        result = await services.read(pool, rid)
        return answer(services.encode(result), 201)

    @get(
        "/{reconciliation_id:str}",
        before_request=requires_role("warehouse"),
        summary="A reconciliation and its discrepancies, a page at a time",
        responses=problem_responses(*AUTHED, 400, 404, 422, 503),
    )
    async def read(
        self,
        reconciliation_id: FromPath[str],
        pool: NamedDependency[asyncpg.Pool],
        after: Annotated[
            int, QueryParameter(ge=0, description="The `next` of the page before")
        ] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_MAX)] = 1000,
    ) -> Reconciliation:
        return await services.read(pool, reconciliation_id, after=after, limit=limit)

    @post(
        "/{reconciliation_id:str}/apply",
        before_request=requires_role("admin"),
        dto=StrictBody[ApplyIn],
        return_dto=None,
        status_code=200,
        summary="Turn chosen lines (or every flagged one) into adjustments, reason reconciliation",
        responses=problem_responses(*AUTHED, *BODY, 404, 503),
    )
    async def apply(
        self,
        reconciliation_id: FromPath[str],
        request: AuthedRequest,
        data: JSONBody[ApplyIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        return await services.apply(writes, request, request.auth, reconciliation_id, data)
