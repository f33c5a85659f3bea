"""Checks of the run as a whole: the answers Locust got, the drop within its stock, a clean
stop of the service, and the engine after a restart equal to the one before."""

from __future__ import annotations

import signal
from collections import Counter

from check import Check

EXPECTED = {200, 201, 204, 409}  # 409: sold out, or a commit after the hold expired


def check_answers(statuses: Counter[str]) -> Check:
    """Every answer is one the contract gives for this traffic: no 5xx, no 4xx but 409,
    no transport errors."""
    unexpected = {k: v for k, v in statuses.items() if int(k.rsplit(" ", 1)[1]) not in EXPECTED}
    return Check(
        "no errors (5xx, transport, unexpected 4xx)",
        not unexpected,
        "every answer 2xx or 409" if not unexpected else f"{unexpected}",
    )


def check_drop_within_stock(a: dict, stock: int) -> Check:
    """Flash drop, from the drop SKU's availability: never more held or committed than the
    stock, and the stock itself unchanged."""
    return Check(
        f"flash drop: committed + held <= {stock}",
        a["committed"] + a["reserved"] <= stock and a["on_hand"] == stock,
        f"committed {a['committed']} + held {a['reserved']} of {a['on_hand']}",
    )


def check_clean_stop(code: int | None) -> Check:
    return Check(
        "service stopped cleanly on SIGTERM",
        code in (0, -signal.SIGTERM),  # uvicorn re-raises SIGTERM once shut down
        f"exit {code}",
    )


def _level(a: dict) -> list[tuple]:
    return sorted(
        (x["location"], x["on_hand"], x["reserved"], x["committed"]) for x in a["locations"]
    )


def check_restart_levels(touched: list[str], before: dict, after: dict) -> Check:
    """Availability per location after the restart equals the one before it."""
    differ = [s for s in touched if _level(after[s]) != _level(before[s])]
    return Check(
        "restart: engine recovered from the ledger equals the engine before",
        not differ,
        f"{len(touched)} SKUs equal" if not differ else f"{len(differ)} differ: {differ[:3]}",
    )
