"""Settings from the environment: every field `name` is read from `RESERVOIR_<NAME>`.

Unset or empty variables keep the default. A value that does not parse, or is out of range,
raises `SettingsError` naming the variable, so a bad deployment fails at start, loudly.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "RESERVOIR_"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class SettingsError(ValueError):
    """A setting from the environment is invalid; the message names the variable."""


def _bounded(default: int, low: int, high: int | None = None) -> Any:
    return dataclasses.field(default=default, metadata={"min": low, "max": high})


@dataclass(frozen=True, slots=True)
class Settings:
    # where things are
    database_url: str | None = None  # None: the embedded PostgreSQL in <data_dir>/pg
    data_dir: Path = Path(".reservoir")
    redis_url: str | None = None  # None: no Redis; events stay in the outbox
    api_keys: str | None = None  # "role:key,role:key"; None: generated into the data dir
    # the HTTP server
    host: str = "127.0.0.1"
    port: int = _bounded(8000, 0, 65_535)
    log_level: str = "info"
    # limits (CONTRACT "Conventions")
    lines_per_reservation_max: int = _bounded(100, 1)
    quantity_per_line_max: int = _bounded(1_000_000, 1)
    ttl_seconds_max: int = _bounded(86_400, 1)
    ttl_seconds_default: int = _bounded(900, 1)
    body_bytes_max: int = _bounded(65_536, 1_024)
    # the group-commit writer
    flush_interval_ms: int = _bounded(2, 0, 60_000)
    batch_rows_max: int = _bounded(5_000, 1)
    # background work
    expiry_interval_ms: int = _bounded(100, 1, 60_000)
    # PostgreSQL
    pool_size: int = _bounded(10, 1, 1_000)
    # pick lists: units one cart carries when orders are batched
    pick_cart_units_max: int = _bounded(100, 1, 1_000_000)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Reads every field from `environ` (default `os.environ`); `overrides` win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(env_name(field.name), "").strip()
            if raw:
                values[field.name] = _parse(field, raw)
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Cross-field and range checks (also run for settings built in code)."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            low, high = field.metadata.get("min"), field.metadata.get("max")
            if low is not None and value < low:
                raise SettingsError(f"{env_name(field.name)}={value}: must be >= {low}")
            if high is not None and value > high:
                raise SettingsError(f"{env_name(field.name)}={value}: must be <= {high}")
        if self.ttl_seconds_default > self.ttl_seconds_max:
            raise SettingsError(
                f"{env_name('ttl_seconds_default')}={self.ttl_seconds_default}: must be <= "
                f"{env_name('ttl_seconds_max')} ({self.ttl_seconds_max})"
            )
        if self.log_level.lower() not in LOG_LEVELS:
            raise SettingsError(
                f"{env_name('log_level')}={self.log_level!r}: "
                f"expected one of {', '.join(LOG_LEVELS)}"
            )
        for name in ("database_url", "redis_url"):
            url = getattr(self, name)
            if url is not None and "://" not in url:
                raise SettingsError(f"{env_name(name)}: expected a URL (scheme://…), got {url!r}")

    @property
    def api_keys_path(self) -> Path:
        """Where generated API keys are kept when RESERVOIR_API_KEYS is unset."""
        return self.data_dir / "api-keys.json"

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pg"


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _parse(field: dataclasses.Field[Any], raw: str) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if kind == "int":
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            raise SettingsError(f"{env_name(field.name)}={raw!r}: expected an integer") from None
    if kind == "Path":
        return Path(raw).expanduser()
    return raw
