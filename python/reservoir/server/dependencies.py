"""App-wide dependencies: `pool` (the asyncpg pool) and `caller` (the authenticated identity)."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.datastructures import State
from litestar.di import Provide

from reservoir.lib.auth import provide_caller


def provide_pool(state: State) -> asyncpg.Pool:
    return state.pool


def app_dependencies() -> dict[str, Any]:
    return {
        "pool": Provide(provide_pool, sync_to_thread=False),
        "caller": Provide(provide_caller, sync_to_thread=False),
    }
