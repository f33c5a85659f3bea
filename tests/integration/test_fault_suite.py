"""The short fault suite (`python -m faults` with its defaults: 2 kill -9 cycles, a
PostgreSQL pause, a Redis outage and the negative control), as a user runs it: its own
PostgreSQL cluster, Redis and `reservoir serve`, all stopped at the end. The full run is
`make faults`."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITE_TIMEOUT_S = 900  # generous: the short suite takes a minute or two on a slow machine


@pytest.mark.slow
def test_the_short_fault_suite_loses_no_acknowledged_hold_and_its_control_sees_loss() -> None:
    suite = subprocess.Popen(
        [sys.executable, "-m", "faults"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        said, _ = suite.communicate(timeout=SUITE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        suite.send_signal(signal.SIGTERM)  # it stops its cluster, Redis and service first
        said, _ = suite.communicate(timeout=120)
        pytest.fail(f"the fault suite took more than {SUITE_TIMEOUT_S}s:\n{said}")
    print(said)
    assert suite.returncode == 0, said
    assert "all checks passed" in said
    for cycle in ("kill-9 #2:", "pg-crash #1:", "pg-pause #1:", "redis #1:", "control #1:"):
        assert cycle in said, said
    assert "LOSS SEEN" in said, said
