"""A seeded simulation of the write path: the real engine (`reservoir._core.Engine`), the real
`LedgerWriter`, the real `store_batch` and `rebuild_engine`, over an in-memory ledger that
fails at random points (tests/unit/sim_ledger.py), with a fake clock.

Requests run as tasks, like handlers: an engine call, then at once `await durable(lsn, meta)`
(receipts, holds of 1-3 lines, commits, releases, extends, adjustments of both signs; some
with an idempotency record). Between steps the loop yields, so the writer drains and batches
are in flight while more requests arrive; the clock moves and the ticker expires what is due.
After a failed batch, the engine is rebuilt from the ledger as `WritePath._rebuild` does
(recovery's own reads and engine calls), lapsed holds expire and writes resume.

After every step: every acknowledged change (a `durable()` that returned) is in the ledger
(checked when acknowledged; the model only appends entries, and all are checked again at the
end), nothing is oversold beyond what a negative adjustment explains, the ledger broke none of
the statement's rules, and often the engine equals the ledger plus its undrained log. After
every rebuild the engine equals the ledger's fold (fold.py) and its levels table.

Replay: RESERVOIR_SIM_SEED=<seed> (printed on failure); RESERVOIR_SIM_STEPS (default 100,000)
for longer runs.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from tests.unit.sim_ledger import FakePool, InjectedFault, LedgerModel

from reservoir import _core
from reservoir.ledger.changes import ChangeMeta, IdempotencyRecord, NewReservation
from reservoir.ledger.recovery import rebuild_engine
from reservoir.ledger.writer import LedgerUnavailable, LedgerWriter

SEED_ENV = "RESERVOIR_SIM_SEED"
STEPS_ENV = "RESERVOIR_SIM_STEPS"
STEPS_DEFAULT = 100_000

SKUS = ("S0", "S1", "S2", "S3")
BUYERS = ("b1", "b2", "b3", None, None)  # two holds in five have no buyer
LOCATIONS = (("A", True), ("B", True), ("Q", False))  # Q: not sellable
LOTS = {"L1": 20_400, "L2": None}  # lot -> its expiry day (L2 has none)
START_MS = 1_790_000_000_000
LIMITS = _core.Limits()
REFUSED = (
    _core.InvalidInput,
    _core.InsufficientStock,
    _core.ReservationNotFound,
    _core.UnknownLocation,
)

Level = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Ack:
    """A change whose `durable()` returned, and the ledger rows it must have left."""

    lsn: int
    kind: str | None  # the ledger kind of its rows, None when it wrote none (or no change)
    rows: tuple[tuple[str, str, int], ...] = ()  # (sku, location, quantity) of those rows
    reservation_id: str | None = None
    lot: str | None = None
    idempotency_key: str | None = None
    changed: bool = True  # False: a no-op on a reservation (its row stays as it was)


class Simulation:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.model = LedgerModel(SKUS, LOCATIONS)
        self.pool = FakePool(self.model, self.rng, write_fault_p=0.004, read_fault_p=0.05)
        self.now = START_MS
        self.step = 0
        self.accepting = False
        self.acked: list[Ack] = []
        self.unchecked: list[Ack] = []
        self.ids: list[str] = []  # reservation ids seen, the newest last
        self.oversell_allowed: dict[tuple[str, str], int] = {}  # what adjustments explain
        self.tasks: set[asyncio.Task[None]] = set()
        self.stats: Counter[str] = Counter()
        self.engine: _core.Engine
        self.writer: LedgerWriter

    # --- the run -----------------------------------------------------------------------------

    async def run(self, steps: int) -> None:
        self.engine = await self._recover()
        self.writer = LedgerWriter(
            self.pool,  # type: ignore[arg-type]
            self.engine,
            batch_rows_max=self.rng.choice((4, 16, 64, 256)),
            flush_interval_ms=0,
            on_failure=lambda exc: None,  # noticed as `writer.failed` after the step
            epoch=1,  # one process owns this ledger throughout (fencing: tests/integration)
        )
        self.writer.start()
        self.accepting = True
        actions = self._actions()
        names, weights = list(actions), list(actions.values())
        for self.step in range(steps):
            self._act(self.rng.choices(names, weights)[0])
            for _ in range(self.rng.choice((0, 0, 1, 1, 2))):
                await asyncio.sleep(0)
            if self.writer.failed:
                await self._rebuild()
            await self._check_step()
        await self._finish()

    def _actions(self) -> dict[str, int]:
        return {
            "receive": 12,
            "reserve": 25,
            "commit": 9,
            "release": 8,
            "extend": 6,
            "adjust": 6,
            "tick": 12,
            "jump": 1,
        }

    def _act(self, name: str) -> None:
        self.stats[name] += 1
        if name == "tick":
            self._advance(self.rng.randint(0, 3_000))
        elif name == "jump":
            self._advance(self.rng.randint(30_000, 90_000))
        else:
            task = asyncio.create_task(self._request(getattr(self, f"_{name}")))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _advance(self, ms: int) -> None:
        """The clock moves; the expiry ticker expires what is due and wakes the writer."""
        self.now += ms
        if self.accepting:
            self.engine.expire_due(self.now, 100_000)
            self.writer.wake()

    # --- requests (run as tasks, like handlers) ----------------------------------------------

    async def _request(self, operation: Callable[[_core.Engine], tuple[Ack, ChangeMeta]]) -> None:
        if not self.accepting:  # WritePath.engine(): 503 while rebuilding
            self.stats["refused while rebuilding"] += 1
            return
        engine = self.engine
        before = engine.last_lsn
        try:
            ack, meta = operation(engine)
        except REFUSED:
            assert engine.last_lsn == before, "a refused request logged a change"
            self.stats["refused"] += 1
            return
        except _core.InvalidState:  # e.g. a lapsed hold, expired on the spot
            self.stats["invalid state"] += 1
            return
        # no await between the engine call and durable(): meta joins the change's batch
        try:
            await self.writer.durable(ack.lsn, meta)
        except LedgerUnavailable:
            self.stats["503"] += 1
            return
        self.stats["acknowledged"] += 1
        self.unchecked.append(ack)

    def _meta(self, **kwargs: object) -> tuple[ChangeMeta, str | None]:
        key = None
        if self.rng.random() < 0.2:
            key = f"k{self.step}-{self.rng.randrange(1 << 30)}"
            record = IdempotencyRecord("sim", key, "hash", 201, b"{}")
            kwargs["idempotency"] = record
        return ChangeMeta(actor="sim", **kwargs), key  # type: ignore[arg-type]

    def _location(self) -> str:
        return self.rng.choice(LOCATIONS)[0]

    def _receive(self, engine: _core.Engine) -> tuple[Ack, ChangeMeta]:
        sku, location = self.rng.choice(SKUS), self._location()
        quantity = self.rng.randint(1, 20)
        lot = self.rng.choice((None, None, *LOTS))
        expires_on = LOTS[lot] if lot is not None else None
        lsn, _ = engine.receive(sku, location, quantity, self.now, lot=lot, expires_on=expires_on)
        meta, key = self._meta()
        return Ack(lsn, "receipt", ((sku, location, quantity),), lot=lot, idempotency_key=key), meta

    def _adjust(self, engine: _core.Engine) -> tuple[Ack, ChangeMeta]:
        sku, location = self.rng.choice(SKUS), self._location()
        lot: str | None
        if self.rng.random() < 0.4:
            lot = self.rng.choice((None, *LOTS))
            delta = self.rng.randint(1, 5)
        else:  # take units that are there (a lot's, or unlotted ones), maybe held ones
            there = [(lot, units) for lot, _, units in engine.lots(sku, location) if units > 0]
            lot, units = self.rng.choice(there) if there else (None, 1)
            delta = -self.rng.randint(1, units)
        lsn, level = engine.adjust(sku, location, delta, self.now, lot=lot)
        excess = level.reserved + level.committed - level.on_hand
        key_ = (sku, location)
        self.oversell_allowed[key_] = max(self.oversell_allowed.get(key_, 0), excess)
        meta, key = self._meta()
        return Ack(lsn, "adjustment", ((sku, location, delta),), lot=lot, idempotency_key=key), meta

    def _reserve(self, engine: _core.Engine) -> tuple[Ack, ChangeMeta]:
        lines = [
            (sku, self.rng.randint(1, 4), self.rng.choice((None, None, "A", "B", "Q")))
            for sku in self.rng.sample(SKUS, self.rng.randint(1, 3))
        ]
        buyer = self.rng.choice(BUYERS)
        hold = engine.reserve(lines, self.rng.randint(1_000, 30_000), self.now, buyer=buyer)
        self.ids.append(hold.id)
        del self.ids[:-300]
        created = NewReservation(created_at_ms=self.now, owner="sim", buyer=buyer)
        meta, key = self._meta(reservation=created)
        rows = tuple(hold.lines)
        return Ack(hold.lsn, "reserve", rows, hold.id, idempotency_key=key), meta

    def _pick_id(self) -> str:
        if not self.ids:
            raise _core.ReservationNotFound("none yet")
        return self.rng.choice(self.ids[-40:])

    def _outcome_ack(self, outcome: _core.Outcome, kind: str | None, key: str | None) -> Ack:
        if not outcome.changed:
            return Ack(outcome.lsn, None, (), outcome.id, idempotency_key=key, changed=False)
        return Ack(outcome.lsn, kind, tuple(outcome.lines), outcome.id, idempotency_key=key)

    def _commit(self, engine: _core.Engine) -> tuple[Ack, ChangeMeta]:
        outcome = engine.commit(self._pick_id(), self.now)
        meta, key = self._meta(commit_reference=f"order-{self.step}")
        return self._outcome_ack(outcome, "commit", key), meta

    def _release(self, engine: _core.Engine) -> tuple[Ack, ChangeMeta]:
        rid = self._pick_id()
        was = engine.get(rid)
        outcome = engine.release(rid, self.now)
        kind = "cancel" if was is not None and was.status == "committed" else "release"
        meta, key = self._meta()
        return self._outcome_ack(outcome, kind, key), meta

    def _extend(self, engine: _core.Engine) -> tuple[Ack, ChangeMeta]:
        outcome = engine.extend(self._pick_id(), self.rng.randint(1_000, 30_000), self.now)
        meta, key = self._meta()
        return Ack(outcome.lsn, None, (), outcome.id, idempotency_key=key), meta

    # --- failure and rebuild (WritePath._on_write_failure / _rebuild) ------------------------

    async def _rebuild(self) -> None:
        self.accepting = False
        while True:
            engine = await self._recover()
            self._check_rebuilt(engine)
            # the ledger is a prefix of the old engine's log, so its levels were the engine's at
            # that LSN: what a negative adjustment explained then is what it explains now
            self.oversell_allowed = {
                (lv.sku, lv.location): excess
                for lv in engine.all_levels()
                if (excess := lv.reserved + lv.committed - lv.on_hand) > 0
            }
            self.engine = engine
            self.writer.reset(engine, epoch=1)
            while engine.expire_due(self.now, 100_000):
                pass
            try:
                await self.writer.flush()
            except LedgerUnavailable:
                continue
            self.stats["rebuilds"] += 1
            self.accepting = True
            return

    async def _recover(self) -> _core.Engine:
        """recovery.rebuild_engine, retried while the database is "still gone"."""
        while True:
            self.stats["rebuild attempts"] += 1
            try:
                return await rebuild_engine(self.pool, LIMITS)  # type: ignore[arg-type]
            except InjectedFault:
                continue

    # --- invariants --------------------------------------------------------------------------

    async def _check_step(self) -> None:
        assert not self.model.violations, self.model.violations
        for ack in self.unchecked:
            self._check_ack(ack)
        self.acked += self.unchecked
        self.unchecked = []
        self._check_no_oversell()
        if self.step % 8 == 0 and self.accepting and not self.writer.failed:
            async with self.writer.paused():
                if not self.writer.failed:
                    self._check_ledger_plus_log()

    def _check_ack(self, ack: Ack) -> None:
        model = self.model
        assert model.head >= ack.lsn, f"acknowledged LSN {ack.lsn} beyond the ledger head"
        if ack.kind is not None:
            rows = [
                (e["sku"], e["location"], e["quantity"])
                for e in model.by_lsn.get(ack.lsn, [])
                if e["kind"] == ack.kind
                and (ack.reservation_id is None or e["reference_id"] == ack.reservation_id)
                and (ack.reservation_id is not None or e["lot"] == ack.lot)
            ]
            assert sorted(rows) == sorted(ack.rows), f"{ack} not in the ledger: {rows}"
        if ack.reservation_id is not None:
            stored = model.reservations.get(ack.reservation_id)
            assert stored is not None, f"{ack}: reservation not in the ledger"
            if ack.changed:
                assert stored["lsn"] >= ack.lsn, f"{ack}: reservation row at {stored['lsn']}"
        if ack.idempotency_key is not None:
            assert ("sim", ack.idempotency_key) in model.answers, f"{ack}: answer not stored"

    def _check_no_oversell(self) -> None:
        for level in self.engine.all_levels():
            if not level.sellable:
                continue
            key = (level.sku, level.location)
            excess = level.reserved + level.committed - level.on_hand
            allowed = self.oversell_allowed.get(key, 0)
            assert excess <= allowed, f"oversold {level.sku}@{level.location} by {excess}"
            if allowed:  # what the adjustment explained only shrinks from here
                self.oversell_allowed[key] = max(0, min(allowed, excess))

    def _check_ledger_plus_log(self) -> None:
        """No batch in flight: the engine is the ledger plus its undrained log."""
        expected = dict(self.model.levels)
        for sku, location, *deltas in self.engine.pending_level_deltas():
            level = expected.get((sku, location), (0, 0, 0))
            expected[(sku, location)] = tuple(a + b for a, b in zip(level, deltas, strict=True))  # type: ignore[assignment]
        assert _nonzero(expected) == _engine_levels(self.engine), "engine != ledger + log"
        lots = {k: v for k, v in self.model.lot_levels.items()}
        for sku, location, lot, units in self.engine.pending_lot_deltas():
            lots[(sku, location, lot)] = lots.get((sku, location, lot), 0) + units
        engine_lots = {(s, loc, lot): u for s, loc, lot, u in self.engine.all_lots()}
        assert {k: v for k, v in lots.items() if v} == engine_lots, "lots != ledger + log"

    def _check_rebuilt(self, engine: _core.Engine) -> None:
        """The engine recovered from the ledger equals the ledger's fold and its tables."""
        folded = _nonzero(self.model.fold)
        assert _nonzero(self.model.levels) == folded, "inventory_levels != fold(ledger)"
        assert _engine_levels(engine) == folded, "rebuilt engine != fold(ledger)"
        engine_lots = sorted(engine.all_lots())
        assert engine_lots == sorted((*k, v) for k, v in self.model.lot_levels.items() if v > 0), (
            "rebuilt lots != lot_levels"
        )
        assert engine.last_lsn == self.model.head
        held = 0
        for rid in self.model.open:
            status = self.model.reservations[rid]["status"]
            got = engine.get(rid)
            assert got is not None and got.status == status, f"{rid}: {got}"
            held += status == "held"
        assert engine.open_holds() == held
        counted = {(b, s): n for b, s, n in self.model.buyer_units()}
        assert _buyer_units(engine) == counted, "rebuilt buyer counts != the ledger's"

    async def _finish(self) -> None:
        """Everything still waiting is written; the ledger then rebuilds the same engine."""
        while True:
            try:
                await self.writer.flush()
                break
            except LedgerUnavailable:
                await self._rebuild()
        await asyncio.gather(*self.tasks)
        await self._check_step()
        for ack in self.acked:  # the ledger only grows, but check the whole history once more
            self._check_ack(ack)
        self.pool.write_fault_p = self.pool.read_fault_p = 0
        rebuilt = await rebuild_engine(self.pool, LIMITS)  # type: ignore[arg-type]
        self._check_rebuilt(rebuilt)
        assert _engine_levels(rebuilt) == _engine_levels(self.engine)
        assert _buyer_units(rebuilt) == _buyer_units(self.engine)
        await self.writer.close()


def _buyer_units(engine: _core.Engine) -> dict[tuple[str, str], int]:
    """What each simulated buyer has of each SKU, as the engine counts it (nonzero only)."""
    pairs = ((b, s) for b in BUYERS if b is not None for s in SKUS)
    return {(b, s): n for b, s in pairs if (n := engine.buyer_units(b, s))}


def _nonzero(levels: dict[tuple[str, str], Level]) -> dict[tuple[str, str], Level]:
    return {key: level for key, level in levels.items() if any(level)}


def _engine_levels(engine: _core.Engine) -> dict[tuple[str, str], Level]:
    return _nonzero(
        {
            (lv.sku, lv.location): (lv.on_hand, lv.reserved, lv.committed)
            for lv in engine.all_levels()
        }
    )


def test_write_path_simulation() -> None:
    seed = int(os.environ.get(SEED_ENV) or random.SystemRandom().randrange(1 << 32))
    steps = int(os.environ.get(STEPS_ENV) or STEPS_DEFAULT)
    sim = Simulation(seed)
    started = time.monotonic()
    try:
        asyncio.run(sim.run(steps))
    except AssertionError as exc:
        pytest.fail(
            f"write-path simulation failed at step {sim.step} (now {sim.now}): {exc}\n"
            f"replay: {SEED_ENV}={seed} {STEPS_ENV}={steps} pytest {__file__}"
        )
    elapsed = time.monotonic() - started
    faults = {f.name.lower(): n for f, n in sim.pool.faults.items()}
    print(f"seed {seed}: {steps} steps in {elapsed:.1f} s, faults {faults}, {dict(sim.stats)}")
    if steps >= STEPS_DEFAULT:  # a full run must have exercised what it claims to
        assert sim.stats["acknowledged"] > steps // 4
        assert sim.stats["rebuilds"] >= 10 and min(faults.values()) >= 3, faults
