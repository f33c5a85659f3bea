"""An in-memory model of the ledger database for the write-path simulation
(tests/unit/test_write_path_simulation.py), behind a fake asyncpg pool.

Its connection stores what `store_batch`'s one statement writes, decoding the arguments by
the column names of `batch_statement.PARAMETER_GROUPS` (so a new column or parameter is seen,
not misread), with the statement's rules: levels and lot levels add up, new lots keep their
first receipt, reservations are inserted or updated, idempotency records keep the first
answer, the ledger head only moves forward; one outbox event per batch with rows. It answers
the reads of `recovery.rebuild_engine` by their SQL text, so the simulation rebuilds the
engine with the real recovery code.

Faults: the next `execute` can fail before the statement (nothing stored), during it (nothing
stored: the statement is atomic) or after its commit (stored, the caller sees an error: an
acknowledgement lost, the change durable). A read can fail too (the database still gone).
"""

from __future__ import annotations

import asyncio
import enum
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from tests.unit.pg_copy import OpenLine, open_lines_stream

from reservoir.ledger import batch_statement as bs
from reservoir.ledger import fold, recovery

Key = tuple[str, str]  # (sku, location)


class Fault(enum.Enum):
    BEFORE = "before the commit"
    DURING = "during the statement"
    AFTER = "after the commit"


class InjectedFault(ConnectionError):
    """A connection lost at a chosen point (asyncpg raises OSError subclasses for that)."""


class LedgerModel:
    """The tables the write path writes and recovery reads, as dictionaries."""

    def __init__(self, skus: tuple[str, ...], locations: tuple[tuple[str, bool], ...]) -> None:
        self.items = list(skus)
        self.locations = list(locations)
        self.entries: list[dict[str, Any]] = []  # ledger_entries, in id order
        self.by_lsn: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.by_reservation: dict[str, list[dict[str, Any]]] = defaultdict(list)
        # SUM(ledger_entries) by fold.py's rules, kept as entries are appended
        self.fold: dict[Key, tuple[int, int, int]] = {}
        self.levels: dict[Key, tuple[int, int, int]] = {}  # inventory_levels
        self.lots: dict[tuple[str, str], tuple[int | None, int]] = {}  # (expires_on, first_lsn)
        self.lot_levels: dict[tuple[str, str, str], int] = {}
        self.reservations: dict[str, dict[str, Any]] = {}
        self.lines: dict[str, list[tuple[int, str, str, int]]] = {}
        self.answers: dict[tuple[str, str], tuple[str, int, bytes]] = {}
        self.outbox: list[tuple[int, int]] = []  # (last_lsn, changes)
        self.head = 0
        self.seqs: set[int] = set()
        self.open: dict[str, None] = {}  # ids of held or committed reservations, in order
        # broken statement rules: a real PostgreSQL would refuse the batch (a bug, not a fault)
        self.violations: list[str] = []

    # --- the write: WRITE_BATCH ----------------------------------------------------------------

    def write_batch(self, args: tuple[Any, ...], fault: Fault | None) -> None:
        """Applies one batch atomically: everything is checked and staged first, then stored."""
        groups = decode(args)
        last_lsn, first_lsn = args[bs.LOT_DELTAS.next - 1], args[bs.LOT_DELTAS.next]
        problems = self._check(groups, last_lsn, first_lsn)
        if fault is Fault.DURING:
            raise InjectedFault("connection lost during the batch statement")
        if problems:
            self.violations.extend(problems)
            raise RuntimeError(f"the batch breaks the ledger's rules: {problems}")
        self._store(groups, last_lsn, first_lsn)
        if fault is Fault.AFTER:
            raise InjectedFault("connection lost after the commit, before its answer")

    def _check(
        self, groups: dict[bs.Arrays, list[dict[str, Any]]], last: int, first: int
    ) -> list[str]:
        """What the database would refuse (constraints, triggers) or what breaks the ledger."""
        return [
            *self._check_rows(groups[bs.ROWS], last, first),
            *self._check_lot_deltas(groups[bs.LOT_DELTAS]),
            *self._check_reservations(groups[bs.CREATED], groups[bs.LINES]),
        ]

    def _check_rows(self, rows: list[dict[str, Any]], last: int, first: int) -> list[str]:
        problems = []
        if rows:
            lsns = [r["lsn"] for r in rows]
            if min(lsns) < first or max(lsns) > last:
                problems.append(f"row LSNs {min(lsns)}..{max(lsns)} outside {first}..{last}")
            if min(lsns) <= self.head:
                problems.append(f"LSN {min(lsns)} written again (head {self.head})")
        for r in rows:
            if r["kind"] not in fold.FOLD:
                problems.append(f"unknown kind {r['kind']!r}")
            elif r["quantity"] <= 0 and r["kind"] != "adjustment":
                problems.append(f"non-positive quantity {r}")
        return problems

    def _check_lot_deltas(self, deltas: list[dict[str, Any]]) -> list[str]:
        problems = []
        lot_units = dict(self.lot_levels)
        for d in deltas:
            key = (d["sku"], d["location"], d["lot"])
            lot_units[key] = lot_units.get(key, 0) + d["units"]
            if lot_units[key] < 0:
                problems.append(f"lot_levels {key} below 0")
        return problems

    def _check_reservations(
        self, created: list[dict[str, Any]], lines: list[dict[str, Any]]
    ) -> list[str]:
        problems = []
        seqs = set()
        for c in created:
            if c["id"] in self.reservations or c["seq"] in self.seqs or c["seq"] in seqs:
                problems.append(f"reservation {c['id']} (seq {c['seq']}) inserted twice")
            seqs.add(c["seq"])
        ids = {c["id"] for c in created}
        for line in lines:
            if line["reservation_id"] not in ids or line["quantity"] <= 0:
                problems.append(f"bad reservation line {line}")
        return problems

    def _store(self, groups: dict[bs.Arrays, list[dict[str, Any]]], last: int, first: int) -> None:
        """What the batch statement's CTEs write, table by table."""
        rows = groups[bs.ROWS]
        self._store_rows(rows)
        self._store_levels(groups[bs.LOT_DELTAS], groups[bs.LEVELS])
        self._store_reservations(groups[bs.CREATED], groups[bs.LINES], groups[bs.CHANGED], last)
        for a in groups[bs.ANSWERS]:  # ON CONFLICT DO NOTHING
            self.answers.setdefault(
                (a["owner"], a["key"]), (a["request_hash"], a["status_code"], a["body"])
            )
        if rows:
            self.outbox.append((last, len(rows)))
        if last > self.head:
            self.head = last

    def _store_rows(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:  # ledger
            entry = dict(row, id=len(self.entries) + 1)
            self.entries.append(entry)
            self.by_lsn[entry["lsn"]].append(entry)
            if entry["reference_type"] == "reservation":
                self.by_reservation[entry["reference_id"]].append(entry)
            key = (entry["sku"], entry["location"])
            self.fold[key] = fold.apply(
                self.fold.get(key, (0, 0, 0)), entry["kind"], entry["quantity"]
            )
        for row in sorted(rows, key=lambda r: r["lsn"]):  # new_lots: DISTINCT ON, first LSN
            if row["lot"] is not None and row["kind"] == "receipt":
                self.lots.setdefault((row["sku"], row["lot"]), (row["expires_on"], row["lsn"]))

    def _store_levels(
        self, lot_deltas: list[dict[str, Any]], level_deltas: list[dict[str, Any]]
    ) -> None:
        for d in lot_deltas:  # lot_changed / lot_added
            key = (d["sku"], d["location"], d["lot"])
            self.lot_levels[key] = self.lot_levels.get(key, 0) + d["units"]
        for d in level_deltas:  # levels: INSERT .. ON CONFLICT DO UPDATE (+=)
            key = (d["sku"], d["location"])
            on_hand, reserved, committed = self.levels.get(key, (0, 0, 0))
            self.levels[key] = (
                on_hand + d["d_on_hand"],
                reserved + d["d_reserved"],
                committed + d["d_committed"],
            )

    def _store_reservations(
        self,
        created: list[dict[str, Any]],
        lines: list[dict[str, Any]],
        changed: list[dict[str, Any]],
        last: int,
    ) -> None:
        # the CTEs see the snapshot before the statement: `changed` misses rows `created` adds
        new = {c["id"] for c in created}
        for c in created:
            self.reservations[c["id"]] = dict(c, lsn=last)
            self.seqs.add(c["seq"])
            self._track(c["id"], c["status"])
        for line in lines:
            self.lines.setdefault(line["reservation_id"], []).append(
                (line["line_no"], line["sku"], line["location"], line["quantity"])
            )
        for u in changed:
            if u["id"] in self.reservations and u["id"] not in new:
                r = self.reservations[u["id"]]
                r["status"] = u["status"]
                if u["expires_ms"] is not None:
                    r["expires_ms"] = u["expires_ms"]
                if u["commit_reference"] is not None:
                    r["commit_reference"] = u["commit_reference"]
                r["lsn"] = last
                self._track(u["id"], u["status"])

    def _track(self, rid: str, status: str) -> None:
        if status in ("held", "committed"):
            self.open[rid] = None
        else:
            self.open.pop(rid, None)

    # --- the reads: recovery.rebuild_engine ----------------------------------------------------

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        answer = self._reads().get(sql)
        if answer is None:
            raise AssertionError(f"the simulated ledger does not know this query: {sql!r}")
        return answer()

    def _reads(self) -> dict[str, Callable[[], list[tuple[Any, ...]]]]:
        return {
            recovery.LOAD_ITEMS: lambda: [(sku, None) for sku in self.items],
            recovery.LOAD_BUYER_UNITS: self.buyer_units,
            recovery.LOAD_LOCATIONS: lambda: [(*loc, None) for loc in self.locations],
            recovery.LOAD_CHANNELS: lambda: [],
            recovery.LOAD_DROPS: lambda: [],
            recovery.LOAD_POOL_TAKEN: lambda: [],
            recovery.LOAD_HOLD_POOLS: lambda: [],
            # this simulation makes no waitlist entries (the engine's own simulation does)
            recovery.LOAD_WAITING: lambda: [],
            recovery.LOAD_IN_TRANSIT: lambda: [],
            recovery.LOAD_INCOMING: lambda: [],
            "SELECT coalesce(max(id), 0) + 1 FROM waitlist_entries": lambda: [(1,)],
            "SELECT sku, location, on_hand, reserved, committed FROM inventory_levels": lambda: [
                (*key, *level) for key, level in self.levels.items()
            ],
            recovery.LOAD_LOTS: lambda: [(s, lot, e, f) for (s, lot), (e, f) in self.lots.items()],
            recovery.LOAD_LOT_UNITS: lambda: [
                (*key, units) for key, units in self.lot_levels.items() if units > 0
            ],
            "SELECT coalesce(max(seq), 0) + 1 FROM reservations": lambda: [
                (max(self.seqs, default=0) + 1,)
            ],
            "SELECT lsn FROM ledger_head": lambda: [(self.head,)],
        }

    def buyer_units(self) -> list[tuple[Any, ...]]:
        """The view `buyer_units` (migration 0009): reserve less release, expire and cancel
        of each buyer's reservations, per SKU."""
        sign = {"reserve": 1, "release": -1, "expire": -1, "cancel": -1}
        units: dict[tuple[str, str], int] = {}
        for rid, r in self.reservations.items():
            if r.get("buyer") is None:
                continue
            for e in self.by_reservation.get(rid, []):
                key = (r["buyer"], e["sku"])
                units[key] = units.get(key, 0) + sign.get(e["kind"], 0) * e["quantity"]
        return [(*key, n) for key, n in units.items() if n > 0]

    def open_buyers(self) -> dict[int, str]:
        """The buyer of each open reservation that has one, by seq."""
        found = (
            (self.reservations[rid]["seq"], self.reservations[rid].get("buyer"))
            for rid in self.open
        )
        return {seq: buyer for seq, buyer in found if buyer is not None}

    def open_reservation_lines(self) -> list[OpenLine]:
        """`recovery.OPEN_RESERVATION_LINES` on the view `open_reservation_lines` (migration
        0005): a hold's lines as written; what a committed order still holds, per SKU and
        location, folded from its ledger entries. In no particular order, as the query's."""
        out: list[OpenLine] = []
        for rid in self.open:
            r = self.reservations[rid]
            seq, expires = r["seq"], r["expires_ms"]
            if r["status"] == "held":
                for line_no, sku, location, quantity in self.lines.get(rid, []):
                    out.append((seq, "held", expires, line_no, sku, location, quantity))
            elif r["status"] == "committed":
                held: dict[Key, list[int]] = {}
                for e in self.by_reservation.get(rid, []):
                    sign = {"reserve": 1, "release": -1, "expire": -1, "cancel": -1, "ship": -1}
                    line = held.setdefault((e["sku"], e["location"]), [e["id"], 0])
                    line[1] += sign.get(e["kind"], 0) * e["quantity"]
                for (sku, location), (line_no, quantity) in held.items():
                    if quantity > 0:
                        out.append((seq, "committed", expires, line_no, sku, location, quantity))
        return out


def decode(args: tuple[Any, ...]) -> dict[bs.Arrays, list[dict[str, Any]]]:
    """The statement's arguments as rows named by their columns, group by group."""
    expected = bs.LOT_DELTAS.next + 2  # the groups' columns, then $last_lsn, $first_lsn, $epoch
    assert len(args) == expected, f"WRITE_BATCH got {len(args)} arguments, expected {expected}"
    groups: dict[bs.Arrays, list[dict[str, Any]]] = {}
    for group in bs.PARAMETER_GROUPS:
        columns = args[group.first - 1 : group.next - 1]
        lengths = {len(column) for column in columns}
        assert len(lengths) <= 1, f"columns of {group.names} differ in length: {lengths}"
        rows = zip(*columns, strict=True)
        groups[group] = [dict(zip(group.names, values, strict=True)) for values in rows]
    return groups


class FakeConnection:
    def __init__(self, pool: FakePool) -> None:
        self._pool = pool
        self.closed = False

    async def execute(self, sql: str, *args: Any) -> str:
        assert sql == bs.WRITE_BATCH, "the writer sent something else than WRITE_BATCH"
        assert not self.closed, "a released connection was used"
        fault = self._pool.next_fault()
        for _ in range(self._pool.rng.randrange(3)):  # in flight: the next batch fills meanwhile
            await asyncio.sleep(0)
        if fault is Fault.BEFORE:
            raise InjectedFault("connection lost before the batch statement")
        self._pool.model.write_batch(args, fault)
        return "UPDATE 1"

    # the reads of recovery, in a transaction that changes nothing
    def transaction(self, **_: Any) -> _NoTransaction:
        return _NoTransaction()

    async def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        self._pool.maybe_fail_read()
        return self._pool.model.query(sql)

    async def fetchval(self, sql: str) -> Any:
        self._pool.maybe_fail_read()
        return self._pool.model.query(sql)[0][0]

    async def copy_from_query(
        self, sql: str, *, output: Callable[[bytes], Awaitable[None]], format: str
    ) -> None:
        """The open lines' binary COPY, shuffled and cut into chunks at random points."""
        assert (sql, format) == (recovery.OPEN_RESERVATION_LINES, "binary"), sql
        self._pool.maybe_fail_read()
        rng = self._pool.rng
        lines = self._pool.model.open_reservation_lines()
        rng.shuffle(lines)
        stream = open_lines_stream(lines, self._pool.model.open_buyers())
        at = 0
        while at < len(stream):
            step = rng.randrange(1, 4096)
            await output(stream[at : at + step])
            at += step


class _NoTransaction:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


class FakePool:
    """What the writer and recovery use of an asyncpg pool: `await acquire()` / `release`,
    and `async with acquire()`. Faults are drawn from `rng` with the given probabilities."""

    def __init__(
        self, model: LedgerModel, rng: random.Random, *, write_fault_p: float, read_fault_p: float
    ) -> None:
        self.model = model
        self.rng = rng
        self.write_fault_p = write_fault_p
        self.read_fault_p = read_fault_p
        self.faults: dict[Fault, int] = dict.fromkeys(Fault, 0)
        self.read_faults = 0

    def next_fault(self) -> Fault | None:
        if self.rng.random() >= self.write_fault_p:
            return None
        fault = self.rng.choice(list(Fault))
        self.faults[fault] += 1
        return fault

    def maybe_fail_read(self) -> None:
        if self.rng.random() < self.read_fault_p:
            self.read_faults += 1
            raise InjectedFault("the database is still gone")

    def acquire(self) -> _Acquire:
        return _Acquire(self)

    async def release(self, conn: FakeConnection, **_: Any) -> None:
        conn.closed = True


class _Acquire:
    def __init__(self, pool: FakePool) -> None:
        self._pool = pool
        self._conn: FakeConnection | None = None

    def __await__(self) -> Generator[Any, None, FakeConnection]:
        return self._connect().__await__()

    async def _connect(self) -> FakeConnection:
        return FakeConnection(self._pool)

    async def __aenter__(self) -> FakeConnection:
        self._conn = FakeConnection(self._pool)
        return self._conn

    async def __aexit__(self, *exc: object) -> None:
        assert self._conn is not None
        await self._pool.release(self._conn)
