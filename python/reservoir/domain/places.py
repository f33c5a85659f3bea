"""Where units go that may not be sold: a location's warehouse and that warehouse's
quarantine (damaged receipts, wrong items, damaged returns), made on first need."""

from __future__ import annotations

import asyncpg

from reservoir.ledger.write_path import WritePath
from reservoir.lib.codes import is_valid_code
from reservoir.lib.errors import ProblemError

QUARANTINE_SUFFIX = "-QUARANTINE"
CODE_LENGTH_MAX = 64

# the outermost location `$1` is inside (itself when it has no parent), preferring the
# nearest warehouse on the way up
WAREHOUSE_OF = """
WITH RECURSIVE up (code, parent, kind, depth) AS (
    SELECT code, parent, kind, 0 FROM locations WHERE code = $1
    UNION ALL
    SELECT l.code, l.parent, l.kind, up.depth + 1
    FROM locations l JOIN up ON l.code = up.parent WHERE up.depth < 64
)
SELECT code FROM up ORDER BY (kind = 'warehouse') DESC, depth LIMIT 1
"""
FIND_QUARANTINE = """
SELECT code FROM locations WHERE parent = $1 AND kind = 'quarantine' ORDER BY code LIMIT 1
"""
MAKE_QUARANTINE = """
INSERT INTO locations (code, name, parent, kind, sellable)
VALUES ($1, $2, $3, 'quarantine', false)
ON CONFLICT (code) DO NOTHING
"""


async def warehouse_of(conn: asyncpg.Connection, location: str) -> str | None:
    """The warehouse `location` is in (or the outermost place above it); None if unknown."""
    code: str | None = await conn.fetchval(WAREHOUSE_OF, location)
    return code


async def quarantine_of(pool: asyncpg.Pool, write_path: WritePath, warehouse: str) -> str:
    """The warehouse's quarantine location: its first child of kind `quarantine`, else a new
    one, `<warehouse>-QUARANTINE` (not sellable), told to the engine like any location."""
    async with pool.acquire() as conn:
        found: str | None = await conn.fetchval(FIND_QUARANTINE, warehouse)
        if found is not None:
            return found
        code = warehouse[: CODE_LENGTH_MAX - len(QUARANTINE_SUFFIX)] + QUARANTINE_SUFFIX
        if not is_valid_code(code):
            raise ProblemError(
                422, "invalid-input", "Invalid input", f"No quarantine for {warehouse!r}."
            )
        await conn.execute(MAKE_QUARANTINE, code, f"Quarantine of {warehouse}", warehouse)
        kind, parent = await conn.fetchval(
            "SELECT (kind, parent) FROM locations WHERE code = $1", code
        )
    if kind != "quarantine" or parent != warehouse:
        raise ProblemError(
            409,
            "quarantine-taken",
            "Quarantine location taken",
            f"{code!r} exists but is not {warehouse}'s quarantine: make one (kind quarantine, "
            f"not sellable) inside {warehouse}.",
        )
    write_path.define_location(code, False, warehouse)
    return code
