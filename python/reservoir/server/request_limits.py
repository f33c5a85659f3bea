"""Request-line and header size limits, checked on the ASGI scope before Litestar routes.

uvicorn's httptools parser has no header size limit of its own, so this is it: a URL
(path and query) longer than `URL_BYTES_MAX` is answered 414 `uri-too-long`, headers
larger than `HEADER_BYTES_MAX` together (names and values) 431 `headers-too-large`, both as
problem+json with `limit_bytes`. Per request it is one sum over the headers.
"""

from __future__ import annotations

from typing import Any

from reservoir.lib.errors import ProblemError
from reservoir.server.raw_answer import send_problem

URL_BYTES_MAX = 8 * 1024
HEADER_BYTES_MAX = 16 * 1024

ASGIApp = Any  # (scope, receive, send) -> Awaitable[None]


def too_long_url(length: int) -> ProblemError:
    return ProblemError(
        414,
        "uri-too-long",
        "URI too long",
        f"The request's path and query are {length} bytes; at most {URL_BYTES_MAX} are read.",
        field="url",
        limit_bytes=URL_BYTES_MAX,
    )


def too_large_headers(length: int) -> ProblemError:
    return ProblemError(
        431,
        "headers-too-large",
        "Request header fields too large",
        f"The request's headers are {length} bytes; at most {HEADER_BYTES_MAX} are read.",
        field="headers",
        limit_bytes=HEADER_BYTES_MAX,
    )


def refusal(scope: dict[str, Any]) -> ProblemError | None:
    """The problem for an HTTP request over a limit, or None."""
    url = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    if url > URL_BYTES_MAX:
        return too_long_url(url)
    headers = sum(len(name) + len(value) for name, value in scope["headers"])
    if headers > HEADER_BYTES_MAX:
        return too_large_headers(headers)
    return None


def with_request_limits(app: ASGIApp) -> ASGIApp:
    """`app` behind the limits (HTTP requests only; lifespan and the rest pass through)."""

    async def limited(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            problem = refusal(scope)
            if problem is not None:
                await send_problem(send, problem, (b"connection", b"close"))
                return
        await app(scope, receive, send)

    return limited
