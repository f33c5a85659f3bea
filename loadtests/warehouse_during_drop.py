"""Warehouse during a drop: receipts and pick lists while storefront traffic runs.

Users:
- Buyer: the flash-drop buyer on the drop SKU (reserve 1-2, commit 70 % or abandon).
- Shopper: carts of 1-3 regular SKUs from the same warehouse (so there is more to pick).
- Receiver (2 users): receipts into the warehouse bins, including restocks of the drop SKU
  while it sells, every one with a unique `reference` so the runner finds its ledger row;
  most into one of a few lots with expiry dates (`LOTS`), so holds take the oldest lot
  first and pick lists split stops by lot while the drop runs (`verify` checks the lots).
- Picker (1 user, only when the server has `POST /v1/picklists`; the runner detects it from
  the OpenAPI document): builds a pick list of committed orders for the warehouse and
  confirms every stop in full (units leave `on_hand` and `committed` as `ship` entries).

    .venv/bin/python loadtests/run.py warehouse-during-drop
"""

from __future__ import annotations

import random
import time

from locust import FastHttpUser, between, constant, task

from common import CONFIG, RECORD, buyer_journey, headers, read_availability, receive

REGULAR: list[str] = CONFIG.get("regular_skus", [])
# (lot, expiry date) of a receipt; None: unlotted units
LOTS: list[tuple[str | None, str | None]] = [
    ("LOT-JAN", "2027-01-31"),
    ("LOT-MAR", "2027-03-31"),
    ("LOT-NODATE", None),
    (None, None),
]
BINS: dict[str, str] = CONFIG.get("bins", {})  # sku -> bin


class Buyer(FastHttpUser):
    weight = 4
    wait_time = between(*CONFIG.get("wait_s", (0.5, 2.0)))
    network_timeout = 30.0
    connection_timeout = 30.0

    @task
    def buy(self) -> None:
        sku = CONFIG["drop_sku"]
        if random.random() < CONFIG.get("page_view_share", 0.25):
            read_availability(self, sku)
        buyer_journey(self, [(sku, random.choice((1, 2)))])


class Shopper(FastHttpUser):
    weight = 1
    wait_time = between(*CONFIG.get("wait_s", (0.5, 2.0)))
    network_timeout = 30.0
    connection_timeout = 30.0

    @task
    def checkout(self) -> None:
        skus = random.sample(REGULAR, random.randint(1, min(3, len(REGULAR))))
        buyer_journey(self, [(sku, random.randint(1, 3)) for sku in skus])


class Receiver(FastHttpUser):
    fixed_count = 2
    wait_time = between(0.2, 0.6)
    network_timeout = 30.0
    connection_timeout = 30.0

    @task(1)
    def restock_drop(self) -> None:
        sku = CONFIG["drop_sku"]
        receive(self, sku, BINS[sku], random.randint(5, 20), *random.choice(LOTS))

    @task(4)
    def receive_regular(self) -> None:
        sku = random.choice(REGULAR)
        receive(self, sku, BINS[sku], random.randint(1, 50), *random.choice(LOTS))


if CONFIG.get("picklists"):

    class Picker(FastHttpUser):
        fixed_count = 1
        wait_time = constant(1.0)
        network_timeout = 30.0
        connection_timeout = 30.0

        @task
        def pick(self) -> None:
            body = {"warehouse": CONFIG["warehouse"], "max_orders": CONFIG.get("max_orders", 20)}
            with self.client.post(
                "/v1/picklists",
                json=body,
                headers=headers("warehouse"),
                name="picklist",
                catch_response=True,
            ) as r:
                if r.status_code != 201:
                    if r.status_code in (204, 409):  # nothing committed to pick yet
                        r.success()
                    else:
                        r.failure(f"picklist: {r.status_code} {(r.text or '')[:200]}")
                    return
                picklist = r.json()
            stops = picklist.get("stops") or []
            if not stops:
                return
            time.sleep(random.uniform(0.1, 0.3))  # walking the route
            picks = [{"seq": s["seq"], "quantity": s["quantity"]} for s in stops]
            list_id = picklist["id"]
            planned = [
                [s.get("reservation_id"), s["sku"], s["location"], s["quantity"]] for s in stops
            ]
            RECORD.write(e="psent", list=list_id, stops=planned)
            with self.client.post(
                f"/v1/picklists/{list_id}/confirm",
                json={"picks": picks},
                headers=headers("warehouse"),
                name="confirm picks",
                catch_response=True,
            ) as r:
                status = r.status_code or 0
                if status != 200:
                    r.failure(f"confirm: {status} {(r.text or '')[:200]}")
            lotted = sum(s["quantity"] for s in stops if s.get("lot"))
            RECORD.write(e="pick", list=list_id, st=status, stops=planned, lotted=lotted)
