"""What the Locust files share: the run's configuration, the API calls of a storefront and a
warehouse client, and the record of every acknowledged write that the runner checks later.

`loadtests/run.py` writes a JSON configuration and passes its path in `LOADTEST_CONFIG`; the
Locust files read it at import. Every write goes through a helper here, which appends one
JSON line per event to the run's record file (`records.jsonl`):

    {"e": "hold",     "id", "lines": [[sku, location, qty]], "exp": expires_at}   201 to a reserve
    {"e": "sent",     "id", "op": "commit"|"release"|"extend"}   before the request leaves
    {"e": "commit",   "id", "st": status, "body": status-in-body, "t0": send time,
                      "srv": receipt by the server's clock (its Reservoir-Received-At)}
    {"e": "release",  "id", "st", "body"}       {"e": "extend", "id", "st", "exp"}
    {"e": "abandon",  "id"}                     the buyer walks away; the hold must expire
    {"e": "rsent",    "ref", "sku", "loc", "qty"}   before a receipt leaves
    {"e": "receipt",  "ref", "sku", "loc", "qty", "st"}
    {"e": "psent",    "list"}  then  {"e": "pick", "list", "st", "stops": [[rid, sku, loc, qty]]}

Waitlists (drop scenarios, drop_cart.py):

    {"e": "wjoin",    "entry", "sku", "buyer", "qty", "pos", "via": "hold"|"direct", "t"}
                      the buyer joined: a 409 with `waitlist_entry`, or a 201 to a direct join
    {"e": "wwait",    "entry", "sku", "buyer"}    409 `already-waiting`: the entry it names
    {"e": "wseen",    "entry", "st", "rid", "t"}   a poll of the entry saw a new status
    {"e": "hold", ..., "entry", "read": status}   an offer the buyer saw, read back (GET)
                      before it acts on it; then `commit` / `abandon` lines as for any hold

A status 0 means no answer (transport error or timeout): the outcome is unknown, and the
runner accepts either outcome for it. Counts of every answer by (request name, status) go
to `statuses.json` when Locust quits.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import random
import time
from collections import Counter
from typing import Any

from locust import events

CONFIG: dict[str, Any] = {}
_path = os.environ.get("LOADTEST_CONFIG")
if _path:
    with open(_path, encoding="utf-8") as f:
        CONFIG.update(json.load(f))


def headers(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {CONFIG['keys'][role]}"}


# --- the record of acknowledged writes --------------------------------------------------------


class Recorder:
    """Appends JSON lines; one Locust process, cooperative greenlets: a line is written whole."""

    def __init__(self, path: str | None) -> None:
        self._file = open(path, "a", encoding="utf-8", buffering=1) if path else None  # noqa: SIM115

    def write(self, **event: Any) -> None:
        if self._file is not None:
            self._file.write(json.dumps(event, separators=(",", ":")) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            self._file.close()
            self._file = None


RECORD = Recorder(CONFIG.get("record_path"))
STATUSES: Counter[str] = Counter()


@events.request.add_listener
def _count(name: str, response: Any = None, exception: Any = None, **_: Any) -> None:
    status = getattr(response, "status_code", 0) or 0
    STATUSES[f"{name} {status}"] += 1


@events.quitting.add_listener
def _dump(**_: Any) -> None:
    RECORD.close()
    path = CONFIG.get("statuses_path")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(dict(sorted(STATUSES.items())), out, indent=1)


_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{CONFIG.get('tag', 'x')}-{os.getpid()}-{next(_serial)}"


# --- Zipf-like popularity ---------------------------------------------------------------------


class Zipf:
    """Ranks 0..n-1 with P(rank k) proportional to 1 / (k + 1) ** s; `sample` is O(log n)."""

    def __init__(self, n: int, s: float) -> None:
        self.cumulative = list(itertools.accumulate(1.0 / (k + 1) ** s for k in range(n)))

    def sample(self) -> int:
        x = random.random() * self.cumulative[-1]
        return min(bisect.bisect_left(self.cumulative, x), len(self.cumulative) - 1)

    def distinct(self, count: int) -> list[int]:
        picked: list[int] = []
        while len(picked) < count:
            k = self.sample()
            if k not in picked:
                picked.append(k)
        return picked


# --- storefront calls -------------------------------------------------------------------------


def _fail(r: Any, what: str) -> None:
    r.failure(f"{what}: {r.status_code} {(r.text or str(r.error or ''))[:200]}")


def read_availability(user: Any, sku: str) -> dict | None:
    with user.client.get(
        f"/v1/availability/{sku}",
        headers=headers("storefront"),
        name="availability",
        catch_response=True,
    ) as r:
        if r.status_code == 200:
            return r.json()
        _fail(r, "availability")
        return None


def record_hold(held: dict, entry: str | None = None) -> None:
    """A hold the client knows of (a 201 to a reserve, or an offer for waitlist `entry` it
    read back, with the status it read)."""
    event: dict[str, Any] = {
        "e": "hold",
        "id": held["id"],
        "lines": [[ln["sku"], ln.get("location"), ln["quantity"]] for ln in held["lines"]],
        "exp": held["expires_at"],
        "t": time.time(),
    }
    if entry is not None:
        event |= {"entry": entry, "read": held.get("status")}
    RECORD.write(**event)


def reserve_or_refusal(
    user: Any,
    lines: list[tuple[str, int]],
    ttl_seconds: int,
    buyer: str | None = None,
    channel: str = "loadtest",
    waitlist: bool = False,
) -> tuple[dict | None, dict | None]:
    """A hold of `lines` ((sku, quantity)) for `buyer` on `channel` (with `waitlist`: the
    buyer waits when refused for lack of stock): (the body on 201, None), or (None, the
    problem body on 409: sold out, maybe with the `waitlist_entry` joined; `already-waiting`;
    the buyer's cap reached; a drop not started), or (None, None) on an error."""
    body: dict[str, Any] = {
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
        "ttl_seconds": ttl_seconds,
        "channel": channel,
    }
    if buyer is not None:
        body["buyer"] = buyer
    if waitlist:
        body["waitlist"] = True
    with user.client.post(
        "/v1/reservations",
        json=body,
        headers=headers("storefront"),
        name="reserve",
        catch_response=True,
    ) as r:
        if r.status_code == 201:
            held = r.json()
            record_hold(held)
            return held, None
        if r.status_code == 409:
            r.success()  # sold out: the expected answer, not an error
            try:
                return None, r.json()
            except ValueError:
                return None, {}
        _fail(r, "reserve")
        return None, None


def reserve(
    user: Any,
    lines: list[tuple[str, int]],
    ttl_seconds: int,
    buyer: str | None = None,
    channel: str = "loadtest",
) -> dict | None:
    """A hold of `lines` ((sku, quantity)) for `buyer` on `channel`; the body on 201, None
    on 409 (sold out, the buyer's cap reached, a drop not started) or an error."""
    return reserve_or_refusal(user, lines, ttl_seconds, buyer, channel)[0]


# the server's clock at receipt (docs/api.md): a starved client sends late, so time-dependent
# answers are judged by this, not by `t0`
RECEIVED_AT = "Reservoir-Received-At"


def _transition(user: Any, op: str, rid: str, body: dict | None = None) -> tuple[int, Any]:
    RECORD.write(e="sent", id=rid, op=op)
    t0 = time.time()
    with user.client.post(
        f"/v1/reservations/{rid}/{op}",
        json=body or {},
        headers=headers("storefront"),
        name=op,
        catch_response=True,
    ) as r:
        status = r.status_code or 0
        received = r.headers.get(RECEIVED_AT) if status else None
        answer = r.json() if status == 200 else None
        if status == 409:
            r.success()  # e.g. the hold expired first: recorded, judged by the runner
        elif status != 200:
            _fail(r, op)
    event: dict[str, Any] = {"e": op, "id": rid, "st": status, "t0": t0}
    if received is not None and received.isdigit():
        event["srv"] = int(received) / 1000  # when the server received it, by its clock
    if answer is not None:
        event["body"] = answer.get("status")
        if op == "extend":
            event["exp"] = answer.get("expires_at")
    RECORD.write(**event)
    return status, answer


def commit(user: Any, rid: str) -> int:
    return _transition(user, "commit", rid)[0]


def release(user: Any, rid: str) -> int:
    return _transition(user, "release", rid)[0]


def extend(user: Any, rid: str, ttl_seconds: int) -> int:
    return _transition(user, "extend", rid, {"ttl_seconds": ttl_seconds})[0]


def abandon(rid: str) -> None:
    RECORD.write(e="abandon", id=rid)


def read_reservation(user: Any, rid: str) -> None:
    """Read-your-write: an acknowledged hold must be readable at once (404 = lost ack)."""
    with user.client.get(
        f"/v1/reservations/{rid}",
        headers=headers("storefront"),
        name="read reservation",
        catch_response=True,
    ) as r:
        if r.status_code != 200:
            _fail(r, "read after ack")


def buyer_journey(
    user: Any,
    lines: list[tuple[str, int]],
    buyer: str | None = None,
    channel: str = "loadtest",
    waitlist: bool = False,
) -> dict | None:
    """Reserve `lines` (for `buyer`, on `channel`; with `waitlist`, waiting when refused for
    lack of stock); then, after a short think, commit (commit_share), release (release_share)
    or walk away so the hold expires; some commits are cancelled. The problem body when the
    hold was refused (409), else None."""
    ttl = int(CONFIG["ttl_seconds"])
    held, refusal = reserve_or_refusal(user, lines, ttl, buyer, channel, waitlist)
    if held is None:
        return refusal
    rid = held["id"]
    if random.random() < CONFIG.get("read_after_ack_share", 0.0):
        read_reservation(user, rid)
    time.sleep(random.uniform(*CONFIG.get("think_s", (0.2, 1.5))))
    if random.random() < CONFIG.get("extend_share", 0.0):
        extend(user, rid, ttl)
    x = random.random()
    if x < CONFIG["commit_share"]:
        if commit(user, rid) == 200 and random.random() < CONFIG.get("cancel_share", 0.0):
            time.sleep(random.uniform(0.1, 0.5))
            release(user, rid)  # the order is cancelled: committed -> released
    elif x < CONFIG["commit_share"] + CONFIG.get("release_share", 0.0):
        release(user, rid)
    else:
        abandon(rid)
    return None


# --- warehouse calls --------------------------------------------------------------------------


def receive(
    user: Any,
    sku: str,
    location: str,
    quantity: int,
    lot: str | None = None,
    expires_on: str | None = None,
) -> int:
    ref = unique("rcpt")
    RECORD.write(e="rsent", ref=ref, sku=sku, loc=location, qty=quantity)
    body: dict[str, Any] = {"sku": sku, "location": location, "quantity": quantity}
    body["reference"] = ref
    if lot is not None:
        body["lot"] = lot
    if expires_on is not None:
        body["expires_on"] = expires_on
    with user.client.post(
        "/v1/stock/receipts",
        json=body,
        headers=headers("warehouse"),
        name="receipt",
        catch_response=True,
    ) as r:
        status = r.status_code or 0
        if status != 201:
            _fail(r, "receipt")
    RECORD.write(e="receipt", ref=ref, sku=sku, loc=location, qty=quantity, st=status)
    return status
