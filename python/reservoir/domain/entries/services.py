"""Reading ledger entries in id order, a page at a time, with an opaque cursor."""

from __future__ import annotations

import base64
import binascii

import asyncpg

from reservoir.domain.entries.schemas import LedgerEntry, LedgerPage
from reservoir.lib.errors import invalid_input

LIMIT_DEFAULT = 100
LIMIT_MAX = 1_000
_CURSOR_PREFIX = "id:"


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor points after; a 400 problem naming `after` if it is not ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(cursor)
        value = int(text[len(_CURSOR_PREFIX) :])
        if value < 0 or str(value) != text[len(_CURSOR_PREFIX) :]:
            raise ValueError(cursor)
        return value
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_input(
            "after", "`after` is not a cursor this service gave out (use `next`)", status=400
        ) from None


async def read_ledger(
    pool: asyncpg.Pool,
    *,
    sku: str | None = None,
    location: str | None = None,
    after: int = 0,
    limit: int = LIMIT_DEFAULT,
) -> LedgerPage:
    conditions = ["id > $1"]
    args: list[object] = [after]
    if sku is not None:
        args.append(sku)
        conditions.append(f"sku = ${len(args)}")
    if location is not None:
        args.append(location)
        conditions.append(f"location = ${len(args)}")
    args.append(limit + 1)
    rows = await pool.fetch(
        f"""
        SELECT id, at, sku, location, kind, quantity, reference_type, reference_id, actor,
               lot, expires_on
        FROM ledger_entries
        WHERE {" AND ".join(conditions)}
        ORDER BY id
        LIMIT ${len(args)}
        """,
        *args,
    )
    entries = [LedgerEntry(**dict(r)) for r in rows[:limit]]
    more = len(rows) > limit
    return LedgerPage(entries=entries, next=encode_cursor(entries[-1].id) if more else None)
