import re

from reservoir.ledger.fold import FOLD, KINDS, apply, fold_sql
from reservoir.ledger.migrate import MIGRATIONS
from reservoir.ledger.schema import LEDGER_KINDS


def test_the_fold_covers_exactly_the_kinds_the_schema_allows() -> None:
    """The kinds of the newest CHECK on `ledger_entries.kind` (the table's, or a later
    migration's `ledger_entries_kind_check`)."""
    assert set(KINDS) == set(LEDGER_KINDS)
    initial = MIGRATIONS[0].sql
    initial = initial[initial.index("CREATE TABLE ledger_entries") :]
    check = re.search(r"kind\s+text NOT NULL CHECK \(kind IN \((.*?)\)\)", initial, re.S)
    for migration in MIGRATIONS[1:]:
        later = re.search(
            r"ADD CONSTRAINT ledger_entries_kind_check CHECK \(kind IN \((.*?)\)\)",
            migration.sql,
            re.S,
        )
        check = later or check
    assert check is not None
    assert set(re.findall(r"'(\w+)'", check.group(1))) == set(LEDGER_KINDS)


def test_the_fold_of_a_reservation_lifecycle() -> None:
    level = (0, 0, 0)
    for kind, q in [("receipt", 10), ("reserve", 4), ("commit", 3), ("release", 1), ("ship", 2)]:
        level = apply(level, kind, q)
    assert level == (8, 0, 1)
    assert apply(level, "cancel", 1) == (8, 0, 0)
    assert apply(level, "adjustment", -3) == (5, 0, 1)
    assert apply((5, 2, 0), "expire", 2) == (5, 0, 0)
    assert apply((5, 0, 0), "transfer_out", 5) == (0, 0, 0)
    assert apply((0, 0, 0), "transfer_in", 5) == apply((0, 0, 0), "return", 5) == (5, 0, 0)


def test_fold_sql_lists_each_kind_with_its_sign() -> None:
    on_hand = fold_sql(0)
    assert "THEN -1 * quantity" in on_hand and "THEN 1 * quantity" in on_hand
    for kind, effect in FOLD.items():
        for column in range(3):
            sql = fold_sql(column)
            assert (f"'{kind}'" in sql) == bool(effect[column])
