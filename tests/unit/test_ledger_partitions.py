from datetime import UTC, datetime, timedelta, timezone

from reservoir.ledger.partitions import add_months, month_start, partition_name, wanted_months


def test_months_roll_over_years() -> None:
    start = month_start(datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    assert start == datetime(2025, 12, 1, tzinfo=UTC)
    assert add_months(start, 1) == datetime(2026, 1, 1, tzinfo=UTC)
    assert add_months(start, -12) == datetime(2024, 12, 1, tzinfo=UTC)
    assert partition_name(add_months(start, 2)) == "ledger_entries_y2026m02"


def test_month_is_taken_in_utc() -> None:
    local = datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # Feb 28 22:30 UTC
    assert month_start(local) == datetime(2026, 2, 1, tzinfo=UTC)


def test_previous_current_and_next_two_months() -> None:
    months = wanted_months(datetime(2026, 1, 15, tzinfo=UTC))
    assert [partition_name(m) for m in months] == [
        "ledger_entries_y2025m12",
        "ledger_entries_y2026m01",
        "ledger_entries_y2026m02",
        "ledger_entries_y2026m03",
    ]
