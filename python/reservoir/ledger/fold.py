"""What each ledger entry kind does to a level: the fold that `inventory_levels` must equal.

`FOLD[kind] = (on_hand, reserved, committed)` multipliers of the entry's quantity.
Adjustments carry a signed quantity; every other kind carries a positive one.
"""

from __future__ import annotations

from typing import Final

FOLD: Final[dict[str, tuple[int, int, int]]] = {
    "receipt": (1, 0, 0),
    "return": (1, 0, 0),
    "transfer_in": (1, 0, 0),
    "adjustment": (1, 0, 0),
    "transfer_out": (-1, 0, 0),
    "reserve": (0, 1, 0),
    "release": (0, -1, 0),
    "expire": (0, -1, 0),
    "commit": (0, -1, 1),
    "cancel": (0, 0, -1),
    "ship": (-1, 0, -1),
    "transit_out": (-1, 0, 0),
    "transit": (0, 0, 0),
    "transit_in": (1, 0, 0),
    "transit_lost": (0, 0, 0),
    "write_off": (0, 0, 0),
}
# Units in transit to a location (per SKU and destination), beside the level: shipped on a
# transfer (`transit`), then arrived (`transit_in`) or lost (`transit_lost`).
IN_TRANSIT: Final[dict[str, int]] = {"transit": 1, "transit_in": -1, "transit_lost": -1}

KINDS: Final[tuple[str, ...]] = tuple(FOLD)
# the kinds that move no level: their entries may stand at a location without a level row
UNFOLDED: Final[tuple[str, ...]] = tuple(k for k, effect in FOLD.items() if effect == (0, 0, 0))


def fold_sql(column: int, quantity: str = "quantity", kind: str = "kind") -> str:
    """A SQL expression giving an entry's effect on one level column (0 on_hand, 1 reserved,
    2 committed), for use inside SUM(...)."""
    groups: dict[int, list[str]] = {}
    for name, effect in FOLD.items():
        if effect[column]:
            groups.setdefault(effect[column], []).append(name)
    whens = " ".join(
        f"WHEN {kind} IN ({', '.join(repr(k) for k in sorted(names))}) THEN {sign} * {quantity}"
        for sign, names in sorted(groups.items(), reverse=True)
    )
    return f"CASE {whens} ELSE 0 END"


def apply(level: tuple[int, int, int], kind: str, quantity: int) -> tuple[int, int, int]:
    """The level after one entry (the Python twin of `fold_sql`, for tests and tools)."""
    d = FOLD[kind]
    return (level[0] + d[0] * quantity, level[1] + d[1] * quantity, level[2] + d[2] * quantity)
