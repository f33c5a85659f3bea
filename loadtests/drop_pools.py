"""Drop with pools: 1,000 units of one SKU in a drop that starts two seconds into the run,
with 400 units ring-fenced for `web` and 300 for `app` until the spill (60 % into the run),
and a cap of 2 units per buyer. Buyers (fewer than carts: many shop in two or three carts,
on both channels) hold 1 or 2 units on `web`, `app` or a channel without a pool
(`loadtest`), then commit (70 %) or abandon the cart. Refused for lack of stock, they join
the SKU's waitlist (with the channel of the attempt) and take or leave the offers as in
flash-drop (drop_cart.py).

    .venv/bin/python loadtests/run.py drop-pools
"""

from __future__ import annotations

import random

from locust import FastHttpUser, task

from common import CONFIG
from drop_cart import DropCart

CHANNELS = ("web", "web", "app", "loadtest")  # half the attempts on web, a quarter each


class PoolBuyer(FastHttpUser):
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        self.cart = DropCart(f"buyer-{random.randrange(CONFIG['buyers'])}")

    def wait_time(self) -> float:
        return self.cart.wait_time()

    @task
    def buy(self) -> None:
        self.cart.attempt(self, CONFIG["drop_sku"], random.choice(CHANNELS))
