"""Catalogue bodies (msgspec Structs). Inputs reject unknown fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from reservoir.lib.bounds import GridNumber, PerBuyerMax

LocationKind = Literal["warehouse", "zone", "aisle", "rack", "bin", "quarantine"]


class ItemIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    product: str | None = None
    attributes: dict[str, Any] | None = None
    # the most units one buyer may take (held, committed and shipped, over all of their
    # reservations); absent: no cap
    per_buyer_max: PerBuyerMax | None = None


class Item(msgspec.Struct):
    sku: str
    name: str
    product: str | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    per_buyer_max: int | None = None


class Layout(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A warehouse's walking layout; everything optional (defaults: one block sized from bins)."""

    middle_cross_aisles: list[GridNumber] | None = None  # bin positions where a cross aisle runs
    aisle_width_m: float | None = None
    cross_aisle_width_m: float | None = None
    bin_pitch_m: float | None = None
    depot_aisle: GridNumber | None = None


class LocationIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: LocationKind
    name: str | None = None
    parent: str | None = None
    sellable: bool = True
    aisle: GridNumber | None = None
    position: GridNumber | None = None
    level: GridNumber | None = None
    layout: Layout | None = None


class Location(msgspec.Struct):
    code: str
    name: str | None
    parent: str | None
    kind: LocationKind
    sellable: bool
    aisle: int | None
    position: int | None
    level: int | None
    layout: Layout | None
    created_at: datetime
    updated_at: datetime
