"""`GET /v1/availability/stream?skus=A,B` (storefront, warehouse, purchasing): Server-Sent
Events with each SKU's levels as its changes become durable.

- `event: levels`, `id: <cursor>`, `data: {"sku", "seq", "on_hand", "reserved", "committed",
  "available", "lsn"}`. `seq` counts the SKU's events without gaps; `lsn` is the ledger
  position of the batch that changed it.
- A reconnect with `Last-Event-ID` (or `?cursor=`) gets exactly the events it missed. A
  cursor the server cannot resume (too old, or from before a restart) gets one
  `event: reset` per SKU with its levels now and its current `seq`, then live events.
- A stream that falls a whole queue behind is ended with `event: dropped` and a reason; the
  writer never waits for a stream. A comment every 15 s keeps idle connections open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from reservoir.ledger.level_feed import LevelEvent, LevelFeed, StreamsFull, Subscription, totals
from reservoir.ledger.write_path import WritePath
from reservoir.lib.auth import requires_role
from reservoir.lib.codes import check_code
from reservoir.lib.errors import ProblemError, invalid_input
from reservoir.lib.openapi import AUTHED, problem_responses

SKUS_MAX = 100
HEARTBEAT_S = 15.0
encode = msgspec.json.Encoder().encode


def _data(sku: str, seq: int, levels: tuple[int, int, int, int], lsn: int | None = None) -> bytes:
    """An event's data: the SKU's levels, its `seq`, and the batch's `lsn` (not on a reset)."""
    on_hand, reserved, committed, available = levels
    data: dict[str, str | int] = {
        "sku": sku,
        "seq": seq,
        "on_hand": on_hand,
        "reserved": reserved,
        "committed": committed,
        "available": available,
    }
    if lsn is not None:
        data["lsn"] = lsn
    return encode(data)


def _levels(event: LevelEvent) -> bytes:
    levels = (event.on_hand, event.reserved, event.committed, event.available)
    return _data(event.sku, event.seq, levels, event.lsn)


def _skus(raw: str) -> frozenset[str]:
    skus = [s for s in raw.split(",") if s]
    if not 1 <= len(skus) <= SKUS_MAX:
        raise invalid_input("skus", f"Name 1 to {SKUS_MAX} SKUs, comma-separated.", status=400)
    for sku in skus:
        check_code(sku, "skus", status=400)
    return frozenset(skus)


async def _events(
    write_path: WritePath, subscription: Subscription, missed: list[LevelEvent] | None
) -> AsyncIterator[ServerSentEventMessage]:
    feed: LevelFeed = write_path.feed
    try:
        if missed is None:
            engine = write_path.reader()
            cursor = feed.position()
            for sku in sorted(subscription.skus):
                data = _data(sku, feed.seq(sku), totals(engine, sku))
                yield ServerSentEventMessage(data=data, event="reset", id=cursor)
        else:
            for event in missed:
                yield ServerSentEventMessage(
                    data=_levels(event), event="levels", id=feed.cursor(event)
                )
        while True:
            get = asyncio.ensure_future(subscription.queue.get())
            done = asyncio.ensure_future(subscription.done.wait())
            finished, _ = await asyncio.wait(
                {get, done}, timeout=HEARTBEAT_S, return_when=asyncio.FIRST_COMPLETED
            )
            if get in finished:
                done.cancel()
                live = get.result()
                if live is not None:
                    yield ServerSentEventMessage(
                        data=_levels(live), event="levels", id=feed.cursor(live)
                    )
                continue
            get.cancel()
            done.cancel()
            if subscription.dropped is not None:
                reason = encode({"reason": subscription.dropped})
                yield ServerSentEventMessage(data=reason, event="dropped")
                return
            yield ServerSentEventMessage(comment="keep-alive")
    finally:
        feed.unsubscribe(subscription)


class AvailabilityStreamController(Controller):
    path = "/v1/availability/stream"
    tags = ["availability"]
    before_request = requires_role("storefront", "warehouse", "purchasing")

    @get(
        "/",
        summary="Live levels of some SKUs as Server-Sent Events, resumable by Last-Event-ID",
        responses=problem_responses(*AUTHED, 400, 404, 503),
    )
    async def stream(
        self,
        write_path: NamedDependency[WritePath],
        skus: Annotated[str, QueryParameter(description="Comma-separated SKUs (1 to 100)")],
        last_event_id: Annotated[
            str | None, Parameter(header="Last-Event-ID", description="Resume after this")
        ] = None,
        cursor: Annotated[
            str | None, QueryParameter(description="Resume after this (as Last-Event-ID)")
        ] = None,
    ) -> ServerSentEvent:
        wanted = _skus(skus)
        engine = write_path.reader()
        for sku in sorted(wanted):
            if not engine.has_sku(sku):
                raise ProblemError(
                    404, "unknown-sku", "Unknown SKU", f"No item {sku!r}.", field="skus", sku=sku
                )
        try:
            subscription, missed = write_path.feed.subscribe(wanted, last_event_id or cursor)
        except StreamsFull as exc:
            raise ProblemError(
                503,
                "too-many-streams",
                "Too many streams",
                f"{exc}; retry later.",
                headers={"Retry-After": "5"},
            ) from None
        return ServerSentEvent(_events(write_path, subscription, missed))
