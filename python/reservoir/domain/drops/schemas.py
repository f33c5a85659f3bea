"""Drop bodies."""

from __future__ import annotations

from datetime import datetime

import msgspec

from reservoir.lib.bounds import PerBuyerMax, Quantity


class PoolIn(msgspec.Struct, forbid_unknown_fields=True):
    channel: str
    units: Quantity


class DropIn(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    starts_at: datetime
    ends_at: datetime
    pools: list[PoolIn] = []
    per_buyer_max: PerBuyerMax | None = None
    spill_at: datetime | None = None  # when unsold pool units go back (default: ends_at)


class PoolOut(msgspec.Struct):
    channel: str
    units: int
    taken: int  # held, committed or shipped by the channel's holds while fenced
    unsold: int  # still fenced for it (0 once spilled)


class DropEvent(msgspec.Struct):
    event: str
    at: str
    pools: list[PoolOut]
    actor: str


class Drop(msgspec.Struct, omit_defaults=True):
    code: str
    sku: str
    starts_at: str
    ends_at: str
    spill_at: str
    phase: str  # not_started, fenced, spilled, ended
    pools: list[PoolOut]
    events: list[DropEvent]
    created_at: str
    updated_at: str
    per_buyer_max: int | None = None
