"""Per-key locks: holders of one key take turns in the order they asked, other keys go on,
and a key nobody holds or waits for is forgotten."""

from __future__ import annotations

import asyncio

import pytest

from reservoir.lib.keyed_locks import KeyedLocks


async def test_one_key_at_a_time_in_order_and_forgotten_after() -> None:
    locks, order = KeyedLocks(), []

    async def use(key: str, name: str, pause: float) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            await asyncio.sleep(pause)
            order.append(f"{name}-")

    await asyncio.gather(use("PO-1", "a", 0.02), use("PO-1", "b", 0), use("PO-2", "c", 0))
    assert order.index("a-") < order.index("b+"), "b waited for a"
    assert order.index("c+") < order.index("a-"), "another key did not wait"
    assert len(locks) == 0


async def test_a_holder_that_fails_lets_the_next_in() -> None:
    locks = KeyedLocks()

    async def fail() -> None:
        async with locks.hold("k"):
            raise ValueError("refused")

    with pytest.raises(ValueError):
        await fail()
    async with locks.hold("k"):
        assert len(locks) == 1
    assert len(locks) == 0
