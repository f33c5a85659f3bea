"""Rate limits on the reserve path: holds per second per API key and per buyer
(`RESERVOIR_RESERVE_RATE_PER_KEY`, `RESERVOIR_RESERVE_RATE_PER_BUYER`; unset: no limit).
Past one, a hold is 429 `rate-limited` with `Retry-After`, before anything is written."""

from __future__ import annotations

import math
import time

from reservoir.lib.errors import ProblemError
from reservoir.lib.rate_limits import TokenBuckets
from reservoir.lib.settings import Settings


class ReserveRates:
    __slots__ = ("buyers", "keys")

    def __init__(self, per_key: float | None, per_buyer: float | None) -> None:
        self.keys = None if per_key is None else TokenBuckets(per_key)
        self.buyers = None if per_buyer is None else TokenBuckets(per_buyer)

    @classmethod
    def from_settings(cls, settings: Settings) -> ReserveRates:
        return cls(settings.reserve_rate_per_key, settings.reserve_rate_per_buyer)

    def check(self, key_id: str, buyer: str | None, now: float | None = None) -> None:
        """Takes a token of the key's bucket and the buyer's, or raises the 429 (the key's
        first: a refused request takes nothing from the buyer's bucket)."""
        if self.keys is None and (self.buyers is None or buyer is None):
            return
        at = time.monotonic() if now is None else now
        if self.keys is not None:
            wait = self.keys.take(key_id, at)
            if wait:
                raise rate_limited("key", wait)
        if self.buyers is not None and buyer is not None:
            wait = self.buyers.take(buyer, at)
            if wait:
                raise rate_limited("buyer", wait)


def rate_limited(limit: str, wait_s: float) -> ProblemError:
    retry_after = max(1, math.ceil(wait_s))
    what = "this API key" if limit == "key" else "this buyer"
    extra = {"field": "buyer"} if limit == "buyer" else {}
    return ProblemError(
        429,
        "rate-limited",
        "Too many requests",
        f"Too many holds for {what}; retry after {retry_after} s. Nothing was reserved.",
        headers={"Retry-After": str(retry_after)},
        limit=limit,
        retry_after_seconds=retry_after,
        **extra,
    )
