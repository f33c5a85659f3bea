"""`GET /v1/availability/stream?skus=A,B` (storefront, warehouse, purchasing): Server-Sent
Events with each SKU's levels as its changes become durable.

- `event: levels`, `id: <cursor>`, `data: {"sku", "seq", "on_hand", "reserved", "committed",
  "available", "lsn"}`. `seq` counts the SKU's events without gaps; `lsn` is the ledger
  position of the batch that changed it, and the levels are the ledger's there.
- A reconnect with `Last-Event-ID` (or `?cursor=`) gets exactly the events it missed. A
  cursor the server cannot resume (too old, or from before a restart) gets one
  `event: reset` per SKU with its levels now and its current `seq`, then live events.
- Events go out once per `RESERVOIR_STREAM_FLUSH_MS`, each stream's in one write
  (`feed_response`). A stream that falls a whole queue behind is ended with
  `event: dropped` and a reason; the writer never waits for a stream. A comment every 15 s
  keeps idle connections open.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter
from litestar.response import Stream

from reservoir.domain.availability.feed_response import FeedStream
from reservoir.ledger.level_feed import StreamsFull
from reservoir.ledger.write_path import WritePath
from reservoir.lib.auth import requires_role
from reservoir.lib.codes import check_code
from reservoir.lib.errors import ProblemError, invalid_input, unknown_sku
from reservoir.lib.openapi import AUTHED, problem_responses

SKUS_MAX = 100


def _skus(raw: str) -> frozenset[str]:
    skus = [s for s in raw.split(",") if s]
    if not 1 <= len(skus) <= SKUS_MAX:
        raise invalid_input("skus", f"Name 1 to {SKUS_MAX} SKUs, comma-separated.", status=400)
    for sku in skus:
        check_code(sku, "skus", status=400)
    return frozenset(skus)


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
    ) -> Stream:
        wanted = _skus(skus)
        engine = write_path.reader()
        for sku in sorted(wanted):
            if not engine.has_sku(sku):
                raise unknown_sku(sku, "skus", status=404)
        try:
            subscription = write_path.feed.subscribe(wanted, last_event_id or cursor, engine)
        except StreamsFull as exc:
            raise ProblemError(
                503,
                "too-many-streams",
                "Too many streams",
                f"{exc}; retry later.",
                headers={"Retry-After": "5"},
            ) from None
        return FeedStream(write_path.feed, subscription)
