"""Suppliers and purchase orders.

- `PUT/GET /v1/suppliers/{code}` (purchasing; admin)
- `POST /v1/purchase-orders`, `GET /v1/purchase-orders[/{id}]` (purchasing; warehouse reads)
- `POST /v1/purchase-orders/{id}/receipts` (warehouse): receive against the order
- `POST /v1/purchase-orders/{id}/close` and `/cancel` (purchasing), with a reason
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import asyncpg
from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response.base import ASGIResponse

from reservoir.domain.purchasing import services
from reservoir.domain.purchasing.schemas import (
    OrderEndIn,
    OrderReceiptIn,
    OrderReceiptOut,
    PurchaseOrder,
    PurchaseOrderIn,
    PurchaseOrderPage,
    Supplier,
    SupplierIn,
)
from reservoir.domain.writes import Writes
from reservoir.lib.auth import AuthedRequest, requires_role
from reservoir.lib.bodies import StrictBody
from reservoir.lib.codes import check_code, path_code
from reservoir.lib.errors import ProblemError
from reservoir.lib.openapi import AUTHED, BODY, problem_responses

PURCHASING = requires_role("purchasing")
READERS = requires_role("purchasing", "warehouse")
LIMIT_MAX = 500


class SupplierController(Controller):
    path = "/v1/suppliers"
    tags = ["purchasing"]

    @put(
        "/{code:path}",
        before_request=PURCHASING,
        dto=StrictBody[SupplierIn],
        return_dto=None,
        status_code=200,
        responses={
            201: ResponseSpec(Supplier, description="Created"),
            **problem_responses(*AUTHED, *BODY, 503),
        },
        summary="Create or replace a supplier",
    )
    async def put_supplier(
        self, code: FromPath[str], data: JSONBody[SupplierIn], pool: NamedDependency[asyncpg.Pool]
    ) -> Response[Supplier]:
        supplier, created = await services.put_supplier(pool, path_code(code), data)
        return Response(supplier, status_code=201 if created else 200)

    @get(
        "/{code:path}",
        before_request=READERS,
        summary="Read a supplier",
        responses=problem_responses(*AUTHED, 400, 404, 503),
    )
    async def get_supplier(
        self, code: FromPath[str], pool: NamedDependency[asyncpg.Pool]
    ) -> Supplier:
        supplier_code = path_code(code)
        check_code(supplier_code, "code", status=400)
        supplier = await services.get_supplier(pool, supplier_code)
        if supplier is None:
            raise ProblemError(
                404,
                "unknown-supplier",
                "Unknown supplier",
                f"No supplier {supplier_code!r}.",
                field="code",
            )
        return supplier


class PurchaseOrderController(Controller):
    path = "/v1/purchase-orders"
    tags = ["purchasing"]

    @post(
        "/",
        before_request=PURCHASING,
        dto=StrictBody[PurchaseOrderIn],
        return_dto=None,
        status_code=201,
        responses={
            201: ResponseSpec(PurchaseOrder, description="Created, status open"),
            **problem_responses(*AUTHED, *BODY, 503),
        },
        summary="Place a purchase order with a supplier for a warehouse",
    )
    async def create(
        self,
        request: AuthedRequest,
        data: JSONBody[PurchaseOrderIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        return await services.create_order(writes, request, request.auth, data)

    @get(
        "/",
        before_request=READERS,
        summary="Purchase orders, newest first",
        responses=problem_responses(*AUTHED, 400, 422, 503),
    )
    async def list_orders(
        self,
        pool: NamedDependency[asyncpg.Pool],
        supplier: Annotated[str | None, QueryParameter(description="Only this supplier's")] = None,
        status: Annotated[
            str | None,
            QueryParameter(
                description=f"Only orders in this status ({', '.join(services.STATUSES)})"
            ),
        ] = None,
        expected_before: Annotated[
            date | None, QueryParameter(description="Only orders expected before this day")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=LIMIT_MAX)] = 100,
    ) -> PurchaseOrderPage:
        services.check_status(status)
        orders = await services.list_orders(
            pool, supplier=supplier, status=status, expected_before=expected_before, limit=limit
        )
        return PurchaseOrderPage(purchase_orders=orders)

    @get(
        "/{order_id:str}",
        before_request=READERS,
        summary="Read a purchase order: its status and each line's received, accepted, rejected "
        "and outstanding units",
        responses=problem_responses(*AUTHED, 404, 503),
    )
    async def read(
        self, order_id: FromPath[str], pool: NamedDependency[asyncpg.Pool]
    ) -> PurchaseOrder:
        async with pool.acquire() as conn:
            return await services.read_order(conn, order_id)

    @post(
        "/{order_id:str}/receipts",
        before_request=requires_role("warehouse"),
        dto=StrictBody[OrderReceiptIn],
        return_dto=None,
        status_code=201,
        responses={
            201: ResponseSpec(OrderReceiptOut, description="Received: the order after it"),
            **problem_responses(*AUTHED, *BODY, 404, 409, 503),
        },
        summary="Receive against a purchase order (every line or none)",
    )
    async def receive(
        self,
        order_id: FromPath[str],
        request: AuthedRequest,
        data: JSONBody[OrderReceiptIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        return await services.receive(writes, request, request.auth, order_id, data)

    @post(
        "/{order_id:str}/close",
        before_request=PURCHASING,
        dto=StrictBody[OrderEndIn],
        return_dto=None,
        status_code=200,
        summary="Short-close an order: what never came becomes a `short` discrepancy",
        responses=problem_responses(*AUTHED, *BODY, 404, 409, 503),
    )
    async def close(
        self,
        order_id: FromPath[str],
        request: AuthedRequest,
        data: JSONBody[OrderEndIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        return await services.end_order(writes, request, request.auth, order_id, data, "closed")

    @post(
        "/{order_id:str}/cancel",
        before_request=PURCHASING,
        dto=StrictBody[OrderEndIn],
        return_dto=None,
        status_code=200,
        summary="Cancel an order nothing was received against",
        responses=problem_responses(*AUTHED, *BODY, 404, 409, 503),
    )
    async def cancel(
        self,
        order_id: FromPath[str],
        request: AuthedRequest,
        data: JSONBody[OrderEndIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        return await services.end_order(writes, request, request.auth, order_id, data, "cancelled")
