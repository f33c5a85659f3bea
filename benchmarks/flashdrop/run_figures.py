"""The figures of one measured run of one target."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Run:
    target: str
    conns: int
    stock: int
    wrk: dict = field(default_factory=dict)
    acked_total: int = 0  # 201s over warm-up and measured run
    ledger_rows: int | None = None
    ledger_units: int | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def acked_per_s(self) -> float:
        return self.wrk["status_201"] / self.wrk["duration_s"] if self.wrk else 0.0

    @property
    def refused_per_s(self) -> float:
        """409s per second: a sold-out SKU's answers, most of a drop's traffic."""
        return self.wrk["status_409"] / self.wrk["duration_s"] if self.wrk else 0.0
