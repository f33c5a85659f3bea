"""Open-loop latency of durable holds: a fixed offered rate, not a fixed number of clients.

A closed-loop generator (wrk) sends the next request only when an answer came back, so at
saturation it measures its own queue, and a stalled server makes it stop sending (the
requests it would have sent are never timed: coordinated omission). Here `oha` sends at a
fixed rate (`-q`) and times each request from when it was due (`--latency-correction`), so a
stall shows in the percentiles as the users behind it would feel it.

One `reservoir serve` on a fresh database with 10,000,000 units of one SKU; its maximum is
measured first with wrk (`-t1 -c64`, as `compare_flashdrop.py`), unless `--max-rate` gives
it; then `oha` offers each `--shares` of it for `--duration` seconds. After every rate the
server's ledger is read back: every 201 has its `reserve` row, no oversell.

    .venv/bin/python benchmarks/open_loop.py [--shares 0.5,0.8] [--duration 15]

Needs `oha` (`cargo install oha --locked`) and wrk. It appends its section to
benchmarks/RESULTS.md unless `--no-write`. Not a test: it prints figures, it asserts no time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from flashdrop.ledger_checks import reservoir_ledger
from flashdrop.server import Server
from flashdrop.targets import KEYS, ROOT, SKU, Failed
from flashdrop.wrk import run_wrk

BODY = json.dumps({"lines": [{"sku": SKU, "quantity": 1}], "ttl_seconds": 900})


def parse_options() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shares", default="0.5,0.8", type=lambda s: [float(x) for x in s.split(",")])
    p.add_argument("--max-rate", type=float, default=0.0, help="skip measuring the maximum")
    p.add_argument("--duration", type=int, default=15, help="seconds per offered rate")
    p.add_argument("--connections", type=int, default=256, help="oha's connections (-c)")
    p.add_argument("--stock", type=int, default=10_000_000)
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    p.add_argument("--reservoir-cmd", default=str(Path(sys.executable).with_name("reservoir")))
    p.add_argument("--reservoir-env", action="append", default=[], metavar="K=V")
    p.add_argument("--oha", default=shutil.which("oha") or str(Path.home() / ".cargo/bin/oha"))
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks/RESULTS.md")
    opts = p.parse_args()
    # what flashdrop's Server and run_wrk read
    opts.ready_timeout, opts.redis, opts.pool_size = 120.0, "", 32
    opts.wrk_threads, opts.timeout = 1, 30
    return opts


def offer(opts: argparse.Namespace, base: str, rate: float) -> dict:
    """`oha` at `rate` requests per second; its JSON summary."""
    cmd = [opts.oha, "--no-tui", "--output-format", "json", "-z", f"{opts.duration}s"]
    cmd += ["-q", f"{rate:.0f}", "--latency-correction", "-c", str(opts.connections)]
    cmd += ["-m", "POST", "-T", "application/json", "-d", BODY]
    cmd += ["-H", f"Authorization: Bearer {KEYS['storefront']}", f"{base}/v1/reservations"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=opts.duration + 120)
    if res.returncode:
        raise Failed(f"oha failed ({res.returncode}): {(res.stderr or res.stdout)[:300]}")
    return json.loads(res.stdout)


def row(share: float, rate: float, out: dict, ledger_rows: int, acked_before: int) -> str:
    codes = {int(k): v for k, v in out.get("statusCodeDistribution", {}).items()}
    ms = {k: v * 1000 for k, v in out["latencyPercentiles"].items() if v is not None}
    acked = codes.get(201, 0)
    ok = ledger_rows >= acked_before + acked
    others = sum(v for k, v in codes.items() if k != 201) + sum(
        out.get("errorDistribution", {}).values()
    )
    return (
        f"| {share:.0%} | {rate:,.0f} | {out['summary']['requestsPerSec']:,.0f} | {acked:,} "
        f"| {others:,} | {ms['p50']:.1f} | {ms['p99']:.1f} | {ms['p99.9']:.1f} "
        f"| {'ok' if ok else 'LOST'} ({ledger_rows:,} rows) |"
    )


def main() -> int:
    opts = parse_options()
    logdir = Path(tempfile.mkdtemp(prefix="open-loop-"))
    server = Server("reservoir", opts, logdir, opts.reservoir_cmd)
    rows: list[str] = []
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        server.start()
        server.load_stock(opts.stock)
        maximum = opts.max_rate
        if not maximum:
            wrk = run_wrk(server.base, "/v1/reservations", 64, 10, opts)
            maximum = wrk["status_201"] / wrk["duration_s"]
            print(f"maximum (wrk -t1 -c64, 10 s): {maximum:,.0f} durable holds/s", flush=True)
        acked = reservoir_ledger(server)[0]
        for share in opts.shares:
            rate = share * maximum
            out = offer(opts, server.base, rate)
            ledger_rows = reservoir_ledger(server)[0]
            rows.append(row(share, rate, out, ledger_rows, acked))
            acked = ledger_rows
            print(rows[-1], flush=True)
    except Failed as e:
        print(f"failed: {e}\n{server.tail()}", file=sys.stderr)
        return 2
    finally:
        server.stop()
    text = "\n".join(
        [
            f"## Open-loop latency (oha) — {started}",
            "",
            f"- command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`",
            f"- maximum: {maximum:,.0f} durable holds/s (wrk `-t1 -c64`, 10 s, same server)",
            f"- oha `-q RATE --latency-correction -c {opts.connections} -z {opts.duration}s`:"
            " latency from each request's due time (no coordinated omission); one-unit holds",
            f"- machine: {os.cpu_count()} CPUs, load average at start {load}; oha shares them",
            "",
            "| offered (share of max) | offered/s | answered/s | 201 | other | p50 ms | p99 ms "
            "| p99.9 ms | ledger (every 201 has its row) |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    print("\n" + text)
    if not opts.no_write:
        with open(opts.results, "a") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
