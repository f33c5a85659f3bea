"""Answers sent straight to the ASGI server by the layers in front of Litestar's routing
(`request_limits.py`, `hot_path.py`): the start message with its headers, then the body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from reservoir.lib.errors import PROBLEM_MEDIA_TYPE, ProblemError

Send = Callable[[Any], Awaitable[None]]


async def send_answer(
    send: Send, status: int, body: bytes, media_type: str, *headers: tuple[bytes, bytes]
) -> None:
    raw = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_problem(send: Send, problem: ProblemError, *headers: tuple[bytes, bytes]) -> None:
    """`problem` as problem+json, with its own headers (`Retry-After`, ...) and `headers`."""
    own = ((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in problem.headers.items())
    body = msgspec.json.encode(problem.to_body())
    await send_answer(send, problem.status, body, PROBLEM_MEDIA_TYPE, *own, *headers)
