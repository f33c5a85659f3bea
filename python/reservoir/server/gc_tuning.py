"""The garbage collector tuned for `reservoir serve`: a busy asyncio server keeps thousands of
requests in flight for the few milliseconds each waits on the group commit, so with CPython's
defaults (a young collection every 700 net allocations) many of their objects live long
enough to be promoted, and a full collection of everything runs every half second or so.
Measured under a flash drop (wrk, 64 connections, this machine; benchmarks/RESULTS.md, "The
garbage collector"): 24 full collections in 14 s taking 1.6 s of the process's time, each
stopping the event loop for up to 90 ms, which was the p99 of the holds and of the live
stream.

So, once the app is built: `gc.freeze()` moves what start-up made (modules, routes, the
app) out of every later collection, and a young collection waits for 10,000 net allocations
(objects of a request are mostly freed by reference counting before that). Cycles are still
collected, just not as often."""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Freezes what exists now and raises the young generation's threshold."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
