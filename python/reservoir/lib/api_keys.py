"""API keys and roles: parsing RESERVOIR_API_KEYS, and matching a presented key to an
`Identity` (role + stable non-secret key id) by one dict lookup on the key's SHA-256.

Keys come from `RESERVOIR_API_KEYS="role:key,role:key"`, or — when unset — from the hashed
key file in the data dir (`key_file.py`, reloaded while the server runs by `key_reload.py`).
A storefront key may be bound to sales channels, `storefront:KEY@web+app`: it reserves only
for those, and its holds default to the first.
The HTTP side (the role checks, `request.auth`) is in `auth.py`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from reservoir.lib.codes import is_valid_code
from reservoir.lib.settings import Settings

ROLES = ("storefront", "warehouse", "purchasing", "admin")
ADMIN = "admin"
logger = logging.getLogger("reservoir.auth")


class ApiKeyConfigError(ValueError):
    """The configured API keys are unusable; the message names the bad entry."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: a role and a stable non-secret id of the API key used."""

    role: str
    key_id: str
    # the sales channels a storefront key is bound to (empty: any)
    channels: tuple[str, ...] = ()

    @property
    def actor(self) -> str:
        """What the ledger records as `actor` (and `reservations.owner`)."""
        return f"{self.role}:{self.key_id}"


# A plain SHA-256, not a slow KDF (bcrypt, argon2): the keys we generate are random with
# 256 bits of entropy (configured ones are the operator's to make long), so there is nothing
# to brute-force that a work factor would protect, and a KDF would cost milliseconds of CPU
# on every request. The same reasoning makes a dict lookup on the digest safe: its timing
# depends on the digest, which a caller cannot steer towards a key it does not know.
def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def key_hash(key: str) -> str:
    """The form a key is stored in: `sha256:<hex>`."""
    return "sha256:" + key_digest(key).hex()


def key_id(key: str) -> str:
    """The key's id: the first 16 hex digits of its SHA-256 (stable, not the key)."""
    return key_digest(key).hex()[:16]


def new_key() -> str:
    """A new random key: 32 bytes (256 bits) from the OS, URL-safe."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """An accepted key, as the server keeps it: its digest, never the key."""

    digest: bytes
    identity: Identity


def entry_for(role: str, key: str, channels: tuple[str, ...] = ()) -> KeyEntry:
    return KeyEntry(key_digest(key), Identity(role, key_id(key), channels))


def check_bindable(role: str, channels: Iterable[str]) -> tuple[str, ...]:
    """The channels a key is bound to, checked: codes, and only for a storefront key."""
    bound = tuple(channels)
    if bound and role != "storefront":
        raise ApiKeyConfigError(f"only a storefront key may be bound to channels, not {role}")
    for channel in bound:
        if not is_valid_code(channel):
            raise ApiKeyConfigError(f"{channel!r} is not a valid channel code")
    return bound


class ApiKeys:
    """The accepted keys: one dict from digest to Identity. `replace` swaps the whole set at
    once (a reload of the key file); `used` collects the ids of keys seen since the last
    `take_used` (for their last use, written by `key_reload.py`)."""

    def __init__(self, entries: Iterable[KeyEntry], *, source: str) -> None:
        self.source = source
        self._by_digest: dict[bytes, Identity] = {}
        self.used: set[str] = set()
        self.replace(entries)

    def replace(self, entries: Iterable[KeyEntry]) -> None:
        self._by_digest = {entry.digest: entry.identity for entry in entries}

    def authenticate(self, token: str) -> Identity | None:
        identity = self._by_digest.get(hashlib.sha256(token.encode()).digest())
        if identity is not None:
            self.used.add(identity.key_id)
        return identity

    def identities(self) -> list[Identity]:
        return list(self._by_digest.values())

    def take_used(self) -> set[str]:
        used, self.used = self.used, set()
        return used


@dataclass(frozen=True, slots=True)
class EnvKeys:
    """The keys of RESERVOIR_API_KEYS, in order: (role, key); `channels` by key, for the
    keys bound to some."""

    entries: tuple[tuple[str, str], ...]
    channels: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def keys_for(self, role: str) -> list[str]:
        return [key for r, key in self.entries if r == role]

    def api_keys(self) -> ApiKeys:
        bound = dict(self.channels)
        return ApiKeys(
            (entry_for(role, key, bound.get(key, ())) for role, key in self.entries),
            source="RESERVOIR_API_KEYS",
        )


def parse_api_keys(raw: str, *, source: str = "RESERVOIR_API_KEYS") -> EnvKeys:
    entries: list[tuple[str, str]] = []
    bindings: list[tuple[str, tuple[str, ...]]] = []
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
        key, channels = _bound_channels(role, key, f"{source}: {shown}")
        if channels:
            bindings.append((key, channels))
        if key in seen:
            raise ApiKeyConfigError(f"{source}: {shown} repeats a key already given to {seen[key]}")
        seen[key] = role
        entries.append((role, key))
    if not entries:
        raise ApiKeyConfigError(f"{source} is set but holds no role:key entries")
    return EnvKeys(tuple(entries), tuple(bindings))


def _bound_channels(role: str, key: str, shown: str) -> tuple[str, tuple[str, ...]]:
    """`KEY@web+app` as the key and its channels; a key without `@` has none."""
    if "@" not in key:
        return key, ()
    key, _, bound = key.rpartition("@")
    try:
        channels = check_bindable(role, bound.split("+"))
    except ApiKeyConfigError as exc:
        raise ApiKeyConfigError(f"{shown}: {exc}") from None
    if not key:
        raise ApiKeyConfigError(f"{shown} is not of the form role:key@channel+channel")
    return key, channels


def _redact(entry: str) -> str:
    role, sep, key = entry.partition(":")
    if not sep:
        return f"{entry[:12]}…" if len(entry) > 12 else entry
    return f"{role}:{key[:3]}…" if len(key) > 3 else f"{role}:{key}"


def load_api_keys(settings: Settings) -> ApiKeys:
    """RESERVOIR_API_KEYS if set; else the hashed key file in the data dir, made on first
    use with one key per role (each printed once, here, in the log) and migrated from the
    plain-text file of earlier versions."""
    if settings.api_keys is not None:
        return parse_api_keys(settings.api_keys).api_keys()
    from reservoir.lib import key_file

    path = settings.api_keys_path
    loaded = key_file.load_for_server(path)
    if loaded.generated:
        for role, key in loaded.generated:
            logger.warning("new API key for role %s (shown only this once): %s", role, key)
        logger.warning(
            "API keys generated (one per role); their hashes are kept in %s", path.resolve()
        )
    elif loaded.migrated:
        logger.warning("API keys in %s migrated to hashed form", path.resolve())
    else:
        logger.info("API keys read from %s", path.resolve())
    keys = ApiKeys(key_file.active_entries(loaded.records), source=str(path))
    if not keys.identities():
        logger.warning("no active API keys in %s: create one with `reservoir keys create`", path)
    return keys
