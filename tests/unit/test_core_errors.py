"""Bad input to `reservoir._core.Engine` raises the right exception and changes nothing.

"Nothing" is checked on what a caller can see: `all_levels()`, `pending()`, `last_lsn`,
`open_holds()`, `next_expiry_ms()` and the reservations already there, before and after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.unit.core_rows import level_tuples
from tests.unit.pg_copy import open_lines_stream

from reservoir import _core

NOW = 1_700_000_000_000
TTL = 60_000

ERRORS = [
    _core.ReservoirError,
    _core.InvalidInput,
    _core.LimitExceeded,
    _core.UnknownSku,
    _core.UnknownLocation,
    _core.InsufficientStock,
    _core.ReservationNotFound,
    _core.InvalidState,
    _core.Backpressure,
]


class World:
    """An engine with stock and one reservation in each state."""

    def __init__(self, limits: _core.Limits | None = None) -> None:
        self.engine = e = _core.Engine(limits)
        for code, sellable in (("L0", True), ("L1", True), ("QC", False)):
            e.define_location(code, sellable)
        for sku in ("S0", "S1"):
            e.define_sku(sku)
        e.receive("S0", "L0", 10, NOW)
        e.receive("S0", "L1", 4, NOW)
        e.receive("S0", "QC", 50, NOW)
        e.receive("S1", "L0", 3, NOW)
        self.held = e.reserve([("S0", 2, None)], TTL, NOW).id
        self.committed = e.reserve([("S0", 1, "L1"), ("S1", 1, None)], TTL, NOW).id
        e.commit(self.committed, NOW)
        self.released = e.reserve([("S0", 1, None)], TTL, NOW).id
        e.release(self.released, NOW)
        self.expired = e.reserve([("S1", 1, "L0")], 10, NOW).id
        assert e.expire_due(NOW + 10) == 1
        self.ids = (self.held, self.committed, self.released, self.expired)

    def snapshot(self) -> tuple:
        e = self.engine
        reservations = []
        for rid in self.ids:
            r = e.get(rid)
            reservations.append((r.id, r.status, r.expires_at_ms, r.lines, r.lsn))
        return (
            level_tuples(e.all_levels()),
            e.pending(),
            e.last_lsn,
            e.open_holds(),
            e.next_expiry_ms(),
            reservations,
        )

    def refuses(
        self, error: type[BaseException], call: Callable[..., Any], *args: Any
    ) -> BaseException:
        """Calls `call(*args)`, expects exactly `error`, and that nothing changed."""
        before = self.snapshot()
        with pytest.raises(error) as info:
            call(*args)
        assert type(info.value) is error, f"{type(info.value).__name__} is not {error.__name__}"
        assert self.snapshot() == before
        return info.value


@pytest.fixture
def world() -> Iterator[World]:
    yield World()


# --- quantities, lines, ttl ---------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, -1, -(2**63), 1_000_001])
def test_a_bad_quantity_is_invalid_input_naming_the_line(world: World, quantity: int) -> None:
    e = world.engine
    err = world.refuses(_core.InvalidInput, e.reserve, [("S0", quantity, None)], TTL, NOW)
    assert (err.code, err.field) == ("invalid-input", "lines[0].quantity")
    err = world.refuses(
        _core.InvalidInput, e.reserve, [("S0", 1, None), ("S1", quantity, "L0")], TTL, NOW
    )
    assert err.field == "lines[1].quantity"


def test_a_quantity_too_large_for_the_binding_changes_nothing(world: World) -> None:
    # Out of i64 range: refused at the conversion (OverflowError) or by the engine.
    before = world.snapshot()
    for quantity in (2**63, 2**64):
        with pytest.raises((OverflowError, _core.InvalidInput)):
            world.engine.reserve([("S0", quantity, None)], TTL, NOW)
    assert world.snapshot() == before


def test_empty_lines_are_invalid_input(world: World) -> None:
    err = world.refuses(_core.InvalidInput, world.engine.reserve, [], TTL, NOW)
    assert (err.code, err.field) == ("invalid-input", "lines")


def test_too_many_lines_is_limit_exceeded() -> None:
    world = World(_core.Limits(lines_per_reservation_max=3))
    lines = [("S0", 1, None)] * 4
    err = world.refuses(_core.LimitExceeded, world.engine.reserve, lines, TTL, NOW)
    assert (err.code, err.field, err.limit) == ("limit-exceeded", "lines", 3)
    assert isinstance(err, _core.InvalidInput)
    assert world.engine.reserve(lines[:3], TTL, NOW).status == "held"


def test_too_many_lines_at_the_default_limit(world: World) -> None:
    lines = [("S0", 1, None)] * 101
    err = world.refuses(_core.LimitExceeded, world.engine.reserve, lines, TTL, NOW)
    assert (err.field, err.limit) == ("lines", 100)


def test_too_many_open_holds_is_limit_exceeded() -> None:
    world = World(_core.Limits(holds_max=3))  # held + committed open; finished ones do not count
    e = world.engine
    extra = e.reserve([("S0", 1, None)], TTL, NOW).id
    err = world.refuses(_core.LimitExceeded, e.reserve, [("S0", 1, None)], TTL, NOW)
    assert (err.code, err.field, err.limit) == ("limit-exceeded", "holds", 3)
    e.release(extra, NOW)
    assert e.reserve([("S0", 1, None)], TTL, NOW).status == "held"


@pytest.mark.parametrize("ttl", [0, -1, 86_400_001])
def test_a_bad_ttl_is_invalid_input(world: World, ttl: int) -> None:
    e = world.engine
    err = world.refuses(_core.InvalidInput, e.reserve, [("S0", 1, None)], ttl, NOW)
    assert err.field == "ttl_ms"
    err = world.refuses(_core.InvalidInput, e.extend, world.held, ttl, NOW)
    assert err.field == "ttl_ms"


def test_the_ttl_limit_itself_is_accepted_and_configurable(world: World) -> None:
    assert world.engine.reserve([("S0", 1, None)], 86_400_000, NOW).expires_at_ms == (
        NOW + 86_400_000
    )
    small = _core.Engine(_core.Limits(ttl_ms_max=1_000))
    small.define_sku("S0")
    small.define_location("L0")
    small.receive("S0", "L0", 5, NOW)
    with pytest.raises(_core.InvalidInput) as info:
        small.reserve([("S0", 1, None)], 1_001, NOW)
    assert info.value.field == "ttl_ms"
    assert small.reserve([("S0", 1, None)], 1_000, NOW).expires_at_ms == NOW + 1_000


def test_quantities_above_u32_are_held_in_full_or_refused_by_limits() -> None:
    """A configured `quantity_per_line_max` above 2**32 - 1 must not truncate a line."""
    quantity = 2**32 + 1
    try:
        limits = _core.Limits(quantity_per_line_max=2**33)
    except (ValueError, OverflowError, _core.InvalidInput):
        return  # refusing such a limit is a fine answer
    e = _core.Engine(limits)
    e.define_sku("S")
    e.define_location("L")
    e.receive("S", "L", quantity + 5, NOW)
    r = e.reserve([("S", quantity, None)], TTL, NOW)
    assert r.lines == [("S", "L", quantity)]
    assert level_tuples(e.levels("S")) == [("S", "L", quantity + 5, quantity, 0, 5, True)]


# --- catalogue ---------------------------------------------------------------------------


def test_an_unknown_sku_is_unknown_sku(world: World) -> None:
    e = world.engine
    err = world.refuses(_core.UnknownSku, e.reserve, [("NOPE", 1, None)], TTL, NOW)
    assert (err.code, err.sku) == ("unknown-sku", "NOPE")
    # all or none: a good first line is not held either
    err = world.refuses(_core.UnknownSku, e.reserve, [("S0", 1, None), ("NOPE", 1, None)], TTL, NOW)
    assert err.sku == "NOPE"
    assert world.refuses(_core.UnknownSku, e.receive, "NOPE", "L0", 1, NOW).sku == "NOPE"
    assert world.refuses(_core.UnknownSku, e.adjust, "NOPE", "L0", 1, NOW).sku == "NOPE"
    assert world.refuses(_core.UnknownSku, e.levels, "NOPE").sku == "NOPE"


def test_an_unknown_location_is_unknown_location(world: World) -> None:
    e = world.engine
    err = world.refuses(_core.UnknownLocation, e.reserve, [("S0", 1, "NOWHERE")], TTL, NOW)
    assert (err.code, err.location) == ("unknown-location", "NOWHERE")
    err = world.refuses(_core.UnknownLocation, e.receive, "S0", "NOWHERE", 1, NOW)
    assert err.location == "NOWHERE"
    err = world.refuses(_core.UnknownLocation, e.adjust, "S0", "NOWHERE", -1, NOW)
    assert err.location == "NOWHERE"


@pytest.mark.parametrize("code", ["", "has space", "x" * 65, "é", "a;b"])
def test_a_malformed_code_is_invalid_input(world: World, code: str) -> None:
    e = world.engine
    assert world.refuses(_core.InvalidInput, e.define_sku, code).field == "sku"
    assert world.refuses(_core.InvalidInput, e.define_location, code).field == "location"
    assert not e.has_sku(code) and not e.has_location(code)


def test_bad_receipts_and_adjustments_are_invalid_input(world: World) -> None:
    e = world.engine
    assert world.refuses(_core.InvalidInput, e.receive, "S0", "L0", 0, NOW).field == "quantity"
    assert world.refuses(_core.InvalidInput, e.receive, "S0", "L0", -3, NOW).field == "quantity"
    assert world.refuses(_core.InvalidInput, e.adjust, "S0", "L0", 0, NOW).field == "delta"
    # on_hand may not go below zero (L1 holds 4)
    assert world.refuses(_core.InvalidInput, e.adjust, "S0", "L1", -5, NOW).field == "delta"
    assert world.refuses(_core.InvalidInput, e.adjust, "S1", "L1", -1, NOW).field == "delta"


# --- stock -------------------------------------------------------------------------------


def test_insufficient_stock_names_the_shortages(world: World) -> None:
    e = world.engine
    # S0: L0 10 - 2 held = 8, L1 4 - 1 committed = 3, QC not sellable.
    err = world.refuses(_core.InsufficientStock, e.reserve, [("S0", 12, None)], TTL, NOW)
    assert err.code == "insufficient-stock"
    assert err.shortages == [("S0", 12, 11)]
    err = world.refuses(_core.InsufficientStock, e.reserve, [("S0", 4, "L1")], TTL, NOW)
    assert err.shortages == [("S0", 4, 3)]
    # a non-sellable location has nothing to give
    err = world.refuses(_core.InsufficientStock, e.reserve, [("S0", 1, "QC")], TTL, NOW)
    assert err.shortages == [("S0", 1, 0)]


def test_insufficient_stock_reserves_none_of_the_lines(world: World) -> None:
    e = world.engine
    # S1: 3 at L0, 1 committed, 1 expired (given back): 2 available.
    lines = [("S0", 1, None), ("S1", 3, None), ("S0", 2, "L0")]
    err = world.refuses(_core.InsufficientStock, e.reserve, lines, TTL, NOW)
    assert err.shortages == [("S1", 3, 2)]
    # two short SKUs: both named
    lines = [("S0", 20, None), ("S1", 3, None)]
    err = world.refuses(_core.InsufficientStock, e.reserve, lines, TTL, NOW)
    assert sorted(err.shortages) == [("S0", 20, 11), ("S1", 3, 2)]


# --- reservation ids and states ----------------------------------------------------------


@pytest.mark.parametrize(
    "rid", ["rsv_ff", "rsv_ffffffffffffffff", "nope", "rsv_0x1", "rsv_01", "RSV_1", "rsv_", ""]
)
def test_an_unknown_or_malformed_id_is_reservation_not_found(world: World, rid: str) -> None:
    e = world.engine
    for call, args in ((e.commit, (NOW,)), (e.release, (NOW,)), (e.extend, (TTL, NOW))):
        err = world.refuses(_core.ReservationNotFound, call, rid, *args)
        assert (err.code, err.reservation_id) == ("reservation-not-found", rid)
    assert e.get(rid) is None


def test_commit_of_an_expired_hold_is_invalid_state(world: World) -> None:
    err = world.refuses(_core.InvalidState, world.engine.commit, world.expired, NOW + 20)
    assert (err.code, err.status, err.reservation_id) == (
        "invalid-state",
        "expired",
        world.expired,
    )


def test_commit_of_a_lapsed_unswept_hold_only_expires_it() -> None:
    """Past its expiry but not swept yet: commit says `expired` and does exactly what the
    sweep would have done (an `expire` entry), nothing more."""
    a, b = World(), World()
    later = NOW + TTL
    with pytest.raises(_core.InvalidState) as info:
        a.engine.commit(a.held, later)
    assert (info.value.status, info.value.reservation_id) == ("expired", a.held)
    assert b.engine.expire_due(later) == 1
    assert a.snapshot() == b.snapshot()
    assert a.engine.get(a.held).status == "expired"
    assert [r.kind for r in a.engine.drain(1_000).rows][-1] == "expire"


def test_commit_of_a_released_one_is_invalid_state(world: World) -> None:
    err = world.refuses(_core.InvalidState, world.engine.commit, world.released, NOW)
    assert (err.status, err.reservation_id) == ("released", world.released)


@pytest.mark.parametrize(
    ("which", "status"),
    [("committed", "committed"), ("released", "released"), ("expired", "expired")],
)
def test_extend_of_a_hold_that_is_not_held_is_invalid_state(
    world: World, which: str, status: str
) -> None:
    rid = getattr(world, which)
    err = world.refuses(_core.InvalidState, world.engine.extend, rid, TTL, NOW + 20)
    assert (err.code, err.status, err.reservation_id) == ("invalid-state", status, rid)


def test_repeated_calls_change_nothing(world: World) -> None:
    e = world.engine
    before = world.snapshot()
    again = e.commit(world.committed, NOW + 1)
    assert (again.status, again.changed) == ("committed", False)
    for rid, status in ((world.released, "released"), (world.expired, "expired")):
        out = e.release(rid, NOW + 1)
        assert (out.status, out.changed) == (status, False)
    assert world.snapshot() == before


def load(engine: _core.Engine, stream: bytes, chunk: int = 7) -> int:
    loader = _core.OpenLinesLoader()
    for at in range(0, len(stream), chunk):
        loader.push(stream[at : at + chunk])
    return engine.load_open_lines(loader)


def test_open_lines_load_from_a_copy_stream_in_any_chunks() -> None:
    e = _core.Engine()
    e.define_sku("S0")
    e.define_location("L0")
    e.load_level("S0", "L0", 10, 3, 0)
    expires = NOW + 60_000
    stream = open_lines_stream(
        [(0x12, "held", expires, 2, "S0", "L0", 1), (0x12, "held", expires, 1, "S0", "L0", 2)]
    )
    assert load(e, stream) == 1
    held = e.get("rsv_12")
    assert (held.status, held.expires_at_ms) == ("held", NOW + 60_000)
    assert [line[2] for line in held.lines] == [2, 1]


def test_open_lines_carry_their_buyer_whose_units_were_loaded_first() -> None:
    e = _core.Engine()
    e.define_sku("S0")
    e.define_location("L0")
    e.load_level("S0", "L0", 10, 2, 0)
    e.set_per_buyer_max("S0", 2)
    e.load_buyer_units("cust-1", "S0", 2)
    stream = open_lines_stream([(0x20, "held", NOW + 60_000, 1, "S0", "L0", 2)], {0x20: "cust-1"})
    assert load(e, stream) == 1
    with pytest.raises(_core.BuyerLimit) as info:
        e.reserve([("S0", 1, None)], 1_000, NOW, buyer="cust-1")
    assert (info.value.current, info.value.per_buyer_max) == (2, 2)
    e.release("rsv_20", NOW)
    assert e.buyer_units("cust-1", "S0") == 0
    orphan = open_lines_stream([(0x21, "held", NOW + 60_000, 1, "S0", "L0", 1)], {0x21: "nobody"})
    with pytest.raises(_core.InvalidInput) as refused:
        load(e, orphan)
    assert refused.value.field == "buyer"


def test_open_lines_refuse_a_final_status_and_a_cut_stream(world: World) -> None:
    e = world.engine
    err = world.refuses(
        _core.InvalidInput, load, e, open_lines_stream([(100, "released", NOW, 1, "S0", "L0", 1)])
    )
    assert err.field == "status"
    err = world.refuses(
        _core.InvalidInput, load, e, open_lines_stream([(100, "shipped", NOW, 1, "S0", "L0", 1)])
    )
    assert err.field == "status"
    whole = open_lines_stream([(100, "held", NOW, 1, "S0", "L0", 1)])
    assert "ended before its trailer" in str(world.refuses(ValueError, load, e, whole[:-2]))
    assert "not a binary COPY stream" in str(world.refuses(ValueError, load, e, b"S0\tL0\n"))


# --- backpressure ------------------------------------------------------------------------


def test_backpressure_when_the_log_is_full() -> None:
    small = World(_core.Limits(log_entries_max=40))
    s = small.engine
    s.drain(1_000)
    fresh = s.reserve([("S0", 1, None)], 100, NOW)
    filler = 40 - s.pending()
    for _ in range(filler):
        s.receive("S0", "QC", 1, NOW)
    assert s.pending() == 40
    small.ids = (*small.ids, fresh.id)
    calls: list[tuple[Callable[..., Any], tuple]] = [
        (s.receive, ("S0", "L0", 1, NOW)),
        (s.adjust, ("S0", "L0", -1, NOW)),
        (s.reserve, ([("S0", 1, None)], TTL, NOW)),
        (s.commit, (small.held, NOW)),
        (s.commit, (small.committed, NOW)),  # even a no-op waits for the writer
        (s.release, (small.held, NOW)),
        (s.extend, (small.held, TTL, NOW)),
        (s.commit, (fresh.id, NOW + 100)),  # lapsed: not even expired by the refusal
    ]
    for call, args in calls:
        err = small.refuses(_core.Backpressure, call, *args)
        assert (err.code, err.pending) == ("backpressure", 40)
    assert s.get(fresh.id).status == "held"
    batch = s.drain(5)
    assert len(batch.rows) == 5
    s.receive("S0", "L0", 1, NOW)  # room again
    assert s.pending() == 36


# --- the exception tree ------------------------------------------------------------------


def test_the_exception_hierarchy() -> None:
    assert issubclass(_core.ReservoirError, Exception)
    for error in ERRORS:
        assert issubclass(error, _core.ReservoirError)
    assert issubclass(_core.LimitExceeded, _core.InvalidInput)
    for error in ERRORS[3:]:
        assert not issubclass(error, _core.InvalidInput), error


def test_every_error_carries_its_code_and_a_message(world: World) -> None:
    e = world.engine
    small = _core.Engine(_core.Limits(log_entries_max=1))
    small.define_sku("S0")
    small.define_location("L0")
    small.receive("S0", "L0", 1, NOW)
    triggers: dict[type, Callable[[], Any]] = {
        _core.InvalidInput: lambda: e.reserve([], TTL, NOW),
        _core.LimitExceeded: lambda: e.reserve([("S0", 1, None)] * 101, TTL, NOW),
        _core.UnknownSku: lambda: e.reserve([("X", 1, None)], TTL, NOW),
        _core.UnknownLocation: lambda: e.reserve([("S0", 1, "X")], TTL, NOW),
        _core.InsufficientStock: lambda: e.reserve([("S0", 999, None)], TTL, NOW),
        _core.ReservationNotFound: lambda: e.commit("rsv_ff", NOW),
        _core.InvalidState: lambda: e.commit(world.released, NOW),
        _core.Backpressure: lambda: small.receive("S0", "L0", 1, NOW),
    }
    codes = {
        _core.InvalidInput: "invalid-input",
        _core.LimitExceeded: "limit-exceeded",
        _core.UnknownSku: "unknown-sku",
        _core.UnknownLocation: "unknown-location",
        _core.InsufficientStock: "insufficient-stock",
        _core.ReservationNotFound: "reservation-not-found",
        _core.InvalidState: "invalid-state",
        _core.Backpressure: "backpressure",
    }
    assert set(triggers) == set(ERRORS[1:])
    for error, trigger in triggers.items():
        with pytest.raises(_core.ReservoirError) as info:
            trigger()
        assert type(info.value) is error
        assert info.value.code == codes[error]
        assert str(info.value)
