"""Pick-list limits and the cart capacity setting."""

from __future__ import annotations

import os
from collections.abc import Mapping

# Most reservations a request may name.
RESERVATIONS_PER_REQUEST_MAX = 100
# Largest `max_orders` (orders batched into one list).
ORDERS_PER_LIST_MAX = 50
# Orders considered, oldest first, when batching: the oldest and its best partners among
# them; `max_orders` x this many, at most the core's cost bound below (one route per pair).
BATCH_CANDIDATES_PER_ORDER = 8
BATCH_CANDIDATES_MAX = 100
# Committed reservations scanned (oldest first) looking for unallocated units.
CANDIDATE_SCAN_ROWS_MAX = 5_000
CANDIDATE_PAGE_ROWS = 200
# Lists of more stops than this are routed off the event loop (the core releases the GIL).
ROUTE_INLINE_STOPS_MAX = 64

CART_UNITS_MAX_ENV = "RESERVOIR_PICK_CART_UNITS_MAX"
CART_UNITS_MAX_DEFAULT = 100
CART_UNITS_LIMIT = 1_000_000


class CartSettingError(ValueError):
    """`RESERVOIR_PICK_CART_UNITS_MAX` does not parse or is out of range."""


def cart_units_max(environ: Mapping[str, str] | None = None) -> int:
    """Units one cart carries when orders are batched (`RESERVOIR_PICK_CART_UNITS_MAX`,
    default 100, 1..1,000,000). An order larger than a cart is picked on its own list."""
    raw = (os.environ if environ is None else environ).get(CART_UNITS_MAX_ENV, "").strip()
    if not raw:
        return CART_UNITS_MAX_DEFAULT
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise CartSettingError(f"{CART_UNITS_MAX_ENV}={raw!r}: expected an integer") from None
    if not 1 <= value <= CART_UNITS_LIMIT:
        raise CartSettingError(f"{CART_UNITS_MAX_ENV}={value}: must be 1..{CART_UNITS_LIMIT}")
    return value
