"""A cart of the drop scenarios (flash-drop, drop-pools): one Locust user shopping for one
buyer (fewer buyers than carts, so a buyer may shop in several carts), with the item's
per-buyer cap and the SKU's waitlist.

An attempt: now and then a look at the product page; then a hold of 1 or 2 units that, when
the config has `waitlist`, asks to wait when refused for lack of stock (`waitlist_share` of
the attempts). When the page showed nothing free for the cart, it may join the waitlist
directly instead (`direct_join_share`). A cart whose buyer joined follows its entry: it polls
`GET /v1/waitlist-entries/{id}` every `poll_s` (0.5-1 s, instead of shopping), and when the
entry is `offered` it reads the offer (the hold the engine made for the buyer), thinks
briefly, then commits it (`offer_commit_share`) or leaves it to expire, which passes its
units to the next entry. Then it shops again. Everything it is told goes to the record file
(common.py): the entries joined, the statuses seen, the offers as holds.
"""

from __future__ import annotations

import random
import time
from typing import Any

from common import (
    CONFIG,
    RECORD,
    _fail,
    abandon,
    buyer_journey,
    commit,
    headers,
    read_availability,
    record_hold,
)

# statuses after which an entry is over for its cart (it shops again)
ENDED = {"committed", "fulfilled", "expired", "declined", "cancelled", "refused"}


def problem_type(problem: dict | None) -> str:
    return str((problem or {}).get("type", "")).rsplit("/", 1)[-1]


class DropCart:
    """What a cart keeps between its tasks: its buyer and the waitlist entry it follows."""

    def __init__(self, buyer: str | None) -> None:
        self.buyer = buyer
        self.entry: str | None = None  # the entry this cart joined and follows
        self.seen: str | None = None  # the entry's last status seen

    def wait_time(self) -> float:
        """Polls its entry every `poll_s`; otherwise the scenario's wait between attempts."""
        low, high = CONFIG.get("poll_s", (0.5, 1.0)) if self.entry else CONFIG["wait_s"]
        return random.uniform(low, high)

    def attempt(self, user: Any, sku: str, channel: str = "loadtest") -> None:
        if self.entry is not None:
            self.follow(user)
            return
        quantity = random.choice((1, 2))
        waitlist = bool(CONFIG.get("waitlist")) and self.buyer is not None
        if random.random() < CONFIG.get("page_view_share", 0.25):
            page = read_availability(user, sku)
            free = None if page is None else page["available"] - page.get("waitlisted", 0)
            if (
                waitlist
                and free is not None
                and free < quantity
                and random.random() < CONFIG.get("direct_join_share", 0.5)
            ):
                self.join(user, sku, quantity, channel)
                return
        wait = waitlist and random.random() < CONFIG.get("waitlist_share", 0.8)
        refusal = buyer_journey(user, [(sku, quantity)], self.buyer, channel, wait)
        if wait and refusal is not None:
            self.refused(sku, quantity, refusal, "hold")

    def refused(self, sku: str, quantity: int, problem: dict, via: str) -> None:
        """A 409 to a hold asking to wait, or to a direct join: the entry joined (to follow),
        or the one the buyer already waits with (another of its carts follows it)."""
        kind = problem_type(problem)
        entry = problem.get("waitlist_entry")
        if kind == "insufficient-stock" and isinstance(entry, dict):
            self.joined(sku, quantity, entry, via)
        elif kind == "already-waiting" and problem.get("entry"):
            RECORD.write(e="wwait", entry=problem["entry"], sku=sku, buyer=self.buyer)

    def joined(self, sku: str, quantity: int, entry: dict, via: str) -> None:
        RECORD.write(
            e="wjoin",
            entry=entry["id"],
            sku=sku,
            buyer=self.buyer,
            qty=quantity,
            pos=entry.get("position"),
            via=via,
            t=time.time(),
        )
        self.entry, self.seen = entry["id"], "waiting"

    def join(self, user: Any, sku: str, quantity: int, channel: str) -> None:
        """`POST /v1/waitlists/{sku}/entries`: 201 joined; 409 `units-available` (nobody
        waits and the units are there), `already-waiting`, `buyer-limit`."""
        body = {"buyer": self.buyer, "quantity": quantity, "channel": channel}
        with user.client.post(
            f"/v1/waitlists/{sku}/entries",
            json=body,
            headers=headers("storefront"),
            name="join waitlist",
            catch_response=True,
        ) as r:
            if r.status_code == 201:
                self.joined(sku, quantity, r.json(), "direct")
            elif r.status_code == 409:
                r.success()
                self.refused(sku, quantity, r.json(), "direct")
            else:
                _fail(r, "join waitlist")

    def follow(self, user: Any) -> None:
        """One poll of the entry; an offer seen is taken or left to expire."""
        assert self.entry is not None
        with user.client.get(
            f"/v1/waitlist-entries/{self.entry}",
            headers=headers("storefront"),
            name="waitlist entry",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                _fail(r, "waitlist entry")
                return
            entry = r.json()
        status = entry["status"]
        if status != self.seen:
            RECORD.write(
                e="wseen",
                entry=self.entry,
                st=status,
                rid=entry.get("reservation_id"),
                t=time.time(),
            )
            self.seen = status
        if status == "offered":
            self.take_offer(user, entry)
        if status == "offered" or status in ENDED:
            self.entry = self.seen = None

    def take_offer(self, user: Any, entry: dict) -> None:
        """Reads the offer (its lines, to record it as a hold), thinks, then commits it or
        walks away (it expires and passes on)."""
        rid = entry["reservation_id"]
        with user.client.get(
            f"/v1/reservations/{rid}",
            headers=headers("storefront"),
            name="read offer",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                _fail(r, "read offer")
                return
            offer = r.json()
        record_hold(offer, entry["id"])
        if offer["status"] != "held":  # expired before the buyer looked
            abandon(rid)
            return
        time.sleep(random.uniform(*CONFIG.get("offer_think_s", (0.2, 1.0))))
        if random.random() < CONFIG.get("offer_commit_share", 0.7):
            commit(user, rid)
        else:
            abandon(rid)
