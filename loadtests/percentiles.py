"""Percentiles of a run's figures (latencies, lags), one way for every check and report."""

from __future__ import annotations


def percentile(ordered: list[float], q: float) -> float:
    """The value at quantile `q` of `ordered` (sorted, not empty): nearest rank, at most the
    largest."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]
