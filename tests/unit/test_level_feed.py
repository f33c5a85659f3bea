"""The live availability feed on a real engine: events per SKU with gap-free sequence
numbers, a resume that gets exactly what was missed, a reset when it cannot, and a stream
that falls a whole queue behind dropped without blocking the publisher."""

from __future__ import annotations

from reservoir import _core
from reservoir.ledger.level_feed import LevelFeed, StreamsFull

NOW = 1_700_000_000_000


def engine() -> _core.Engine:
    e = _core.Engine()
    e.define_location("BIN")
    for sku in ("A", "B"):
        e.define_sku(sku)
        e.receive(sku, "BIN", 10, NOW)
    return e


async def test_a_resumed_stream_gets_exactly_what_it_missed() -> None:
    e, feed = engine(), LevelFeed(kept_max=100, queue_max=100)
    first, missed = feed.subscribe(frozenset({"A"}), None)
    assert missed is None, "a new stream starts from a snapshot"
    feed.publish(e, ["A", "B", "A"], lsn=1)  # a SKU once per batch
    e.reserve([("A", 3, None)], 60_000, NOW)
    feed.publish(e, ["A"], lsn=2)
    got = [first.queue.get_nowait() for _ in range(first.queue.qsize())]
    assert [(ev.sku, ev.seq, ev.reserved, ev.available) for ev in got] == [
        ("A", 1, 0, 10),
        ("A", 2, 3, 7),
    ]
    # a second stream that saw the first event resumes after it: only what it missed
    _, resumed = feed.subscribe(frozenset({"A", "B"}), feed.cursor(got[0]))
    assert resumed is not None
    assert [(ev.sku, ev.seq) for ev in resumed] == [("B", 1), ("A", 2)]
    _, nothing = feed.subscribe(frozenset({"A"}), feed.position())
    assert nothing == []


async def test_a_cursor_it_cannot_resume_gets_a_reset() -> None:
    e, feed = engine(), LevelFeed(kept_max=2)
    for lsn in range(1, 6):
        feed.publish(e, ["A"], lsn=lsn)
    assert feed.subscribe(frozenset({"A"}), f"{feed.epoch}-1")[1] is None, "older than kept"
    assert feed.subscribe(frozenset({"A"}), "another-3")[1] is None, "another process's"
    assert feed.subscribe(frozenset({"A"}), f"{feed.epoch}-99")[1] is None, "from the future"
    kept = feed.subscribe(frozenset({"A"}), f"{feed.epoch}-3")[1]
    assert kept is not None and [ev.seq for ev in kept] == [4, 5]


async def test_a_slow_stream_is_dropped_and_the_others_go_on() -> None:
    e, feed = engine(), LevelFeed(queue_max=3, streams_max=2)
    slow, _ = feed.subscribe(frozenset({"A"}), None)
    fast, _ = feed.subscribe(frozenset({"A"}), None)
    try:
        feed.subscribe(frozenset({"A"}), None)
        raise AssertionError("a third stream past streams_max")
    except StreamsFull:
        pass
    for lsn in range(1, 4):
        feed.publish(e, ["A"], lsn=lsn)
        fast.queue.get_nowait()
    assert slow.dropped is None
    feed.publish(e, ["A"], lsn=4)  # the slow one's queue is full: it goes
    assert slow.dropped == "more than 3 events behind" and slow.done.is_set()
    assert fast.queue.get_nowait().seq == 4
    assert len(feed) == 1
