"""The bounds of every integer the API accepts, as msgspec-annotated types for the bodies.

msgspec checks them while decoding (in C, nearly free), so an integer out of range never
reaches the core, PostgreSQL or arithmetic; the one exception handler answers it as 422
`invalid-input` naming the field (a wrong type stays 400). The bounds also appear in the
OpenAPI document as `minimum` / `maximum`.

These are the hard ceilings. The configured limits (RESERVOIR_QUANTITY_PER_LINE_MAX,
RESERVOIR_TTL_SECONDS_MAX) are checked after decoding, and may not be set above them.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

# Units on one line, receipt, return or transfer, and |delta|: the core stores them as u32.
QUANTITY_MAX = 4_294_967_295
# Longest hold a request may ask for (a year); RESERVOIR_TTL_SECONDS_MAX is at most this.
TTL_SECONDS_MAX = 31_536_000
# aisle / position / level of a bin, and the layout numbers of a warehouse.
GRID_MAX = 1_000_000
# Sequence numbers (a pick list's stops): PostgreSQL `integer`.
SEQ_MAX = 2_147_483_647

Quantity = Annotated[int, msgspec.Meta(ge=1, le=QUANTITY_MAX)]
PerBuyerMax = Annotated[int, msgspec.Meta(ge=1, le=QUANTITY_MAX)]
PickedQuantity = Annotated[int, msgspec.Meta(ge=0, le=QUANTITY_MAX)]
Delta = Annotated[int, msgspec.Meta(ge=-QUANTITY_MAX, le=QUANTITY_MAX)]
TtlSeconds = Annotated[int, msgspec.Meta(ge=1, le=TTL_SECONDS_MAX)]
GridNumber = Annotated[int, msgspec.Meta(ge=0, le=GRID_MAX)]
Seq = Annotated[int, msgspec.Meta(ge=1, le=SEQ_MAX)]
