"""Counts every HTTP response by method, route template and status (`before_send` hook)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

from reservoir.lib import metrics

HTTP_REQUESTS = metrics.counter(
    "reservoir_http_requests_total", "HTTP responses sent", ("method", "route", "status")
)
# (method, route, status) -> its labelled child, made on a combination's first response
_CHILDREN: dict[tuple[str, str, int], Counter] = {}


async def count_response(message: Any, scope: Any) -> None:
    if message["type"] == "http.response.start":
        route = scope.get("path_template") or "unmatched"
        key = (scope.get("method", "?"), route, message["status"])
        child = _CHILDREN.get(key)
        if child is None:
            child = _CHILDREN[key] = HTTP_REQUESTS.labels(*key)
        child.inc()
