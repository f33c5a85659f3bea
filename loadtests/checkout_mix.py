"""Checkout mix: 10,000 SKUs with Zipf-like popularity, the everyday traffic of a storefront.

Shoppers browse (availability reads of popular SKUs), build multi-line carts (1-4 distinct
SKUs, 1-3 units each), hold them, then commit, release, or abandon the cart (the hold
expires). Some holds are extended, some orders are cancelled after the commit, some holds
are read back at once. The hottest SKUs sell out during the run, so whole carts are refused
(409, all lines or none).

    .venv/bin/python loadtests/run.py checkout-mix
"""

from __future__ import annotations

import random

from locust import FastHttpUser, between, task

from common import CONFIG, Zipf, buyer_journey, read_availability

SKUS: list[str] = CONFIG.get("skus", [])
POPULARITY = Zipf(len(SKUS), CONFIG.get("zipf_s", 1.0)) if SKUS else None


class Shopper(FastHttpUser):
    wait_time = between(*CONFIG.get("wait_s", (0.5, 2.0)))
    network_timeout = 30.0
    connection_timeout = 30.0

    @task(3)
    def browse(self) -> None:
        assert POPULARITY is not None
        for _ in range(random.randint(1, 3)):
            read_availability(self, SKUS[POPULARITY.sample()])

    @task(2)
    def checkout(self) -> None:
        assert POPULARITY is not None
        ranks = POPULARITY.distinct(random.randint(1, 4))
        buyer_journey(self, [(SKUS[k], random.randint(1, 3)) for k in ranks])
