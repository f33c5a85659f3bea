"""The dependencies handlers declare: `pool` (asyncpg), `settings`, `write_path` (the engine
and the ledger writer) and `writes` (what a write endpoint uses: the write path, the
idempotency keys, the pool and the settings). Each is the object the lifespans left on the
app's state, the same for the app's whole life: Litestar resolves it once (`use_cache`), and
the providers take no parameters, so nothing is parsed per request either.

The caller is not a dependency: it is `request.auth` (lib/auth.py says why).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.datastructures import State
from litestar.di import Provide

from reservoir.domain.writes import Writes
from reservoir.ledger.write_path import WritePath
from reservoir.lib.settings import Settings


def app_dependencies(state: State) -> dict[str, Any]:
    """The providers, reading `state` (the app's, filled in by the lifespans)."""

    def pool() -> asyncpg.Pool:
        value: asyncpg.Pool = state.pool
        return value

    def settings() -> Settings:
        value: Settings = state.settings
        return value

    def write_path() -> WritePath:
        value: WritePath = state.write_path
        return value

    def writes() -> Writes:
        value: Writes = state.writes
        return value

    return {
        provider.__name__: Provide(provider, use_cache=True, sync_to_thread=False)
        for provider in (pool, settings, write_path, writes)
    }
