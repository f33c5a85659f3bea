"""The `reservoir` command in subprocesses: migrate, verify, keys, bad configuration, and the
embedded default (no RESERVOIR_DATABASE_URL: PostgreSQL in the data dir)."""

from __future__ import annotations

import re
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from reservoir.ledger.migrate import MIGRATIONS
from reservoir.lib.api_keys import key_id

Run = Callable[..., subprocess.CompletedProcess[str]]
ALL_VERSIONS = ", ".join(str(m.version) for m in MIGRATIONS)


def test_help_lists_the_commands(run_reservoir: Run) -> None:
    result = run_reservoir("--help")
    assert result.returncode == 0
    for command in ("serve", "migrate", "verify", "keys"):
        assert command in result.stdout
    assert run_reservoir("frobnicate").returncode == 2


def test_migrate_is_idempotent(run_reservoir: Run, database_factory: Callable[[], str]) -> None:
    settings = {"RESERVOIR_DATABASE_URL": database_factory()}
    first = run_reservoir("migrate", settings=settings)
    assert first.returncode == 0, first.stderr
    assert (
        first.stdout.strip()
        == f"schema at version {MIGRATIONS[-1].version} (applied {ALL_VERSIONS})"
    )
    again = run_reservoir("migrate", settings=settings)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"schema at version {MIGRATIONS[-1].version} (nothing to apply)"


async def test_verify_passes_then_reports_differences(
    run_reservoir: Run, database_factory: Callable[[], str]
) -> None:
    url = database_factory()
    settings = {"RESERVOIR_DATABASE_URL": url}
    unmigrated = run_reservoir("verify", settings=settings)
    assert unmigrated.returncode == 1
    assert "no ledger yet" in unmigrated.stderr
    assert run_reservoir("migrate", settings=settings).returncode == 0

    clean = run_reservoir("verify", settings=settings)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.strip() == (
        "ledger verified: 0 ledger entries, 0 levels, 0 open reservations"
    )

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO items (sku, name) VALUES ('s', 'S');"
            "INSERT INTO locations (code, kind) VALUES ('l', 'bin');"
            "INSERT INTO ledger_entries (lsn, at, sku, location, kind, quantity) "
            "VALUES (1, now(), 's', 'l', 'receipt', 4);"
            "INSERT INTO inventory_levels (sku, location, on_hand) VALUES ('s', 'l', 3)"
        )
    finally:
        await conn.close()
    dirty = run_reservoir("verify", settings=settings)
    assert dirty.returncode == 1
    assert dirty.stdout.splitlines() == [
        "s at l: on_hand ledger 4 != levels 3",
        "ledger differs: 1 difference(s) (1 ledger entries, 1 levels, 0 open reservations)",
    ]


def test_keys_lists_and_never_shows_or_generates_a_key(run_reservoir: Run, tmp_path: Path) -> None:
    """`reservoir keys` (the list) on a fresh data dir says where keys will come from and
    makes nothing (the server makes the first keys); `keys create` prints its key once."""
    settings = {"RESERVOIR_DATA_DIR": str(tmp_path / "data")}
    path = tmp_path / "data" / "api-keys.json"
    empty = run_reservoir("keys", settings=settings)
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout == "" and f"no key file at {path}" in empty.stderr
    assert not path.exists()
    created = run_reservoir("keys", "create", "--role", "admin", settings=settings)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key not in path.read_text()
    listed = run_reservoir("keys", settings=settings)
    assert listed.stdout.splitlines()[0] == f"API keys in {path} (hashes only):"
    assert key_id(key) in listed.stdout and key not in listed.stdout
    from_env = run_reservoir("keys", settings={**settings, "RESERVOIR_API_KEYS": "admin:k1"})
    assert from_env.stdout.splitlines()[0] == "API keys from RESERVOIR_API_KEYS:"
    assert from_env.stdout.splitlines()[2].split()[:2] == [key_id("k1"), "admin"]
    assert run_reservoir("keys", "create", "--role", "chef", settings=settings).returncode == 2


@pytest.mark.parametrize(
    ("command", "settings", "named"),
    [
        ("serve", {"RESERVOIR_PORT": "http"}, "RESERVOIR_PORT"),
        ("migrate", {"RESERVOIR_POOL_SIZE": "0"}, "RESERVOIR_POOL_SIZE"),
        ("serve", {"RESERVOIR_API_KEYS": "admin:a,chef:b"}, "entry 2"),
        ("keys", {"RESERVOIR_API_KEYS": "admin"}, "entry 1"),
    ],
)
def test_bad_configuration_exits_2_naming_it(
    run_reservoir: Run, tmp_path: Path, command: str, settings: dict[str, str], named: str
) -> None:
    result = run_reservoir(command, settings={"RESERVOIR_DATA_DIR": str(tmp_path), **settings})
    assert result.returncode == 2
    assert result.stderr.startswith("reservoir: ")
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_without_a_database_says_so(run_reservoir: Run, tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    result = run_reservoir(
        "serve",
        "--port",
        "0",
        settings={"RESERVOIR_DATABASE_URL": url, "RESERVOIR_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "reservoir: cannot start: cannot reach PostgreSQL" in result.stderr


@pytest.mark.slow
async def test_the_embedded_default(
    start_server: Callable[..., Any], run_reservoir: Run, tmp_path: Path
) -> None:
    """No RESERVOIR_DATABASE_URL, no RESERVOIR_API_KEYS: PostgreSQL and the keys live in the
    data dir and survive restarts, kill -9 included; a clean stop stops PostgreSQL too."""
    data = tmp_path / "data"
    postmaster = data / "pg" / "postmaster.pid"
    server = start_server(None, api_keys={}, data_dir=data)
    keys_file = data / "api-keys.json"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    server.keys = dict(
        re.findall(r"new API key for role (\w+) \(shown only this once\): (\S+)", server.log())
    )
    assert set(server.keys) == {"storefront", "warehouse", "purchasing", "admin"}
    assert "API keys generated (one per role); their hashes are kept in" in server.log()
    stored = keys_file.read_text()
    async with server.async_client("admin") as admin:
        r = await admin.put("/v1/items/embedded", json={"name": "E"})
        assert r.status_code == 201, r.text

    server.kill()  # PostgreSQL outlives a kill -9 of the service ...
    assert postmaster.exists()
    server.start()  # ... and the restarted service joins it
    assert "API keys read from" in server.log()
    assert "new API key" not in server.log()
    assert keys_file.read_text() == stored
    async with server.async_client("warehouse") as warehouse:
        r = await warehouse.get("/v1/items/embedded")
        assert r.status_code == 200 and r.json()["name"] == "E"
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.get("/v1/items/embedded")).status_code == 401
    server.stop()  # the killed process is forgotten: the last live user stops PostgreSQL
    assert not postmaster.exists(), "the embedded PostgreSQL kept running"

    verified = run_reservoir("verify", settings={"RESERVOIR_DATA_DIR": str(data)})
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("ledger verified:")
    assert not postmaster.exists()
