"""The hot path: the flash drop's routes answered before Litestar's per-request machinery:
`POST /v1/reservations`, its commit, release and extend, and `GET /v1/availability/{sku}`.

A flash drop is thousands of buyers posting one body to one route. Litestar spends most of
such a request's CPU around the handler, not in it (py-spy, benchmarks/RESULTS.md: its
exception middleware, router, route handle, kwargs model, DTO, `Request` and the wrapped
`send` of its `before_send` hooks). This ASGI wrapper takes the requests it can answer
exactly as the route would, and hands every other one to Litestar untouched:

- taken: `POST /v1/reservations` with a `Content-Length` within the body limit, a known
  `Bearer` key of role storefront or admin, and a body that decodes strictly into
  `ReserveIn` (nesting bound included). It then runs `services.hold`, the route's own
  implementation (engine, durability wait, `Idempotency-Key`), and sends its answer;
  an exception becomes the problem the app's one handler would send
  (`exception_handler.problem_from_exception`), the sold-out 409s from a small cache of
  encoded bodies (a drop's refusals differ only in the units asked for);
- taken: `POST /v1/reservations/{id}/commit`, `/release` and `/extend` with a
  `Content-Length` and such a key: `changes.commit`/`release`/`extend`, the routes' own
  (they decode the body and read the stored reservation themselves), errors answered as
  above;
- taken: `GET /v1/availability/{sku}` without a query string, by a known key of role
  storefront, warehouse or admin: the route's `availability(...)` over the engine;
- handed over: anything else, including every refusal of authentication, role, size and
  shape, with the body already read replayed to Litestar, so each of those answers comes
  from the one place that makes it now (401, 403, 400, 413, 422).

It runs as Litestar's ASGI handler (inside `Litestar.__call__`), so `send` is already the
app's, with its `before_send` hooks: either way the response carries
`Reservoir-Received-At` (stamped here when handling starts, as the middleware does) and is
counted in `reservoir_http_requests_total` under the route's template. The OpenAPI document
is Litestar's: the route is still there, with its one implementation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar.response.base import ASGIResponse

from reservoir import _core
from reservoir.domain.availability.controllers import availability
from reservoir.domain.reservations import changes, services
from reservoir.domain.reservations.schemas import ReserveIn
from reservoir.domain.writes import Writes
from reservoir.ledger.write_path import WritePath
from reservoir.lib.api_keys import ADMIN, ApiKeys, Identity
from reservoir.lib.auth import bearer_token
from reservoir.lib.bodies import decode_body
from reservoir.lib.errors import PROBLEM_MEDIA_TYPE
from reservoir.lib.idempotency import HEADER as IDEMPOTENCY_KEY
from reservoir.server.exception_handler import log_problem, problem_from_exception
from reservoir.server.raw_answer import Send, send_answer, send_problem
from reservoir.server.received_at import stamp_scope

ASGIApp = Any  # (scope, receive, send) -> Awaitable[None]
Receive = Callable[[], Awaitable[Any]]
SoldOut = dict[tuple[tuple[str, int, int], ...], bytes]  # shortages -> the 409's body

PATH = "/v1/reservations"
PATH_PREFIX = PATH + "/"
CHANGE_TEMPLATE = PATH + "/{{reservation_id}}/{}"  # as Litestar names the routes
RESERVE_ROLES = frozenset({"storefront", ADMIN})
AVAILABILITY = "/v1/availability/"
STREAM = "/v1/availability/stream"  # the live feed: Litestar's route
AVAILABILITY_TEMPLATE = "/v1/availability/{sku}"  # as Litestar names the route
AVAILABILITY_ROLES = frozenset({"storefront", "warehouse", "purchasing", ADMIN})
JSON = "application/json"
SOLD_OUT_CACHE_MAX = 4096


class _Url:
    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


class HotRequest:
    """What `Writes.perform` reads of a request (`domain.writes.WriteRequest`)."""

    __slots__ = ("_body", "headers", "method", "url")

    def __init__(self, method: str, path: str, body: bytes, key: str | None) -> None:
        self.method = method
        self.url = _Url(path)
        self.headers = {IDEMPOTENCY_KEY: key} if key is not None else {}
        self._body = body

    async def body(self) -> bytes:
        return self._body


class _Headers:
    """The few request headers the hot path reads, from one pass over the scope's."""

    __slots__ = ("authorization", "content_length", "idempotency_key")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.authorization: bytes | None = None
        self.content_length: bytes | None = None
        self.idempotency_key: bytes | None = None
        for name, value in raw:  # names are lower-case in ASGI; the first of each counts
            if name == b"authorization":
                self.authorization = self.authorization or value
            elif name == b"content-length":
                self.content_length = self.content_length or value
            elif name == b"idempotency-key":
                self.idempotency_key = self.idempotency_key or value

    def idempotency(self) -> str | None:
        key = self.idempotency_key
        return None if key is None else key.decode("latin-1")


class HotPath:
    """`app` (Litestar's handler) behind the hot path; `state` is the app's state, where the
    lifespans leave `writes`, `write_path` and `api_keys`. One per app (with its sold-out
    cache)."""

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state
        self.sold_out: SoldOut = {}

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            if method == "POST" and path == PATH:
                await self.reserve(scope, receive, send)
                return
            if method == "POST" and path.startswith(PATH_PREFIX):
                await self.change(scope, receive, send)
                return
            if (
                method == "GET"
                and path.startswith(AVAILABILITY)
                and not scope["query_string"]
                and path != STREAM
            ):
                await self.read_availability(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def reserve(self, scope: Any, receive: Receive, send: Send) -> None:
        taken = await self._take_write(scope, receive, send)
        if taken is None:
            return
        writes, caller, headers, body = taken
        data = _decode(body)
        if data is None:  # a body the route refuses: its answer
            await self.app(scope, _replaying(body, True, receive), send)
            return
        await self._answer(
            scope,
            receive,
            send,
            PATH,
            HotRequest("POST", PATH, body, headers.idempotency()),
            lambda request: services.hold(writes, request, caller, data),
        )

    async def change(self, scope: Any, receive: Receive, send: Send) -> None:
        """`POST /v1/reservations/{id}/commit|release|extend`: the body, whatever it is, is
        the change's to judge (`changes.*` decode it themselves, as the routes do)."""
        path = scope["path"]
        rid, _, name = path[len(PATH_PREFIX) :].partition("/")
        change = changes.CHANGES.get(name)
        if change is None or not rid:
            await self.app(scope, receive, send)
            return
        taken = await self._take_write(scope, receive, send)
        if taken is None:
            return
        writes, caller, headers, body = taken
        await self._answer(
            scope,
            receive,
            send,
            CHANGE_TEMPLATE.format(name),
            HotRequest("POST", path, body, headers.idempotency()),
            lambda request: change(writes, request, caller, rid, body),
        )

    async def _take_write(
        self, scope: Any, receive: Receive, send: Send
    ) -> tuple[Writes, Identity, _Headers, bytes] | None:
        """A write's `Writes`, caller, headers and whole body; None once the request is
        handed to Litestar (no `Content-Length`, over the limit, no allowed key) or the
        client went away."""
        writes: Writes | None = self.state.get("writes")
        headers = _Headers(scope["headers"])
        caller = _caller(self.state.api_keys, headers.authorization, RESERVE_ROLES)
        length = _length(headers.content_length)
        limit = writes.settings.body_bytes_max if writes is not None else 0
        if writes is None or caller is None or length is None or length > limit:
            await self.app(scope, receive, send)
            return None
        stamp_scope(scope)
        body, finished = await _read_body(receive, limit)
        if body is None:
            return None
        if not finished:
            await self.app(scope, _replaying(body, finished, receive), send)
            return None
        return writes, caller, headers, body

    async def _answer(
        self,
        scope: Any,
        receive: Receive,
        send: Send,
        template: str,
        request: HotRequest,
        call: Callable[[HotRequest], Awaitable[ASGIResponse]],
    ) -> None:
        """Sends what `call` answers, or the problem for what it raises, counted under the
        route's `template`."""
        scope["path_template"] = template
        try:
            response = await call(request)
        except Exception as exc:
            await _problem(exc, self.sold_out, send, request.method, request.url.path)
            return
        await response(scope, receive, send)

    async def read_availability(self, scope: Any, receive: Receive, send: Send) -> None:
        write_path: WritePath | None = self.state.get("write_path")
        sku = scope["path"][len(AVAILABILITY) :]
        headers = _Headers(scope["headers"])
        caller = _caller(self.state.api_keys, headers.authorization, AVAILABILITY_ROLES)
        if write_path is None or caller is None or not sku:
            await self.app(scope, receive, send)
            return
        stamp_scope(scope)
        scope["path_template"] = AVAILABILITY_TEMPLATE
        try:
            body = msgspec.json.encode(availability(write_path.reader(), sku))
        except Exception as exc:
            await _problem(exc, self.sold_out, send, "GET", scope["path"])
            return
        await send_answer(send, 200, body, JSON)


def _caller(keys: ApiKeys, authorization: bytes | None, roles: frozenset[str]) -> Identity | None:
    """The caller if the header names a known key of a role allowed here, else None (and
    Litestar answers the 401 or 403 as it does for every route)."""
    token = None if authorization is None else bearer_token(authorization.decode("latin-1"))
    if token is None:
        return None
    identity = keys.authenticate(token)
    if identity is None or identity.role not in roles:
        return None
    return identity


def _length(value: bytes | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, bool]:
    """The body, and whether it is whole: reading stops past `limit` (Litestar then answers
    413 on the replayed part and the rest). None if the client disconnected."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
        if not more or size > limit:
            return b"".join(chunks), not more


def _decode(body: bytes) -> ReserveIn | None:
    """The body as the route decodes it, or None: a body it refuses is Litestar's to answer."""
    try:
        return decode_body(body, ReserveIn)
    except Exception:
        return None


def _replaying(body: bytes, finished: bool, receive: Receive) -> Receive:
    """A `receive` that gives `body` first (as one message), then what is left."""
    pending = True

    async def replayed() -> Any:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": not finished}
        return await receive()

    return replayed


async def _problem(exc: Exception, sold_out: SoldOut, send: Send, method: str, path: str) -> None:
    if isinstance(exc, _core.InsufficientStock):
        key = tuple(exc.shortages)
        body = sold_out.get(key)
        if body is None:
            if len(sold_out) >= SOLD_OUT_CACHE_MAX:
                sold_out.clear()
            body = sold_out[key] = msgspec.json.encode(problem_from_exception(exc).to_body())
        await send_answer(send, 409, body, PROBLEM_MEDIA_TYPE)
        return
    problem = problem_from_exception(exc)
    log_problem(problem, exc, method, path)
    await send_problem(send, problem)
