"""Flash drop: 1,000 units of one SKU, thousands of buyers arriving at once.

Each cart (a Locust user, one keep-alive connection) looks at the product page now and
then, reserves 1 or 2 units with a short TTL, thinks, then commits (70 %) or abandons the
cart (the hold must expire and the units come back). Sold out (409) is the expected answer
for most attempts once the stock is gone; buyers keep trying, and grab what expired holds
give back. The item is capped at 2 units per buyer, and there are fewer buyers than carts:
many buyers shop in two or three carts at once, and the cap holds across them (409
`buyer-limit`).

Run it through the runner, which starts the service, seeds the stock and checks the
invariants afterwards:

    .venv/bin/python loadtests/run.py flash-drop
"""

from __future__ import annotations

import random

from locust import FastHttpUser, between, task

from common import CONFIG, buyer_journey, read_availability


class Buyer(FastHttpUser):
    wait_time = between(*CONFIG.get("wait_s", (0.5, 2.0)))
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        buyers = CONFIG.get("buyers")
        self.buyer = f"buyer-{random.randrange(buyers)}" if buyers else None

    @task
    def buy(self) -> None:
        sku = CONFIG["drop_sku"]
        if random.random() < CONFIG.get("page_view_share", 0.25):
            read_availability(self, sku)
        buyer_journey(self, [(sku, random.choice((1, 2)))], self.buyer)
