"""Bodies of `/v1/stock/*`. `lot` names the lot the units are in (absent: unlotted units);
only a receipt brings a new lot in, with its `expires_on`."""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

from reservoir.lib.bounds import Delta, Quantity


class ReceiptIn(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    location: str
    quantity: Quantity
    reference: str | None = None
    lot: str | None = None
    expires_on: date | None = None


class AdjustmentIn(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    location: str
    delta: Delta
    reason: str
    lot: str | None = None


class ReturnIn(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    location: str
    quantity: Quantity
    reference: str | None = None
    reason: str | None = None
    lot: str | None = None
    # resellable: into on_hand at `location` (sellable stock); damaged: into the quarantine of
    # the location's warehouse (not sellable); write_off: recorded, never in stock
    condition: Literal["resellable", "damaged", "write_off"] = "resellable"
    # the order the units come back from: at most what it shipped may come back
    reservation: str | None = None


class TransferIn(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    quantity: Quantity
    from_location: str = msgspec.field(name="from")
    to_location: str = msgspec.field(name="to")
    reference: str | None = None
    lot: str | None = None


class LevelOut(msgspec.Struct):
    location: str
    on_hand: int
    reserved: int
    committed: int
    available: int


class TransferOut(msgspec.Struct, omit_defaults=True):
    transaction_id: str
    sku: str
    quantity: int
    from_location: LevelOut = msgspec.field(name="from")
    to_location: LevelOut = msgspec.field(name="to")
    lot: str | None = None


class MovementOut(msgspec.Struct, omit_defaults=True):
    transaction_id: str
    sku: str
    location: str
    on_hand: int
    reserved: int
    committed: int
    available: int
    delta: int | None = None
    shortfall: int | None = None
    lot: str | None = None
    condition: str | None = None  # a return's
    reservation: str | None = None  # the order a return comes from
