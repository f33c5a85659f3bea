"""What the Locust users were told: `Records` folds the record file (`records.jsonl`, see
common.py) into what each acknowledged hold, receipt and pick should have become."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOLD_EVENTS = ("sent", "commit", "release", "extend", "abandon")


def _ts(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass
class Hold:
    id: str
    lines: list[tuple[str, str, int]]
    exp: float
    t: float
    abandoned: bool = False
    sent: Counter[str] = field(default_factory=Counter)
    # (op, status, status in the body, when the server received it): the server's clock
    # from the answer's Reservoir-Received-At, else (no answer) the client's send time
    answers: list[tuple[str, int, str | None, float]] = field(default_factory=list)
    entry: str | None = None  # an offer: the waitlist entry it was made for
    read: str | None = None  # an offer: its status when its buyer read it

    @property
    def units(self) -> int:
        return sum(q for _, _, q in self.lines)

    def answered(self, op: str, status: int) -> bool:
        return any(o == op and s == status for o, s, _, _ in self.answers)

    def unanswered(self) -> bool:
        """A commit/release/extend left without a definite answer (transport error, 5xx,
        or Locust stopped before it came back): its outcome is unknown."""
        answered = Counter(o for o, s, _, _ in self.answers if s in (200, 409))
        return any(answered[op] < n for op, n in self.sent.items())

    def allowed_statuses(self, *, picked: bool = False) -> set[str]:
        """The statuses this hold may read now (after every TTL ran out), given the answers
        its client got."""
        committed = {"committed", "fulfilled"} if picked else {"committed"}
        if self.unanswered():
            return committed | {"expired", "released"}
        result: str | None = None
        for op, status, body, _ in self.answers:
            if op == "commit" and status == 200:
                result = "committed"
            elif op == "commit" and status == 409:
                result = result or "expired"
            elif op == "release" and status == 200:
                result = body or "released"
        if result is None:
            return {"expired"}  # abandoned, or only extended: the hold ran out
        return committed if result == "committed" else {result}

    def record(self, kind: str, ev: dict[str, Any]) -> None:
        """One later event of this hold: a request sent, an answer, or the buyer walking away."""
        if kind == "sent":
            self.sent[ev["op"]] += 1
        elif kind == "abandon":
            self.abandoned = True
        else:
            self.answers.append((kind, ev["st"], ev.get("body"), ev.get("srv") or ev["t0"]))
            if kind == "extend" and ev.get("exp"):
                self.exp = max(self.exp, _ts(ev["exp"]))


@dataclass
class Entry:
    """A waitlist entry a buyer was told of: joined (its cart follows it), or named by an
    `already-waiting` answer to another of the buyer's carts."""

    id: str
    sku: str
    buyer: str
    qty: int | None = None  # None: only named by `already-waiting`
    position: int | None = None
    via: str | None = None  # "hold" (a refused hold that asked to wait) or "direct"
    # statuses its cart's polls saw, in order, with the offer's reservation when offered
    seen: list[str] = field(default_factory=list)
    offer: str | None = None


@dataclass
class Records:
    holds: dict[str, Hold] = field(default_factory=dict)
    entries: dict[str, Entry] = field(default_factory=dict)
    already_waiting: int = 0  # 409 already-waiting answers
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    receipts_sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    picks: list[dict[str, Any]] = field(default_factory=list)
    picks_sent: dict[str, list] = field(default_factory=dict)
    bad_lines: int = 0

    @classmethod
    def load(cls, path: Path) -> Records:
        rec = cls()
        if not path.exists():
            return rec
        for raw in path.read_text(encoding="utf-8").splitlines():
            try:
                ev = json.loads(raw)
            except ValueError:
                rec.bad_lines += 1
                continue
            rec.add(ev)
        return rec

    def add(self, ev: dict[str, Any]) -> None:
        """One event of the record file; events of unknown kinds are ignored."""
        kind = ev.get("e")
        if kind == "hold":
            lines = [(s, loc, int(q)) for s, loc, q in ev["lines"]]
            self.holds[ev["id"]] = Hold(
                ev["id"], lines, _ts(ev["exp"]), ev["t"], entry=ev.get("entry"), read=ev.get("read")
            )
        elif kind in ("wjoin", "wwait", "wseen"):
            self._add_entry_event(kind, ev)
        elif kind in HOLD_EVENTS:
            self._add_hold_event(kind, ev)
        elif kind == "rsent":
            self.receipts_sent[ev["ref"]] = ev
        elif kind == "receipt":
            self.receipts[ev["ref"]] = ev
        elif kind == "psent":
            self.picks_sent[ev["list"]] = ev["stops"]
        elif kind == "pick":
            self.picks.append(ev)

    def _add_entry_event(self, kind: str, ev: dict[str, Any]) -> None:
        eid = ev["entry"]
        if kind == "wjoin":
            self.entries[eid] = Entry(
                eid, ev["sku"], ev["buyer"], int(ev["qty"]), ev.get("pos"), ev.get("via")
            )
        elif kind == "wwait":
            self.already_waiting += 1
            self.entries.setdefault(eid, Entry(eid, ev["sku"], ev["buyer"]))
        elif eid in self.entries:
            entry = self.entries[eid]
            entry.seen.append(ev["st"])
            entry.offer = ev.get("rid") or entry.offer
        else:
            self.bad_lines += 1  # a status of an entry never joined

    def offers(self) -> list[Hold]:
        """The offers the buyers saw (and read back), as holds."""
        return [h for h in self.holds.values() if h.entry is not None]

    def _add_hold_event(self, kind: str, ev: dict[str, Any]) -> None:
        hold = self.holds.get(ev["id"])
        if hold is None:
            self.bad_lines += 1  # an event of a hold never acknowledged
        else:
            hold.record(kind, ev)

    @property
    def latest_expiry(self) -> float:
        return max((h.exp for h in self.holds.values()), default=0.0)

    def skus(self) -> set[str]:
        found = {s for h in self.holds.values() for s, _, _ in h.lines}
        return found | {r["sku"] for r in self.receipts.values()}

    def picked_ids(self) -> set[str]:
        return {stop[0] for p in self.picks for stop in p["stops"] if stop[0]}

    def shipped(self) -> Counter[tuple[str, str]]:
        units: Counter[tuple[str, str]] = Counter()
        for p in self.picks:
            if p["st"] == 200:
                for _, sku, loc, qty in p["stops"]:
                    units[sku, loc] += int(qty)
        return units

    def unknown_shipped(self) -> Counter[str]:
        """Units per SKU of pick confirmations without a definite answer."""
        done = {p["list"]: p["st"] for p in self.picks}
        units: Counter[str] = Counter()
        for list_id, stops in self.picks_sent.items():
            if done.get(list_id, 0) == 0 or done[list_id] >= 500:
                for _, sku, _, qty in stops:
                    units[sku] += int(qty)
        return units

    def acked_receipts(self) -> list[dict[str, Any]]:
        return [r for r in self.receipts.values() if r["st"] == 201]

    def unknown_receipts(self) -> list[dict[str, Any]]:
        """Receipts sent without a definite answer: they may or may not have happened."""
        return [
            sent
            for ref, sent in self.receipts_sent.items()
            if ref not in self.receipts or self.receipts[ref]["st"] not in (201, 409, 422)
        ]
