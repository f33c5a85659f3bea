"""The scenarios: which Locust file, how many users, and what each seeds through the API
and hands to the Locust users in their configuration."""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from api_client import Api
from service_reads import gather_limited


async def seed_locations(api: Api, warehouse: str, aisles: int, positions: int) -> list[str]:
    await api.put(f"/v1/locations/{warehouse}", {"name": warehouse, "kind": "warehouse"})
    bins = [
        (f"{warehouse}-A{a:02d}-{p:02d}", a, p)
        for a in range(1, aisles + 1)
        for p in range(1, positions + 1)
    ]
    await gather_limited(
        Api.IN_FLIGHT,
        (
            api.put(
                f"/v1/locations/{code}",
                {"kind": "bin", "parent": warehouse, "aisle": a, "position": p},
            )
            for code, a, p in bins
        ),
    )
    return [code for code, _, _ in bins]


async def seed_stock(api: Api, stock: list[tuple[str, str, int]], name: str) -> None:
    """Items (PUT) and their opening receipts (POST), a few requests in flight."""

    async def one(sku: str, location: str, quantity: int) -> None:
        await api.put(f"/v1/items/{sku}", {"name": f"{name} {sku}"})
        if quantity:
            await api.receive(sku, location, quantity)

    await gather_limited(Api.IN_FLIGHT, (one(*s) for s in stock))


@dataclass
class Run:
    scenario: Scenario
    args: argparse.Namespace
    tag: str
    api: Api
    base_url: str
    config: dict[str, Any] = field(default_factory=dict)
    seeded: dict[str, int] = field(default_factory=dict)  # sku -> opening on_hand
    notes: list[str] = field(default_factory=list)
    locust: subprocess.Popen[bytes] | None = None  # while Locust runs (stopped on Ctrl-C)


@dataclass
class Scenario:
    name: str
    locustfile: str
    users: int
    spawn_rate: float
    duration_s: int
    seed: Callable[[Run], Awaitable[None]]
    summary: str
    # settings of `reservoir serve` for this scenario (`--server-env` overrides them)
    server_env: dict[str, str] = field(default_factory=dict)


OFFER_TTL_ENV = "RESERVOIR_OFFER_TTL_SECONDS"
OFFER_TTL_DEFAULT_S = 300  # the server's default
# the drop scenarios' waitlists: offers that lapse within the run, so they pass on
WAITLIST_ENV = {OFFER_TTL_ENV: "3"}


def server_env(scenario: Scenario, extra: list[str]) -> dict[str, str]:
    """The scenario's serve settings, then `--server-env K=V` ones over them."""
    return scenario.server_env | dict(kv.split("=", 1) for kv in extra)


def waitlist_config(run: Run) -> dict[str, Any]:
    """What the drop carts need for the waitlist (drop_cart.py) and the checks for offers."""
    offer_ttl = server_env(run.scenario, run.args.server_env).get(OFFER_TTL_ENV)
    return {
        "waitlist": True,
        "waitlist_share": 0.8,  # of the holds a cart without an entry tries, ask to wait
        "direct_join_share": 0.5,  # after a product page with nothing free for the cart
        "poll_s": [0.5, 1.0],  # a cart following its entry polls it this often
        "offer_think_s": [0.2, 1.0],
        "offer_commit_share": 0.7,  # the rest of the offers seen are left to expire
        "offer_ttl_s": int(offer_ttl) if offer_ttl else OFFER_TTL_DEFAULT_S,
    }


async def seed_flash_drop(run: Run) -> None:
    warehouse = f"WH-{run.tag}"
    bins = await seed_locations(run.api, warehouse, 1, 1)
    sku = f"DROP-{run.tag}"
    units = run.args.stock or 1000
    await seed_stock(run.api, [(sku, bins[0], units)], "Flash drop item")
    cap = 2
    await run.api.put(f"/v1/items/{sku}", {"name": f"Flash drop item {sku}", "per_buyer_max": cap})
    run.seeded = {sku: units}
    run.config |= {"drop_sku": sku, "commit_share": 0.7, "page_view_share": 0.25}
    # fewer buyers than carts: about half the buyers shop in two or more carts at once
    run.config |= {"per_buyer_max": cap, "buyers": max(1, run.args.users * 2 // 3)}
    run.config |= waitlist_config(run)
    run.config["probe_path"] = f"/v1/availability/{sku}"


async def seed_drop_pools(run: Run) -> None:
    """A drop that starts 2 s into the run, pools for web (40 %) and app (30 %) until 60 %
    of the run, 2 units per buyer; `loadtest` is a channel without a pool."""
    warehouse = f"WH-{run.tag}"
    bins = await seed_locations(run.api, warehouse, 1, 1)
    sku, code = f"POOL-{run.tag}", f"DROP-{run.tag}"
    units = run.args.stock or 1000
    await seed_stock(run.api, [(sku, bins[0], units)], "Pooled drop item")
    for channel in ("web", "app", "loadtest"):
        await run.api.put(f"/v1/channels/{channel}", {})
    now = dt.datetime.now(dt.UTC)
    starts = now + dt.timedelta(seconds=2)
    spill = starts + dt.timedelta(seconds=0.6 * run.args.duration)
    pools = [
        {"channel": "web", "units": units * 4 // 10},
        {"channel": "app", "units": units * 3 // 10},
    ]
    drop = {
        "sku": sku,
        "starts_at": starts.isoformat(),
        "spill_at": spill.isoformat(),
        "ends_at": (starts + dt.timedelta(seconds=run.args.duration + 600)).isoformat(),
        "pools": pools,
        "per_buyer_max": 2,
    }
    await run.api.put(f"/v1/drops/{code}", drop)
    run.seeded = {sku: units}
    run.config |= {"drop_sku": sku, "drop_code": code, "drop_units": units}
    run.config |= {"commit_share": 0.7, "page_view_share": 0.25, "per_buyer_max": 2}
    run.config |= {"buyers": max(1, run.args.users * 2 // 3)}
    run.config |= waitlist_config(run)
    run.config["probe_path"] = f"/v1/availability/{sku}"


async def seed_checkout_mix(run: Run) -> None:
    warehouse = f"WH-{run.tag}"
    bins = await seed_locations(run.api, warehouse, 8, 5)
    n, s = run.args.skus, run.args.zipf_s
    weights = [1.0 / (k + 1) ** s for k in range(n)]
    total = sum(weights)
    scale = run.args.stock or 6000  # the hottest SKU gets 5 + scale * its share (~600)
    skus = [f"CM-{run.tag}-{k:05d}" for k in range(n)]
    stock = [
        (sku, bins[k % len(bins)], 5 + int(scale * w / total))
        for k, (sku, w) in enumerate(zip(skus, weights, strict=True))
    ]
    await seed_stock(run.api, stock, "Checkout mix item")
    run.seeded = {sku: q for sku, _, q in stock}
    run.config["probe_path"] = f"/v1/availability/{skus[0]}"
    run.config |= {
        "skus": skus,
        "zipf_s": s,
        "commit_share": 0.6,
        "release_share": 0.15,  # the rest (25 %) abandon their cart
        "cancel_share": 0.05,
        "extend_share": 0.1,
        "read_after_ack_share": 0.2,
    }


async def seed_warehouse_during_drop(run: Run) -> None:
    warehouse = f"WH-{run.tag}"
    bins = await seed_locations(run.api, warehouse, 5, 4)
    drop = f"DROP-{run.tag}"
    regular = [f"R-{run.tag}-{k:02d}" for k in range(50)]
    stock = [(drop, bins[0], run.args.stock or 1000)]
    stock += [(sku, bins[(k + 1) % len(bins)], 200) for k, sku in enumerate(regular)]
    await seed_stock(run.api, stock, "Warehouse item")
    run.seeded = {sku: q for sku, _, q in stock}
    picklists = run.args.picklists == "on" or (
        run.args.picklists == "auto" and await detect_picklists(run, warehouse)
    )
    if run.args.picklists == "off":
        run.notes.append("pick lists skipped: --picklists off")
    run.config |= {
        "drop_sku": drop,
        "regular_skus": regular,
        "bins": {sku: loc for sku, loc, _ in stock},
        "warehouse": warehouse,
        "picklists": picklists,
        "probe_path": f"/v1/availability/{drop}",
        "commit_share": 0.7,
        "page_view_share": 0.25,
    }


async def detect_picklists(run: Run, warehouse: str) -> bool:
    """Whether the server has `POST /v1/picklists` (OpenAPI first, else a probe)."""
    r = await run.api["admin"].get("/schema/openapi.json")
    if r.status_code == 200:
        paths = r.json().get("paths", {})
        if any(p.rstrip("/") == "/v1/picklists" and "post" in v for p, v in paths.items()):
            return True
        run.notes.append("pick lists skipped: the server has no POST /v1/picklists (OpenAPI)")
        return False
    r = await run.api["warehouse"].post(
        "/v1/picklists", json={"warehouse": warehouse, "max_orders": 1}
    )
    if r.status_code in (404, 405):
        run.notes.append(f"pick lists skipped: POST /v1/picklists answered {r.status_code}")
        return False
    return True


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "flash-drop",
            "flash_drop.py",
            2000,
            500,
            60,
            seed_flash_drop,
            "1,000 units of one SKU; buyers reserve 1-2, commit 70 % or abandon, 2 per"
            " buyer; refused buyers wait, offers (3 s) committed 70 %",
            WAITLIST_ENV,
        ),
        Scenario(
            "drop-pools",
            "drop_pools.py",
            2000,
            500,
            60,
            seed_drop_pools,
            "a drop: 1,000 units, pools web 400 / app 300 until 60 % in, 2 per buyer;"
            " refused buyers wait, offers (3 s) committed 70 %",
            WAITLIST_ENV,
        ),
        Scenario(
            "checkout-mix",
            "checkout_mix.py",
            500,
            100,
            60,
            seed_checkout_mix,
            "10,000 SKUs, Zipf popularity; carts of 1-4 lines; commit/release/abandon/reads",
        ),
        Scenario(
            "warehouse-during-drop",
            "warehouse_during_drop.py",
            1000,
            250,
            60,
            seed_warehouse_during_drop,
            "a drop + regular carts while receipts (and pick lists) run",
        ),
    )
}
