"""Bodies of `/v1/transfers`."""

from __future__ import annotations

from datetime import datetime

import msgspec

from reservoir.lib.bounds import Quantity


class TransitLineIn(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    quantity: Quantity
    lot: str | None = None


class TransitTransferIn(msgspec.Struct, forbid_unknown_fields=True):
    from_location: str = msgspec.field(name="from")
    to_location: str = msgspec.field(name="to")
    lines: list[TransitLineIn] = msgspec.field(default_factory=list)
    reference: str | None = None


class TransitArrivalIn(msgspec.Struct, forbid_unknown_fields=True):
    lines: list[TransitLineIn]


class TransitCloseIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


class TransferLine(msgspec.Struct, omit_defaults=True):
    line_no: int
    sku: str
    quantity: int
    shipped: int
    received: int
    lost: int
    in_transit: int  # shipped - received - lost
    lot: str | None = None


class Transfer(msgspec.Struct, omit_defaults=True):
    id: str
    from_location: str = msgspec.field(name="from")
    to_location: str = msgspec.field(name="to")
    # draft -> shipped -> partially_received -> received; closed when some never arrived
    status: str
    lines: list[TransferLine]
    created_at: datetime | None = None
    created_by: str | None = None
    reference: str | None = None
