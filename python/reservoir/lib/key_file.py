"""The key file `<data_dir>/api-keys.json`: the API keys as hashes, never the keys.

    {"version": 2, "keys": [{"id": "3f9a…", "hash": "sha256:…", "role": "admin",
      "name": "ops", "created_at": "2026-…Z", "revoked_at": null}, …]}

Writers (`reservoir keys create/revoke`, and the server when it generates the first keys or
migrates the plain-text `{role: key}` file of earlier versions) change it under an exclusive
`flock` on `api-keys.json.lock`, and replace it atomically: a temp file (mode 0600), fsync,
rename. A reader therefore sees the old file or the new one, never half of one. The server
notices a new file by its stat (`key_reload.py`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from reservoir.lib.api_keys import (
    ROLES,
    ApiKeyConfigError,
    Identity,
    KeyEntry,
    check_bindable,
    key_hash,
    key_id,
    new_key,
)
from reservoir.lib.clock import now_ms, rfc3339

VERSION = 2
HASH_PREFIX = "sha256:"


class KeyRecord(msgspec.Struct, forbid_unknown_fields=True):
    """One key in the file. `hash` is `sha256:<hex>` of the key."""

    id: str
    hash: str
    role: str
    name: str | None
    created_at: str
    revoked_at: str | None = None
    # the sales channels a storefront key is bound to (absent from the file: any)
    channels: list[str] | msgspec.UnsetType = msgspec.UNSET

    @property
    def bound_to(self) -> tuple[str, ...]:
        return tuple(self.channels) if isinstance(self.channels, list) else ()

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class _File(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    keys: list[KeyRecord]


@dataclass(frozen=True, slots=True)
class Loaded:
    records: list[KeyRecord]
    generated: list[tuple[str, str]]  # (role, key) made by this call: to show once
    migrated: bool


def active_entries(records: Sequence[KeyRecord]) -> list[KeyEntry]:
    return [
        KeyEntry(
            bytes.fromhex(r.hash.removeprefix(HASH_PREFIX)),
            Identity(r.role, r.id, r.bound_to),
        )
        for r in records
        if r.active
    ]


def record_for(
    role: str, key: str, name: str | None, at_ms: int, channels: tuple[str, ...] = ()
) -> KeyRecord:
    return KeyRecord(
        id=key_id(key),
        hash=key_hash(key),
        role=role,
        name=name,
        created_at=rfc3339(at_ms),
        channels=list(channels) if channels else msgspec.UNSET,
    )


# --- reading --------------------------------------------------------------------------------


def read(path: Path) -> list[KeyRecord]:
    """The records in `path` (hashed form only), or ApiKeyConfigError naming the file."""
    data = _read_json(path)
    if _is_plain(data):
        raise ApiKeyConfigError(f"{path} holds plain-text keys: start `reservoir serve` once")
    return _records(path, data)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ApiKeyConfigError(f"cannot read API keys from {path}: {exc}") from exc


def _is_plain(data: Any) -> bool:
    """The file of earlier versions: a JSON object of role -> key."""
    return isinstance(data, dict) and "keys" not in data and "version" not in data


def _records(path: Path, data: Any) -> list[KeyRecord]:
    try:
        parsed = msgspec.convert(data, _File)
    except msgspec.ValidationError as exc:
        raise ApiKeyConfigError(f"{path}: not a key file: {exc}") from exc
    if parsed.version != VERSION:
        raise ApiKeyConfigError(f"{path}: version {parsed.version}, expected {VERSION}")
    for record in parsed.keys:
        if record.role not in ROLES:
            raise ApiKeyConfigError(f"{path}: key {record.id} has unknown role {record.role!r}")
        digest = record.hash.removeprefix(HASH_PREFIX)
        if not record.hash.startswith(HASH_PREFIX) or len(digest) != 64:
            raise ApiKeyConfigError(f"{path}: key {record.id} has no sha256 hash")
        try:
            bytes.fromhex(digest)
        except ValueError:
            raise ApiKeyConfigError(f"{path}: key {record.id} has a malformed hash") from None
    return parsed.keys


def _migrate(path: Path, data: dict[str, Any], at_ms: int) -> list[KeyRecord]:
    """The plain-text `{role: key}` file as records: same ids, so actors stay the same."""
    records = []
    for role, key in data.items():
        if role not in ROLES:
            raise ApiKeyConfigError(f"{path}: unknown role {role!r} (roles: {', '.join(ROLES)})")
        if not isinstance(key, str) or not key:
            raise ApiKeyConfigError(f"{path}: the key of role {role!r} is not a string")
        records.append(record_for(role, key, "migrated", at_ms))
    return records


# --- writing ----------------------------------------------------------------------------------


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Holds the exclusive lock that every writer of `path` takes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_atomically(path: Path, content: bytes) -> None:
    """Replaces `path` by `content`: a temp file (mode 0600) beside it, fsync, rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _write(path: Path, records: Sequence[KeyRecord]) -> None:
    body = msgspec.json.format(msgspec.json.encode(_File(VERSION, list(records))), indent=2)
    write_atomically(path, body + b"\n")


# --- what the server and the CLI do -----------------------------------------------------------


def load_for_server(path: Path) -> Loaded:
    """The records of `path`: generated first (one key per role) if there is no file, and
    migrated to hashes if it is the plain-text file of earlier versions."""
    with locked(path):
        if not path.exists():
            at = now_ms()
            generated = [(role, new_key()) for role in ROLES]
            records = [record_for(role, key, f"generated {role}", at) for role, key in generated]
            _write(path, records)
            return Loaded(records, generated, migrated=False)
        return _read_migrating(path)


def _read_migrating(path: Path) -> Loaded:
    """Under the lock: the records of an existing `path`, migrated first if plain text."""
    data = _read_json(path)
    if _is_plain(data):
        records = _migrate(path, data, now_ms())
        _write(path, records)
        return Loaded(records, [], migrated=True)
    return Loaded(_records(path, data), [], migrated=False)


def read_current(path: Path) -> list[KeyRecord]:
    """The records of `path` ([] if there is none), migrating a plain-text file first."""
    if not path.exists():
        return []
    if not _is_plain(_read_json(path)):
        return read(path)
    with locked(path):
        return _read_migrating(path).records


def create(
    path: Path, role: str, name: str | None, channels: tuple[str, ...] = ()
) -> tuple[KeyRecord, str]:
    """Adds a new key of `role` (a storefront key bound to `channels`, if any); returns its
    record and the key (shown once, never kept)."""
    if role not in ROLES:
        raise ApiKeyConfigError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    channels = check_bindable(role, channels)
    with locked(path):
        records = _read_migrating(path).records if path.exists() else []
        key = new_key()
        record = record_for(role, key, name, now_ms(), channels)
        _write(path, [*records, record])
    return record, key


class UnknownKeyError(LookupError):
    """No key with that id in the key file."""


def revoke(path: Path, key_id_: str) -> KeyRecord:
    """Marks the key revoked (kept in the file, for `keys list`); returns its record. A key
    already revoked keeps its first `revoked_at`."""
    with locked(path):
        records = _read_migrating(path).records if path.exists() else []
        for i, record in enumerate(records):
            if record.id == key_id_:
                if record.active:
                    records[i] = msgspec.structs.replace(record, revoked_at=rfc3339(now_ms()))
                    _write(path, records)
                return records[i]
    raise UnknownKeyError(key_id_)
