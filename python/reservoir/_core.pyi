"""Typed stub of the Rust core (`rust_core/py`). Checked against the extension by a test.

Time is always passed in (`now_ms`: milliseconds since the Unix epoch); the core never reads
a clock. SKUs and location codes cross as `str`, reservation ids as stable strings.
"""

from collections.abc import Sequence
from typing import Final, Literal, final

__version__: Final[str]

# --- errors: one tree, mapped from the core's single error enum ---------------------------

class ReservoirError(Exception):
    """Base of every error the core raises. `code` is a stable kebab-case name."""

    code: str

class InvalidInput(ReservoirError):
    """A field is out of range or malformed; `field` names it. Nothing changed."""

    field: str

class LimitExceeded(InvalidInput):
    """A configured limit (lines per reservation, open holds, …) would be exceeded."""

    limit: int

class UnknownSku(ReservoirError):
    sku: str

class UnknownLocation(ReservoirError):
    location: str

class InsufficientStock(ReservoirError):
    """Not enough available stock; nothing was reserved.

    `shortages` is a list of `(sku, requested, available)`.
    """

    shortages: list[tuple[str, int, int]]

class ReservationNotFound(ReservoirError):
    reservation_id: str

class InvalidState(ReservoirError):
    """The reservation is not in a state that allows the operation (`status` is its state)."""

    reservation_id: str
    status: str

class Backpressure(ReservoirError):
    """The undrained log is full: the writer is behind. Retry shortly (HTTP 503)."""

    pending: int

class UnknownChannel(ReservoirError):
    """The hold names a channel that is not defined (once any is); nothing was reserved."""

    channel: str

class DropNotStarted(ReservoirError):
    """The SKU is in a drop that has not started; nothing was reserved."""

    drop: str
    sku: str
    starts_at_ms: int

class BuyerLimit(ReservoirError):
    """The hold would take the buyer past the SKU's per-buyer cap; nothing was reserved.
    `current` is what the buyer has (held, committed and shipped units)."""

    sku: str
    buyer: str
    current: int
    requested: int
    per_buyer_max: int

class WaitlistEntryNotFound(ReservoirError):
    """No waiting waitlist entry with this number (offered, left or never made)."""

    entry: int

class AlreadyWaiting(ReservoirError):
    """The buyer already waits for this SKU, as `entry`; nothing was written."""

    sku: str
    buyer: str
    entry: int

class UnitsAvailable(ReservoirError):
    """Nobody waits for the SKU and `available` units are there to hold: reserve them."""

    sku: str
    available: int

# --- values -----------------------------------------------------------------------------------

@final
class Limits:
    lines_per_reservation_max: int
    quantity_per_line_max: int
    ttl_ms_max: int
    holds_max: int
    log_entries_max: int
    offer_ttl_ms: int
    waitlist_entries_max: int
    def __new__(
        cls,
        *,
        lines_per_reservation_max: int = 100,
        quantity_per_line_max: int = 1_000_000,
        ttl_ms_max: int = 86_400_000,
        holds_max: int = 10_000_000,
        log_entries_max: int = 1_000_000,
        offer_ttl_ms: int = 300_000,
        waitlist_entries_max: int = 1_000_000,
    ) -> Limits: ...

@final
class LevelRow:
    """A level as read. `available` is what a reservation may take there: 0 at a
    non-sellable location."""

    sku: str
    location: str
    on_hand: int
    reserved: int
    committed: int
    available: int
    sellable: bool

# An allocated line: (sku, location, quantity)
LineRow = tuple[str, str, int]

@final
class Reservation:
    """An open reservation as the engine holds it (held or committed)."""

    id: str
    status: str  # "held" | "committed" | "released" | "expired" | "fulfilled"
    expires_at_ms: int
    lines: list[LineRow]
    lsn: int  # the log entry that made this state; durable once the writer passed it

@final
class Outcome:
    """The result of commit / release / extend / ship on a reservation."""

    id: str
    status: str
    changed: bool  # False when the call was a no-op (already in that state)
    expires_at_ms: int
    lines: list[LineRow]
    lsn: int  # wait until this LSN is durable before answering

@final
class LogRow:
    """A drained log row, one per ledger line. A change that writes no ledger line
    (extend) appears only in `Batch.reservations`."""

    lsn: int
    at_ms: int
    # receipt, adjustment, reserve, commit, release, cancel, expire, ship, return,
    # transfer_out or transfer_in
    kind: str
    reservation_id: str | None
    sku: str
    location: str
    quantity: int
    # set on the `reserve` rows of a new hold (not on those of an order moving between
    # locations)
    expires_at_ms: int | None
    # set on the rows of a stock movement or a ship of units in a lot, with the lot's
    # expiry day (days count from 1970-01-01)
    lot: str | None
    lot_expires_on: int | None

# The lots at one level, oldest first (first to expire, then first received), then the
# unlotted units as (None, None, units) if any: (lot | None, expiry day | None, units)
LotRow = tuple[str | None, int | None, int]
# One lot's units at one level, or a change to them: (sku, location, lot, units)
LotLevelRow = tuple[str, str, str, int]
# A pick to ship: (sku, location, quantity) of unlotted units, or with the lot at the end
Pick = tuple[str, str, int] | tuple[str, str, int, str | None]
# Which lots a confirmation's picks ship: (per pick [(lot | None, units)], None), or
# ([], (index of a pick its bin cannot cover, units the bin has for it))
ShipLots = tuple[list[list[tuple[str | None, int]]], tuple[int, int] | None]

@final
class Batch:
    """What `Engine.drain` hands the writer: everything logged up to `last_lsn`."""

    first_lsn: int
    last_lsn: int
    rows: list[LogRow]
    # net change of every level the batch touched: (sku, location, d_on_hand, d_reserved,
    # d_committed); applied as increments so the table always equals SUM(ledger)
    level_deltas: list[tuple[str, str, int, int, int]]
    # final state of each reservation the batch touched: (reservation_id, status,
    # expires_at_ms when the batch created it or moved its expiry, else None)
    reservations: list[tuple[str, str, int | None]]
    # net change of every lot the batch touched (what `lot_levels` adds up)
    lot_deltas: list[LotLevelRow]
    # waitlist entries joined: (entry, lsn, at_ms, sku, quantity, buyer, channel)
    joins: list[tuple[int, int, int, str, int, str, str | None]]
    # holds offered to waitlist entries: (entry, reservation_id, at_ms)
    offers: list[tuple[int, str, int]]
    # entries that left their waitlist without an offer: (entry, at_ms, reason), reason
    # "cancelled" or "refused"
    leaves: list[tuple[int, int, str]]
    def __len__(self) -> int: ...

@final
class OpenLinesLoader:
    """Gathers open reservations' lines from a binary COPY of (seq int8, status text,
    expires_at timestamptz, line_no int8, sku text, location text, quantity int8)."""

    def __init__(self) -> None: ...
    def push(self, chunk: bytes | bytearray) -> None:
        """Decodes the lines `chunk` completes; a chunk may end anywhere (ValueError if the
        stream is malformed)."""
    def __len__(self) -> int: ...

@final
class Engine:
    def __new__(cls, limits: Limits | None = None) -> Engine: ...
    # catalogue
    def define_sku(self, sku: str) -> None: ...
    def define_location(self, code: str, sellable: bool = True) -> None: ...
    def has_sku(self, sku: str) -> bool: ...
    def has_location(self, code: str) -> bool: ...
    # stock movements (logged); `lot` names the lot the units are in (None: unlotted). Only
    # a receipt brings a new lot in; naming a lot never received is InvalidInput("lot").
    def receive(
        self,
        sku: str,
        location: str,
        quantity: int,
        now_ms: int,
        *,
        lot: str | None = None,
        expires_on: int | None = None,
    ) -> tuple[int, LevelRow]:
        """Returns (lsn, level after). `expires_on` (days since 1970-01-01) is a new lot's
        expiry; a known lot's may be repeated, not changed (InvalidInput("expires_on"))."""
    def adjust(
        self, sku: str, location: str, delta: int, now_ms: int, *, lot: str | None = None
    ) -> tuple[int, LevelRow]:
        """A negative delta takes units of `lot` (None: unlotted units), which must be there:
        InvalidInput("delta") for a lot short of them, InvalidInput("lot") when the unlotted
        units are too few and a lot must be named."""
    def return_units(
        self, sku: str, location: str, quantity: int, now_ms: int, *, lot: str | None = None
    ) -> tuple[int, LevelRow]:
        """Units a customer sent back, into `on_hand`. Returns (lsn, level after)."""
    def transfer(
        self,
        sku: str,
        from_location: str,
        to_location: str,
        quantity: int,
        now_ms: int,
        *,
        lot: str | None = None,
    ) -> tuple[int, LevelRow, LevelRow]:
        """Moves units nobody holds between two locations (transfer_out, transfer_in).
        More than `on_hand - reserved - committed` at the source: InsufficientStock; more
        than `lot` has there: InvalidInput. Returns (lsn, source level after, destination
        level after)."""
    # reservations (logged)
    def reserve(
        self,
        lines: list[tuple[str, int, str | None]],
        ttl_ms: int,
        now_ms: int,
        *,
        channel: str | None = None,
        buyer: str | None = None,
    ) -> Reservation:
        """Holds all lines or none. Lines naming a location are served first, there; a line
        without one is allocated over the SKU's sellable locations in `allocation_order`,
        splitting the line if needed. With a `buyer`, the units count toward the buyer's
        total per SKU, and a hold past a SKU's per-buyer cap raises BuyerLimit. For a defined
        `channel`, units come only from its locations and its safety buffer is left
        (InsufficientStock); an undefined one, once any is defined, is UnknownChannel.
        """
    def define_channel(
        self,
        code: str,
        *,
        safety_buffer_units: int | None = None,
        safety_buffer_percent: int | None = None,
        locations: list[str] | None = None,
    ) -> None:
        """Defines or replaces a sales channel (not logged: the `channels` table is its
        record). At most one of the two buffers; locations must be defined."""
    def available_to_channel(self, sku: str, channel: str, now_ms: int) -> int:
        """What the channel's holds may take of `sku`: available at its sellable locations,
        less its safety buffer; while the SKU's drop fences pools, available less the other
        channels' unsold pools."""
    def define_drop(
        self,
        code: str,
        sku: str,
        starts_at_ms: int,
        ends_at_ms: int,
        *,
        spill_at_ms: int | None = None,
        per_buyer_max: int | None = None,
        pools: list[tuple[str, int]] = ...,
        mode: Literal["define", "check", "load"] = "define",
    ) -> None:
        """Defines or replaces a drop (not logged: the `drops` table is its record). Pools
        over the SKU's sellable on-hand units are refused, except in mode `load` (recovery);
        mode `check` defines nothing."""
    def drop_state(
        self, code: str, now_ms: int
    ) -> tuple[str, list[tuple[str, int, int, int]]] | None:
        """A drop at `now_ms`: its phase (not_started, fenced, spilled, ended) and its pools
        as (channel, units, taken, unsold), or None for an unknown drop."""
    def available_to_hold(self, sku: str, channel: str | None, now_ms: int) -> int:
        """What a hold for `channel` (or none) may take of `sku` now, drop pools counted."""
    def load_pool_taken(self, drop: str, channel: str, taken: int) -> None: ...
    def load_hold_pool(self, reservation_id: str, sku: str, channel: str) -> None:
        """Recovery: an open hold took from the SKU's drop pool of `channel`."""
    def set_location_parent(self, code: str, parent: str | None) -> None:
        """The location `code` is inside (a channel selling from a place sells from what is
        inside it)."""
    def set_per_buyer_max(self, sku: str, per_buyer_max: int | None) -> None:
        """The most units of `sku` one buyer may take (held, committed and shipped); None
        lifts it. Not logged: the catalogue (`items.per_buyer_max`) is its record."""
    def buyer_units(self, buyer: str, sku: str) -> int:
        """Units of `sku` the buyer has: held, committed and shipped."""
    # inbound: receipts of several lines, transfers in transit, write-offs, units on the way
    def receive_lines(
        self, lines: Sequence[tuple[str, str, int, str | None, int | None]], now_ms: int
    ) -> list[tuple[int, LevelRow]]:
        """Receives every line or none: (sku, location, quantity, lot, expires_on as a day
        number); each line's (lsn, level after). A field at fault is `lines[i].<field>`."""
    def ship_transit(
        self, lines: Sequence[tuple[str, str, str, int, str | None]], now_ms: int
    ) -> list[int]:
        """Ships (sku, from, to, quantity, lot) lines, all or none: the units leave `from`
        (only units nobody holds: InsufficientStock) and are in transit to `to`. The LSNs."""
    def arrive_transit(
        self, lines: Sequence[tuple[str, str, int, str | None]], now_ms: int
    ) -> list[int]:
        """(sku, to, quantity, lot) units that arrived: out of transit, into on_hand."""
    def lose_transit(
        self, lines: Sequence[tuple[str, str, int, str | None]], now_ms: int
    ) -> list[int]:
        """(sku, to, quantity, lot) units that never arrived: out of transit."""
    def write_off(
        self, sku: str, location: str, quantity: int, now_ms: int, *, lot: str | None = None
    ) -> tuple[int, LevelRow]:
        """Returned units written off: a `write_off` entry; no level moves."""
    def set_incoming(self, sku: str, location: str, units: int) -> None:
        """What open purchase orders still bring of `sku` to `location` (not logged)."""
    def clear_incoming(self, sku: str) -> None: ...
    def load_in_transit(self, sku: str, location: str, units: int) -> None:
        """Recovery: units in transit to `location` (the ledger's fold)."""
    def inbound(self, sku: str) -> list[tuple[str, bool, int, int]]:
        """Units on their way: (location, sellable, incoming, in_transit), by location."""
    # waitlists
    def join_waitlist(
        self, sku: str, quantity: int, now_ms: int, *, buyer: str, channel: str | None = None
    ) -> tuple[int, int, int]:
        """Puts `buyer` on `sku`'s waitlist behind everyone waiting: (entry, lsn, position).
        Units that come back are offered to the oldest entries as holds lasting
        `Limits.offer_ttl_ms`."""
    def leave_waitlist(self, entry: int, now_ms: int) -> int:
        """Takes a waiting entry off its list; returns the LSN to answer at."""
    def serve_waitlists(self, now_ms: int) -> int:
        """Offers what time alone made holdable (a drop's start or spill); returns how many
        offers were made."""
    def waitlist_entry(self, entry: int) -> tuple[str, int, str, str | None, int] | None:
        """A waiting entry: (sku, quantity, buyer, channel, position), or None."""
    def waitlist(self, sku: str, limit: int = 100) -> list[tuple[int, int, str, str | None]]:
        """Up to `limit` entries waiting for `sku`, oldest first: (entry, quantity, buyer,
        channel)."""
    def waitlisted_units(self, sku: str) -> int:
        """Units the entries waiting for `sku` ask for."""
    def waiting_count(self) -> int: ...
    def load_waitlist_entry(
        self, entry: int, sku: str, quantity: int, buyer: str, channel: str | None = None
    ) -> None:
        """Recovery: an entry still waiting (entries in id order)."""
    def set_next_waitlist_entry(self, entry: int) -> None: ...
    def commit(self, reservation_id: str, now_ms: int) -> Outcome: ...
    def release(self, reservation_id: str, now_ms: int) -> Outcome: ...
    def extend(self, reservation_id: str, ttl_ms: int, now_ms: int) -> Outcome: ...
    def ship(self, reservation_id: str, picks: Sequence[Pick], now_ms: int) -> Outcome:
        """Ships picked (sku, location, quantity[, lot]) of a committed reservation: the units
        leave `on_hand` and `committed` (and their lot). A short pick leaves the rest
        committed; shipping everything makes it `fulfilled`."""
    def reallocate(
        self,
        reservation_id: str,
        sku: str,
        from_location: str,
        to_location: str | None,
        quantity: int,
        now_ms: int,
    ) -> Outcome:
        """Moves committed units of an order from one location to another with units to
        spare (None: the first other one in `allocation_order`); else InsufficientStock."""
    def reallocate_spare(
        self,
        reservation_id: str,
        sku: str,
        from_location: str,
        exclude: list[str],
        quantity: int,
        now_ms: int,
    ) -> tuple[str, Outcome] | None:
        """Moves a short pick's missing committed units to the first location in
        `allocation_order` with `quantity` to spare, never `from_location` nor one in
        `exclude` (where the same confirmation came up short): (that location, outcome).
        None when no location has enough; then nothing moves and nothing else is checked.
        Otherwise as `reallocate` to that location."""
    def lots_to_pick(
        self, stops: list[tuple[str, str, int]], taken: list[LotLevelRow]
    ) -> list[list[tuple[str | None, int]]]:
        """Which lots pick-list stops (sku, location, quantity), in route order, take; changes
        nothing. At its bin a stop takes the oldest lots first (first to expire, then first
        received), less what `taken` says open lists take of each lot and what the stops
        before it took, then unlotted units (None) for the rest, there or not. Per stop
        [(lot | None, units)]; a stop of no units takes nothing."""
    def lots_to_ship(self, picks: list[Pick]) -> ShipLots:
        """Which lots a confirmation's picks (sku, location, quantity[, lot]) ship, before
        anything ships; changes nothing. Every pick first takes its own lot (None: unlotted
        units), across all the picks; where that lot has since left the bin, the rest comes
        from what the bin still has, oldest lot first, then unlotted. Returns (per pick
        [(lot | None, units)], None), or ([], (pick index, units its bin has for it)) when a
        pick asks for more than its bin holds."""
    def expire_due(self, now_ms: int, max_count: int = 100_000) -> int:
        """Expires holds due at `now_ms` (O(due)); returns how many."""
    def get(self, reservation_id: str) -> Reservation | None:
        """An open reservation, or a recently finished one not yet pruned; else None."""
    # reads
    def levels(self, sku: str) -> list[LevelRow]: ...
    def all_levels(self) -> list[LevelRow]: ...
    def lots(self, sku: str, location: str) -> list[LotRow]: ...
    def all_lots(self) -> list[LotLevelRow]: ...
    def allocation_order(self, sku: str) -> list[tuple[str, int]]:
        """(location, available) for the sellable locations with units available, in the order
        a line without a location takes them: oldest unpromised lot first where the SKU has
        lots, then most available (fewest stops), then location code."""
    def open_holds(self) -> int: ...
    def next_expiry_ms(self) -> int | None: ...
    # the log
    @property
    def last_lsn(self) -> int: ...
    def pending(self) -> int: ...
    def drain(self, rows_max: int) -> Batch: ...
    def pending_level_deltas(self) -> list[tuple[str, str, int, int, int]]:
        """What the undrained log adds to the ledger's levels (same shape as
        `Batch.level_deltas`): the ledger plus this equals the engine."""
    def pending_lot_deltas(self) -> list[LotLevelRow]:
        """What the undrained log adds to the ledger's lots, per (sku, location, lot)."""
    def prune_finished(self, upto_lsn: int) -> None:
        """Forgets finished reservations whose final entry is durable (<= upto_lsn)."""
    # recovery (not logged)
    def load_level(
        self, sku: str, location: str, on_hand: int, reserved: int, committed: int
    ) -> None: ...
    def load_lot(self, sku: str, lot: str, expires_on: int | None, first_lsn: int) -> None:
        """Defines a lot as the ledger knows it (its age: expiry day, then first receipt)."""
    def load_lot_units(self, sku: str, location: str, lot: str, units: int) -> None: ...
    def load_buyer_units(self, buyer: str, sku: str, units: int) -> None:
        """What a buyer has of a SKU, from the ledger; before `load_open_lines`."""
    def load_open_lines(self, loader: OpenLinesLoader) -> int:
        """Loads the open reservations the loader gathered, all or none; returns how many."""
    def set_lsn(self, lsn: int) -> None: ...
    def set_next_reservation_seq(self, seq: int) -> None: ...

def reservation_seq(reservation_id: str) -> int:
    """The numeric sequence inside a reservation id (a malformed id names no reservation:
    ReservationNotFound)."""

# --- pick paths: routing over a warehouse's walking layout (rust_core/py/src/pickpath.rs) --
# Errors: InvalidInput (LimitExceeded for too many stops or orders) with `field` naming the
# layout key (`layout.middle_cross_aisles[0]`), the point (`picks[3]`, `bins[0].aisle`),
# `strategy` or `orders`. Routing and batching release the GIL.

# A pick point or bin on the grid: (aisle, position, level); aisles and positions from 1.
PickRow = tuple[int, int, int]
# A layout as `layout_from_bins` returns it. Keys: aisles, positions_per_aisle (int, required),
# aisle_width_m, cross_aisle_width_m, bin_pitch_m (float metres), middle_cross_aisles
# (list[int]: positions after which a cross aisle runs), depot_aisle (float aisle coordinate
# on the front cross aisle). Missing optional keys take the core's defaults.
PickLayout = dict[str, int | float | list[int]]
# One cart load from `batch_orders`: (order_ids, units, stops as (order_id, index into that
# order's picks) in visiting order, distance_m)
PickBatch = tuple[list[int], int, list[tuple[int, int]], float]

def layout_from_bins(
    bins: list[PickRow],
    *,
    aisles: int | None = None,
    positions_per_aisle: int | None = None,
    aisle_width_m: float | None = None,
    cross_aisle_width_m: float | None = None,
    bin_pitch_m: float | None = None,
    middle_cross_aisles: list[int] | None = None,
    depot_aisle: float | None = None,
) -> PickLayout:
    """The walking layout of a warehouse: one block sized from its bins (front and back cross
    aisles, default widths, depot in front of aisle 1), each keyword overriding; validated."""

def route_picks(layout: PickLayout, picks: list[PickRow], strategy: str) -> tuple[list[int], float]:
    """(pick indices in visiting order, walking distance in metres depot -> picks -> depot).
    `strategy`: "optimal" | "largest-gap" | "s-shape" | "location-order" | "combined".
    Stops sharing a bin are consecutive."""

def batch_orders(
    layout: PickLayout,
    orders: list[tuple[int, int, list[PickRow]]],
    strategy: str,
    *,
    units_max: int,
    orders_max: int,
) -> tuple[list[PickBatch], float, float]:
    """Groups (order_id, units, picks) into cart loads (at most `units_max` units and
    `orders_max` orders each) by Clarke & Wright's savings, routing each load with `strategy`.
    Returns (batches, total metres, total metres picking every order alone)."""

def distance_matrix(layout: PickLayout, picks: list[PickRow]) -> list[list[float]]:
    """Walking distances in metres; index 0 is the depot, index i + 1 is picks[i]."""
