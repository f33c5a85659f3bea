"""Flash drop, side by side, one run: wrk against every target on one hot SKU.

Targets (each its own fresh server process, same machine, same wrk script and connections):
  asgi-ceiling       a raw ASGI app on the same uvicorn settings answering a fixed 201 body:
                     the HTTP server's own ceiling, which every ratio is also given against
  ceiling            the row-lock baseline app answering POST /bench/noop (no database)
  rowlock            Litestar + asyncpg: UPDATE ... WHERE available >= q, ledger INSERT, per request
  redis              Redis Lua check-and-decrement + ledger INSERT in PostgreSQL, per request
  reservoir          `reservoir serve` on a fresh database (RESERVOIR_BENCH_ENDPOINTS=1)
  reservoir-ceiling  the same reservoir server answering POST /bench/noop
  reservoir-before   `reservoir serve` of another build (`--before-cmd`, e.g. the previous
                     commit's .venv), to measure a change side by side with what it changes

After each run the ledger is read back: every 201 must have its `reserve` row (zero lost
acks) and the reserved units must never exceed the stock (no oversell). A limited-stock run
per stateful target checks that a sell-out stops exactly at the stock, and reports the
sold-out 409s per second (with asgi-ceiling measured, as a share of it).

  .venv/bin/python benchmarks/compare_flashdrop.py --targets ceiling,rowlock,redis,reservoir
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from flashdrop.measure import measure
from flashdrop.report import metadata, report
from flashdrop.run_figures import Run
from flashdrop.targets import ALL_TARGETS, NOOP, ROOT


def parse_options(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--targets",
        default=",".join(t for t in ALL_TARGETS if t != "reservoir-before"),
        help="comma list of " + ",".join(ALL_TARGETS),
    )
    p.add_argument("--connections", default="64,256", type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--duration", type=int, default=15, help="seconds per measured run")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up load (0: none)")
    p.add_argument("--stock", type=int, default=10_000_000)
    p.add_argument(
        "--limited-stock", type=int, default=1000, help="units in the sell-out run (0: skip)"
    )
    p.add_argument("--limited-duration", type=int, default=5)
    p.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432", help="DSN without database"
    )
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    p.add_argument("--pool-size", type=int, default=32, help="asyncpg/redis pool of the baselines")
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--timeout", type=int, default=30, help="wrk request timeout, s")
    p.add_argument("--ready-timeout", type=float, default=120.0)
    p.add_argument(
        "--reservoir-env",
        action="append",
        default=[],
        metavar="K=V",
        help="extra env for reservoir serve",
    )
    p.add_argument("--reservoir-cmd", default=str(Path(sys.executable).with_name("reservoir")))
    p.add_argument(
        "--before-cmd",
        default="",
        help="the `reservoir` of another build, for the target reservoir-before",
    )
    p.add_argument(
        "--no-verify", dest="verify", action="store_false", help="skip `reservoir verify`"
    )
    p.add_argument(
        "--results",
        type=Path,
        default=ROOT / "benchmarks/RESULTS.md",
        help="markdown file to append to",
    )
    p.add_argument("--no-write", action="store_true", help="print only")
    opts = p.parse_args(argv)
    opts.target_list = opts.targets.split(",")
    if unknown := set(opts.target_list) - set(ALL_TARGETS):
        p.error(f"unknown targets: {', '.join(sorted(unknown))}")
    if "reservoir-before" in opts.target_list and not opts.before_cmd:
        p.error("the target reservoir-before needs --before-cmd")
    return opts


def plan_runs(opts: argparse.Namespace) -> list[tuple[str, int, int, int]]:
    """(target, connections, stock, seconds): every target at every connection count, then
    a sell-out run of each stateful target (unless --limited-stock 0)."""
    targets = opts.target_list
    plan = [(t, c, opts.stock, opts.duration) for c in opts.connections for t in targets]
    if opts.limited_stock:
        plan += [
            (t, max(opts.connections), opts.limited_stock, opts.limited_duration)
            for t in targets
            if t not in NOOP
        ]
    return plan


def run_plan(opts: argparse.Namespace, logdir: Path) -> list[Run]:
    runs: list[Run] = []
    for target, conns, stock, secs in plan_runs(opts):
        print(f"-> {target} @ {conns} connections, stock {stock:,}, {secs:g} s", flush=True)
        runs.append(measure(target, conns, stock, secs, opts, logdir))
        r = runs[-1]
        print(
            f"   {r.error}"
            if r.error
            else f"   {r.acked_per_s:,.0f} acked/s  {r.wrk['latency_ms']}  {r.checks}",
            flush=True,
        )
    return runs


def main() -> int:
    opts = parse_options()
    meta = metadata(opts)
    logdir = Path(tempfile.mkdtemp(prefix="flashdrop-"))
    runs = run_plan(opts, logdir)
    meta["machine"] += f", at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    text = report(runs, opts, meta)
    print("\n" + text)
    if not opts.no_write:
        with open(opts.results, "a") as f:
            f.write("\n" + text)
        print(f"appended to {opts.results}; server logs in {logdir}")
    if any(not ok for r in runs for ok in r.checks.values()):
        return 1
    return 2 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
