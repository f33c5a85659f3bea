"""A warehouse's walking layout: one block sized from its placed bins (front and back cross
aisles, default widths, depot in front of aisle 1) unless its `layout` JSON says otherwise.

The warehouse's `layout` (docs/api.md, locations) may set
`middle_cross_aisles` (positions after which a cross aisle runs, so `[20, 40]` in a 60-deep
warehouse makes three blocks; any order), `aisle_width_m` (centre to centre),
`cross_aisle_width_m`, `bin_pitch_m` (length of one position) and `depot_aisle` (the aisle
the depot faces on the front cross aisle). A layout the core refuses is a 422 naming the
warehouse and the layout key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from reservoir import _core
from reservoir.domain.catalogue.schemas import Layout
from reservoir.lib.errors import ProblemError


@dataclass(frozen=True, slots=True)
class Bin:
    """A location of a warehouse with its place on the pick grid (aisle/position may be
    missing: then it is not on the grid)."""

    code: str
    aisle: int | None
    position: int | None
    level: int | None = None

    @property
    def placed(self) -> bool:
        return (self.aisle or 0) >= 1 and (self.position or 0) >= 1

    @property
    def point(self) -> tuple[int, int, int]:
        """(aisle, position, level) for the core; only for placed bins."""
        assert self.placed, self.code
        return (self.aisle or 0, self.position or 0, self.level or 0)


def placed_bins(bins: Iterable[Bin]) -> dict[str, Bin]:
    """The bins on the pick grid, by code."""
    return {b.code: b for b in bins if b.placed}


def decode_layout(raw: str | bytes | None) -> Layout | None:
    """The stored `layout` JSON of a warehouse (as the catalogue validated it)."""
    if raw is None:
        return None
    return msgspec.json.decode(raw, type=Layout)


def layout_options(layout: Layout | None) -> dict[str, Any]:
    """Keyword arguments for `_core.layout_from_bins`: only what the warehouse sets."""
    if layout is None:
        return {}
    options: dict[str, Any] = {}
    if layout.middle_cross_aisles:
        options["middle_cross_aisles"] = sorted(layout.middle_cross_aisles)
    for key in ("aisle_width_m", "cross_aisle_width_m", "bin_pitch_m"):
        value = getattr(layout, key)
        if value is not None:
            options[key] = float(value)
    if layout.depot_aisle is not None:
        options["depot_aisle"] = float(layout.depot_aisle)
    return options


def warehouse_layout(warehouse: str, bins: Sequence[Bin], layout: Layout | None) -> dict[str, Any]:
    """The validated walking layout of `warehouse` (a `_core.PickLayout` dict)."""
    points = [b.point for b in bins if b.placed]
    try:
        return _core.layout_from_bins(points, **layout_options(layout))
    except _core.InvalidInput as exc:
        raise invalid_layout(warehouse, exc.field, str(exc)) from None


def invalid_layout(warehouse: str, layout_field: str, message: str) -> ProblemError:
    return ProblemError(
        422,
        "invalid-warehouse-layout",
        "Invalid warehouse layout",
        f"The walking layout of warehouse {warehouse!r} is not usable: {message}",
        field="warehouse",
        layout_field=layout_field,
    )
