"""API keys and roles: parsing RESERVOIR_API_KEYS, the generated key file, and matching a
presented key to an `Identity` (role + stable non-secret key id) in constant time.

Keys come from `RESERVOIR_API_KEYS="role:key,role:key"`, or — when unset — from
`<data_dir>/api-keys.json`, generated on first start (one random key per role, mode 0600) and
reused afterwards. The HTTP side (the role checks, `request.auth`) is in `auth.py`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reservoir.lib.settings import Settings

ROLES = ("storefront", "warehouse", "admin")
ADMIN = "admin"
logger = logging.getLogger("reservoir.auth")


class ApiKeyConfigError(ValueError):
    """The configured API keys are unusable; the message names the bad entry."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: a role and a stable non-secret id of the API key used."""

    role: str
    key_id: str

    @property
    def actor(self) -> str:
        """What the ledger records as `actor`."""
        return f"{self.role}:{self.key_id}"


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class ApiKeys:
    """The accepted keys. `authenticate` compares digests in constant time, against every key."""

    def __init__(self, entries: Iterable[tuple[str, str]], *, source: str) -> None:
        self.entries: tuple[tuple[str, str], ...] = tuple(entries)
        self.source = source
        if not self.entries:
            raise ApiKeyConfigError(f"no API keys configured ({source})")
        self._digests = [
            (hashlib.sha256(key.encode()).digest(), Identity(role, key_id(key)))
            for role, key in self.entries
        ]

    def authenticate(self, token: str) -> Identity | None:
        digest = hashlib.sha256(token.encode()).digest()
        found: Identity | None = None
        for candidate, identity in self._digests:  # no early exit: same work for every token
            if hmac.compare_digest(digest, candidate):
                found = identity
        return found

    def keys_for(self, role: str) -> list[str]:
        return [key for r, key in self.entries if r == role]

    def roles(self) -> dict[str, str]:
        """The first key of each role (what tests and `reservoir keys` show)."""
        first: dict[str, str] = {}
        for role, key in self.entries:
            first.setdefault(role, key)
        return first


def parse_api_keys(raw: str, *, source: str = "RESERVOIR_API_KEYS") -> ApiKeys:
    entries: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for position, chunk in enumerate(raw.split(","), start=1):
        entry = chunk.strip()
        if not entry:
            continue
        role, sep, key = entry.partition(":")
        role, key = role.strip(), key.strip()
        shown = f"entry {position} ({_redact(entry)})"
        if not sep or not key:
            raise ApiKeyConfigError(f"{source}: {shown} is not of the form role:key")
        if role not in ROLES:
            raise ApiKeyConfigError(
                f"{source}: {shown} has unknown role {role!r} (roles: {', '.join(ROLES)})"
            )
        if any(c.isspace() for c in key) or not key.isprintable():
            raise ApiKeyConfigError(f"{source}: {shown} has whitespace or unprintable characters")
        if key in seen:
            raise ApiKeyConfigError(f"{source}: {shown} repeats a key already given to {seen[key]}")
        seen[key] = role
        entries.append((role, key))
    if not entries:
        raise ApiKeyConfigError(f"{source} is set but holds no role:key entries")
    return ApiKeys(entries, source=source)


def _redact(entry: str) -> str:
    role, sep, key = entry.partition(":")
    if not sep:
        return f"{entry[:12]}…" if len(entry) > 12 else entry
    return f"{role}:{key[:3]}…" if len(key) > 3 else f"{role}:{key}"


# --- the generated key file -------------------------------------------------------------------


def load_or_create_key_file(path: Path) -> tuple[ApiKeys, bool]:
    """Returns the keys in `path`, creating it (mode 0600, one key per role) if missing.

    The bool is True when this call created the file. Safe if two processes race to create.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = {role: secrets.token_urlsafe(32) for role in ROLES}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(keys, f, indent=2)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.link(tmp, path)  # atomic, and fails if another process created it first
            return ApiKeys(keys.items(), source=str(path)), True
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return read_key_file(path), False


def read_key_file(path: Path) -> ApiKeys:
    try:
        data: Any = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ApiKeyConfigError(f"cannot read API keys from {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiKeyConfigError(f"{path}: expected a JSON object of role -> key")
    raw = ",".join(f"{role}:{key}" for role, key in data.items() if isinstance(key, str))
    bad = [role for role, key in data.items() if not isinstance(key, str)]
    if bad:
        raise ApiKeyConfigError(f"{path}: the key of role {bad[0]!r} is not a string")
    return parse_api_keys(raw, source=str(path))


def load_api_keys(settings: Settings) -> ApiKeys:
    """RESERVOIR_API_KEYS if set; else the key file in the data dir (generated on first use)."""
    if settings.api_keys is not None:
        return parse_api_keys(settings.api_keys)
    path = settings.api_keys_path
    keys, created = load_or_create_key_file(path)
    if created:
        logger.warning("API keys generated (one per role) in %s", path.resolve())
    else:
        logger.info("API keys read from %s", path.resolve())
    return keys
