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
import shlex
import sys
from pathlib import Path

from pickpath.measure import measure_batching, measure_routes
from pickpath.report import report

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


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
