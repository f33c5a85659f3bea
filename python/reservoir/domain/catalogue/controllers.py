"""`PUT/GET /v1/items/{sku}` and `PUT/GET /v1/locations/{code}`.

PUT needs role admin and answers 201 when it created the resource, 200 when it replaced it.
GET is open to every role. Codes may contain `/`, so the routes take the rest of the path.
After a write the engine learns the SKU or location.
"""

from __future__ import annotations

import asyncpg
from litestar import Controller, Response, get, put
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from reservoir.domain.catalogue import services
from reservoir.domain.catalogue.schemas import Item, ItemIn, Location, LocationIn
from reservoir.ledger.write_path import WritePath
from reservoir.lib.auth import requires_role
from reservoir.lib.bodies import StrictBody
from reservoir.lib.codes import path_code
from reservoir.lib.errors import ProblemError, unknown_sku
from reservoir.lib.openapi import AUTHED, BODY, problem_responses

ANY_ROLE = requires_role("storefront", "warehouse", "purchasing")
ADMIN_ONLY = requires_role("admin")
PUT_PROBLEMS = problem_responses(*AUTHED, *BODY, 503)
GET_PROBLEMS = problem_responses(*AUTHED, 400, 404, 503)


class ItemController(Controller):
    path = "/v1/items"
    tags = ["catalogue"]

    @put(
        "/{sku:path}",
        before_request=ADMIN_ONLY,
        dto=StrictBody[ItemIn],
        return_dto=None,
        status_code=200,
        responses={201: ResponseSpec(Item, description="Created"), **PUT_PROBLEMS},
        summary="Create or replace an item (a SKU)",
    )
    async def put_item(
        self,
        sku: FromPath[str],
        data: JSONBody[ItemIn],
        pool: NamedDependency[asyncpg.Pool],
        write_path: NamedDependency[WritePath],
    ) -> Response[Item]:
        code = path_code(sku)
        item, created = await services.put_item(pool, code, data)
        write_path.define_sku(code, data.per_buyer_max)
        return Response(item, status_code=201 if created else 200)

    @get(
        "/{sku:path}",
        before_request=ANY_ROLE,
        summary="Read an item",
        responses=GET_PROBLEMS,
    )
    async def get_item(self, sku: FromPath[str], pool: NamedDependency[asyncpg.Pool]) -> Item:
        code = path_code(sku)
        item = await services.get_item(pool, code)
        if item is None:
            raise unknown_sku(code, status=404)
        return item


class LocationController(Controller):
    path = "/v1/locations"
    tags = ["catalogue"]

    @put(
        "/{code:path}",
        before_request=ADMIN_ONLY,
        dto=StrictBody[LocationIn],
        return_dto=None,
        status_code=200,
        responses={201: ResponseSpec(Location, description="Created"), **PUT_PROBLEMS},
        summary="Create or replace a location",
    )
    async def put_location(
        self,
        code: FromPath[str],
        data: JSONBody[LocationIn],
        pool: NamedDependency[asyncpg.Pool],
        write_path: NamedDependency[WritePath],
    ) -> Response[Location]:
        location_code = path_code(code)
        location, created = await services.put_location(pool, location_code, data)
        write_path.define_location(location_code, location.sellable, location.parent)
        return Response(location, status_code=201 if created else 200)

    @get(
        "/{code:path}",
        before_request=ANY_ROLE,
        summary="Read a location",
        responses=GET_PROBLEMS,
    )
    async def get_location(
        self, code: FromPath[str], pool: NamedDependency[asyncpg.Pool]
    ) -> Location:
        location_code = path_code(code)
        location = await services.get_location(pool, location_code)
        if location is None:
            raise ProblemError(
                404,
                "unknown-location",
                "Unknown location",
                f"No location {location_code!r}.",
                field="location",
                location=location_code,
            )
        return location
