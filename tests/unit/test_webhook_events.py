"""The events an outbox row becomes for webhooks: `stock.changed` with the levels after the
batch, `reservation.*` once per state, and `stock.low` only when a batch takes a location's
available units from the threshold or above to below it."""

from __future__ import annotations

from reservoir.ledger.webhook_fanout import events_of


def ledger_row(changes: list[list[object]], levels: list[list[object]]) -> dict[str, object]:
    return {"first_lsn": 1, "last_lsn": 9, "changes": changes, "levels": levels, "references": []}


def test_a_batch_that_takes_stock_below_the_threshold_says_so_once() -> None:
    # 12 on hand, 5 already reserved before; this batch holds 3 more: 7 -> 4 available
    changes = [
        [8, 0, "reserve", "rsv_1", "S", "BIN", 2, None],
        [9, 0, "reserve", "rsv_2", "S", "BIN", 1, None],
    ]
    payload = ledger_row(changes, [["S", "BIN", 12, 8, 0]])
    types = [e.type for e in events_of("ledger", payload, stock_low_units=5)]
    assert types == ["stock.changed", "reservation.held", "reservation.held", "stock.low"]
    low = [e for e in events_of("ledger", payload, stock_low_units=5) if e.type == "stock.low"]
    assert low[0].data == {"sku": "S", "location": "BIN", "available": 4, "threshold": 5, "lsn": 9}
    # already below before the batch, or still above after it: nothing
    assert not [e for e in events_of("ledger", payload, 8) if e.type == "stock.low"]
    assert not [e for e in events_of("ledger", payload, 4) if e.type == "stock.low"]
    assert not [e for e in events_of("ledger", payload) if e.type == "stock.low"]


def test_stock_changed_carries_the_levels_after_and_the_changes() -> None:
    changes = [[5, 0, "receipt", None, "S", "BIN", 10, "L1"]]
    (event,) = events_of("ledger", ledger_row(changes, [["S", "BIN", 10, 0, 0]]))
    assert (event.type, event.key) == ("stock.changed", "S")
    assert event.data["available"] == 10 and event.data["changes"][0]["lot"] == "L1"
