"""Exactly once per `Idempotency-Key`: the first answer is stored in the same ledger
transaction as its effect and replayed for the same key and body; keys are scoped to the API
key that sent them. A key still in flight answers 409; the same key with another body 422."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import asyncpg

from reservoir.lib.errors import ProblemError

HEADER = "idempotency-key"
KEY_LENGTH_MAX = 255
CACHE_ENTRIES_MAX = 100_000


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    request_hash: str
    status_code: int
    body: bytes


def check_key(key: str) -> str:
    if not 1 <= len(key) <= KEY_LENGTH_MAX or not all(" " <= c <= "~" for c in key):
        raise ProblemError(
            400,
            "invalid-idempotency-key",
            "Invalid Idempotency-Key",
            f"Idempotency-Key must be 1 to {KEY_LENGTH_MAX} printable ASCII characters.",
            field="Idempotency-Key",
        )
    return key


def request_hash(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


class IdempotencyKeys:
    """The keys in flight (in memory) and the answers already given (cache, then ledger)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._in_flight: set[tuple[str, str]] = set()
        self._answers: OrderedDict[tuple[str, str], StoredAnswer] = OrderedDict()

    def begin(self, owner: str, key: str) -> None:
        """Marks the key in flight, or answers 409 if it already is."""
        if (owner, key) in self._in_flight:
            raise ProblemError(
                409,
                "idempotency-key-in-flight",
                "Request in progress",
                "A request with this Idempotency-Key is still being processed; retry later.",
                field="Idempotency-Key",
            )
        self._in_flight.add((owner, key))

    def end(self, owner: str, key: str) -> None:
        self._in_flight.discard((owner, key))

    async def answer_for(self, owner: str, key: str, hash_: str) -> StoredAnswer | None:
        """The stored answer to replay, None for a new key, 422 for a key reused on another
        request."""
        found = self._answers.get((owner, key))
        if found is None:
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(
                    "SELECT request_hash, status_code, body FROM idempotency_keys"
                    " WHERE owner = $1 AND key = $2",
                    owner,
                    key,
                )
            if row is None:
                return None
            found = StoredAnswer(row[0], row[1], bytes(row[2]))
            self.remember(owner, key, found)
        if found.request_hash != hash_:
            raise ProblemError(
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "This Idempotency-Key was already used with a different request.",
                field="Idempotency-Key",
            )
        return found

    def remember(self, owner: str, key: str, answer: StoredAnswer) -> None:
        self._answers[(owner, key)] = answer
        self._answers.move_to_end((owner, key))
        while len(self._answers) > CACHE_ENTRIES_MAX:
            self._answers.popitem(last=False)
