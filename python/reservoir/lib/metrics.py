"""A tiny Prometheus registry: counters, gauges and histograms, rendered as text format 0.0.4.

Any module can declare a metric once at import and update it on the hot path:

    RESERVED = metrics.counter("reservoir_reservations_total", "Reservations held", ("outcome",))
    RESERVED.labels("held").inc()

`labels(...)` returns a child that is cached, so keep it in a variable where speed matters.
Everything runs on the event loop thread: no locks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


M = TypeVar("M", bound="_Metric")


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labelnames = tuple(labelnames)
        self._children: dict[tuple[str, ...], _Child] = {}

    def labels(self, *values: object, **named: object) -> _Child:
        if named:
            if values:
                raise ValueError("pass label values either by position or by name")
            values = tuple(named[n] for n in self.labelnames)
        key = tuple(str(v) for v in values)
        child = self._children.get(key)
        if child is None:
            if len(key) != len(self.labelnames):
                raise ValueError(f"{self.name} takes labels {self.labelnames}, got {key}")
            child = self._children[key] = self._new_child()
        return child

    def _new_child(self) -> _Child:
        return _Child()

    def _unlabelled(self) -> _Child:
        if self.labelnames:
            raise ValueError(f"{self.name} has labels {self.labelnames}: use .labels(...)")
        return self.labels()

    def samples(self) -> Iterable[tuple[str, tuple[tuple[str, str], ...], float]]:
        for key, child in sorted(self._children.items()):
            yield self.name, tuple(zip(self.labelnames, key, strict=True)), child.get()

    def render(self) -> str:
        lines = [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]
        for name, labels, value in self.samples():
            lines.append(f"{name}{_format_labels(labels)} {_format_value(value)}")
        return "\n".join(lines)


class _Child:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount

    def set(self, value: float) -> None:
        self.value = value

    def get(self) -> float:
        return self.value


class _FunctionChild(_Child):
    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], float]) -> None:
        super().__init__()
        self.fn = fn

    def get(self) -> float:
        try:
            return float(self.fn())
        except Exception:
            return math.nan


class Counter(_Metric):
    kind = "counter"

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        self._unlabelled().inc(amount)

    def get(self) -> float:
        return self._unlabelled().get()


class Gauge(_Metric):
    kind = "gauge"

    def set(self, value: float) -> None:
        self._unlabelled().set(value)

    def inc(self, amount: float = 1.0) -> None:
        self._unlabelled().inc(amount)

    def dec(self, amount: float = 1.0) -> None:
        self._unlabelled().dec(amount)

    def get(self) -> float:
        return self._unlabelled().get()

    def set_function(self, fn: Callable[[], float], *label_values: object) -> None:
        """The value is read from `fn()` at scrape time (e.g. an engine's queue length)."""
        key = tuple(str(v) for v in label_values)
        if len(key) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {key}")
        self._children[key] = _FunctionChild(fn)


class _HistogramChild(_Child):
    __slots__ = ("buckets", "counts", "sum")

    def __init__(self, buckets: tuple[float, ...]) -> None:
        super().__init__()
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.sum += value
        self.value += 1
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                break


class Histogram(_Metric):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, labelnames)
        self.buckets = tuple(sorted(buckets))

    def _new_child(self) -> _Child:
        return _HistogramChild(self.buckets)

    def observe(self, value: float) -> None:
        child = self._unlabelled()
        assert isinstance(child, _HistogramChild)
        child.observe(value)

    def samples(self) -> Iterable[tuple[str, tuple[tuple[str, str], ...], float]]:
        for key, child in sorted(self._children.items()):
            assert isinstance(child, _HistogramChild)
            labels = tuple(zip(self.labelnames, key, strict=True))
            cumulative = 0
            for bound, count in zip(child.buckets, child.counts, strict=True):
                cumulative += count
                yield f"{self.name}_bucket", (*labels, ("le", _format_value(bound))), cumulative
            yield f"{self.name}_bucket", (*labels, ("le", "+Inf")), child.value
            yield f"{self.name}_sum", labels, child.sum
            yield f"{self.name}_count", labels, child.value


class Registry:
    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

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
        existing = self._metrics.get(name)
        if existing is None:
            existing = self._metrics[name] = Histogram(name, help_text, labelnames, buckets)
        return self._check(existing, Histogram, labelnames)

    def _get_or_create(
        self, cls: type[M], name: str, help_text: str, labelnames: Sequence[str]
    ) -> M:
        existing = self._metrics.get(name)
        if existing is None:
            existing = self._metrics[name] = cls(name, help_text, labelnames)
        return self._check(existing, cls, labelnames)

    @staticmethod
    def _check(metric: _Metric, cls: type[M], labelnames: Sequence[str]) -> M:
        if not isinstance(metric, cls) or metric.labelnames != tuple(labelnames):
            raise ValueError(
                f"metric {metric.name} already registered as {metric.kind} {metric.labelnames}"
            )
        return metric

    def render(self) -> str:
        return "\n".join(m.render() for _, m in sorted(self._metrics.items())) + "\n"


def _format_labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels)
    return "{" + inner + "}"


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
