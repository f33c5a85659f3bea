"""The live availability feed: after each ledger batch is durable, one event per SKU it touched
with the SKU's levels as the engine has them and a per-SKU sequence number, kept in a ring so
a stream that reconnects gets exactly what it missed.

Each event has a cursor, `<epoch>-<n>`: `n` counts events in this process, `epoch` names the
process. A cursor from another process, or older than the ring keeps, cannot be resumed: the
stream gets a `reset` with a fresh snapshot instead. Subscribers get events through a bounded
queue; one that falls behind by a whole queue is dropped, with a reason, and never slows the
writer (publishing is a few dictionary and deque operations per SKU per batch).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from reservoir import _core


@dataclass(frozen=True, slots=True)
class LevelEvent:
    n: int
    sku: str
    seq: int
    lsn: int
    on_hand: int
    reserved: int
    committed: int
    available: int


@dataclass(eq=False)
class Subscription:
    skus: frozenset[str]
    queue: asyncio.Queue[LevelEvent | None]
    dropped: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class StreamsFull(Exception):
    """More streams than the feed serves at once."""


class LevelFeed:
    def __init__(self, *, kept_max: int = 10_000, queue_max: int = 1_000, streams_max: int = 1_000):
        self.epoch = secrets.token_hex(4)
        self.kept_max = kept_max
        self.queue_max = queue_max
        self.streams_max = streams_max
        self._events: deque[LevelEvent] = deque(maxlen=kept_max)
        self._n = 0
        self._seq: dict[str, int] = {}
        self._subscriptions: set[Subscription] = set()

    def cursor(self, event: LevelEvent) -> str:
        return f"{self.epoch}-{event.n}"

    def position(self) -> str:
        """The cursor of the newest event (a stream resumed from it misses nothing)."""
        return f"{self.epoch}-{self._n}"

    def seq(self, sku: str) -> int:
        return self._seq.get(sku, 0)

    def publish(self, engine: _core.Engine, skus: Iterable[str], lsn: int) -> None:
        """One event per SKU (each once), with its levels now; fanned out to its streams."""
        for sku in dict.fromkeys(skus):
            self._n += 1
            seq = self._seq[sku] = self._seq.get(sku, 0) + 1
            event = LevelEvent(self._n, sku, seq, lsn, *totals(engine, sku))
            self._events.append(event)
            for subscription in list(self._subscriptions):
                if sku in subscription.skus and subscription.dropped is None:
                    try:
                        subscription.queue.put_nowait(event)
                    except asyncio.QueueFull:
                        self._drop(subscription, f"more than {self.queue_max} events behind")

    def subscribe(
        self, skus: frozenset[str], cursor: str | None
    ) -> tuple[Subscription, list[LevelEvent] | None]:
        """A new stream of `skus`, and what it missed since `cursor` (None: it cannot be
        resumed, send a snapshot)."""
        if len(self._subscriptions) >= self.streams_max:
            raise StreamsFull(f"{self.streams_max} streams are open")
        subscription = Subscription(skus, asyncio.Queue(self.queue_max))
        self._subscriptions.add(subscription)
        return subscription, self._missed(skus, cursor)

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

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
        subscription.dropped = reason
        self._subscriptions.discard(subscription)
        subscription.done.set()

    def close(self) -> None:
        """Ends every stream (shutdown)."""
        for subscription in list(self._subscriptions):
            self._drop(subscription, "the server is shutting down")

    def __len__(self) -> int:
        return len(self._subscriptions)


def totals(engine: _core.Engine, sku: str) -> tuple[int, int, int, int]:
    """(on_hand, reserved, committed, available) over the SKU's sellable locations."""
    on_hand = reserved = committed = available = 0
    for level in engine.levels(sku):
        if level.sellable:
            on_hand += level.on_hand
            reserved += level.reserved
            committed += level.committed
            available += level.available
    return on_hand, reserved, committed, available


def skus_of(batch: _core.Batch) -> Iterator[str]:
    """The SKUs whose levels a batch changed."""
    for sku, *_ in batch.level_deltas:
        yield sku
