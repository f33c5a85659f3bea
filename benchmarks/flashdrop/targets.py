"""What is measured: the targets, the servers they run on, the hot SKU and the API keys."""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKU, WAREHOUSE, BIN = "HOT-1", "WH-1", "WH-1-A01"
KEYS = {"storefront": "bench-storefront-key", "warehouse": "bench-warehouse-key"}
KEYS["admin"] = "bench-admin-key"
ALL_TARGETS = [
    "asgi-ceiling",
    "ceiling",
    "rowlock",
    "redis",
    "reservoir",
    "reservoir-ceiling",
    "reservoir-before",
]
SERVER_OF = {
    "asgi-ceiling": "asgi_ceiling",
    "ceiling": "rowlock",
    "reservoir-ceiling": "reservoir",
    "reservoir-before": "reservoir",
}
# answer 201 without holding anything: the asgi-ceiling app answers any POST path
NOOP = {"asgi-ceiling", "ceiling", "reservoir-ceiling"}


class Failed(Exception):
    """A target could not be measured (server missing, did not start, setup refused)."""


def reservoir_cmd(target: str, opts: argparse.Namespace) -> str:
    return opts.before_cmd if target == "reservoir-before" else opts.reservoir_cmd
