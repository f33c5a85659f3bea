"""The fault suite's verdict (faults/report.py): what makes a run fail, and how a cycle reads."""

from __future__ import annotations

from collections import Counter

from faults.cycles import CycleResult
from faults.judge import Verdict
from faults.report import cycle_line, failures, histogram_text, summary
from faults.service import Readiness


def result(
    kind: str, lost: int = 0, *, number: int = 1, control: bool = False, ready: bool = True
) -> CycleResult:
    verdict = Verdict(
        acknowledged=100, lost=lost, unacknowledged_durable=3, oversold=[], verify_ok=True,
        verify_said="ledger verified: …",
    )  # fmt: skip
    readiness = Readiness("ready", 1.5) if ready else Readiness("process exited", 4.0, 0)
    problems = [] if control or not lost else [f"{lost} acknowledged holds lost"]
    if not ready:
        problems.append("not ready again: process exited (status 0) after 4.0s")
    return CycleResult(
        kind, number, readiness, Counter({201: 90, 503: 7, "conn-refused": 3}), verdict, 50,
        problems, control=control,
    )  # fmt: skip


def test_the_histogram_lists_status_codes_then_transport_errors() -> None:
    assert histogram_text(Counter({"conn-refused": 12, 503: 37, 201: 812})) == (
        "{201: 812, 503: 37, conn-refused: 12}"
    )


def test_a_clean_run_with_a_control_that_saw_loss_passes() -> None:
    assert failures([result("kill-9"), result("control", lost=4, control=True)]) == []


def test_a_lost_acknowledged_write_fails_the_run() -> None:
    why = failures([result("kill-9", lost=2), result("control", lost=4, control=True)])
    assert why == ["kill-9 #1: 2 acknowledged holds lost"]


def test_a_control_that_saw_no_loss_fails_the_run() -> None:
    why = failures([result("kill-9"), result("control", lost=0, control=True)])
    assert len(why) == 1 and "control: no loss seen" in why[0]


def test_a_service_that_exited_instead_of_recovering_is_reported_as_such() -> None:
    line = cycle_line(result("pg-crash", ready=False))
    assert "process exited (status 0)" in line and "FAIL" in line
    assert failures([result("pg-crash", ready=False)])


def test_the_summary_counts_the_control_cycles_it_took() -> None:
    rows = summary(
        [result("control", control=True), result("control", 5, number=2, control=True)], 10
    )
    control_row = rows[2]
    assert "2 (of at most 10)" in control_row and "loss seen in cycle 2" in control_row
