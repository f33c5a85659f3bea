"""Lots through the binding: random receipts, counts, transfers and picks of lots against a
plain model (hypothesis, derandomized: the same examples every run). After every step the
engine's lots equal the model's, and the drained batches' `lot_deltas` and lotted log rows
add up to them, as the writer stores them (`lot_levels`, `ledger_entries.lot`)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.core_rows import log_tuples

from reservoir import _core
from reservoir.ledger.fold import FOLD

NOW = 1_700_000_000_000
LOCATIONS = ("A", "B")
LOTS = {"EARLY": 100, "LATE": 200, "UNDATED": None}  # lot -> expiry day

lot_names = st.sampled_from([None, *LOTS])
operations = st.lists(
    st.tuples(
        st.sampled_from(["receive", "adjust", "transfer", "ship"]),
        st.sampled_from(LOCATIONS),
        lot_names,
        st.integers(1, 6),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


def engine() -> _core.Engine:
    e = _core.Engine()
    e.define_sku("S")
    for code in LOCATIONS:
        e.define_location(code)
    return e


class Model:
    def __init__(self) -> None:
        self.lots: dict[tuple[str, str], int] = {}  # (location, lot) -> units
        self.unlotted: dict[str, int] = dict.fromkeys(LOCATIONS, 0)
        self.known: set[str] = set()

    def units(self, location: str, lot: str | None) -> int:
        if lot is None:
            return self.unlotted[location]
        return self.lots.get((location, lot), 0)

    def move(self, location: str, lot: str | None, units: int) -> None:
        if lot is None:
            self.unlotted[location] += units
        else:
            self.lots[(location, lot)] = self.lots.get((location, lot), 0) + units

    def expected(self) -> dict[tuple[str, str], int]:
        return {key: n for key, n in self.lots.items() if n}


def write(batch: _core.Batch, stored: dict, folded: dict) -> None:
    """What the writer adds up from a batch: `lot_levels` from its `lot_deltas`, and the
    ledger's lotted rows, folded as the verifier folds them."""
    for sku, loc, name, units in batch.lot_deltas:
        stored[(sku, loc, name)] = stored.get((sku, loc, name), 0) + units
    for _, _, kind, _, sku, loc, q, _, name, _ in log_tuples(batch.rows):
        if name is not None:
            folded[(sku, loc, name)] = folded.get((sku, loc, name), 0) + FOLD[kind][0] * q


def apply_lot_operation(
    e: _core.Engine,
    model: Model,
    op: str,
    location: str,
    lot: str | None,
    quantity: int,
    flag: bool,
) -> None:
    """One operation on the engine and the model; a refused one must change neither."""
    other = LOCATIONS[1 - LOCATIONS.index(location)]
    known = lot is None or lot in model.known
    if op == "receive":
        e.receive("S", location, quantity, NOW, lot=lot, expires_on=LOTS.get(lot or ""))
        model.move(location, lot, quantity)
        if lot is not None:
            model.known.add(lot)
    elif op == "adjust":
        delta = -quantity if flag else quantity
        ok = known and (delta > 0 or model.units(location, lot) >= quantity)
        if ok:
            e.adjust("S", location, delta, NOW, lot=lot)
            model.move(location, lot, delta)
        else:
            with pytest.raises(_core.InvalidInput):
                e.adjust("S", location, delta, NOW, lot=lot)
    elif op == "transfer":
        if known and model.units(location, lot) >= quantity:
            e.transfer("S", location, other, quantity, NOW, lot=lot)
            model.move(location, lot, -quantity)
            model.move(other, lot, quantity)
        else:
            with pytest.raises((_core.InvalidInput, _core.InsufficientStock)):
                e.transfer("S", location, other, quantity, NOW, lot=lot)
    elif known and model.units(location, lot) >= quantity:  # ship
        held = e.reserve([("S", quantity, location)], 60_000, NOW)
        e.commit(held.id, NOW)
        e.ship(held.id, [("S", location, quantity, lot)], NOW)
        model.move(location, lot, -quantity)


def check_lots(e: _core.Engine, model: Model, stored: dict[tuple[str, str, str], int]) -> None:
    """The engine's lots equal the model's, oldest first per location, adding up to on_hand;
    what is stored plus the pending lot deltas equals the engine's lots."""
    engine_lots = {(loc, name): n for _, loc, name, n in e.all_lots()}
    assert engine_lots == model.expected()
    for where in LOCATIONS:
        rows = e.lots("S", where)
        assert [r[0] for r in rows if r[0] is not None] == [
            name
            for name in sorted(LOTS, key=lambda n: LOTS[n] or 10**9)
            if model.units(where, name)
        ], "oldest lot first"
        on_hand = {level.location: level.on_hand for level in e.levels("S")}
        assert sum(r[2] for r in rows) == on_hand.get(where, 0)
    pending: dict[tuple[str, str, str], int] = dict(stored)
    for sku, loc, name, units in e.pending_lot_deltas():
        pending[(sku, loc, name)] = pending.get((sku, loc, name), 0) + units
    assert {(loc, name): n for (_, loc, name), n in pending.items() if n} == engine_lots


@settings(derandomize=True, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_random_lot_operations_match_a_model_and_the_batches_add_up(ops) -> None:
    e, model = engine(), Model()
    stored: dict[tuple[str, str, str], int] = {}  # what lot_levels would hold
    folded: dict[tuple[str, str, str], int] = {}  # the fold of the ledger rows with a lot
    for op, location, lot, quantity, flag in ops:
        apply_lot_operation(e, model, op, location, lot, quantity, flag)
        if flag:  # drain now and then, as the writer does
            write(e.drain(1_000), stored, folded)
        check_lots(e, model, stored)
    write(e.drain(1_000_000), stored, folded)
    assert {k: n for k, n in stored.items() if n} == {k: n for k, n in folded.items() if n}


def test_a_lot_row_carries_its_lot_and_expiry_day() -> None:
    e = engine()
    e.receive("S", "A", 5, NOW, lot="EARLY", expires_on=100)
    e.adjust("S", "A", -2, NOW, lot="EARLY")
    rows = e.drain(100).rows
    assert [(r.kind, r.quantity, r.lot, r.lot_expires_on) for r in rows] == [
        ("receipt", 5, "EARLY", 100),
        ("adjustment", -2, "EARLY", 100),
    ]
    assert e.lots("S", "A") == [("EARLY", 100, 3)]
    assert e.allocation_order("S") == [("A", 3)]
