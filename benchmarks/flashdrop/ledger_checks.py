"""After a run: the server's ledger read back and checked against what wrk saw acknowledged
(zero lost acks, no oversell, a sell-out that stops at the stock), and `reservoir verify`."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from urllib.parse import urlencode

import redis

from flashdrop.http_and_sql import http, sql
from flashdrop.run_figures import Run
from flashdrop.server import Server
from flashdrop.targets import BIN, KEYS, SKU, Failed, reservoir_cmd


def read_back(server: Server, run: Run) -> None:
    """Ledger `reserve` rows and units, and the no-oversell check of this server."""
    c = run.checks
    if server.kind == "reservoir":
        run.ledger_rows, run.ledger_units = reservoir_ledger(server)
        st, a = http("GET", f"{server.base}/v1/availability/{SKU}", KEYS["storefront"])
        if st != 200 or not isinstance(a, dict):
            raise Failed(f"reservoir: availability answered {st}: {a}")
        c["no oversell"] = a["reserved"] + a["committed"] <= a["on_hand"] == run.stock
        c["levels match ledger"] = a["reserved"] == run.ledger_units
        return
    q = "SELECT count(*), coalesce(sum(quantity), 0) FROM ledger WHERE kind = 'reserve'"
    run.ledger_rows, run.ledger_units = (int(x) for x in sql(server.dsn, q)[0])
    if server.kind == "rowlock":
        lv = sql(server.dsn, "SELECT on_hand, reserved, committed FROM levels WHERE sku=$1", SKU)[0]
        c["no oversell"] = lv["reserved"] + lv["committed"] <= lv["on_hand"] == run.stock
        c["levels match ledger"] = lv["reserved"] == run.ledger_units
    else:
        avail = int(redis.Redis.from_url(server.opts.redis).get(f"bench:avail:{SKU}:{BIN}"))
        c["no oversell"] = avail >= 0 and run.ledger_units <= run.stock
        c["levels match ledger"] = avail + run.ledger_units == run.stock


def reservoir_ledger(server: Server) -> tuple[int, int]:
    """(rows, units) of the hot SKU's `reserve` entries, paged through GET /v1/ledger."""
    rows = units = 0
    after, seen, limit = None, set(), 1000
    while True:
        q = {"sku": SKU, "limit": limit} | ({"after": after} if after else {})
        st, page = http("GET", f"{server.base}/v1/ledger?{urlencode(q)}", KEYS["admin"])
        if st in (400, 422) and limit > 100:  # a lower page-size cap: ask again
            limit = 100
            continue
        if st != 200 or not isinstance(page, dict):
            raise Failed(f"reservoir: GET /v1/ledger answered {st}: {page}")
        for e in page["entries"]:
            if e["kind"] == "reserve":
                rows, units = rows + 1, units + abs(int(e["quantity"]))
        after = page.get("next")
        if not after or after in seen:
            return rows, units
        seen.add(after)


def check_ledger(run: Run, server: Server, sell_out: bool, in_flight_max: int) -> None:
    """Reads the server's ledger back and checks it against what wrk saw acknowledged.
    `in_flight_max`: requests cut off when wrk stopped yet committed (allowed: not acked)."""
    if server.kind == "reservoir":  # read through the API: let in-flight batches land
        time.sleep(2)
        read_back(server, run)
    server.stop()  # baselines: read the database once every in-flight request ended
    if server.kind != "reservoir":
        read_back(server, run)
    c = run.checks
    c["zero lost acks"] = run.acked_total <= run.ledger_rows
    c["no phantom rows"] = run.ledger_rows <= run.acked_total + in_flight_max
    c["within stock"] = run.ledger_units <= run.stock
    if sell_out and run.wrk["status_409"]:  # sold out: it must stop exactly at the stock
        c["sold out exactly"] = run.ledger_units == run.stock
    elif sell_out:
        run.notes.append("sell-out run never saw a 409: stock not exhausted in time")
    if run.ledger_rows > run.acked_total:
        run.notes.append(f"{run.ledger_rows - run.acked_total} committed after wrk stopped")


def verify(run: Run, target: str, opts, server: Server) -> None:
    """`reservoir verify` of the build under test against the run's ledger."""
    v = subprocess.run(
        [*shlex.split(reservoir_cmd(target, opts)), "verify"],
        env=os.environ | {"RESERVOIR_DATABASE_URL": server.dsn},
        capture_output=True,
        text=True,
        timeout=300,
    )
    run.checks["reservoir verify"] = v.returncode == 0
    if v.returncode:
        run.notes.append(f"verify exit {v.returncode}: {(v.stdout + v.stderr).strip()[-300:]}")
