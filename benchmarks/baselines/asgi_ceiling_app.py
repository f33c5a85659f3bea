"""The `asgi-ceiling` target: what the HTTP server itself can answer, with no framework.

A raw ASGI app on the same uvicorn settings as `reservoir serve` (uvloop, httptools, no
access log, no server header, the same keep-alive): it reads the request body and answers
every POST 201 with a fixed, pre-encoded, reservation-shaped body of the size reservoir's
answer has (`reservoir.server.bench.NOOP_RESERVATION`, the body the other ceilings send),
and `GET /readyz` 200. Nothing is decoded, authenticated or stored: every other figure of a
run is also given as a share of this one.

    python benchmarks/baselines/asgi_ceiling_app.py --port 8001
"""

from __future__ import annotations

from typing import Any

import msgspec

from common import bench, cli, serve

BODY = msgspec.json.encode(bench.NOOP_RESERVATION)
READY = b'{"status":"ready"}'


def _start(status: int, body: bytes) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }


CREATED = _start(201, BODY)
OK = _start(200, READY)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        for reply in ("lifespan.startup.complete", "lifespan.shutdown.complete"):
            await receive()
            await send({"type": reply})
        return
    more = True
    while more:  # the whole body, as a real handler would read it
        more = (await receive()).get("more_body", False)
    start, body = (OK, READY) if scope["method"] == "GET" else (CREATED, BODY)
    await send(start)
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    serve(app, cli("raw ASGI ceiling: a fixed 201 body", "bench_asgi_ceiling"))
