"""Keeping a running server's keys current, with no restart (`keep_keys_current`):

- the key file is polled every `RELOAD_INTERVAL_S` (its inode, mtime and size); a change is
  read and swaps the accepted keys at once, so a revoked key gets 401 within a second and a
  created one works as fast. An unreadable file keeps the keys in use (and says so in the
  log); the writers replace the file atomically, so that is an operator's hand edit.
- the ids of keys used since the last round are stamped with the time every
  `LAST_USE_INTERVAL_S` and written to the last-use file (`key_usage.py`), and once more at
  shutdown. Per request, authentication only adds the key id to a set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from reservoir.lib import key_file, key_usage
from reservoir.lib.api_keys import ApiKeyConfigError, ApiKeys
from reservoir.lib.clock import now_ms
from reservoir.lib.settings import Settings

RELOAD_INTERVAL_S = 0.25
LAST_USE_INTERVAL_S = 2.0

logger = logging.getLogger("reservoir.auth")

Stat = tuple[int, int, int]


def _stat(path: Path) -> Stat | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


async def watch_key_file(keys: ApiKeys, path: Path) -> None:
    """Reloads `keys` from `path` whenever the file changes (and once at the start, so a
    change made since the keys were loaded is not missed)."""
    seen: Stat | None = None
    while True:
        current = _stat(path)
        if current is not None and current != seen:
            seen = current
            try:
                records = key_file.read(path)
            except ApiKeyConfigError as exc:
                logger.error("keeping the API keys in use: %s", exc)
            else:
                keys.replace(key_file.active_entries(records))
                logger.debug("API keys reloaded from %s", path)
        await asyncio.sleep(RELOAD_INTERVAL_S)


class LastUse:
    """The keys' last use: what the file says, plus what `keys` saw since."""

    def __init__(self, keys: ApiKeys, path: Path) -> None:
        self.keys = keys
        self.path = path
        self.last_use = key_usage.read(path)

    async def flush(self) -> None:
        used = self.keys.take_used()
        if not used:
            return
        try:
            await asyncio.to_thread(key_usage.record, self.path, self.last_use, used, now_ms())
        except OSError as exc:
            self.keys.used |= used  # try again next round
            logger.warning("cannot write the API keys' last use to %s: %s", self.path, exc)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(LAST_USE_INTERVAL_S)
            await self.flush()


@contextlib.asynccontextmanager
async def keep_keys_current(keys: ApiKeys, settings: Settings) -> AsyncIterator[None]:
    """While the block runs: reload the key file on change and write the keys' last use.
    Nothing to do when the keys come from RESERVOIR_API_KEYS."""
    if settings.api_keys is not None:
        yield
        return
    last_use = LastUse(keys, settings.api_keys_last_use_path)
    tasks = [
        asyncio.create_task(watch_key_file(keys, settings.api_keys_path), name="api-key-reload"),
        asyncio.create_task(last_use.run(), name="api-key-last-use"),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await last_use.flush()
