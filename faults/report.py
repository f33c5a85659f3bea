"""What a fault run prints: one line per cycle, then a summary table."""

from __future__ import annotations

import statistics
from collections import Counter

from faults.cycles import CycleResult


def histogram_text(histogram: Counter[int | str]) -> str:
    ordered = sorted(histogram.items(), key=lambda item: (isinstance(item[0], str), str(item[0])))
    return "{" + ", ".join(f"{outcome}: {count}" for outcome, count in ordered) + "}"


def cycle_line(result: CycleResult) -> str:
    verdict = result.verdict
    ready = (
        f"ready again in {result.readiness.seconds:.1f}s"
        if result.readiness.ready
        else result.readiness.describe()
    )
    parts = [
        f"{result.kind} #{result.number}:",
        f"acknowledged {verdict.acknowledged},",
        f"lost {verdict.lost},",
        f"{ready},",
        f"fault window {histogram_text(result.histogram)},",
        f"201 after recovery {result.acknowledged_after},",
        f"verify {'ok' if verdict.verify_ok else 'FAILED'}",
    ]
    if result.events is not None:
        parts[-1] += ","
        parts.append(f"events {result.events[0] - result.events[1]}/{result.events[0]} in stream")
    if result.control:
        verdict_text = "LOSS SEEN (as it must be)" if verdict.lost else "no loss seen"
    else:
        verdict_text = "PASS" if result.ok else "FAIL: " + "; ".join(result.problems)
    if result.control and result.problems:
        verdict_text += " [" + "; ".join(result.problems) + "]"
    return " ".join(parts) + f" -> {verdict_text}"


def summary(results: list[CycleResult], control_cycles_max: int) -> list[str]:
    header = ("fault", "cycles", "passed", "acknowledged", "lost", "ready s (median/max)")
    rows = [header]
    for kind in dict.fromkeys(r.kind for r in results):
        mine = [r for r in results if r.kind == kind]
        seconds = [r.readiness.seconds for r in mine if r.readiness.ready]
        if kind == "control":
            passed = f"loss seen in cycle {_first_loss(mine)}" if _first_loss(mine) else "NO LOSS"
            cycles = f"{len(mine)} (of at most {control_cycles_max})"
        else:
            passed = str(sum(r.ok for r in mine))
            cycles = str(len(mine))
        rows.append(
            (
                kind,
                cycles,
                passed,
                str(sum(r.verdict.acknowledged for r in mine)),
                str(sum(r.verdict.lost for r in mine)),
                f"{statistics.median(seconds):.1f}/{max(seconds):.1f}" if seconds else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]


def _first_loss(results: list[CycleResult]) -> int | None:
    return next((r.number for r in results if r.verdict.lost), None)


def failures(results: list[CycleResult]) -> list[str]:
    """Why the run fails: a loss or failed check outside the control, or a control that saw
    no loss."""
    why = [f"{r.kind} #{r.number}: {'; '.join(r.problems)}" for r in results if not r.ok]
    controls = [r for r in results if r.control]
    if controls and not _first_loss(controls):
        why.append(f"control: no loss seen in {len(controls)} cycles: the check may be blind")
    return why
