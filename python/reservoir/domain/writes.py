"""One way every write endpoint answers: apply in memory, wait until the ledger has it, then
answer — with `Idempotency-Key` handled on the way (replay, 409 in flight, 422 reuse).
Writes to PostgreSQL tables only (pick lists) answer through `perform_in_transaction`, which
stores the key's answer in the write's own transaction.

Handlers get a `Writes` as the `writes` dependency (the server makes one per app)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import asyncpg
from litestar.response.base import ASGIResponse

from reservoir.domain.reservations.rates import ReserveRates
from reservoir.ledger.changes import ChangeMeta, IdempotencyRecord
from reservoir.ledger.write_path import WritePath
from reservoir.lib.auth import Identity
from reservoir.lib.errors import PROBLEM_MEDIA_TYPE
from reservoir.lib.idempotency import (
    HEADER,
    IdempotencyKeys,
    StoredAnswer,
    check_key,
    request_hash,
)
from reservoir.lib.settings import Settings

JSON = "application/json"
REPLAYED = {"Idempotent-Replayed": "true"}


def transaction_id(lsn: int) -> str:
    """The public id of a stock movement: its LSN."""
    return f"txn_{lsn}"


def answer(body: bytes, status_code: int, headers: dict[str, str] | None = None) -> ASGIResponse:
    """An already-encoded JSON answer, handed to the ASGI server as is (Litestar's Response
    object would be converted into this per request). A write answered with an error status
    (a refused hold that joined a waitlist) answers a problem."""
    media_type = PROBLEM_MEDIA_TYPE if status_code >= 400 else JSON
    return ASGIResponse(body=body, status_code=status_code, media_type=media_type, headers=headers)


class _Path(Protocol):
    @property
    def path(self) -> str: ...


class _Headers(Protocol):
    def get(self, key: str, /) -> str | None: ...


class WriteRequest(Protocol):
    """What answering a write reads of its request: a Litestar `Request`, or the hot path's
    own (server/hot_path.py). The body is read only for an `Idempotency-Key`'s hash."""

    @property
    def method(self) -> str: ...
    @property
    def url(self) -> _Path: ...
    @property
    def headers(self) -> _Headers: ...
    async def body(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Written:
    """What a change produced: the answer to send once `lsn` (with `meta`) is durable."""

    status_code: int
    body: bytes
    lsn: int
    meta: ChangeMeta | None = None
    changed: bool = True  # False: the call found the change already made (lsn is that one's)
    # with changed=False: the open transaction the write's other effects commit in (a pick
    # list's confirmation), where the key's answer is stored, instead of a later ledger batch
    conn: asyncpg.Connection | None = None


Apply = Callable[[], Written | Awaitable[Written]]
ApplyInTransaction = Callable[[asyncpg.Connection], Awaitable[Written]]
# The idempotency record of an answer (None: the request came without a key).
Record = Callable[[Written], IdempotencyRecord] | None

# No ON CONFLICT: a key stored meanwhile (another process, or an answer the ledger writer
# stored late) aborts this write's transaction, and the stored answer is replayed instead.
INSERT_ANSWER = """
INSERT INTO idempotency_keys (owner, key, request_hash, status_code, body)
VALUES ($1, $2, $3, $4, $5)
"""
KEY_CONSTRAINT = "idempotency_keys_pkey"


async def _store_answer(conn: asyncpg.Connection, record: IdempotencyRecord) -> None:
    r = record
    await conn.execute(INSERT_ANSWER, r.owner, r.key, r.request_hash, r.status_code, r.body)


class Writes:
    """What a write endpoint uses, as one dependency: the write path, the idempotency keys,
    the pool (for reads beside the write), the settings and the reserve path's rate limits."""

    def __init__(
        self,
        write_path: WritePath,
        keys: IdempotencyKeys,
        pool: asyncpg.Pool,
        settings: Settings,
    ) -> None:
        self.write_path = write_path
        self.keys = keys
        self.pool = pool
        self.settings = settings
        self.reserve_rates = ReserveRates.from_settings(settings)

    async def perform(self, request: WriteRequest, caller: Identity, apply: Apply) -> ASGIResponse:
        """Runs `apply` (which changes the engine and must not await between its engine call
        and returning) and answers once its change is durable."""
        write_path = self.write_path

        async def run(record: Record) -> Written:
            written = await _call(apply)
            if record is None:
                await write_path.durable(written.lsn, written.meta)
            elif not written.changed and written.conn is not None:
                await _store_answer(written.conn, record(written))
            elif written.changed:
                meta = written.meta or ChangeMeta(actor=caller.actor)
                await write_path.durable(
                    written.lsn, dataclasses.replace(meta, idempotency=record(written))
                )
            else:
                await write_path.durable(written.lsn, loose=record(written))
            return written

        return await _answer_once(request, caller, self.keys, run)

    async def perform_in_transaction(
        self,
        request: WriteRequest,
        caller: Identity,
        pool: asyncpg.Pool,
        apply: ApplyInTransaction,
    ) -> ASGIResponse:
        """Runs `apply` in one PostgreSQL transaction (a write that does not go through the
        engine) and answers once it has committed, its key's answer committed with it: a
        crash can never leave the change made and the key unanswered."""

        async def run(record: Record) -> Written:
            async with pool.acquire() as conn, conn.transaction():
                written = await apply(conn)
                if record is not None:
                    await _store_answer(conn, record(written))
            return written

        return await _answer_once(request, caller, self.keys, run)


async def _answer_once(
    request: WriteRequest,
    caller: Identity,
    keys: IdempotencyKeys,
    run: Callable[[Record], Awaitable[Written]],
) -> ASGIResponse:
    """The answer of `run`, or, for an `Idempotency-Key` seen before, the first answer again
    (409 while it is in flight, 422 for another request under the same key)."""
    key = request.headers.get(HEADER)
    if key is None:
        written = await run(None)
        return answer(written.body, written.status_code)

    owner = caller.actor
    check_key(key)
    keys.begin(owner, key)
    try:
        hash_ = request_hash(request.method, request.url.path, await request.body())
        stored = await keys.answer_for(owner, key, hash_)
        if stored is not None:
            return answer(stored.body, stored.status_code, REPLAYED)
        try:
            written = await run(
                lambda w: IdempotencyRecord(owner, key, hash_, w.status_code, w.body)
            )
        except asyncpg.UniqueViolationError as e:
            if e.constraint_name != KEY_CONSTRAINT:
                raise
            # answered meanwhile elsewhere: this write rolled back; the first answer stands
            stored = await keys.answer_for(owner, key, hash_)
            if stored is None:
                raise
            return answer(stored.body, stored.status_code, REPLAYED)
        keys.remember(owner, key, StoredAnswer(hash_, written.status_code, written.body))
        return answer(written.body, written.status_code)
    finally:
        keys.end(owner, key)


async def _call(apply: Apply) -> Written:
    result = apply()
    if isinstance(result, Written):
        return result
    return await result
