"""The load test's "commits refused only after expiry" check (loadtests/hold_checks.py) judges
a refused commit by when the server received it (`srv`, from `Reservoir-Received-At`), not by
when a starved client sent it: a slow client does not fail a correct server, and a server
that refuses a commit well before expiry still fails."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "loadtests"))

from hold_checks import COMMIT_EXPIRY_MARGIN_S, check_commit_answers
from records import Records

EXPIRES_AT = "2026-12-01T10:00:05.000Z"
EXP = 1_796_119_205.0  # EXPIRES_AT as a Unix time


def records(*commits: dict[str, float | int]) -> Records:
    rec = Records()
    for n, commit in enumerate(commits):
        rid = f"rsv_{n + 1}"
        rec.add({"e": "hold", "id": rid, "lines": [["S", "B", 1]], "exp": EXPIRES_AT, "t": 0.0})
        rec.add({"e": "sent", "id": rid, "op": "commit"})
        rec.add({"e": "commit", "id": rid, **commit})
    return rec


def test_expires_at_is_read_as_expected() -> None:
    assert records().holds == {}
    assert records({"st": 200, "t0": EXP}).holds["rsv_1"].exp == EXP


def test_a_slow_client_does_not_fail_a_correct_server() -> None:
    # sent 7 s before expiry by the client's clock, received after it by the server's
    check = check_commit_answers(records({"st": 409, "t0": EXP - 7.1, "srv": EXP + 0.02}))
    assert check.ok, check.detail


def test_received_just_before_expiry_is_fair() -> None:
    srv = EXP - COMMIT_EXPIRY_MARGIN_S + 0.1  # expired while it waited in the server
    assert check_commit_answers(records({"st": 409, "t0": srv - 3, "srv": srv})).ok


@pytest.mark.parametrize("t0_behind_s", [0.0, 5.0])
def test_a_server_refusing_before_expiry_fails(t0_behind_s: float) -> None:
    srv = EXP - 2.0
    check = check_commit_answers(
        records(
            {"st": 200, "t0": EXP - 9, "srv": EXP - 9},
            # received 2 s before expiry, yet refused
            {"st": 409, "t0": srv - t0_behind_s, "srv": srv},
        )
    )
    assert not check.ok
    assert "1 refused early" in check.detail
    assert "rsv_2 received 2.00s before expiry" in check.detail


def test_without_the_header_the_send_time_judges() -> None:
    assert not check_commit_answers(records({"st": 409, "t0": EXP - 3})).ok
    assert check_commit_answers(records({"st": 409, "t0": EXP + 0.1})).ok
