"""The measurements: every strategy's route length and compute time against `optimal` and
OR-Tools on seeded pick lists, and batch picking against one list per order."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pickpath.ortools_route import ortools_route
from reservoir import _core

STRATEGIES = ("optimal", "largest-gap", "s-shape", "location-order", "combined")
STOP_COUNTS = (10, 30, 60)
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
