"""Pick lists (docs/api.md "Pick lists"; role warehouse): what a picker walks to ship orders.

Creating a list takes committed reservations, oldest first (or the ones named), and claims
their committed units at placed bins of one warehouse: one *stop* per reservation, SKU and
bin. A stop's units are *allocated* to the list (table `pick_allocations`) until the list is
confirmed, so the same units are never in two open lists. Committed lines already name their
bin (the engine allocated bins at reserve time, oldest lot first where the SKU has lots,
otherwise the fullest bin: fewest stops): allocation picks no bin, it claims units, and at
each bin the lots they come from, oldest first (first to expire, then first received), less
what open lists already take of each lot; the bin's unlotted units last (`lots.py`). A
stop is one reservation's units of one SKU, bin and lot, and names the lot it picks.

A bin is on the pick grid when it has `aisle` >= 1 and `position` >= 1; units at other
locations of the warehouse are not put into pick lists (naming such a reservation is 422).
The walking layout is built from the warehouse's placed bins and its `layout` JSON (see
`layout.py`); stops are ordered by the chosen strategy (default `optimal`) in the Rust core.

Batch picking: `max_orders` > 1 groups the oldest order with others among the next oldest by
Clarke & Wright's savings (the core's `batch_orders`) within one cart: at most `max_orders`
orders and `RESERVOIR_PICK_CART_UNITS_MAX` units (default 100; a setting).

`next` claims the oldest open list of a warehouse (`FOR UPDATE SKIP LOCKED`). Confirming
ships the picked units of each stop's lot through the engine (`ship` ledger entries with the
lot: on_hand, committed and the lot go down; a reservation with nothing left is
`fulfilled`) and answers once they are durable.
A short pick is recorded in `pick_discrepancies`, and its shortfall goes back to be
allocated: the order's missing units are committed at the first sellable bin in the
engine's allocation order with enough to spare (never one that came up short in the same
confirmation; ledger `cancel` there, `reserve` + `commit` at the new bin), where a later
`POST /v1/picklists` finds them. When no bin has enough, the shortfall stays committed
where it was and is reported (`reallocated_to: null`), for a count and a later list, or a
release by the storefront.
"""
