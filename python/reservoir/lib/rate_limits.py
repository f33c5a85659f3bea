"""Token buckets: `rate` requests per second per key, with a burst of the same size.

Written here rather than taken from a library (pyrate-limiter, limits): the reserve path
checks one or two buckets per hold, and on these cores a hold costs ~150 µs in all, so the
check must be a dict lookup and a few float operations, in memory, without locks (one event
loop), backends or per-call allocation beyond the bucket's tuple. A bucket is (tokens, at):
refilled by the time passed since `at`, up to the burst.
"""

from __future__ import annotations

RateLimited = float  # seconds until the next request would be allowed (> 0)


class TokenBuckets:
    """Buckets by key. `take` answers 0.0 and takes a token, or how long to wait. At most
    `buckets_max` buckets are kept: past that, full buckets (idle keys) are forgotten, which
    loses nothing (a new bucket starts full)."""

    __slots__ = ("_buckets", "buckets_max", "burst", "rate")

    def __init__(self, rate: float, *, buckets_max: int = 1_000_000) -> None:
        if not rate > 0:
            raise ValueError("rate must be > 0")
        self.rate = rate
        self.burst = max(1.0, rate)  # a burst of the same size as the rate per second
        self.buckets_max = buckets_max
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.buckets_max:
                self._forget_full(now)
            tokens = self.burst
        else:
            tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
