"""The dependencies handlers declare, each taken from what the lifespans left on the app's
state: `pool` (asyncpg), `settings`, `write_path` (the engine and the ledger writer), `writes`
(the write path with the idempotency keys) and `caller` (the authenticated identity).

The first four are the same object for the app's whole life, so Litestar resolves each once
(`use_cache`) instead of per request.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.datastructures import State
from litestar.di import Provide

from reservoir.domain.writes import Writes
from reservoir.ledger.write_path import WritePath
from reservoir.lib.auth import provide_caller
from reservoir.lib.settings import Settings


def provide_pool(state: State) -> asyncpg.Pool:
    pool: asyncpg.Pool = state.pool
    return pool


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_write_path(state: State) -> WritePath:
    write_path: WritePath = state.write_path
    return write_path


def provide_writes(state: State) -> Writes:
    writes: Writes = state.writes
    return writes


def app_dependencies() -> dict[str, Any]:
    return {
        "pool": Provide(provide_pool, use_cache=True, sync_to_thread=False),
        "settings": Provide(provide_settings, use_cache=True, sync_to_thread=False),
        "write_path": Provide(provide_write_path, use_cache=True, sync_to_thread=False),
        "writes": Provide(provide_writes, use_cache=True, sync_to_thread=False),
        "caller": Provide(provide_caller, sync_to_thread=False),
    }
