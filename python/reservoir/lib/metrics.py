"""Prometheus metrics (prometheus-client), rendered as text format 0.0.4.

Any module can declare a metric once at import and update it on the hot path:

    RESERVED = metrics.counter("reservoir_reservations_total", "Reservations held", ("outcome",))
    RESERVED_HELD = RESERVED.labels("held")  # pre-labelled: no look-up per request
    RESERVED_HELD.inc()

The metrics are prometheus-client's own (`Counter`, `Gauge`, `Histogram`) in a registry of
the service's (no process or GC collectors). `Registry.counter` etc. return the metric already
registered under a name, or refuse one registered as another kind or with other labels.
Counter names end in `_total`. Samples are written as before prometheus-client: integral values
without a fraction (`1`, not `1.0`), bucket bounds the same (`le="1"`), no `_created` series.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import prometheus_client
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.samples import Sample

# What `/metrics` sends: the text format 0.0.4 that `Registry.render` writes.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Counter = prometheus_client.Counter
Histogram = prometheus_client.Histogram


class Gauge(prometheus_client.Gauge):
    """A gauge whose `set_function` reads NaN when the function fails, so one broken gauge
    does not break the scrape."""

    def set_function(self, f: Callable[[], float]) -> None:
        def read() -> float:
            try:
                return float(f())
            except Exception:
                return math.nan

        super().set_function(read)


M = TypeVar("M", bound=MetricWrapperBase)


class Registry:
    def __init__(self) -> None:
        self.collectors = CollectorRegistry()
        self._metrics: dict[str, tuple[MetricWrapperBase, tuple[str, ...]]] = {}

    def counter(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Counter:
        return self._get_or_create(Counter, name, help_text, labelnames)

    def gauge(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self._get_or_create(Gauge, name, help_text, labelnames)

    def histogram(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        return self._get_or_create(Histogram, name, help_text, labelnames, buckets=buckets)

    def _get_or_create(
        self,
        cls: type[M],
        name: str,
        help_text: str,
        labelnames: Sequence[str],
        **options: Any,
    ) -> M:
        labels = tuple(labelnames)
        existing = self._metrics.get(name)
        if existing is None:
            metric = cls(name, help_text, labels, registry=self.collectors, **options)
            self._metrics[name] = (metric, labels)
            return metric
        found, known = existing
        if isinstance(found, cls) and type(found) is cls and known == labels:
            return found
        raise ValueError(
            f"metric {name} already registered as {type(found).__name__.lower()} {known}"
        )

    def value(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """A sample's current value (None if there is no such sample): for tests."""
        return self.collectors.get_sample_value(name, labels)

    def render(self) -> str:
        """The text format 0.0.4, metrics sorted by name."""
        lines: list[str] = []
        families = sorted(self.collectors.collect(), key=lambda m: m.name)
        for family in families:
            name = family.name + "_total" if family.type == "counter" else family.name
            lines.append(f"# HELP {name} {_escape_help(family.documentation)}")
            lines.append(f"# TYPE {name} {family.type}")
            created = family.name + "_created"
            lines.extend(_sample_line(s) for s in family.samples if s.name != created)
        return "\n".join(lines) + "\n"


def _sample_line(sample: Sample) -> str:
    if not sample.labels:
        return f"{sample.name} {_format_value(sample.value)}"
    inner = ",".join(
        f'{k}="{_format_value(float(v)) if k == "le" else _escape_label(v)}"'
        for k, v in sample.labels.items()
    )
    return f"{sample.name}{{{inner}}} {_format_value(sample.value)}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


REGISTRY = Registry()
counter = REGISTRY.counter
gauge = REGISTRY.gauge
histogram = REGISTRY.histogram
