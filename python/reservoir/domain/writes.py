"""One way every write endpoint answers: apply in memory, wait until the ledger has it, then
answer — with `Idempotency-Key` handled on the way (replay, 409 in flight, 422 reuse)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.response.base import ASGIResponse

from reservoir.ledger.changes import ChangeMeta, IdempotencyRecord
from reservoir.ledger.write_path import WritePath
from reservoir.lib.auth import Identity
from reservoir.lib.idempotency import (
    HEADER,
    IdempotencyKeys,
    StoredAnswer,
    check_key,
    request_hash,
)

JSON = "application/json"
REPLAYED = {"Idempotent-Replayed": "true"}


def answer(body: bytes, status_code: int, headers: dict[str, str] | None = None) -> ASGIResponse:
    """An already-encoded JSON answer, handed to the ASGI server as is (Litestar's Response
    object would be converted into this per request)."""
    return ASGIResponse(body=body, status_code=status_code, media_type=JSON, headers=headers)


@dataclass(frozen=True, slots=True)
class Written:
    """What a change produced: the answer to send once `lsn` (with `meta`) is durable."""

    status_code: int
    body: bytes
    lsn: int
    meta: ChangeMeta | None = None
    changed: bool = True  # False: the call found the change already made (lsn is that one's)


Apply = Callable[[], Written | Awaitable[Written]]


async def perform(request: Request[Any, Any, Any], caller: Identity, apply: Apply) -> ASGIResponse:
    """Runs `apply` (which changes the engine and must not await between its engine call and
    returning) and answers once its change is durable."""
    write_path: WritePath = request.app.state.write_path
    key = request.headers.get(HEADER)
    if key is None:
        written = await _call(apply)
        await write_path.durable(written.lsn, written.meta)
        return answer(written.body, written.status_code)

    keys: IdempotencyKeys = request.app.state.idempotency_keys
    owner = caller.actor
    check_key(key)
    keys.begin(owner, key)
    try:
        hash_ = request_hash(request.method, request.url.path, await request.body())
        stored = await keys.answer_for(owner, key, hash_)
        if stored is not None:
            return answer(stored.body, stored.status_code, REPLAYED)
        written = await _call(apply)
        record = IdempotencyRecord(owner, key, hash_, written.status_code, written.body)
        if written.changed:
            meta = written.meta or ChangeMeta(actor=caller.actor)
            await write_path.durable(written.lsn, dataclasses.replace(meta, idempotency=record))
        else:
            await write_path.durable(written.lsn, loose=record)
        keys.remember(owner, key, StoredAnswer(hash_, written.status_code, written.body))
        return answer(written.body, written.status_code)
    finally:
        keys.end(owner, key)


async def _call(apply: Apply) -> Written:
    result = apply()
    if isinstance(result, Written):
        return result
    return await result
