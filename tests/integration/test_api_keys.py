"""API keys kept as hashes in the data dir, managed while the server runs: the first start
prints each generated key once, `reservoir keys create` makes a key that works at once,
`revoke` takes effect without a restart, `list` shows the last use, and a plain-text key
file of earlier versions is migrated with its keys still working."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from reservoir.lib.api_keys import key_id

Run = Callable[..., subprocess.CompletedProcess[str]]
WAIT_S = 15.0  # generous: the server polls the key file every 0.25 s


def _settings(data: Path) -> dict[str, str]:
    return {"RESERVOIR_DATA_DIR": str(data)}


def create_key(run_reservoir: Run, data: Path, role: str, name: str | None = None) -> str:
    result = run_reservoir(
        "keys",
        "create",
        "--role",
        role,
        *(["--name", name] if name else []),
        settings=_settings(data),
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert result.stdout == key + "\n", "stdout is the key alone"
    assert f"created key {key_id(key)} (role {role})" in result.stderr
    return key


def _status(server, key: str) -> int:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        return client.get("/v1/items/none", headers={"Authorization": f"Bearer {key}"}).status_code


def _wait_for(predicate: Callable[[], bool], what: str) -> float:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < WAIT_S, f"not within {WAIT_S}s: {what}"
        time.sleep(0.05)
    return time.monotonic() - start


def _list(run_reservoir: Run, data: Path) -> dict[str, dict[str, str]]:
    result = run_reservoir("keys", "list", settings=_settings(data))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("API keys in ") and lines[0].endswith("(hashes only):")
    header = lines[1]
    columns = ["ID", "ROLE", "NAME", "CREATED", "LAST USE", "REVOKED"]
    starts = [header.index(c) for c in columns]
    rows = {}
    for line in lines[2:]:
        cells = [
            line[a:b].strip() for a, b in zip(starts, [*starts[1:], len(line) + 1], strict=True)
        ]
        rows[cells[0]] = dict(zip(columns, cells, strict=True))
    return rows


@pytest.fixture(scope="module")
def file_keys_server(start_server, database_factory, tmp_path_factory):
    """A server with RESERVOIR_API_KEYS unset: keys generated into its data dir."""
    data = tmp_path_factory.mktemp("keys") / "data"
    server = start_server(database_factory(), api_keys={}, data_dir=data)
    yield server
    server.stop()


def test_the_first_start_prints_each_new_key_once_and_keeps_only_hashes(file_keys_server):
    server = file_keys_server
    log = server.log()
    printed = dict(re.findall(r"new API key for role (\w+) \(shown only this once\): (\S+)", log))
    assert set(printed) == {"storefront", "warehouse", "purchasing", "admin"}
    path = server.data_dir / "api-keys.json"
    assert f"their hashes are kept in {path.resolve()}" in log
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_text()
    for key in printed.values():
        assert key not in content
        assert _status(server, key) in (200, 404)  # authenticated (the item does not exist)
    stored = json.loads(content)["keys"]
    assert {(k["role"], k["id"]) for k in stored} == {(r, key_id(k)) for r, k in printed.items()}
    assert all(set(k) == {"id", "hash", "role", "name", "created_at", "revoked_at"} for k in stored)
    server.keys = printed


def test_create_then_revoke_while_the_server_runs(file_keys_server, run_reservoir):
    server, data = file_keys_server, file_keys_server.data_dir
    key = create_key(run_reservoir, data, "warehouse", "scanner-7")
    assert key not in (data / "api-keys.json").read_text()
    waited = _wait_for(lambda: _status(server, key) != 401, "the new key is accepted")
    assert _status(server, key) == 404  # a warehouse key may read items; there is none

    revoked = run_reservoir("keys", "revoke", key_id(key), settings=_settings(data))
    assert revoked.returncode == 0, revoked.stderr
    waited = _wait_for(lambda: _status(server, key) == 401, "the revoked key is refused")
    print(f"revocation took effect after {waited:.3f}s")
    for other in server.keys.values():  # the other keys keep working
        assert _status(server, other) != 401
    listed = _list(run_reservoir, data)[key_id(key)]
    assert listed["ROLE"] == "warehouse" and listed["NAME"] == "scanner-7"
    assert listed["REVOKED"].endswith("Z")

    unknown = run_reservoir("keys", "revoke", "0" * 16, settings=_settings(data))
    assert unknown.returncode == 1 and "no key with id" in unknown.stderr


def test_list_shows_ids_roles_names_and_last_use(file_keys_server, run_reservoir):
    server, data = file_keys_server, file_keys_server.data_dir
    key = create_key(run_reservoir, data, "storefront", "shop-eu")
    _wait_for(lambda: _status(server, key) != 401, "the new key is accepted")
    _wait_for(
        lambda: _list(run_reservoir, data)[key_id(key)]["LAST USE"].endswith("Z"),
        "keys list shows the last use",
    )
    rows = _list(run_reservoir, data)
    row = rows[key_id(key)]
    assert row["ROLE"] == "storefront" and row["NAME"] == "shop-eu"
    assert row["CREATED"].endswith("Z") and row["REVOKED"] == "-"
    assert row["LAST USE"] >= row["CREATED"]
    listed = run_reservoir("keys", settings=_settings(data))  # no action: the list
    assert listed.returncode == 0 and key_id(key) in listed.stdout
    assert key not in listed.stdout


def test_a_plain_text_key_file_is_migrated_on_start(
    start_server, database_factory, tmp_path, run_reservoir
):
    data = tmp_path / "data"
    data.mkdir()
    old = {"storefront": "sf-plain-0123456789abcdef", "admin": "ad-plain-0123456789abcdef"}
    (data / "api-keys.json").write_text(json.dumps(old))
    server = start_server(database_factory(), api_keys={}, data_dir=data)
    try:
        assert "migrated to hashed form" in server.log()
        content = (data / "api-keys.json").read_text()
        for role, key in old.items():
            assert key not in content
            assert _status(server, key) != 401, role
        rows = _list(run_reservoir, data)
        assert {rows[key_id(k)]["ROLE"] for k in old.values()} == set(old)
        server.restart()  # and the migrated file serves a later start as it is
        assert "API keys read from" in server.log()
        assert all(_status(server, key) != 401 for key in old.values())
    finally:
        server.stop()


def test_keys_from_the_environment_are_listed_not_managed(run_reservoir, tmp_path):
    settings = {**_settings(tmp_path), "RESERVOIR_API_KEYS": "admin:k1,storefront:k2"}
    listed = run_reservoir("keys", settings=settings)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0] == "API keys from RESERVOIR_API_KEYS:"
    assert key_id("k1") in listed.stdout and key_id("k2") in listed.stdout
    assert "k1" not in listed.stdout.replace(key_id("k1"), "")
    created = run_reservoir("keys", "create", "--role", "admin", settings=settings)
    assert created.returncode == 2 and "RESERVOIR_API_KEYS is set" in created.stderr
    assert not (tmp_path / "api-keys.json").exists()


def test_verify_server_takes_the_admin_key_from_the_environment(file_keys_server, run_reservoir):
    server = file_keys_server
    settings = {**_settings(server.data_dir), "RESERVOIR_DATABASE_URL": server.database_url}
    without = run_reservoir("verify", "--server", server.base_url, settings=settings)
    assert without.returncode == 1 and "no admin API key: set RESERVOIR_ADMIN_KEY" in without.stdout
    admin = create_key(run_reservoir, server.data_dir, "admin", "verify")
    _wait_for(lambda: _status(server, admin) != 401, "the new key is accepted")
    with_key = run_reservoir(
        "verify",
        "--server",
        server.base_url,
        settings={**settings, "RESERVOIR_ADMIN_KEY": admin},
    )
    assert with_key.returncode == 0, with_key.stdout + with_key.stderr
    assert "equals it" in with_key.stdout
