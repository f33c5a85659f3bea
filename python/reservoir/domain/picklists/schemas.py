"""Request and response bodies of `/v1/picklists`."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from reservoir.domain.picklists.limits import ORDERS_PER_LIST_MAX
from reservoir.lib.bounds import PickedQuantity, Seq

Strategy = Literal["optimal", "largest-gap", "s-shape", "location-order", "combined"]


class PickListIn(msgspec.Struct, forbid_unknown_fields=True):
    warehouse: str
    reservations: list[str] | None = None
    max_orders: Annotated[int, msgspec.Meta(ge=1, le=ORDERS_PER_LIST_MAX)] | None = None
    strategy: Strategy = "optimal"


class ClaimIn(msgspec.Struct, forbid_unknown_fields=True):
    warehouse: str


class PickIn(msgspec.Struct, forbid_unknown_fields=True):
    seq: Seq
    quantity: PickedQuantity


class ConfirmIn(msgspec.Struct, forbid_unknown_fields=True):
    picks: list[PickIn]


class StopOut(msgspec.Struct, omit_defaults=True):
    seq: int
    location: str
    sku: str
    quantity: int
    reservation_id: str
    picked: int | None = None  # set once the list is confirmed
    lot: str | None = None  # the lot to pick (absent: units in no lot)
    expires_on: str | None = None  # the lot's expiry date


class DiscrepancyOut(msgspec.Struct):
    seq: int
    reservation_id: str
    sku: str
    location: str
    expected: int
    picked: int
    recorded_at: str
    # where the shortfall is now committed (a bin with units to spare), None if no bin had
    # enough: then it stays committed here, reported, for a count and a later list
    reallocated_to: str | None = None
    lot: str | None = None  # the lot the stop was to pick


class ReservationStatusOut(msgspec.Struct):
    id: str
    status: str


class PickListOut(msgspec.Struct, omit_defaults=True):
    id: str
    warehouse: str
    strategy: str
    status: str  # open | claimed | confirmed
    distance: float  # walking distance of the route, metres (depot -> stops -> depot)
    created_at: str
    stops: list[StopOut]
    claimed_by: str | None = None
    claimed_at: str | None = None
    confirmed_at: str | None = None
    discrepancies: list[DiscrepancyOut] | None = None
    reservations: list[ReservationStatusOut] | None = None  # confirm: each one's status after
