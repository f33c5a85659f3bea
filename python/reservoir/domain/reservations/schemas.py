"""Request and response bodies of `/v1/reservations`."""

from __future__ import annotations

import msgspec

from reservoir.lib.bounds import Quantity, TtlSeconds


class LineIn(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    quantity: Quantity
    location: str | None = None


class ReserveIn(msgspec.Struct, forbid_unknown_fields=True):
    lines: list[LineIn]
    ttl_seconds: TtlSeconds | None = None
    channel: str | None = None
    reference: str | None = None
    # whose units these are (an opaque id: a hashed customer or device id); counted toward
    # the per-buyer cap of each SKU over all of the buyer's reservations
    buyer: str | None = None
    # refused for lack of stock: the buyer joins the SKU's waitlist instead (one SKU, no
    # location, a buyer); the 409 carries the entry
    waitlist: bool = False


class CommitIn(msgspec.Struct, forbid_unknown_fields=True):
    reference: str | None = None


class ExtendIn(msgspec.Struct, forbid_unknown_fields=True):
    ttl_seconds: TtlSeconds


class LineOut(msgspec.Struct):
    sku: str
    quantity: int
    location: str


class ReservationOut(msgspec.Struct, omit_defaults=True):
    id: str
    status: str
    lines: list[LineOut]
    expires_at: str
    created_at: str
    channel: str | None = None
    reference: str | None = None
    buyer: str | None = None
