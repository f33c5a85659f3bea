"""The live availability stream during a drop (issue 14): two clients watch the drop SKU from
before the load to after the last hold expired; one of them disconnects twice and resumes
with `Last-Event-ID`. Each must see every change exactly once and in order, and what they saw
must be the ledger's: at each event, the SKU's levels equal the ledger folded up to the
event's LSN, and the last event covers the SKU's last ledger entry. Lag (arrival less the
ledger `at` of the event's LSN, one machine's clock) is reported."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

import asyncpg
import httpx

from check import Check
from percentiles import percentile
from reservoir.ledger.fold import FOLD

QUIET_WAIT_S = 15.0  # after the load: how long the last events may take to arrive


@dataclass
class Seen:
    event: str
    id: str
    data: dict
    at: float  # arrival, time.time()
    connected_at: float  # when its connection was opened


class StreamWatcher(threading.Thread):
    """One client of `GET /v1/availability/stream?skus=<sku>` in a thread of the runner. With
    `resume_after` (seconds from the start), it disconnects at each of those times, waits
    `pause_s`, and reconnects with the last event's id as `Last-Event-ID`."""

    def __init__(
        self, name: str, base_url: str, key: str, sku: str, resume_after: list[float]
    ) -> None:
        super().__init__(daemon=True, name=name)
        self.base_url, self.key, self.sku = base_url, key, sku
        self.resume_after = sorted(resume_after)
        self.pause_s = 2.0
        self.seen: list[Seen] = []
        self.connections = 0
        self.failures: list[str] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        with httpx.Client(base_url=self.base_url, timeout=30.0, trust_env=False) as client:
            while not self._stop_event.is_set():
                until = next((t for t in self.resume_after if t > time.monotonic() - started), None)
                try:
                    self._read(client, None if until is None else started + until)
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    return
                if not self._stop_event.is_set():
                    self.resume_after = [t for t in self.resume_after if t != until]
                    self._stop_event.wait(self.pause_s)

    def _read(self, client: httpx.Client, until: float | None) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        if self.seen:
            headers["Last-Event-ID"] = self.seen[-1].id
        params = {"skus": self.sku}
        with client.stream("GET", "/v1/availability/stream", params=params, headers=headers) as r:
            if r.status_code != 200:
                self.failures.append(f"status {r.status_code}: {r.read()[:200]!r}")
                self._stop_event.set()
                return
            self.connections += 1
            connected_at = time.time()
            fields: dict[str, str] = {}
            for line in r.iter_lines():
                if line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                    continue
                if "data" in fields:
                    data = json.loads(fields["data"])
                    event, cursor = fields.get("event", ""), fields.get("id", "")
                    self.seen.append(Seen(event, cursor, data, time.time(), connected_at))
                fields = {}
                if self._stop_event.is_set() or (until is not None and time.monotonic() >= until):
                    return

    def stop(self) -> None:
        self._stop_event.set()
        self.join(35)


def start_watchers(base_url: str, key: str, sku: str, duration: float) -> list[StreamWatcher]:
    """Two watchers of the drop SKU: one steady, one that drops and resumes twice."""
    watchers = [
        StreamWatcher("steady", base_url, key, sku, []),
        StreamWatcher("resuming", base_url, key, sku, [duration * 0.3, duration * 0.6]),
    ]
    for watcher in watchers:
        watcher.start()
    return watchers


async def check_streams(
    conn: asyncpg.Connection, watchers: list[StreamWatcher], sku: str
) -> list[Check]:
    rows = await conn.fetch(
        "SELECT e.lsn, e.location, e.kind, e.quantity, e.at FROM ledger_entries e"
        " JOIN locations l ON l.code = e.location WHERE e.sku = $1 AND l.sellable"
        " ORDER BY e.lsn, e.id",
        sku,
    )
    last_lsn = rows[-1]["lsn"] if rows else 0
    await asyncio.to_thread(_stop_when_caught_up, watchers, last_lsn)
    folded = _fold_at(rows)
    at = {row["lsn"]: row["at"].timestamp() for row in rows}
    return [_check_watcher(w, folded, at, last_lsn) for w in watchers] + [_check_agree(watchers)]


def _stop_when_caught_up(watchers: list[StreamWatcher], last_lsn: int) -> None:
    """Stops the watchers once each saw an event at or past `last_lsn` (or after 15 s)."""
    deadline = time.monotonic() + QUIET_WAIT_S
    while time.monotonic() < deadline and any(_last_lsn(w) < last_lsn for w in watchers):
        time.sleep(0.2)
    for watcher in watchers:
        watcher.stop()


def _last_lsn(watcher: StreamWatcher) -> int:
    lsns = [s.data["lsn"] for s in watcher.seen if "lsn" in s.data]
    return lsns[-1] if lsns else 0


def _fold_at(rows: list) -> dict[int, tuple[int, int, int, int]]:
    """The SKU's (on_hand, reserved, committed, available) over its sellable locations after
    each LSN of its ledger entries."""
    levels: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    out: dict[int, tuple[int, int, int, int]] = {}
    for row in rows:
        level = levels[row["location"]]
        for i, d in enumerate(FOLD[row["kind"]]):
            level[i] += d * row["quantity"]
        h = sum(v[0] for v in levels.values())
        r = sum(v[1] for v in levels.values())
        c = sum(v[2] for v in levels.values())
        available = sum(max(v[0] - v[1] - v[2], 0) for v in levels.values())
        out[row["lsn"]] = (h, r, c, available)
    return out


def _check_watcher(
    watcher: StreamWatcher, folded: dict[int, tuple[int, int, int, int]], at: dict, last: int
) -> Check:
    name = f"live stream, {watcher.name} client: every change once, in order, as the ledger has it"
    problems = list(watcher.failures)
    resets = [s for s in watcher.seen if s.event == "reset"]
    levels = [s for s in watcher.seen if s.event == "levels"]
    if len(resets) != 1 or watcher.seen[:1] != resets:
        problems.append(f"{len(resets)} resets (one, first, expected: resumes are exact)")
    seqs = [s.data["seq"] for s in watcher.seen]
    skips = [(a, b) for a, b in itertools.pairwise(seqs) if b != a + 1]
    if skips:
        problems.append(f"{len(skips)} gaps or repeats in seq, first {skips[:3]}")
    lsns = [s.data["lsn"] for s in levels]
    if any(b <= a for a, b in itertools.pairwise(lsns)):
        problems.append("lsn not increasing")
    known = sorted(folded)
    wrong = []
    for s in levels:
        upto = _at_or_before(known, s.data["lsn"])
        want = folded[upto] if upto is not None else (0, 0, 0, 0)
        got = tuple(s.data[k] for k in ("on_hand", "reserved", "committed", "available"))
        if got != want:
            wrong.append(f"seq {s.data['seq']} lsn {s.data['lsn']}: {got} != ledger {want}")
    if wrong:
        problems.append(f"{len(wrong)} events unlike the ledger, first {wrong[:2]}")
    if _last_lsn(watcher) < last:
        problems.append(f"last event at lsn {_last_lsn(watcher)}, the ledger's last is {last}")
    # live lag: of changes made while connected (not those from before a connection was
    # answered: caught up on after a resume, or in the window of a busy server's answer)
    live = [s for s in levels if s.data["lsn"] in at and at[s.data["lsn"]] >= s.connected_at]
    lags = sorted((s.at - at[s.data["lsn"]]) * 1000 for s in live)
    detail = (
        f"{len(levels)} events over {watcher.connections} connection(s), seq "
        f"{seqs[0] if seqs else '-'}..{seqs[-1] if seqs else '-'}, "
        f"levels = ledger fold at each lsn"
    )
    if lags:
        p50, p99 = percentile(lags, 0.5), percentile(lags, 0.99)
        detail += f"; live lag p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    if len(live) < len(levels):
        detail += f"; {len(levels) - len(live)} from before a connection was answered"
    return Check(name, not problems, "; ".join(problems) if problems else detail)


def _at_or_before(known: list[int], lsn: int) -> int | None:
    i = bisect.bisect_right(known, lsn)
    return known[i - 1] if i else None


def _check_agree(watchers: list[StreamWatcher]) -> Check:
    by_seq = [{s.data["seq"]: s.data for s in w.seen if s.event == "levels"} for w in watchers]
    common = set.intersection(*(set(b) for b in by_seq))
    differ = [seq for seq in common if any(b[seq] != by_seq[0][seq] for b in by_seq)]
    ends = {max(b, default=0) for b in by_seq}
    ok = not differ and len(ends) == 1
    detail = f"{len(common)} events in common, all alike, both ending at seq {ends.pop()}"
    if not ok:
        detail = f"{len(differ)} events differ, last seqs {sorted(ends)}"
    return Check("live stream: the two clients saw the same events", ok, detail)
