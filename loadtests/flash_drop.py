"""Flash drop: 1,000 units of one SKU, thousands of buyers arriving at once.

Each cart (a Locust user, one keep-alive connection) looks at the product page now and
then, reserves 1 or 2 units with a short TTL, thinks, then commits (70 %) or abandons the
cart (the hold must expire and the units come back). Sold out (409) is the expected answer
for most attempts once the stock is gone; buyers keep trying. The item is capped at 2 units
per buyer, and there are fewer buyers than carts: many buyers shop in two or three carts at
once, and the cap holds across them (409 `buyer-limit`).

A buyer refused for lack of stock joins the SKU's waitlist (most holds ask to, and some carts
join directly after the product page shows nothing free): the units that come back go to
the waiting buyers in arrival order as offers (holds of their own lasting the server's
offer TTL, 3 s here). The cart that joined polls its entry and commits the offer (70 %) or
lets it expire, which passes the units on (drop_cart.py).

Run it through the runner, which starts the service, seeds the stock and checks the
invariants afterwards:

    .venv/bin/python loadtests/run.py flash-drop
"""

from __future__ import annotations

import random

from locust import FastHttpUser, task

from common import CONFIG
from drop_cart import DropCart


class Buyer(FastHttpUser):
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        buyers = CONFIG.get("buyers")
        self.cart = DropCart(f"buyer-{random.randrange(buyers)}" if buyers else None)

    def wait_time(self) -> float:
        return self.cart.wait_time()

    @task
    def buy(self) -> None:
        self.cart.attempt(self, CONFIG["drop_sku"])
