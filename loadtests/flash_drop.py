"""Flash drop: 1,000 units of one SKU, thousands of buyers arriving at once.

Each buyer (a Locust user, one keep-alive connection) looks at the product page now and
then, reserves 1 or 2 units with a short TTL, thinks, then commits (70 %) or abandons the
cart (the hold must expire and the units come back). Sold out (409) is the expected answer
for most attempts once the stock is gone; buyers keep trying, and grab what expired holds
give back.

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

    @task
    def buy(self) -> None:
        sku = CONFIG["drop_sku"]
        if random.random() < CONFIG.get("page_view_share", 0.25):
            read_availability(self, sku)
        buyer_journey(self, [(sku, random.choice((1, 2)))])
