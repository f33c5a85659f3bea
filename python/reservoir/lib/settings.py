"""Settings from the environment: every field `name` is read from `RESERVOIR_<NAME>`.

Unset or empty variables keep the default. A value that does not parse, or is out of range,
raises `SettingsError` naming the variable, so a bad deployment fails at start, loudly.
Parsing and bounds are msgspec's: the fields' types and `Meta` bounds say what is accepted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec
import msgspec.inspect

from reservoir.lib.bounds import QUANTITY_MAX, TTL_SECONDS_MAX
from reservoir.lib.webhook_signing import parse_schedule

ENV_PREFIX = "RESERVOIR_"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class SettingsError(ValueError):
    """A setting from the environment is invalid; the message names the variable."""


Positive = Annotated[int, msgspec.Meta(ge=1)]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # where things are
    database_url: str | None = None  # None: the embedded PostgreSQL in <data_dir>/pg
    data_dir: Path = Path(".reservoir")
    redis_url: str | None = None  # None: no Redis; events stay in the outbox
    api_keys: str | None = None  # "role:key,role:key"; None: generated into the data dir
    # the HTTP server
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65_535)] = 8000
    # how long an idle client connection stays open: longer than a load balancer's or a
    # client pool's idle timeout, so the client, not the server, closes idle connections
    # (a server closing one as the client reuses it resets that request)
    keep_alive_seconds: Annotated[int, msgspec.Meta(ge=1, le=3_600)] = 75
    log_level: str = "info"
    # limits (docs/api.md "Conventions")
    lines_per_reservation_max: Positive = 100
    quantity_per_line_max: Annotated[int, msgspec.Meta(ge=1, le=QUANTITY_MAX)] = 1_000_000
    ttl_seconds_max: Annotated[int, msgspec.Meta(ge=1, le=TTL_SECONDS_MAX)] = 86_400
    ttl_seconds_default: Annotated[int, msgspec.Meta(ge=1, le=TTL_SECONDS_MAX)] = 900
    body_bytes_max: Annotated[int, msgspec.Meta(ge=1_024)] = 65_536
    # holds per second (a burst of the same size) per API key and per buyer; None: no limit
    reserve_rate_per_key: Annotated[float, msgspec.Meta(gt=0)] | None = None
    reserve_rate_per_buyer: Annotated[float, msgspec.Meta(gt=0)] | None = None
    # how long a waitlist offer (a hold made for the next entry when units come back) lasts
    offer_ttl_seconds: Annotated[int, msgspec.Meta(ge=1, le=TTL_SECONDS_MAX)] = 300
    # how far past the ordered quantity a purchase order line may be received, in percent
    receipt_tolerance_percent: Annotated[float, msgspec.Meta(ge=0, le=1000)] = 0.0
    # live availability streams open at once, and events one may fall behind before it is
    # dropped
    streams_max: Annotated[int, msgspec.Meta(ge=1)] = 1_000
    stream_queue_max: Annotated[int, msgspec.Meta(ge=1)] = 1_000
    # how long the feed gathers events before waking the streams (one write each per flush)
    stream_flush_ms: Annotated[int, msgspec.Meta(ge=0, le=1_000)] = 20
    # webhooks: retries in seconds after the first attempt (Standard Webhooks' schedule),
    # the time one attempt may take, when a failing endpoint is disabled, how long a rotated
    # secret still signs, and whether private and loopback targets are allowed
    webhook_retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    webhook_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 15.0
    webhook_disable_after_seconds: Annotated[int, msgspec.Meta(ge=1)] = 5 * 86_400
    webhook_rotation_grace_seconds: Annotated[int, msgspec.Meta(ge=0)] = 86_400
    webhook_private_targets: str = "allow"
    # `stock.low` when a location's available units fall below this; None: no such event
    stock_low_units: Annotated[int, msgspec.Meta(ge=1)] | None = None
    # the group-commit writer
    flush_interval_ms: Annotated[int, msgspec.Meta(ge=0, le=60_000)] = 2
    batch_rows_max: Positive = 5_000
    # background work
    expiry_interval_ms: Annotated[int, msgspec.Meta(ge=1, le=60_000)] = 100
    # PostgreSQL
    pool_size: Annotated[int, msgspec.Meta(ge=1, le=1_000)] = 10
    # pick lists: units one cart carries when orders are batched
    pick_cart_units_max: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 100

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Reads every field from `environ` (default `os.environ`); `overrides` win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in msgspec.structs.fields(cls):
            raw = env.get(env_name(field.name), "").strip()
            if raw:  # integers may be written with underscores: 1_000
                values[field.name] = raw.replace("_", "") if field.name in _INT_FIELDS else raw
        values.update(overrides)
        settings = _convert(values)
        settings._check_relations()
        return settings

    def check(self) -> None:
        """Range and cross-field checks (also for settings built in code)."""
        _convert(msgspec.structs.asdict(self))
        self._check_relations()

    def _check_relations(self) -> None:
        if self.ttl_seconds_default > self.ttl_seconds_max:
            raise SettingsError(
                f"{env_name('ttl_seconds_default')}={self.ttl_seconds_default}: must be <= "
                f"{env_name('ttl_seconds_max')} ({self.ttl_seconds_max})"
            )
        try:
            parse_schedule(self.webhook_retry_schedule)
        except ValueError as exc:
            raise SettingsError(
                f"{env_name('webhook_retry_schedule')}={self.webhook_retry_schedule!r}: {exc}"
            ) from None
        if self.webhook_private_targets not in ("allow", "deny"):
            raise SettingsError(
                f"{env_name('webhook_private_targets')}={self.webhook_private_targets!r}: "
                "expected allow or deny"
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
        """Where the API keys' hashes are kept when RESERVOIR_API_KEYS is unset."""
        return self.data_dir / "api-keys.json"

    @property
    def api_keys_last_use_path(self) -> Path:
        """Where the server keeps the keys' last use (its own file: one writer per file)."""
        return self.data_dir / "api-keys-last-use.json"

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pg"


def _int_fields() -> frozenset[str]:
    """The integer fields: their values may be written with underscores (1_000)."""
    info = msgspec.inspect.type_info(Settings)
    assert isinstance(info, msgspec.inspect.StructType)
    return frozenset(f.name for f in info.fields if isinstance(f.type, msgspec.inspect.IntType))


_INT_FIELDS = _int_fields()


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _convert(values: dict[str, Any]) -> Settings:
    """`values` (strings from the environment, or typed values) as Settings, or SettingsError
    naming the variable: "RESERVOIR_PORT='eighty': expected `int`, got `str`"."""
    try:
        return msgspec.convert(values, Settings, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as exc:
        reason, _, where = str(exc).partition(" - at `$.")
        field = where.rstrip("`")
        if field not in values:  # not one field's fault
            raise SettingsError(f"invalid settings: {exc}") from None
        reason = reason[:1].lower() + reason[1:]
        raise SettingsError(f"{env_name(field)}={values[field]!r}: {reason}") from None


def _decode(kind: type, value: Any) -> Any:
    """msgspec's hook for the types it does not know: `Path`."""
    if kind is Path:
        if isinstance(value, Path):
            return value
        if isinstance(value, str):
            return Path(value).expanduser()
    raise TypeError(f"Expected `{kind.__name__}`, got `{type(value).__name__}`")
