"""The named rows of `reservoir._core` (`LevelRow`, `LogRow`) as plain tuples in field
order, for tests that compare whole rows with a model's or between two calls."""

from __future__ import annotations

from collections.abc import Iterable

from reservoir import _core

LEVEL_FIELDS = ("sku", "location", "on_hand", "reserved", "committed", "available", "sellable")
LOG_FIELDS = (
    "lsn",
    "at_ms",
    "kind",
    "reservation_id",
    "sku",
    "location",
    "quantity",
    "expires_at_ms",
    "lot",
    "lot_expires_on",
)


def level_tuple(level: _core.LevelRow) -> tuple:
    return tuple(getattr(level, name) for name in LEVEL_FIELDS)


def level_tuples(levels: Iterable[_core.LevelRow]) -> list[tuple]:
    return [level_tuple(level) for level in levels]


def log_tuple(row: _core.LogRow) -> tuple:
    return tuple(getattr(row, name) for name in LOG_FIELDS)


def log_tuples(rows: Iterable[_core.LogRow]) -> list[tuple]:
    return [log_tuple(row) for row in rows]
