"""Channel bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from reservoir.lib.bounds import QUANTITY_MAX

BufferUnits = Annotated[int, msgspec.Meta(ge=0, le=QUANTITY_MAX)]
BufferPercent = Annotated[int, msgspec.Meta(ge=0, le=100)]


class ChannelIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    # units of every SKU withheld from this channel's holds: a number of units, or a percent
    # of what is on hand where the channel sells (rounded up); at most one of the two
    safety_buffer: BufferUnits | None = None
    safety_buffer_percent: BufferPercent | None = None
    # the locations it may sell from, each with everything inside it; absent: everywhere
    locations: list[str] | None = None


class Channel(msgspec.Struct, omit_defaults=True):
    code: str
    created_at: datetime
    updated_at: datetime
    name: str | None = None
    safety_buffer: int | None = None
    safety_buffer_percent: int | None = None
    locations: list[str] | None = None
