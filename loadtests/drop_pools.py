"""Drop with pools: 1,000 units of one SKU in a drop that starts two seconds into the run,
with 400 units ring-fenced for `web` and 300 for `app` until the spill (60 % into the run),
and a cap of 2 units per buyer. Buyers (fewer than carts: many shop in two or three carts,
on both channels) hold 1 or 2 units on `web`, `app` or a channel without a pool
(`loadtest`), then commit (70 %) or abandon the cart.

    .venv/bin/python loadtests/run.py drop-pools
"""

from __future__ import annotations

import random

from locust import FastHttpUser, between, task

from common import CONFIG, buyer_journey, read_availability

CHANNELS = ("web", "web", "app", "loadtest")  # half the attempts on web, a quarter each


class PoolBuyer(FastHttpUser):
    wait_time = between(*CONFIG.get("wait_s", (0.5, 2.0)))
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        self.buyer = f"buyer-{random.randrange(CONFIG['buyers'])}"

    @task
    def buy(self) -> None:
        sku = CONFIG["drop_sku"]
        if random.random() < CONFIG.get("page_view_share", 0.25):
            read_availability(self, sku)
        buyer_journey(self, [(sku, random.choice((1, 2)))], self.buyer, random.choice(CHANNELS))
