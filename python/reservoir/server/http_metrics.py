"""Counts every HTTP response by method, route template and status (`before_send` hook)."""

from __future__ import annotations

from typing import Any

from reservoir.lib import metrics

HTTP_REQUESTS = metrics.counter(
    "reservoir_http_requests_total", "HTTP responses sent", ("method", "route", "status")
)


async def count_response(message: Any, scope: Any) -> None:
    if message["type"] == "http.response.start":
        route = scope.get("path_template") or "unmatched"
        HTTP_REQUESTS.labels(scope.get("method", "?"), route, message["status"]).inc()
