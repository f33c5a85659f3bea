"""`/v1/webhooks` (role admin): endpoints that receive reservoir's events, signed as the
Standard Webhooks spec says, retried on a schedule, with a delivery log and replay."""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
from litestar import Controller, Response, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from reservoir.domain.webhooks import services
from reservoir.domain.webhooks.schemas import (
    DeliveryLog,
    Endpoint,
    EndpointIn,
    EndpointPage,
    EndpointPatch,
    Replayed,
    ReplayIn,
)
from reservoir.lib.auth import AuthedRequest, requires_role
from reservoir.lib.bodies import StrictBody
from reservoir.lib.openapi import AUTHED, BODY, problem_responses


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["webhooks"]
    before_request = requires_role("admin")

    @post(
        "/",
        dto=StrictBody[EndpointIn],
        return_dto=None,
        status_code=201,
        responses={
            201: ResponseSpec(Endpoint, description="Subscribed; its secret shown this once"),
            **problem_responses(*AUTHED, *BODY, 503),
        },
        summary="Subscribe an endpoint to event types",
    )
    async def create(
        self,
        request: AuthedRequest,
        data: JSONBody[EndpointIn],
        pool: NamedDependency[asyncpg.Pool],
        state: State,
    ) -> Response[Endpoint]:
        made = await services.create(pool, state.settings, request.auth, data)
        return Response(made, status_code=201)

    @get("/", summary="Every endpoint (without secrets)", responses=problem_responses(*AUTHED, 503))
    async def list_endpoints(self, pool: NamedDependency[asyncpg.Pool]) -> EndpointPage:
        return EndpointPage(webhooks=await services.list_all(pool))

    @get(
        "/{endpoint:str}",
        summary="Read an endpoint (without its secret)",
        responses=problem_responses(*AUTHED, 404, 503),
    )
    async def read(self, endpoint: FromPath[str], pool: NamedDependency[asyncpg.Pool]) -> Endpoint:
        return await services.read(pool, endpoint)

    @patch(
        "/{endpoint:str}",
        dto=StrictBody[EndpointPatch],
        return_dto=None,
        summary="Change an endpoint's URL or event types, or disable / enable it",
        responses=problem_responses(*AUTHED, *BODY, 404, 503),
    )
    async def update(
        self,
        endpoint: FromPath[str],
        data: JSONBody[EndpointPatch],
        pool: NamedDependency[asyncpg.Pool],
        state: State,
    ) -> Endpoint:
        return await services.update(pool, state.settings, endpoint, data)

    @post(
        "/{endpoint:str}/rotate",
        status_code=200,
        summary="A new secret (shown once); the old one signs beside it for a grace period",
        responses=problem_responses(*AUTHED, 404, 503),
    )
    async def rotate(
        self, endpoint: FromPath[str], pool: NamedDependency[asyncpg.Pool], state: State
    ) -> Endpoint:
        return await services.rotate(pool, state.settings, endpoint)

    @get(
        "/{endpoint:str}/deliveries",
        summary="The newest messages (by status) and attempts: status, latency, response",
        responses=problem_responses(*AUTHED, 400, 404, 503),
    )
    async def deliveries(
        self,
        endpoint: FromPath[str],
        pool: NamedDependency[asyncpg.Pool],
        status: Annotated[
            Literal["pending", "delivered", "dead"] | None,
            QueryParameter(description="Only messages in this status (dead: the dead letters)"),
        ] = None,
    ) -> DeliveryLog:
        return await services.delivery_log(pool, endpoint, status)

    @post(
        "/{endpoint:str}/replay",
        dto=StrictBody[ReplayIn],
        return_dto=None,
        status_code=200,
        summary="Send a message again, or those made in a time range (same ids)",
        responses=problem_responses(*AUTHED, *BODY, 404, 503),
    )
    async def replay(
        self,
        endpoint: FromPath[str],
        data: JSONBody[ReplayIn],
        pool: NamedDependency[asyncpg.Pool],
    ) -> Replayed:
        return Replayed(replayed=await services.replay(pool, endpoint, data))
