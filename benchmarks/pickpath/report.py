"""The markdown report of a pick-path comparison (appended to benchmarks/RESULTS.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
from collections.abc import Sequence

from pickpath.measure import STRATEGIES, TIMING_REPEATS, BatchFigures, Cell
from reservoir import _core


def pct(values: Sequence[float]) -> str:
    return f"{(statistics.fmean(values) - 1) * 100:+.2f}%"


def report(
    args: argparse.Namespace,
    cells: dict[tuple[str, int], Cell],
    batching: dict[str, BatchFigures],
) -> str:
    command = " ".join([".venv/bin/python", "benchmarks/pickpath_compare.py", *args.argv])
    lines = [
        "## Pick paths: strategies vs optimal and OR-Tools; batch picking",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- command: `{command}`",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, reservoir {_core.__version__}, "
        f"OR-Tools {_ortools_version()}",
        f"- instances: {args.instances} seeded pick lists per warehouse and size (seed "
        f"{args.seed}); bins uniform at random; times are medians of {TIMING_REPEATS} calls "
        "through the Python binding, averaged over instances",
        f"- OR-Tools: RoutingModel, PATH_CHEAPEST_ARC then GUIDED_LOCAL_SEARCH, "
        f"{args.ortools_time_limit_s:g} s per route, on the core's distance matrix in mm; "
        "its route is measured on the same matrix in metres",
        "",
        "### Route length relative to `optimal`, and compute time per route",
        "",
        "Length: mean of (strategy / optimal) - 1 over the instances. "
        "OR-Tools gap: mean (optimal - OR-Tools) / OR-Tools (negative: `optimal` shorter); "
        "max: the worst instance for `optimal`; `OR-Tools shorter`: instances where OR-Tools "
        "found a shorter route than `optimal`.",
        "",
    ]
    header = "| warehouse | stops | " + " | ".join(STRATEGIES) + " | OR-Tools gap (mean / max) "
    header += "| OR-Tools shorter | OR-Tools time |"
    lines += [header, "|" + " --- |" * (len(STRATEGIES) + 5)]
    for (name, stops), cell in cells.items():
        row = [name, str(stops)]
        for strategy in STRATEGIES:
            row.append(
                f"{pct(cell.ratio[strategy])}, {statistics.fmean(cell.time_us[strategy]):.0f} µs"
            )
        if cell.ortools_gap:
            row.append(
                f"{statistics.fmean(cell.ortools_gap) * 100:+.2f}% / "
                f"{max(cell.ortools_gap) * 100:+.2f}%"
            )
            row.append(f"{cell.ortools_better}/{len(cell.ortools_gap)}")
            row.append(f"{statistics.fmean(cell.ortools_time_s):.2f} s")
        else:
            row += ["-", "-", "-"]
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "### Batch picking: savings batches vs one list per order",
        "",
        f"{args.orders} orders of 1-3 picks and 1-3 units, seeded; cart: {args.cart_units} "
        f"units, {args.cart_orders} orders; every route `optimal`.",
        "",
        "| warehouse | one list per order | batched | saving | lists | batching time |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, b in batching.items():
        saving = (1 - b.batched_m / b.single_m) * 100
        lines.append(
            f"| {name} | {b.single_m:,.0f} m ({args.orders} lists) | {b.batched_m:,.0f} m | "
            f"{saving:.1f}% | {b.batches} | {b.time_ms:.0f} ms |"
        )
    lines += [
        "",
        "### Reading",
        "",
        "- `optimal` is the core's exact programme (Ratliff & Rosenthal, extended to several "
        "blocks) on both warehouses (3 blocks; exact up to 5). Its equality with Held-Karp "
        "and brute force on small instances is checked by `cargo test -p reservoir-pickpath "
        "--test pickpath_crosscheck`; on the larger lists here, the `OR-Tools shorter` column "
        f"is the independent check: {_better(cells)}.",
        "- Times go through the Python binding (list conversion included) and include no "
        "OR-Tools model building for the core; OR-Tools runs to its time limit by design "
        "(guided local search does not stop on its own).",
        "- The service batches among the oldest `8 x max_orders` orders (at most 100), so a "
        "`POST /v1/picklists` with `max_orders` pays a fraction of the batching time above, "
        "off the event loop (the core releases the GIL).",
        "",
    ]
    return "\n".join(lines)


def _better(cells: dict[tuple[str, int], Cell]) -> str:
    routes = sum(len(c.ortools_gap) for c in cells.values())
    better = sum(c.ortools_better for c in cells.values())
    if not routes:
        return "not run"
    return f"OR-Tools found a shorter route than `optimal` in {better} of {routes} lists"


def _ortools_version() -> str:
    try:
        import ortools

        return ortools.__version__
    except ImportError:
        return "not installed"
