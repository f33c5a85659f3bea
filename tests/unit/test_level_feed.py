"""The live availability feed on a real engine: events per SKU with gap-free sequence
numbers, each framed once and shared by every stream; a resume that gets exactly what was
missed, a reset when it cannot, streams woken once per flush with everything in order, and a
stream that falls a whole queue behind dropped without blocking the publisher."""

from __future__ import annotations

import asyncio
import json
import time

from reservoir import _core
from reservoir.ledger.level_feed import WRITE_SHARE_MAX, LevelFeed, StreamsFull, Subscription

NOW = 1_700_000_000_000


def engine() -> _core.Engine:
    e = _core.Engine()
    e.define_location("BIN")
    for sku in ("A", "B"):
        e.define_sku(sku)
        e.receive(sku, "BIN", 10, NOW)
    e.drain(1_000)  # durable, as the ledger writer leaves it
    return e


def events(feed: LevelFeed, subscription: Subscription) -> list[tuple[str, str, dict]]:
    """(event, id, data) of each frame pending for the stream, as a client parses them."""
    parsed = []
    for block in feed.take(subscription).decode().split("\n\n")[:-1]:
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        parsed.append((fields["event"], fields.get("id", ""), json.loads(fields["data"])))
    return parsed


async def test_a_resumed_stream_gets_exactly_what_it_missed() -> None:
    e, feed = engine(), LevelFeed(kept_max=100, queue_max=100)
    first = feed.subscribe(frozenset({"A"}), None, e)
    assert [(ev, d["sku"], d["seq"]) for ev, _, d in events(feed, first)] == [("reset", "A", 0)], (
        "a new stream starts from a snapshot"
    )
    feed.publish(e, ["A", "B", "A"], lsn=1)  # a SKU once per batch
    e.reserve([("A", 3, None)], 60_000, NOW)
    batch = e.drain(1_000)
    feed.publish(e, ["A"], lsn=batch.last_lsn)
    got = events(feed, first)
    assert [(d["sku"], d["seq"], d["reserved"], d["available"], d["lsn"]) for _, _, d in got] == [
        ("A", 1, 0, 10, 1),
        ("A", 2, 3, 7, batch.last_lsn),
    ]
    # a second stream that saw the first event resumes after it: only what it missed
    resumed = feed.subscribe(frozenset({"A", "B"}), got[0][1], e)
    assert [(ev, d["sku"], d["seq"]) for ev, _, d in events(feed, resumed)] == [
        ("levels", "B", 1),
        ("levels", "A", 2),
    ], "resumed, not reset"
    up_to_date = feed.subscribe(frozenset({"A"}), feed.position(), e)
    assert events(feed, up_to_date) == [], "resumed: no reset, nothing missed"


async def test_an_event_shows_the_levels_of_its_batch_not_what_came_after() -> None:
    e, feed = engine(), LevelFeed()
    stream = feed.subscribe(frozenset({"A"}), feed.position(), e)
    e.reserve([("A", 3, None)], 60_000, NOW)
    batch = e.drain(1_000)
    e.reserve([("A", 4, None)], 60_000, NOW)  # applied while the batch was being written
    feed.publish(e, ["A"], lsn=batch.last_lsn)
    [(_, _, data)] = events(feed, stream)
    assert (data["reserved"], data["available"], data["lsn"]) == (3, 7, batch.last_lsn)
    fresh = feed.subscribe(frozenset({"A"}), None, e)
    [(_, _, snapshot)] = events(feed, fresh)
    assert (snapshot["reserved"], snapshot["seq"]) == (3, 1), "a reset is durable levels too"


async def test_every_stream_of_a_sku_gets_the_same_bytes() -> None:
    e, feed = engine(), LevelFeed()
    one, two = (feed.subscribe(frozenset({"A"}), feed.position(), e) for _ in range(2))
    feed.publish(e, ["A"], lsn=7)
    assert one.frames == two.frames and one.frames[0] is two.frames[0], "encoded once"


async def test_a_cursor_it_cannot_resume_gets_a_reset() -> None:
    e, feed = engine(), LevelFeed(kept_max=2)
    for lsn in range(1, 6):
        feed.publish(e, ["A"], lsn=lsn)
    for cursor, why in [
        (f"{feed.epoch}-1", "older than kept"),
        ("another-3", "another process's"),
        (f"{feed.epoch}-99", "from the future"),
    ]:
        stream = feed.subscribe(frozenset({"A"}), cursor, e)
        got = events(feed, stream)
        assert [(ev, i, d["seq"]) for ev, i, d in got] == [("reset", feed.position(), 5)], why
    kept = feed.subscribe(frozenset({"A"}), f"{feed.epoch}-3", e)
    assert [d["seq"] for _, _, d in events(feed, kept)] == [4, 5]


async def test_streams_are_told_at_most_once_per_flush_with_everything_in_order() -> None:
    e, feed = engine(), LevelFeed(flush_ms=30)
    stream = feed.subscribe(frozenset({"A"}), feed.position(), e)
    told: list[list[int]] = []
    stream.on_due = lambda: told.append([d["seq"] for _, _, d in events(feed, stream)])
    for lsn in range(1, 4):  # one batch after another, before the loop runs again
        feed.publish(e, ["A"], lsn=lsn)
    await asyncio.sleep(0)
    assert told == [[1, 2, 3]], "after a quiet flush at once: everything, in order"
    for lsn in range(4, 6):
        feed.publish(e, ["A"], lsn=lsn)
    feed.publish(e, ["B"], lsn=6)
    await asyncio.sleep(0)
    assert told == [[1, 2, 3]], "then not before a flush has passed"
    await asyncio.sleep(0.2)
    assert told == [[1, 2, 3], [4, 5]], "once for what gathered, not for another SKU"


async def test_a_slow_stream_is_dropped_and_the_others_go_on() -> None:
    e, feed = engine(), LevelFeed(queue_max=3, streams_max=2)
    slow = feed.subscribe(frozenset({"A"}), feed.position(), e)
    fast = feed.subscribe(frozenset({"A"}), feed.position(), e)
    try:
        feed.subscribe(frozenset({"A"}), None, e)
        raise AssertionError("a third stream past streams_max")
    except StreamsFull:
        pass
    for lsn in range(1, 4):
        feed.publish(e, ["A"], lsn=lsn)
        events(feed, fast)
    assert slow.dropped is None
    feed.publish(e, ["A"], lsn=4)  # the slow one has 3 pending: it goes
    assert slow.dropped == "more than 3 events behind"
    assert [d["seq"] for _, _, d in events(feed, fast)] == [4]
    assert len(feed) == 1
    feed.unsubscribe(fast)
    assert len(feed) == 0
    feed.subscribe(frozenset({"B"}), None, e)  # room again


async def test_flushes_space_out_when_writing_takes_long() -> None:
    e, feed = engine(), LevelFeed(flush_ms=0)
    stream = feed.subscribe(frozenset({"A"}), feed.position(), e)
    loop = asyncio.get_running_loop()
    told: list[float] = []
    twice = asyncio.Event()

    def slow_write() -> None:  # as a flush of many streams: 5 ms of writing
        told.append(loop.time())
        feed.take(stream)
        time.sleep(0.005)
        if len(told) == 2:
            twice.set()

    stream.on_due = slow_write
    feed.publish(e, ["A"], lsn=1)
    await asyncio.sleep(0)
    feed.publish(e, ["A"], lsn=2)
    await asyncio.wait_for(twice.wait(), 5)
    assert told[1] - told[0] >= 0.005 / WRITE_SHARE_MAX * 0.9, "writing kept to its share"


async def test_a_stream_that_fails_to_send_is_dropped_and_the_others_are_told() -> None:
    e, feed = engine(), LevelFeed()
    broken = feed.subscribe(frozenset({"A"}), feed.position(), e)
    fine = feed.subscribe(frozenset({"A"}), feed.position(), e)
    told: list[int] = []

    def fail() -> None:
        raise RuntimeError("a bug in a sender")

    broken.on_due = fail
    fine.on_due = lambda: told.extend(d["seq"] for _, _, d in events(feed, fine))
    loop = asyncio.get_running_loop()
    escaped: list[dict] = []
    loop.set_exception_handler(lambda _, context: escaped.append(context))
    for lsn in (1, 2):  # the broken one fails at the first flush: the second is the others'
        feed.publish(e, ["A"], lsn=lsn)
        await asyncio.sleep(0.05)
    assert told == [1, 2], "told at every flush"
    assert broken.dropped == "the server could not send to this stream" and len(feed) == 1
    assert escaped == [], "nothing escaped the flush"
