"""The fencing token of the ledger's one writer: `ledger_head.epoch`.

A process takes the ledger lock (`ledger/lock.py`), then bumps the epoch on the lock's own
connection (so the lock is held while it does) and only then reads the ledger to build its
engine. Every batch carries that epoch, and the batch statement (`ledger/batch_statement.py`)
aborts itself when `ledger_head.epoch` is no longer it: a process that lost the lock can never
write after another one took it, even if it has not noticed yet.
"""

from __future__ import annotations

from typing import Protocol

import asyncpg

# SQLSTATE raised by the SQL function `ledger_fenced` (migration 0007)
FENCED_SQLSTATE = "RF001"

BUMP_EPOCH = "UPDATE ledger_head SET epoch = epoch + 1 RETURNING epoch"


class LedgerFenced(Exception):
    """Another process owns the ledger now (it bumped the epoch or holds the lock): this one
    must never write again. Final, unlike `LedgerUnavailable` (retry)."""


class _Runs(Protocol):
    async def fetchval(self, query: str, *args: object) -> object: ...


async def bump_epoch(conn: _Runs) -> int:
    """Takes the next epoch; call with the ledger lock held, before reading the ledger."""
    epoch = await conn.fetchval(BUMP_EPOCH)
    if not isinstance(epoch, int):
        raise RuntimeError("ledger_head has no row: the ledger is not migrated")
    return epoch


def fenced_error(exc: BaseException) -> LedgerFenced | None:
    """The `LedgerFenced` that a failed batch statement means, if it was fenced."""
    if isinstance(exc, asyncpg.PostgresError) and exc.sqlstate == FENCED_SQLSTATE:
        return LedgerFenced(str(exc))
    return None
