"""The engine through its Python binding (`reservoir._core`), side by side in one run.

- reserve + release pairs on one hot SKU (one location, huge on_hand), the log drained and
  finished reservations pruned every 4096 operations as the writer would, so memory stays
  flat. One benchmark call is one pair: the OPS column is pairs per second.
- one `expire_due` over 1,000,000 holds due at once (expiries spread over 10 s); building the
  holds is setup and not timed.

Goals (issue 2): >= 1,000,000 pairs/s through Python; 1,000,000 expiries in < 0.5 s.
Not collected by the default `pytest` run (testpaths = ["tests"]); run it with

    .venv/bin/python -m pytest benchmarks/test_engine_bench.py --benchmark-only
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_benchmark.fixture import BenchmarkFixture

from reservoir import _core

NOW_MS = 1_700_000_000_000
TTL_MS = 600_000
SKU = "HOT"
LOCATION = "WH1"
HOT_LINE = [(SKU, 1, None)]
OPS_PER_DRAIN = 4096
DRAIN_ROWS_MAX = 1 << 30
HOLDS_TO_EXPIRE = 1_000_000
EXPIRY_SPREAD_MS = 10_000
PAIRS_GOAL_PER_S = 1_000_000
EXPIRE_GOAL_S = 0.5


def hot_engine() -> _core.Engine:
    """One SKU at one location with more units than any benchmark can hold."""
    engine = _core.Engine()
    engine.define_location(LOCATION)
    engine.define_sku(SKU)
    for _ in range(2_000):
        engine.receive(SKU, LOCATION, 1_000_000, NOW_MS)
    drain_all(engine)
    return engine


def drain_all(engine: _core.Engine) -> None:
    """What the writer does once a batch is durable: take the log, forget finished holds."""
    while engine.pending():
        batch = engine.drain(DRAIN_ROWS_MAX)
        engine.prune_finished(batch.last_lsn)


def pair_loop(engine: _core.Engine) -> Callable[[], None]:
    """One reserve + release pair per call; every 4096 operations the log is drained."""
    reserve, release = engine.reserve, engine.release
    ops = 0

    def pair() -> None:
        nonlocal ops
        reservation = reserve(HOT_LINE, TTL_MS, NOW_MS)
        release(reservation.id, NOW_MS)
        ops += 2
        if ops % OPS_PER_DRAIN == 0:
            drain_all(engine)

    return pair


def test_reserve_release_pairs_hot_sku(benchmark: BenchmarkFixture) -> None:
    engine = hot_engine()
    benchmark.group = "engine-binding"
    benchmark.extra_info["goal_pairs_per_s"] = PAIRS_GOAL_PER_S
    benchmark.pedantic(pair_loop(engine), rounds=30, iterations=20_000, warmup_rounds=2)
    best = 1 / benchmark.stats.stats.min
    benchmark.extra_info["pairs_per_s_best"] = round(best)
    benchmark.extra_info["pairs_per_s_mean"] = round(1 / benchmark.stats.stats.mean)
    print(f"\nbinding: {best:,.0f} reserve+release pairs/s (best round), goal {PAIRS_GOAL_PER_S:,}")
    assert engine.open_holds() == 0


def holds_due_at_once() -> tuple[tuple[_core.Engine], dict[str, object]]:
    """1,000,000 open holds whose expiries are spread over 10 s, the log drained."""
    engine = hot_engine()
    reserve = engine.reserve
    for i in range(HOLDS_TO_EXPIRE):
        reserve(HOT_LINE, 1 + i * EXPIRY_SPREAD_MS // HOLDS_TO_EXPIRE, NOW_MS)
        if i % OPS_PER_DRAIN == OPS_PER_DRAIN - 1:
            drain_all(engine)
    drain_all(engine)
    return (engine,), {}


def test_expire_1m_holds_due_at_once(benchmark: BenchmarkFixture) -> None:
    after_all = NOW_MS + 1 + EXPIRY_SPREAD_MS + 1
    expired: list[int] = []

    def expire(engine: _core.Engine) -> None:
        expired.append(engine.expire_due(after_all, HOLDS_TO_EXPIRE))

    benchmark.group = "engine-binding"
    benchmark.extra_info["goal_s"] = EXPIRE_GOAL_S
    benchmark.pedantic(expire, setup=holds_due_at_once, rounds=3, iterations=1)
    best = benchmark.stats.stats.min
    benchmark.extra_info["expiries_per_s_best"] = round(HOLDS_TO_EXPIRE / best)
    print(f"\nbinding: 1,000,000 expiries in {best:.3f} s (best round), goal < {EXPIRE_GOAL_S} s")
    assert expired == [HOLDS_TO_EXPIRE] * 3
