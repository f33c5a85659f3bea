"""Counts every HTTP response by method, route template and status (`before_send` hook)."""

from __future__ import annotations

from typing import Any

from reservoir.lib import metrics

HTTP_REQUESTS = metrics.counter(
    "reservoir_http_requests_total", "HTTP responses sent", ("method", "route", "status")
)
# the labelled child per (method, route, status): one dict look-up per response instead of
# prometheus-client's labels() (which takes a lock and converts every value to str)
_children: dict[tuple[str, str, int], Any] = {}


async def count_response(message: Any, scope: Any) -> None:
    if message["type"] == "http.response.start":
        key = (
            scope.get("method", "?"),
            scope.get("path_template") or "unmatched",
            message["status"],
        )
        child = _children.get(key)
        if child is None:
            child = _children[key] = HTTP_REQUESTS.labels(*key)
        child.inc()
