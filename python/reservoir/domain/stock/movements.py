"""The answer of a stock movement at one level (a receipt, an adjustment, a return)."""

from __future__ import annotations

import msgspec

from reservoir import _core
from reservoir.domain.stock.schemas import MovementOut
from reservoir.domain.writes import transaction_id

encode = msgspec.json.Encoder().encode


def movement_body(
    lsn: int,
    level: _core.LevelRow,
    *,
    delta: int | None = None,
    lot: str | None = None,
    condition: str | None = None,
    reservation: str | None = None,
) -> bytes:
    """The level after the movement at `lsn`; an adjustment (`delta`) also says the units
    promised beyond what is on hand (`shortfall`)."""
    shortfall = None
    if delta is not None:
        shortfall = max(0, level.reserved + level.committed - level.on_hand)
    return encode(
        MovementOut(
            transaction_id=transaction_id(lsn),
            sku=level.sku,
            location=level.location,
            on_hand=level.on_hand,
            reserved=level.reserved,
            committed=level.committed,
            available=level.available,
            delta=delta,
            shortfall=shortfall,
            lot=lot,
            condition=condition,
            reservation=reservation,
        )
    )
