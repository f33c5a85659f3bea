"""One measured run of one target: a fresh server, its stock, warm-up and measured wrk runs,
then the ledger checks and `reservoir verify`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import asyncpg

from flashdrop.http_and_sql import http, sql
from flashdrop.ledger_checks import check_ledger, verify
from flashdrop.run_figures import Run
from flashdrop.server import Server
from flashdrop.targets import KEYS, NOOP, SERVER_OF, SKU, Failed, reservoir_cmd
from flashdrop.wrk import run_wrk


def measure(target: str, conns: int, stock: int, secs: int, opts, logdir: Path) -> Run:
    run = Run(target, conns, stock)
    server = Server(SERVER_OF.get(target, target), opts, logdir, reservoir_cmd(target, opts))
    noop, sell_out = target in NOOP, stock < opts.stock
    path = "/bench/noop" if noop else "/v1/reservations"
    try:
        server.start()
        if noop:
            probe = {"lines": [{"sku": SKU, "quantity": 1}]}
            if (st := http("POST", server.base + path, KEYS["storefront"], probe)[0]) != 201:
                raise Failed(f"{target}: POST {path} answered {st} (RESERVOIR_BENCH_ENDPOINTS?)")
        else:
            server.load_stock(stock)
        sql(f"{opts.pg}/postgres", "CHECKPOINT")
        warm = {}
        if opts.warmup > 0 and not sell_out:
            warm = run_wrk(server.base, path, conns, opts.warmup, opts)
        run.wrk = run_wrk(server.base, path, conns, secs, opts)
        run.acked_total = run.wrk["status_201"] + warm.get("status_201", 0)
        if not noop:
            check_ledger(run, server, sell_out, in_flight_max=(2 if warm else 1) * conns)
    except (Failed, subprocess.SubprocessError, OSError, asyncpg.PostgresError) as e:
        run.error = str(e) or type(e).__name__
    finally:
        server.stop()
    if target in ("reservoir", "reservoir-before") and opts.verify and not run.error:
        verify(run, target, opts, server)
    return run
