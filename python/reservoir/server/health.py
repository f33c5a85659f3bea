"""Operations endpoints, open without a key: `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get

from reservoir.lib import metrics
from reservoir.lib.errors import ProblemError
from reservoir.lib.openapi import OpenOperation, problem_responses
from reservoir.server.readiness import is_ready


class Status(msgspec.Struct):
    status: str


class HealthController(Controller):
    tags = ["operations"]

    @get(
        "/healthz",
        summary="Liveness: 200 while the process serves",
        operation_class=OpenOperation,
        responses=problem_responses(),
    )
    async def healthz(self) -> Status:
        return Status("ok")

    @get(
        "/readyz",
        summary="Readiness: 200 once the engine is recovered and accepts writes",
        operation_class=OpenOperation,
        responses=problem_responses(503),
    )
    async def readyz(self, request: Request[Any, Any, Any]) -> Status:
        if not is_ready(request.app):
            reason = request.app.state.get("not_ready_reason") or "starting"
            raise ProblemError(
                503,
                "not-ready",
                "Not ready",
                f"The service is not accepting writes: {reason}.",
                headers={"Retry-After": "1"},
            )
        return Status("ready")

    @get(
        "/metrics",
        summary="Prometheus metrics (text format 0.0.4)",
        media_type=MediaType.TEXT,
        operation_class=OpenOperation,
        responses=problem_responses(),
    )
    async def metrics(self) -> Response[str]:
        # the content type as a header: Litestar would append a second charset to media_type
        return Response(
            metrics.REGISTRY.render(),
            media_type=MediaType.TEXT,
            headers={"Content-Type": metrics.CONTENT_TYPE},
        )
