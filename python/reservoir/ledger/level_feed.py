"""The live availability feed: after each ledger batch is durable, one event per SKU it touched
with the SKU's levels as the engine has them and a per-SKU sequence number, kept in a ring so
a stream that reconnects gets exactly what it missed.

Each event has a cursor, `<epoch>-<n>`: `n` counts events in this process, `epoch` names the
process. A cursor from another process, or older than the ring keeps, cannot be resumed: the
stream starts with a `reset` snapshot instead.

An event is encoded once, as its Server-Sent Events frame, and that one `bytes` is appended
to each subscribed stream's pending frames (a list, at most `queue_max` long: one that falls
further behind is dropped, with a reason, and never slows the writer). Streams are told at
once after a quiet `flush_ms`, else at most once per `flush_ms` (one timer for all of them),
and send what gathered in one write: a hundred streams of a flash-drop SKU cost a hundred
writes per flush, not per batch. When so many streams are open that a flush takes long,
flushes space out so that writing takes at most `WRITE_SHARE_MAX` of the process's time
(benchmarks/RESULTS.md, "The live availability stream"). Every event is still sent, in
order.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import msgspec

from reservoir import _core
from reservoir.lib import metrics, sse

encode = msgspec.json.Encoder().encode
logger = logging.getLogger("reservoir.stream")
# the most of its time the process spends writing to streams: a flush that took t is
# followed by the next no sooner than t / WRITE_SHARE_MAX (and `flush_ms`), so many streams
# space their writes out (later events, never fewer) instead of slowing the holds
WRITE_SHARE_MAX = 0.05
_OPEN = metrics.gauge("reservoir_live_streams", "Live availability streams open.")
_SPENT = metrics.counter(
    "reservoir_live_stream_seconds_total",
    "Time the live feed spent making events and writing them to streams.",
)
_LAG = metrics.histogram(
    "reservoir_live_stream_lag_seconds",
    "From a batch's commit to its events' write to the streams.",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0),
)
_BEHIND = metrics.counter(
    "reservoir_live_streams_dropped_total", "Live availability streams dropped for falling behind."
)
Levels = tuple[int, int, int, int]  # on_hand, reserved, committed, available


@dataclass(frozen=True, slots=True)
class LevelEvent:
    n: int  # the cursor's number
    sku: str
    frame: bytes  # `event: levels` as sent (levels, seq, lsn), the same bytes for every stream


def _nothing() -> None:
    pass


@dataclass(eq=False)
class Subscription:
    skus: frozenset[str]
    frames: list[bytes] = field(default_factory=list)  # to send, in order
    # called at a flush that left frames for it, and once when it is dropped; the stream
    # sends what `take` gives it (domain.availability.feed_response)
    on_due: Callable[[], None] = _nothing
    dropped: str | None = None


class StreamsFull(Exception):
    """More streams than the feed serves at once."""


class LevelFeed:
    def __init__(
        self,
        *,
        kept_max: int = 10_000,
        queue_max: int = 1_000,
        streams_max: int = 1_000,
        flush_ms: int = 0,
    ):
        self.epoch = secrets.token_hex(4)
        self.kept_max = kept_max
        self.queue_max = queue_max
        self.streams_max = streams_max
        self.flush_s = flush_ms / 1000
        self._events: deque[LevelEvent] = deque(maxlen=kept_max)
        self._n = 0
        self._seq: dict[str, int] = {}
        self._by_sku: dict[str, set[Subscription]] = {}
        self._count = 0
        self._due: set[Subscription] = set()  # streams given frames since the last flush
        self._flush: asyncio.Handle | None = None
        self._told_at = float("-inf")  # the last flush, on the loop's clock
        self._gap = self.flush_s  # from it to the next
        self._committed: list[float] = []  # commit times of the events the next flush writes

    def position(self) -> str:
        """The cursor of the newest event (a stream resumed from it misses nothing)."""
        return self._cursor(self._n)

    def _cursor(self, n: int) -> str:
        return f"{self.epoch}-{n}"

    def seq(self, sku: str) -> int:
        return self._seq.get(sku, 0)

    def publish(self, engine: _core.Engine, skus: Iterable[str], lsn: int) -> None:
        """One event per SKU (each once) of the batch that just became durable, with the SKU's
        levels as of that batch: the engine's less what it applied since (not yet drained,
        not durable), so an event never shows a change the ledger does not hold yet and its
        levels are the ledger's at its `lsn`. Appended to the SKU's streams."""
        started = time.perf_counter()
        committed = asyncio.get_running_loop().time()  # the writer calls at once after commit
        pending = _pending(engine)
        for sku in dict.fromkeys(skus):
            self._n += 1
            seq = self._seq[sku] = self._seq.get(sku, 0) + 1
            data = level_data(sku, seq, totals(engine, sku, pending), lsn)
            frame = sse.frame("levels", data, self._cursor(self._n))
            self._events.append(LevelEvent(self._n, sku, frame))
            behind = []
            for subscription in self._by_sku.get(sku, ()):
                if len(subscription.frames) >= self.queue_max:
                    behind.append(subscription)
                else:
                    subscription.frames.append(frame)
                    self._due.add(subscription)
            if sku in self._by_sku:
                self._committed.append(committed)
            for subscription in behind:
                _BEHIND.inc()
                self._drop(subscription, f"more than {self.queue_max} events behind")
        _SPENT.inc(time.perf_counter() - started)
        if self._due and self._flush is None:
            loop = asyncio.get_running_loop()
            wait = self._told_at + self._gap - loop.time()
            if wait > 0:
                self._flush = loop.call_later(wait, self._tell_due)
            else:  # quiet for a whole flush: at once
                self._flush = loop.call_soon(self._tell_due)

    def subscribe(
        self, skus: frozenset[str], cursor: str | None, engine: _core.Engine
    ) -> Subscription:
        """A new stream of `skus`, its first frames already pending (to `take` before the first
        flush): what it missed since `cursor`, or (no cursor, or one it cannot resume) a
        `reset` per SKU with its levels and `seq` now."""
        if self._count >= self.streams_max:
            raise StreamsFull(f"{self.streams_max} streams are open")
        subscription = Subscription(skus)
        missed = self._missed(skus, cursor)
        if missed is None:
            position, pending = self.position(), _pending(engine)
            for sku in sorted(skus):
                data = level_data(sku, self.seq(sku), totals(engine, sku, pending))
                subscription.frames.append(sse.frame("reset", data, position))
        else:
            subscription.frames.extend(event.frame for event in missed)
        for sku in skus:
            self._by_sku.setdefault(sku, set()).add(subscription)
        self._count += 1
        _OPEN.inc()
        return subscription

    def take(self, subscription: Subscription) -> bytes:
        """The subscription's pending frames, as one write."""
        frames, subscription.frames = subscription.frames, []
        return b"".join(frames)

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription.dropped is None:
            subscription.dropped = "closed"
            self._forget(subscription)

    def _forget(self, subscription: Subscription) -> None:
        for sku in subscription.skus:
            streams = self._by_sku.get(sku)
            if streams is not None:
                streams.discard(subscription)
                if not streams:
                    del self._by_sku[sku]
        self._due.discard(subscription)
        self._count -= 1
        _OPEN.dec()

    def _tell_due(self) -> None:
        self._flush = None
        self._told_at = now = asyncio.get_running_loop().time()
        for committed in self._committed:
            _LAG.observe(now - committed)
        self._committed.clear()
        started = time.perf_counter()
        due, self._due = self._due, set()
        for subscription in due:
            try:
                subscription.on_due()
            except Exception:  # one stream's failure is not the others'
                logger.exception("a live stream failed to send; it is dropped")
                subscription.on_due = _nothing
                self._drop(subscription, "the server could not send to this stream")
        spent = time.perf_counter() - started
        self._gap = max(self.flush_s, spent / WRITE_SHARE_MAX)
        _SPENT.inc(spent)

    def _missed(self, skus: frozenset[str], cursor: str | None) -> list[LevelEvent] | None:
        if cursor is None:
            return None
        epoch, _, n = cursor.partition("-")
        if epoch != self.epoch or not n.isdigit():
            return None
        after = int(n)
        oldest = self._events[0].n if self._events else self._n + 1
        if after > self._n or after < oldest - 1:
            return None
        return [e for e in self._events if e.n > after and e.sku in skus]

    def _drop(self, subscription: Subscription, reason: str) -> None:
        if subscription.dropped is None:
            subscription.dropped = reason
            self._forget(subscription)
            subscription.on_due()

    def close(self) -> None:
        """Ends every stream (shutdown)."""
        for streams in list(self._by_sku.values()):
            for subscription in list(streams):
                self._drop(subscription, "the server is shutting down")

    def __len__(self) -> int:
        return self._count


def level_data(sku: str, seq: int, levels: Levels, lsn: int | None = None) -> bytes:
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


PendingDeltas = dict[tuple[str, str], tuple[int, int, int]]


def _pending(engine: _core.Engine) -> PendingDeltas:
    """What the engine applied and has not drained yet, per (sku, location)."""
    if not engine.pending():
        return {}
    return {(sku, loc): (h, r, c) for sku, loc, h, r, c in engine.pending_level_deltas()}


def totals(engine: _core.Engine, sku: str, pending: PendingDeltas) -> Levels:
    """(on_hand, reserved, committed, available) over the SKU's sellable locations, less the
    `pending` deltas (available per location as the engine counts it: never below 0)."""
    on_hand = reserved = committed = available = 0
    for level in engine.levels(sku):
        if level.sellable:
            h, r, c = level.on_hand, level.reserved, level.committed
            delta = pending.get((sku, level.location))
            if delta is not None:
                h, r, c = h - delta[0], r - delta[1], c - delta[2]
            on_hand += h
            reserved += r
            committed += c
            available += max(h - r - c, 0)
    return on_hand, reserved, committed, available


def skus_of(batch: _core.Batch) -> Iterator[str]:
    """The SKUs whose levels a batch changed."""
    for sku, *_ in batch.level_deltas:
        yield sku
