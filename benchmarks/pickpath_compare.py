"""Pick-path routing, side by side in one run: the core's strategies against OR-Tools'
routing solver on the same distance matrices, and batch picking against one list per order.

Warehouses (seeded, generated): single-block 10 aisles x 40 positions; multi-block
20 aisles x 60 positions with middle cross aisles after positions 20 and 40 (3 blocks).
Default widths: aisles 3 m apart, cross aisles 2 m, 1 m per position, depot before aisle 1.

Per warehouse and pick-list size (10, 30, 60 stops; `--instances` lists each, uniform random
bins): every strategy's mean route length relative to `optimal` and its mean compute time
per route through the Python binding (`_core.route_picks`: conversion included); OR-Tools
(guided local search from PATH_CHEAPEST_ARC, `--ortools-time-limit-s` per route) on the
core's distance matrix in millimetres, its route measured on the same metre matrix, and the
gap of `optimal` against it (negative: `optimal` is shorter).

Batch picking: `--orders` small orders (1-3 picks of 1-3 units), batched by the core's
savings method into carts of `--cart-units` units and `--cart-orders` orders, against one
route per order (total walking distance, both routed with `optimal`).

  .venv/bin/python benchmarks/pickpath_compare.py [--instances 20] [--ortools-time-limit-s 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reservoir import _core

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
STRATEGIES = ("optimal", "largest-gap", "s-shape", "location-order", "combined")
STOP_COUNTS = (10, 30, 60)
MM_PER_M = 1000
TIMING_REPEATS = 5

Pick = tuple[int, int, int]


@dataclass(frozen=True)
class Warehouse:
    name: str
    layout: dict


WAREHOUSES = (
    Warehouse(
        "single-block 10x40",
        {"aisles": 10, "positions_per_aisle": 40},
    ),
    Warehouse(
        "multi-block 20x60, 2 middle cross aisles",
        {"aisles": 20, "positions_per_aisle": 60, "middle_cross_aisles": [20, 40]},
    ),
)


@dataclass
class Cell:
    """Figures of one (warehouse, stops) pair over its instances."""

    ratio: dict[str, list[float]] = field(default_factory=dict)  # strategy -> length / optimal
    time_us: dict[str, list[float]] = field(default_factory=dict)
    ortools_gap: list[float] = field(default_factory=list)  # (optimal - ortools) / ortools
    ortools_time_s: list[float] = field(default_factory=list)
    ortools_better: int = 0


def pick_list(rng: random.Random, layout: dict, stops: int) -> list[Pick]:
    return [
        (rng.randint(1, layout["aisles"]), rng.randint(1, layout["positions_per_aisle"]), 0)
        for _ in range(stops)
    ]


def timed_route(layout: dict, picks: list[Pick], strategy: str) -> tuple[float, float]:
    """(distance in metres, median compute time per call in microseconds)."""
    times = []
    distance = 0.0
    for _ in range(TIMING_REPEATS):
        start = time.perf_counter_ns()
        _, distance = _core.route_picks(layout, picks, strategy)
        times.append((time.perf_counter_ns() - start) / 1000)
    return distance, statistics.median(times)


def tour_length_m(matrix: Sequence[Sequence[float]], order: Sequence[int]) -> float:
    """Closed walk depot -> picks (matrix index i + 1) -> depot."""
    total, at = 0.0, 0
    for i in order:
        total += matrix[at][i + 1]
        at = i + 1
    return total + matrix[at][0]


def ortools_route(matrix: Sequence[Sequence[float]], time_limit_s: float) -> list[int]:
    """OR-Tools' best route in `time_limit_s` (pick indices, depot excluded)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    size = len(matrix)
    scaled = [[round(d * MM_PER_M) for d in row] for row in matrix]
    manager = pywrapcp.RoutingIndexManager(size, 1, 0)
    routing = pywrapcp.RoutingModel(manager)

    def distance(i: int, j: int) -> int:
        return scaled[manager.IndexToNode(i)][manager.IndexToNode(j)]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    solution = routing.SolveWithParameters(params)
    assert solution is not None, "OR-Tools found no route"
    order, index = [], routing.Start(0)
    while not routing.IsEnd(index):
        node = manager.IndexToNode(index)
        if node:
            order.append(node - 1)
        index = solution.Value(routing.NextVar(index))
    return order


def measure_routes(args: argparse.Namespace) -> dict[tuple[str, int], Cell]:
    cells: dict[tuple[str, int], Cell] = {}
    for w_index, warehouse in enumerate(WAREHOUSES):
        layout = _core.layout_from_bins([(1, 1, 0)], **warehouse.layout)
        for stops in STOP_COUNTS:
            rng = random.Random(args.seed * 1_000 + w_index * 100 + stops)
            cell = Cell()
            for _ in range(args.instances):
                picks = pick_list(rng, layout, stops)
                best = _core.route_picks(layout, picks, "optimal")[1]
                for strategy in STRATEGIES:
                    distance, micros = timed_route(layout, picks, strategy)
                    cell.ratio.setdefault(strategy, []).append(distance / best)
                    cell.time_us.setdefault(strategy, []).append(micros)
                if args.ortools_time_limit_s > 0:
                    matrix = _core.distance_matrix(layout, picks)
                    start = time.perf_counter()
                    order = ortools_route(matrix, args.ortools_time_limit_s)
                    cell.ortools_time_s.append(time.perf_counter() - start)
                    theirs = tour_length_m(matrix, order)
                    cell.ortools_gap.append((best - theirs) / theirs)
                    cell.ortools_better += theirs < best - 1e-6
            cells[(warehouse.name, stops)] = cell
            print(f"  routed {warehouse.name}, {stops} stops", file=sys.stderr)
    return cells


@dataclass
class BatchFigures:
    batched_m: float
    single_m: float
    batches: int
    time_ms: float


def measure_batching(args: argparse.Namespace) -> dict[str, BatchFigures]:
    figures = {}
    for w_index, warehouse in enumerate(WAREHOUSES):
        layout = _core.layout_from_bins([(1, 1, 0)], **warehouse.layout)
        rng = random.Random(args.seed * 7_919 + w_index)
        orders = [
            (i, rng.randint(1, 3), pick_list(rng, layout, rng.randint(1, 3)))
            for i in range(args.orders)
        ]
        orders = [(i, min(units, args.cart_units), picks) for i, units, picks in orders]
        start = time.perf_counter()
        batches, batched_m, single_m = _core.batch_orders(
            layout,
            orders,
            "optimal",
            units_max=args.cart_units,
            orders_max=args.cart_orders,
        )
        elapsed_ms = (time.perf_counter() - start) * 1000
        figures[warehouse.name] = BatchFigures(batched_m, single_m, len(batches), elapsed_ms)
        print(f"  batched {warehouse.name}", file=sys.stderr)
    return figures


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--ortools-time-limit-s", type=float, default=1.0, help="0 skips OR-Tools")
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--cart-units", type=int, default=20)
    parser.add_argument("--cart-orders", type=int, default=6)
    parser.add_argument("--output", type=Path, default=RESULTS, help="appended to")
    args = parser.parse_args(argv)
    args.argv = [shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)]
    cells = measure_routes(args)
    batching = measure_batching(args)
    text = report(args, cells, batching)
    with args.output.open("a") as out:
        out.write("\n" + text)
    print(text)


if __name__ == "__main__":
    main()
