"""Hypothesis stateful test of `reservoir._core.Engine` against a simple Python model.

The Python twin of `rust_core/engine/tests/simulation/`: random streams of receipts,
adjustments (incl. negative), reservations (1-3 lines, with and without a location, some
locations non-sellable), commits, releases, extensions, clock ticks (small steps and jumps past
many expiries, then `expire_due(now)`) and drains (`drain(max)` + `prune_finished`).

After every step: the engine's levels equal the model's, nothing is oversold except where a
negative adjustment explains it, every open or unpruned reservation reads as the model says,
and the LSN / pending counters agree. Every drained batch is compared row by row with the log
the model expects; its rows folded and its `level_deltas` summed reproduce the engine's levels.

Seeded: `derandomize=True`, so every run explores the same examples.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from tests.unit.core_rows import level_tuple, level_tuples, log_tuples

from reservoir import _core

SKUS = ("S0", "S1", "S2")
# Defined in this order; the codes sort the same way, so "ties: location code" (stub) and
# "ties: defined first" (engine) name the same location here.
LOCATIONS = (("L0", True), ("L1", True), ("L2", True), ("QC", False))
SELLABLE = dict(LOCATIONS)
LOC_INDEX = {code: i for i, (code, _) in enumerate(LOCATIONS)}
START_MS = 1_700_000_000_000

# The ledger fold: what one row of each kind does to (on_hand, reserved, committed).
FOLD = {
    "receipt": (1, 0, 0),
    "adjustment": (1, 0, 0),
    "reserve": (0, 1, 0),
    "release": (0, -1, 0),
    "expire": (0, -1, 0),
    "commit": (0, -1, 1),
    "cancel": (0, 0, -1),
}

Key = tuple[str, str]
Line = tuple[str, str, int]


@dataclass
class Res:
    """A reservation in the model: open (held/committed) or finished."""

    status: str
    expires_at_ms: int
    lines: list[Line]
    lsn: int = 0  # the final entry, once finished


@dataclass
class Entry:
    """A log entry the model expects the engine to have written."""

    lsn: int
    at_ms: int
    kind: str | None  # None: extend (no ledger rows)
    reservation_id: str | None
    lines: list[Line]
    expires_at_ms: int | None = None


@dataclass
class Model:
    now: int = START_MS
    lsn: int = 0
    next_seq: int = 1
    on_hand: dict[Key, int] = field(default_factory=dict)  # insertion order = level order
    open: dict[str, Res] = field(default_factory=dict)
    finished: dict[str, Res] = field(default_factory=dict)
    pruned: set[str] = field(default_factory=set)
    shrunk: set[Key] = field(default_factory=set)
    log: deque[Entry] = field(default_factory=deque)
    drained_lsn: int = 0

    def append(
        self,
        kind: str | None,
        rid: str | None,
        lines: list[Line],
        expires_at_ms: int | None = None,
    ) -> int:
        self.lsn += 1
        self.log.append(Entry(self.lsn, self.now, kind, rid, lines, expires_at_ms))
        return self.lsn

    def counters(self, sku: str, loc: str) -> tuple[int, int, int]:
        reserved = committed = 0
        for res in self.open.values():
            for s, lc, q in res.lines:
                if (s, lc) == (sku, loc):
                    if res.status == "held":
                        reserved += q
                    else:
                        committed += q
        return self.on_hand.get((sku, loc), 0), reserved, committed

    def available(self, sku: str, loc: str) -> int:
        """What a reservation may take here (0 at a non-sellable location)."""
        if not SELLABLE[loc]:
            return 0
        on_hand, reserved, committed = self.counters(sku, loc)
        return max(0, on_hand - reserved - committed)

    def levels(self, sku: str) -> dict[str, tuple]:
        rows = {}
        for s, loc in self.on_hand:
            if s != sku:
                continue
            on_hand, reserved, committed = self.counters(s, loc)
            # what a reservation may take there: nothing at a non-sellable location
            available = max(0, on_hand - reserved - committed) if SELLABLE[loc] else 0
            rows[loc] = (sku, loc, on_hand, reserved, committed, available, SELLABLE[loc])
        return rows

    def allocate(
        self, lines: list[tuple[str, int, str | None]]
    ) -> tuple[list[Line] | None, list[tuple[str, int, int]]]:
        """The engine's stated rule: named lines first, then pooled lines over the SKU's
        sellable locations, most available first (ties: location), splitting when needed.
        Returns (lines held, []) or (None, shortages)."""
        taken: dict[Key, int] = {}
        planned: list[tuple[int, Line]] = []
        short: list[str] = []
        order = [i for i, ln in enumerate(lines) if ln[2] is not None]
        order += [i for i, ln in enumerate(lines) if ln[2] is None]
        for index in order:
            sku, quantity, loc = lines[index]

            def free(sku: str, loc: str) -> int:
                return self.available(sku, loc) - taken.get((sku, loc), 0)

            if loc is not None:
                candidates = [(free(sku, loc), loc)]
            else:
                candidates = [(free(sku, lc), lc) for s, lc in self.on_hand if s == sku]
                candidates = [c for c in candidates if c[0] > 0]
                candidates.sort(key=lambda c: (-c[0], LOC_INDEX[c[1]]))
            left = quantity
            for avail, lc in candidates:
                take = min(left, avail)
                if take <= 0:
                    continue
                taken[(sku, lc)] = taken.get((sku, lc), 0) + take
                planned.append((index, (sku, lc, take)))
                left -= take
                if left == 0:
                    break
            if left > 0 and sku not in short:
                short.append(sku)
        if short:
            return None, [self.shortage(sku, lines) for sku in short]
        planned.sort(key=lambda p: p[0])
        return [line for _, line in planned], []

    def shortage(self, sku: str, lines: list[tuple[str, int, str | None]]) -> tuple[str, int, int]:
        """(sku, requested, available) of a SKU the lines cannot all have: available over
        the locations the lines may take (any, when one line names none)."""
        of_sku = [ln for ln in lines if ln[0] == sku]
        requested = sum(ln[1] for ln in of_sku)
        if any(ln[2] is None for ln in of_sku):
            locs = [lc for s, lc in self.on_hand if s == sku]
        else:
            locs = sorted({ln[2] for ln in of_sku if ln[2] is not None})
        return sku, requested, sum(self.available(sku, lc) for lc in locs)

    def finish(self, rid: str, status: str, kind: str) -> int:
        res = self.open.pop(rid)
        res.status = status
        res.lsn = self.append(kind, rid, res.lines)
        self.finished[rid] = res
        return res.lsn


def new_engine() -> _core.Engine:
    engine = _core.Engine()
    for code, sellable in LOCATIONS:
        engine.define_location(code, sellable)
    for sku in SKUS:
        engine.define_sku(sku)
    return engine


def state(engine: _core.Engine) -> tuple:
    return level_tuples(engine.all_levels()), engine.pending(), engine.last_lsn, engine.open_holds()


STATUS_AFTER = {
    "reserve": "held",
    "commit": "committed",
    "release": "released",
    "cancel": "released",
    "expire": "expired",
}


def expected_rows(entries: list) -> list[tuple]:
    """The ledger rows the engine's batch must carry for the model's log entries."""
    return [
        (
            e.lsn,
            e.at_ms,
            e.kind,
            e.reservation_id,
            sku,
            loc,
            q,
            e.expires_at_ms if e.kind == "reserve" else None,
            None,  # this model receives no lots (tests/unit/test_core_lots.py does)
            None,
        )
        for e in entries
        if e.kind is not None
        for sku, loc, q in e.lines
    ]


def final_states(entries: list) -> list[tuple]:
    """(id, status, expires_at_ms) of each reservation the entries touch, first-touched order."""
    touched: dict[str, list] = {}
    for e in entries:
        if e.reservation_id is None:
            continue
        final = touched.setdefault(e.reservation_id, [e.reservation_id, "held", None])
        if e.kind is not None:
            final[1] = STATUS_AFTER[e.kind]
        if e.kind in (None, "reserve"):
            final[2] = e.expires_at_ms
    return [tuple(r) for r in touched.values()]


def add_fold(acc: dict, kind: str, sku: str, loc: str, q: int) -> None:
    level = acc.setdefault((sku, loc), [0, 0, 0])
    for i, sign in enumerate(FOLD[kind]):
        level[i] += sign * q


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = new_engine()
        self.model = Model()
        self.fold: dict[Key, list[int]] = {}  # every drained row folded
        self.delta_sum: dict[Key, list[int]] = {}  # every drained level_delta summed

    @initialize(stock=st.lists(st.integers(0, 12), min_size=len(SKUS) * 3, max_size=len(SKUS) * 3))
    def opening_stock(self, stock: list[int]) -> None:
        """Some stock at the sellable locations, so reservations mostly fit at first."""
        sellable = [code for code, ok in LOCATIONS if ok]
        for i, q in enumerate(stock):
            if q:
                self.receive(SKUS[i // 3], (sellable[i % 3], True), q)

    # --- choosing reservation ids ---------------------------------------------------------

    def pick_id(self, kind: str, pick: int) -> str:
        pools = {
            "open": sorted(self.model.open),
            "finished": sorted(self.model.finished),
            "pruned": sorted(self.model.pruned),
        }
        if kind == "malformed":
            return ["nope", "rsv_0x1", "rsv_01", "RSV_1", "rsv_", ""][pick % 6]
        pool = pools.get(kind) or pools["open"] or pools["finished"]
        if kind == "unknown" or not pool:
            return f"rsv_{self.model.next_seq + 7:x}"
        return pool[pick % len(pool)]

    def describe(self, rid: str) -> str:
        """The state of `rid` in the model, for hypothesis' statistics."""
        m = self.model
        if rid in m.open:
            return m.open[rid].status
        if rid in m.finished:
            return m.finished[rid].status
        return "pruned" if rid in m.pruned else "unknown"

    id_kinds = st.sampled_from(
        ["open", "open", "open", "open", "finished", "pruned", "unknown", "malformed"]
    )

    # --- stock movements ------------------------------------------------------------------

    @rule(sku=st.sampled_from(SKUS), loc=st.sampled_from(LOCATIONS), q=st.integers(1, 5))
    def receive(self, sku: str, loc: tuple[str, bool], q: int) -> None:
        code = loc[0]
        lsn, row = self.engine.receive(sku, code, q, self.model.now)
        m = self.model
        m.on_hand[(sku, code)] = m.on_hand.get((sku, code), 0) + q
        assert lsn == m.append("receipt", None, [(sku, code, q)])
        assert level_tuple(row) == m.levels(sku)[code]

    @rule(sku=st.sampled_from(SKUS), loc=st.sampled_from(LOCATIONS), delta=st.integers(-3, 3))
    def adjust(self, sku: str, loc: tuple[str, bool], delta: int) -> None:
        code = loc[0]
        m = self.model
        on_hand = m.on_hand.get((sku, code), 0)
        if delta == 0 or on_hand + delta < 0:
            before = state(self.engine)
            with pytest.raises(_core.InvalidInput) as info:
                self.engine.adjust(sku, code, delta, m.now)
            assert info.value.field == "delta"
            assert state(self.engine) == before
            return
        lsn, row = self.engine.adjust(sku, code, delta, m.now)
        m.on_hand[(sku, code)] = on_hand + delta
        assert lsn == m.append("adjustment", None, [(sku, code, delta)])
        assert level_tuple(row) == m.levels(sku)[code]
        _, reserved, committed = m.counters(sku, code)
        if delta < 0 and reserved + committed > on_hand + delta:
            m.shrunk.add((sku, code))

    # --- reservations ---------------------------------------------------------------------

    @rule(
        lines=st.lists(
            st.tuples(
                st.sampled_from(SKUS),
                st.integers(1, 3),
                st.one_of(st.none(), st.none(), st.sampled_from([c for c, _ in LOCATIONS])),
            ),
            min_size=1,
            max_size=3,
        ),
        ttl=st.integers(1, 3_000),
    )
    def reserve(self, lines: list[tuple[str, int, str | None]], ttl: int) -> None:
        m = self.model
        held, shortages = m.allocate(lines)
        event(f"reserve: {'short' if held is None else 'held'}")
        if held is None:
            before = state(self.engine)
            with pytest.raises(_core.InsufficientStock) as info:
                self.engine.reserve(lines, ttl, m.now)
            assert info.value.shortages == shortages
            assert info.value.code == "insufficient-stock"
            assert state(self.engine) == before
            return
        res = self.engine.reserve(lines, ttl, m.now)
        rid = f"rsv_{m.next_seq:x}"
        m.next_seq += 1
        assert (res.id, res.status, res.expires_at_ms) == (rid, "held", m.now + ttl)
        assert _core.reservation_seq(res.id) == m.next_seq - 1
        assert res.lines == held, f"allocation of {lines}"
        assert res.lsn == m.append("reserve", rid, held, m.now + ttl)
        m.open[rid] = Res("held", m.now + ttl, held)

    @rule(kind=id_kinds, pick=st.integers(0, 1_000))
    def commit(self, kind: str, pick: int) -> None:
        m = self.model
        rid = self.pick_id(kind, pick)
        res = m.open.get(rid)
        event(f"commit: {self.describe(rid)}")
        if res is not None and res.status == "held" and res.expires_at_ms <= m.now:
            raise AssertionError("model holds a lapsed hold after a tick")
        if res is not None and res.status == "held":
            out = self.engine.commit(rid, m.now)
            assert (out.id, out.status, out.changed) == (rid, "committed", True)
            assert (out.expires_at_ms, out.lines) == (res.expires_at_ms, res.lines)
            assert out.lsn == m.append("commit", rid, res.lines)
            res.status = "committed"
        elif res is not None:  # committed: committing again changes nothing
            before = state(self.engine)
            out = self.engine.commit(rid, m.now)
            assert (out.id, out.status, out.changed) == (rid, "committed", False)
            assert out.lines == res.lines
            assert state(self.engine) == before
        elif rid in m.finished:
            before = state(self.engine)
            with pytest.raises(_core.InvalidState) as info:
                self.engine.commit(rid, m.now)
            assert (info.value.reservation_id, info.value.status) == (rid, m.finished[rid].status)
            assert state(self.engine) == before
        else:
            self.assert_not_found(self.engine.commit, rid, m.now)

    @rule(kind=id_kinds, pick=st.integers(0, 1_000))
    def release(self, kind: str, pick: int) -> None:
        m = self.model
        rid = self.pick_id(kind, pick)
        res = m.open.get(rid)
        event(f"release: {self.describe(rid)}")
        if res is not None:
            out = self.engine.release(rid, m.now)
            kind_ = "release" if res.status == "held" else "cancel"
            assert (out.id, out.status, out.changed) == (rid, "released", True)
            assert (out.expires_at_ms, out.lines) == (res.expires_at_ms, res.lines)
            assert out.lsn == m.finish(rid, "released", kind_)
        elif rid in m.finished:  # released twice / released after expiry: unchanged
            done = m.finished[rid]
            before = state(self.engine)
            out = self.engine.release(rid, m.now)
            assert (out.id, out.status, out.changed) == (rid, done.status, False)
            assert (out.lsn, out.lines) == (done.lsn, done.lines)
            assert state(self.engine) == before
        else:
            self.assert_not_found(self.engine.release, rid, m.now)

    @rule(kind=id_kinds, pick=st.integers(0, 1_000), ttl=st.integers(1, 3_000))
    def extend(self, kind: str, pick: int, ttl: int) -> None:
        m = self.model
        rid = self.pick_id(kind, pick)
        res = m.open.get(rid)
        event(f"extend: {self.describe(rid)}")
        if res is not None and res.status == "held":
            out = self.engine.extend(rid, ttl, m.now)
            assert (out.id, out.status, out.changed) == (rid, "held", True)
            assert (out.expires_at_ms, out.lines) == (m.now + ttl, res.lines)
            assert out.lsn == m.append(None, rid, [], m.now + ttl)
            res.expires_at_ms = m.now + ttl
        elif res is not None or rid in m.finished:
            status = res.status if res is not None else m.finished[rid].status
            before = state(self.engine)
            with pytest.raises(_core.InvalidState) as info:
                self.engine.extend(rid, ttl, m.now)
            assert (info.value.reservation_id, info.value.status) == (rid, status)
            assert state(self.engine) == before
        else:
            self.assert_not_found(self.engine.extend, rid, ttl, m.now)

    def assert_not_found(self, call, rid: str, *args: int) -> None:
        before = state(self.engine)
        with pytest.raises(_core.ReservationNotFound) as info:
            call(rid, *args)
        assert info.value.reservation_id == rid
        assert info.value.code == "reservation-not-found"
        assert state(self.engine) == before
        assert self.engine.get(rid) is None

    # --- a hold that lapsed but was not swept yet -------------------------------------------

    @rule(op=st.sampled_from(["commit", "release", "extend"]), pick=st.integers(0, 1_000))
    def act_on_lapsed_hold(self, op: str, pick: int) -> None:
        """Moves the clock to exactly one hold's expiry (no sweep), then acts on it: commit
        and extend say `expired` (InvalidState), release answers status `expired`."""
        m = self.model
        held = sorted(rid for rid, r in m.open.items() if r.status == "held")
        if not held:
            return
        rid = held[pick % len(held)]
        res = m.open[rid]
        # Only forward, and only if no other hold lapses on the way (the model sweeps on ticks).
        if res.expires_at_ms < m.now or any(
            r.status == "held" and r.expires_at_ms < res.expires_at_ms
            for other, r in m.open.items()
            if other != rid
        ):
            return
        m.now = res.expires_at_ms
        event(f"lapsed hold: {op}")
        if op == "release":
            out = self.engine.release(rid, m.now)
            assert (out.id, out.status, out.changed) == (rid, "expired", False)
            assert out.lines == res.lines
            assert out.lsn == m.finish(rid, "expired", "expire")
        else:
            with pytest.raises(_core.InvalidState) as info:
                if op == "commit":
                    self.engine.commit(rid, m.now)
                else:
                    self.engine.extend(rid, 1_000, m.now)
            assert (info.value.reservation_id, info.value.status) == (rid, "expired")
            m.finish(rid, "expired", "expire")
        assert self.engine.get(rid).status == "expired"
        # Any other hold due at this very instant is swept like a tick would.
        self.sweep(None)

    # --- the clock ------------------------------------------------------------------------

    @rule(
        dt=st.one_of(st.integers(0, 40), st.integers(40, 2_000), st.integers(2_000, 50_000)),
        chunk=st.one_of(st.none(), st.integers(1, 4)),
    )
    def tick(self, dt: int, chunk: int | None) -> None:
        self.model.now += dt
        self.sweep(chunk)

    def sweep(self, chunk: int | None) -> None:
        m, engine = self.model, self.engine
        due = [rid for rid, r in m.open.items() if r.status == "held" and r.expires_at_ms <= m.now]
        first = m.lsn + 1
        if chunk is None:
            expired = engine.expire_due(m.now)
        else:
            expired = 0
            while True:
                n = engine.expire_due(m.now, chunk)
                assert n <= chunk
                expired += n
                if n < chunk:
                    break
        assert expired == len(due)
        event(f"sweep: expired {min(len(due), 3)}{'+' if len(due) >= 3 else ''}")
        assert engine.expire_due(m.now) == 0
        # The engine picks the order; each expired hold's final LSN says where it went.
        by_lsn = {}
        for rid in due:
            got = engine.get(rid)
            assert got is not None and got.status == "expired", rid
            by_lsn[got.lsn] = rid
        assert sorted(by_lsn) == list(range(first, first + len(due)))
        for lsn in sorted(by_lsn):
            assert m.finish(by_lsn[lsn], "expired", "expire") == lsn
        # No hold past its expiry survives a tick.
        held = [r.expires_at_ms for r in m.open.values() if r.status == "held"]
        assert all(exp > m.now for exp in held)
        assert engine.open_holds() == len(held)
        next_ms = engine.next_expiry_ms()
        assert (next_ms is None) == (not held)
        if held:
            assert next_ms <= min(held)

    # --- the writer -----------------------------------------------------------------------

    @rule(rows_max=st.integers(1, 12))
    def drain(self, rows_max: int) -> None:
        m, engine = self.model, self.engine
        batch = engine.drain(rows_max)
        entries = self._drained_entries(batch, rows_max)
        assert log_tuples(batch.rows) == expected_rows(entries)
        # Final state of each reservation the batch touched, in first-touched order.
        assert batch.reservations == final_states(entries)
        assert len(batch) == len(batch.rows) + len(batch.reservations)
        self._check_folds(batch)
        engine.prune_finished(batch.last_lsn)
        for rid in [rid for rid, r in m.finished.items() if r.lsn <= batch.last_lsn]:
            del m.finished[rid]
            m.pruned.add(rid)

    def _drained_entries(self, batch: _core.Batch, rows_max: int) -> list:
        """The model's log entries the batch carries (its LSN range), taken off the log."""
        m = self.model
        entries = []
        while m.log and m.log[0].lsn <= batch.last_lsn:
            entries.append(m.log.popleft())
        if not entries:
            assert (batch.first_lsn, batch.last_lsn, batch.rows) == (0, 0, [])
            assert (batch.level_deltas, batch.reservations, len(batch)) == ([], [], 0)
        else:
            assert batch.first_lsn == m.drained_lsn + 1 == entries[0].lsn
            assert batch.last_lsn == entries[-1].lsn
            m.drained_lsn = batch.last_lsn
        assert len(batch.rows) <= rows_max or len(entries) == 1
        return entries

    def _check_folds(self, batch: _core.Batch) -> None:
        """The batch's rows folded equal its level_deltas; both accumulate to the levels."""
        batch_fold: dict[Key, list[int]] = {}
        for _, _, kind, _, sku, loc, q, *_ in log_tuples(batch.rows):
            for acc in (batch_fold, self.fold):
                add_fold(acc, kind, sku, loc, q)
        deltas = {(s, lc): [oh, r, c] for s, lc, oh, r, c in batch.level_deltas}
        assert len(deltas) == len(batch.level_deltas)
        assert deltas == {k: v for k, v in batch_fold.items() if v != [0, 0, 0]}
        for key, d in deltas.items():
            acc = self.delta_sum.setdefault(key, [0, 0, 0])
            for i in range(3):
                acc[i] += d[i]
        engine_levels = {
            (s, lc): [oh, r, c] for s, lc, oh, r, c, _, _ in level_tuples(self.engine.all_levels())
        }
        # Whatever is still pending, folded, closes the gap exactly.
        pending_fold: dict[Key, list[int]] = {}
        for e in self.model.log:
            for sku, loc, q in e.lines if e.kind else ():
                add_fold(pending_fold, e.kind, sku, loc, q)
        for key, level in engine_levels.items():
            for acc in (self.fold, self.delta_sum):
                folded = acc.get(key, [0, 0, 0])
                gap = pending_fold.get(key, [0, 0, 0])
                assert [a + b for a, b in zip(folded, gap, strict=True)] == level, key
        if self.engine.pending() == 0:
            nonzero = {k: v for k, v in engine_levels.items() if v != [0, 0, 0]}
            assert {k: v for k, v in self.fold.items() if v != [0, 0, 0]} == nonzero
            assert {k: v for k, v in self.delta_sum.items() if v != [0, 0, 0]} == nonzero

    # --- bad calls change nothing ---------------------------------------------------------

    @rule(
        bad=st.sampled_from(
            [
                ("reserve", [("S0", 0, None)], 100),
                ("reserve", [("S1", -1, "L0")], 100),
                ("reserve", [], 100),
                ("reserve", [("S0", 1, None)], 0),
                ("reserve", [("S0", 1, None), ("NOPE", 1, None)], 100),
                ("reserve", [("S0", 1, "NOWHERE")], 100),
                ("reserve", [("S2", 1_000, "QC")], 100),
                ("receive", "S0", "L0", 0),
                ("receive", "S0", "NOWHERE", 1),
                ("adjust", "NOPE", "L0", 1),
            ]
        )
    )
    def bad_call(self, bad: tuple) -> None:
        before = state(self.engine)
        name, *args = bad
        with pytest.raises(_core.ReservoirError):
            getattr(self.engine, name)(*args, self.model.now)
        assert state(self.engine) == before

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def levels_match_the_model(self) -> None:
        m = self.model
        for sku in SKUS:
            rows = level_tuples(self.engine.levels(sku))
            got = {row[1]: row for row in rows}
            assert len(got) == len(rows)
            assert got == m.levels(sku), sku
            for _, loc, on_hand, reserved, committed, available, _ in rows:
                assert min(on_hand, reserved, committed, available) >= 0
                if (sku, loc) not in m.shrunk:
                    assert reserved + committed <= on_hand, f"oversold {sku}@{loc}"

    @invariant()
    def log_counters_match(self) -> None:
        m = self.model
        assert self.engine.last_lsn == m.lsn
        assert self.engine.pending() == m.lsn - m.drained_lsn == len(m.log)

    @invariant()
    def reservations_read_as_the_model_says(self) -> None:
        m, engine = self.model, self.engine
        held = 0
        for rid, res in m.open.items():
            got = engine.get(rid)
            assert got is not None, rid
            assert (got.id, got.status, got.expires_at_ms) == (rid, res.status, res.expires_at_ms)
            assert got.lines == res.lines
            assert got.lsn <= engine.last_lsn
            if res.status == "held":
                held += 1
                assert res.expires_at_ms > m.now
        assert engine.open_holds() == held
        for rid, res in m.finished.items():
            got = engine.get(rid)
            assert got is not None, rid
            assert (got.status, got.lsn, got.lines) == (res.status, res.lsn, res.lines)
        for rid in m.pruned:
            assert engine.get(rid) is None, rid


EngineMachine.TestCase.settings = settings(
    derandomize=True,
    max_examples=400,
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngineStateful = EngineMachine.TestCase


# --- fixed walks through the transitions the contract names (run whatever hypothesis picks) ---


def stocked(quantity: int = 10) -> _core.Engine:
    engine = new_engine()
    engine.receive("S0", "L0", quantity, START_MS)
    return engine


def test_commit_twice_is_unchanged_and_release_twice_is_unchanged() -> None:
    engine = stocked()
    rid = engine.reserve([("S0", 2, None)], 1_000, START_MS).id
    first = engine.commit(rid, START_MS + 1)
    assert (first.status, first.changed) == ("committed", True)
    lsn = engine.last_lsn
    again = engine.commit(rid, START_MS + 5_000)  # long past the old expiry: still committed
    assert (again.status, again.changed) == ("committed", False)
    assert engine.last_lsn == lsn
    assert engine.expire_due(START_MS + 10_000) == 0
    assert level_tuples(engine.levels("S0")) == [("S0", "L0", 10, 0, 2, 8, True)]

    rid = engine.reserve([("S0", 3, "L0")], 1_000, START_MS)
    released = engine.release(rid.id, START_MS + 1)
    assert (released.status, released.changed) == ("released", True)
    lsn = engine.last_lsn
    again = engine.release(rid.id, START_MS + 2)
    assert (again.status, again.changed, again.lsn) == ("released", False, released.lsn)
    assert engine.last_lsn == lsn
    assert level_tuples(engine.levels("S0")) == [("S0", "L0", 10, 0, 2, 8, True)]


def test_lapsed_hold_commit_is_expired_and_release_reads_expired() -> None:
    engine = stocked()
    a = engine.reserve([("S0", 2, None)], 1_000, START_MS).id
    b = engine.reserve([("S0", 3, None)], 1_000, START_MS).id
    with pytest.raises(_core.InvalidState) as info:
        engine.commit(a, START_MS + 1_000)  # due exactly now, not swept yet
    assert (info.value.status, info.value.reservation_id) == ("expired", a)
    out = engine.release(b, START_MS + 1_000)
    assert (out.status, out.changed) == ("expired", False)
    assert level_tuples(engine.levels("S0")) == [("S0", "L0", 10, 0, 0, 10, True)]
    assert engine.expire_due(START_MS + 1_000) == 0
    kinds = [row.kind for row in engine.drain(100).rows]
    assert kinds == ["receipt", "reserve", "reserve", "expire", "expire"]


def test_a_jump_past_many_expiries_frees_every_hold() -> None:
    engine = stocked(1_000)
    ids = [engine.reserve([("S0", 1, None)], ttl, START_MS).id for ttl in range(1, 501)]
    assert engine.expire_due(START_MS + 250) == 250
    assert engine.open_holds() == 250
    assert {engine.get(rid).status for rid in ids[:250]} == {"expired"}
    assert {engine.get(rid).status for rid in ids[250:]} == {"held"}
    assert engine.expire_due(START_MS + 10**6, 100) == 100
    assert engine.expire_due(START_MS + 10**6) == 150
    assert engine.open_holds() == 0 and engine.next_expiry_ms() is None
    assert level_tuples(engine.levels("S0")) == [("S0", "L0", 1_000, 0, 0, 1_000, True)]
