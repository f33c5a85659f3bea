"""One writer per ledger: the advisory lock, on real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import pytest

from reservoir.ledger.lock import LedgerLock, LedgerLockedError


async def test_a_second_holder_is_refused_with_a_clear_message(
    database_factory: Callable[[], str],
) -> None:
    url = database_factory()
    first = await LedgerLock.acquire(url)
    try:
        assert first.held
        with pytest.raises(LedgerLockedError) as info:
            await LedgerLock.acquire(url, dead_holder_wait_s=0)
        message = str(info.value)
        assert message.startswith("another reservoir process owns this ledger")
        assert f"backend pid {first.backend_pid}" in message
        assert "reservoir-ledger-lock pid=" in message
    finally:
        await first.release()
    assert not first.held
    second = await LedgerLock.acquire(url)
    await second.release()


async def test_the_lock_is_per_database(database_factory: Callable[[], str]) -> None:
    a, b = database_factory(), database_factory()
    lock_a = await LedgerLock.acquire(a)
    lock_b = await LedgerLock.acquire(b)
    await lock_a.release()
    await lock_b.release()


async def test_losing_the_connection_is_noticed(database_factory: Callable[[], str]) -> None:
    url = database_factory()
    lock = await LedgerLock.acquire(url)
    lost: list[LedgerLock] = []
    lock.on_lost(lost.append)
    admin = await asyncpg.connect(url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", lock.backend_pid)
        for _ in range(50):
            if not await lock.check(timeout_s=1):
                break
            await asyncio.sleep(0.05)
        assert not lock.held
        assert lost == [lock]
        # and PostgreSQL let go: another process may take over
        successor = await LedgerLock.acquire(url, dead_holder_wait_s=2)
        await successor.release()
    finally:
        await admin.close()
        await lock.release()


async def test_a_lost_lock_is_taken_again_unless_another_holds_it(
    database_factory: Callable[[], str],
) -> None:
    url = database_factory()
    lock = await LedgerLock.acquire(url)
    admin = await asyncpg.connect(url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", lock.backend_pid)
        for _ in range(100):
            if not await lock.check(timeout_s=1):
                break
            await asyncio.sleep(0.05)
        assert not lock.held
        await lock.reacquire(dead_holder_wait_s=5)  # nobody took it: ours again
        assert lock.held and await lock.check()

        assert await admin.fetchval("SELECT pg_terminate_backend($1)", lock.backend_pid)
        for _ in range(100):
            if not await lock.check(timeout_s=1):
                break
            await asyncio.sleep(0.05)
        successor = await LedgerLock.acquire(url, dead_holder_wait_s=5)
        try:
            with pytest.raises(LedgerLockedError, match="another reservoir process owns"):
                await lock.reacquire(dead_holder_wait_s=0)
            assert not lock.held and successor.held
        finally:
            await successor.release()
    finally:
        await admin.close()
        await lock.release()
