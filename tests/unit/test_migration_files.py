"""The migration files in `ledger/migrations/`: how they are read, and that none that shipped
has changed (a database migrated by an older reservoir must match what this one would create).
"""

import hashlib
from pathlib import Path

import pytest

from reservoir.ledger.migrate import LATEST_VERSION, MIGRATIONS, MigrationError, load_migrations

# sha256 of each shipped migration's SQL: append a line for a new migration, never edit one
SHIPPED = {
    1: "3428dbdd72f70c900c294566149e896bfe84868e64ede4e7622f61ffa9f03993",
    2: "206460e495862d2a098611db023a77055c7cd3f84e410e397ce9477d5df87218",
    3: "417d669c201d41b46de3ee7e6a1bfa348b8a9f05c57d47e5abfea506fe800eee",
    4: "8e9f82e3202908d8f999510626381ed68f1d65a59d3aa0e17c92bc3dbb283313",
    5: "b43b521bfe8f522509caac0fb7074c56c5747b365ce28c12ac30dd68cca61bb9",
    6: "8013acbff5f83a746050ba092aab2c2533c493b4d5252eb64fdf4818b258a2a7",
    7: "9b2fd3df17f0b5d1a606eb3a10aacada019c620d988f8e349f16624e11751bd2",
    8: "b95d90b7b1f2b3ae27b264775577dc5151c1453b2a540e15678117fb351c8f4f",
    9: "e46cdcd721b55b4c6919fa60f63168e0705aa1072d34b41497b3368d16d9316e",
    10: "8e5c7f444ae001a95216023896bfe1d351ff2559e2119cc73e4d9a4db6f9bf5f",
    11: "7e6bd5f57d135d90613095e57635939b5889cee3ae07ec1226733a1dfd9dda30",
}


def test_the_shipped_migrations_are_numbered_from_one_and_unchanged() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))
    assert all(m.name and m.sql.strip() for m in MIGRATIONS)
    digests = {m.version: hashlib.sha256(m.sql.encode()).hexdigest() for m in MIGRATIONS}
    assert {v: d for v, d in digests.items() if v in SHIPPED} == SHIPPED


def test_a_file_is_its_name_header_then_its_sql(tmp_path: Path) -> None:
    (tmp_path / "0002_more.sql").write_text("-- name: more\n-- why\n\nSELECT 2;\n")
    (tmp_path / "0001_first.sql").write_text("-- name: the first one\nSELECT 1;\n")
    (tmp_path / "README.txt").write_text("not a migration")
    assert [tuple(m) for m in load_migrations(tmp_path)] == [
        (1, "the first one", "SELECT 1;\n"),
        (2, "more", "\nSELECT 2;\n"),
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"1_first.sql": "-- name: x\nSELECT 1;"}, "NNNN_<what>.sql"),
        ({"0001_first.sql": "SELECT 1;"}, "must start with"),
        ({"0001_first.sql": "-- what\nSELECT 1;"}, "must start with"),
        ({"0001_first.sql": "-- name: x\n\n"}, "no SQL"),
        ({"0001_a.sql": "-- name: a\nSELECT 1;", "0001_b.sql": "-- name: b\nSELECT 1;"}, "unique"),
    ],
)
def test_malformed_migration_files_are_refused(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(MigrationError, match=message):
        load_migrations(tmp_path)
