"""Token buckets and the reserve path's limits, on a clock the test passes in."""

from __future__ import annotations

import pytest

from reservoir.domain.reservations.rates import ReserveRates
from reservoir.lib.errors import ProblemError
from reservoir.lib.rate_limits import TokenBuckets


def test_a_bucket_allows_its_burst_then_the_rate() -> None:
    buckets = TokenBuckets(5)
    assert [buckets.take("k", 100.0) for _ in range(5)] == [0.0] * 5
    assert buckets.take("k", 100.0) == pytest.approx(0.2)
    assert buckets.take("k", 100.1) == pytest.approx(0.1), "half a token came back"
    assert buckets.take("k", 100.2) == 0.0
    assert buckets.take("other", 100.2) == 0.0, "each key has its own bucket"
    assert [buckets.take("k", 200.0) for _ in range(6)].count(0.0) == 5, "refilled, not beyond"


def test_a_slow_rate_still_allows_one() -> None:
    buckets = TokenBuckets(0.5)
    assert buckets.take("k", 0.0) == 0.0
    assert buckets.take("k", 0.0) == pytest.approx(2.0)


def test_idle_buckets_are_forgotten_past_the_bound() -> None:
    buckets = TokenBuckets(10, buckets_max=3)
    for key in "abc":
        buckets.take(key, 0.0)
    buckets.take("d", 10.0)  # a, b and c are full again by now: forgotten
    assert len(buckets) == 1
    busy = TokenBuckets(1, buckets_max=2)
    busy.take("a", 0.0)
    busy.take("b", 0.0)
    busy.take("c", 0.0)  # nothing is full: nothing forgotten, the bound is soft
    assert len(busy) == 3


def test_reserve_rates_answer_429_with_retry_after_naming_the_limit() -> None:
    rates = ReserveRates(per_key=2, per_buyer=1)
    rates.check("key-1", "cust-1", now=0.0)
    with pytest.raises(ProblemError) as buyer:
        rates.check("key-1", "cust-1", now=0.0)
    assert (buyer.value.status, buyer.value.slug) == (429, "rate-limited")
    assert buyer.value.headers == {"Retry-After": "1"}
    assert buyer.value.extra["field"] == "buyer"
    with pytest.raises(ProblemError) as key:
        rates.check("key-1", "cust-2", now=0.0)
    assert key.value.extra["limit"] == "key"
    rates.check("key-1", None, now=1.0)
    unlimited = ReserveRates(None, None)
    for _ in range(1_000):
        unlimited.check("key-1", "cust-1", now=0.0)
