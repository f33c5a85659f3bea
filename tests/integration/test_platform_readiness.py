"""Readiness and start-up failures, in process (Litestar's test client) on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from reservoir.ledger.lock import LedgerLock, LedgerLockedError
from reservoir.lib.settings import Settings
from reservoir.server.app import create_app
from reservoir.server.readiness import mark_not_ready, mark_ready


def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, api_keys="admin:adm-key")


async def test_readyz_follows_the_ready_flag(
    database_factory: Callable[[], str], tmp_path: Path
) -> None:
    app = create_app(settings(database_factory(), tmp_path))
    async with AsyncTestClient(app) as client:
        assert (await client.get("/readyz")).status_code == 200
        mark_not_ready(app, "rebuilding the engine from the ledger")
        r = await client.get("/readyz")
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "1"
        body = r.json()
        assert body["type"] == "https://reservoir.dev/problems/not-ready"
        assert "rebuilding the engine from the ledger" in body["detail"]
        assert "\nreservoir_ready 0\n" in (await client.get("/metrics")).text
        assert (await client.get("/healthz")).status_code == 200
        mark_ready(app)
        assert (await client.get("/readyz")).status_code == 200
    assert app.state.ready is False  # shut down
    assert app.state.ledger_lock.held is False


async def test_start_up_refuses_a_held_ledger_and_says_why(
    database_factory: Callable[[], str], tmp_path: Path
) -> None:
    url = database_factory()
    holder = await LedgerLock.acquire(url)
    try:
        app = create_app(settings(url, tmp_path))
        with pytest.raises(BaseException) as info:  # Litestar may wrap it in an exception group
            async with AsyncTestClient(app):
                pass
        assert "LedgerLockedError" in repr(info.value) or isinstance(info.value, LedgerLockedError)
        assert app.state.startup_error.startswith("another reservoir process owns this ledger")
        assert app.state.startup_error_expected is True
        assert app.state.ready is False
    finally:
        await holder.release()


async def test_redis_is_connected_when_configured(
    database_factory: Callable[[], str], redis_url: str, tmp_path: Path
) -> None:
    app = create_app(
        Settings(
            database_url=database_factory(),
            data_dir=tmp_path,
            api_keys="admin:adm-key",
            redis_url=redis_url,
        )
    )
    async with app.lifespan():  # start-up and shutdown on this test's loop
        assert app.state.ready is True
        assert await app.state.redis.ping() is True
    assert app.state.ready is False


async def test_an_unreachable_redis_stops_start_up(
    database_factory: Callable[[], str], tmp_path: Path
) -> None:
    app = create_app(
        Settings(
            database_url=database_factory(),
            data_dir=tmp_path,
            api_keys="admin:adm-key",
            redis_url="redis://127.0.0.1:1/0",
        )
    )
    with pytest.raises(BaseException):  # noqa: B017 - Litestar may wrap it in an exception group
        async with AsyncTestClient(app):
            pass
    assert app.state.startup_error.startswith("cannot reach Redis at RESERVOIR_REDIS_URL")
    assert app.state.ledger_lock.held is False  # everything opened so far was closed again
