"""Ledger bodies."""

from __future__ import annotations

from datetime import date, datetime

import msgspec


class LedgerEntry(msgspec.Struct, omit_defaults=True):
    id: int
    at: datetime
    sku: str
    location: str
    kind: str
    quantity: int
    reference_type: str | None
    reference_id: str | None
    actor: str | None
    lot: str | None = None  # the lot the units are in, when they are in one
    expires_on: date | None = None


class LedgerPage(msgspec.Struct):
    entries: list[LedgerEntry]
    next: str | None  # pass as `after` for the next page; null on the last page
