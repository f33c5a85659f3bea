"""Pick-list limits. (The cart capacity is a setting: RESERVOIR_PICK_CART_UNITS_MAX.)"""

from __future__ import annotations

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
