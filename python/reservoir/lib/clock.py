"""Wall-clock time at the edge. The core never reads a clock: the service passes `now_ms`."""

from __future__ import annotations

import functools
import time
from datetime import UTC, date, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_ms() -> int:
    """Milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


def to_datetime(ms: int) -> datetime:
    """An aware UTC datetime for `ms` (exact: no float rounding)."""
    return _EPOCH + timedelta(milliseconds=ms)


def to_ms(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(milliseconds=1)


def rfc3339(ms: int) -> str:
    """`ms` as an RFC 3339 UTC string with milliseconds, e.g. 2026-11-23T05:53:04.123Z."""
    seconds, millis = divmod(ms, 1000)
    return f"{_second(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    # Requests cluster on a few seconds (now, now + TTL): format each second once.
    return (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")


_EPOCH_DAY = date(1970, 1, 1)


def day_number(value: date) -> int:
    """A date as the core counts it: days since 1970-01-01."""
    return (value - _EPOCH_DAY).days


def from_day_number(days: int) -> date:
    return _EPOCH_DAY + timedelta(days=days)
