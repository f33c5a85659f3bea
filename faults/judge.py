"""Reads every acknowledged hold back from the ledger: its `reserve` row, its reservation
(by the Idempotency-Key sent as `reference`), no oversell, `reservoir verify`; and, for the
Redis cycle, every ledger event of the SKU in the stream."""

from __future__ import annotations

import asyncio
import subprocess
import time
from dataclasses import dataclass

import asyncpg
import redis

from faults.service import reservoir_command

STREAM = "reservoir:events"

DURABLE_HOLDS = """
SELECT r.reference, r.id
FROM reservations r
JOIN ledger_entries e
  ON e.reference_type = 'reservation' AND e.reference_id = r.id AND e.kind = 'reserve'
WHERE e.sku = $1
"""
LEVELS = "SELECT location, on_hand, reserved, committed FROM inventory_levels WHERE sku = $1"
LEDGER_RESERVES = """
SELECT lsn, kind, location, reference_id FROM ledger_entries WHERE sku = $1 AND kind = 'reserve'
"""


@dataclass
class Verdict:
    acknowledged: int
    lost: int
    unacknowledged_durable: int  # holds in the ledger whose answer never arrived (allowed)
    oversold: list[str]
    verify_ok: bool
    verify_said: str


async def judge(dsn: str, sku: str, acknowledged: dict[str, str]) -> Verdict:
    conn = await asyncpg.connect(dsn)
    try:
        durable = {row["reference"]: row["id"] for row in await conn.fetch(DURABLE_HOLDS, sku)}
        levels = await conn.fetch(LEVELS, sku)
    finally:
        await conn.close()
    lost = [key for key, rid in acknowledged.items() if durable.get(key) != rid]
    oversold = [
        f"{row['location']}: reserved {row['reserved']} + committed {row['committed']}"
        f" > on_hand {row['on_hand']}"
        for row in levels
        if row["reserved"] + row["committed"] > row["on_hand"]
    ]
    verify_ok, said = await asyncio.to_thread(run_verify, dsn)
    return Verdict(
        acknowledged=len(acknowledged),
        lost=len(lost),
        unacknowledged_durable=len(durable.keys() - acknowledged.keys()),
        oversold=oversold,
        verify_ok=verify_ok,
        verify_said=said,
    )


def run_verify(dsn: str, timeout_s: float = 300) -> tuple[bool, str]:
    """`reservoir verify` on the database: (exit 0, its last line)."""
    done = subprocess.run(
        [*reservoir_command(), "verify"],
        env={**_plain_env(), "RESERVOIR_DATABASE_URL": dsn},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    lines = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, lines[-1] if lines else f"exit {done.returncode}"


def _plain_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("RESERVOIR_")}


def stream_last_id(client: redis.Redis) -> str:
    last = client.xrevrange(STREAM, count=1)
    return _text(last[0][0]) if last else "0-0"


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def events_missing(
    dsn: str, client: redis.Redis, sku: str, after_id: str, timeout_s: float
) -> tuple[int, int]:
    """Waits up to `timeout_s` until every `reserve` row of `sku` in the ledger is in the stream
    (entries after `after_id`); returns (ledger reserve rows, how many are still missing)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(LEDGER_RESERVES, sku)
    finally:
        await conn.close()
    wanted = {(str(r["lsn"]), r["kind"], r["location"], r["reference_id"] or "") for r in rows}
    seen: set[tuple[str, str, str, str]] = set()
    cursor = after_id
    deadline = time.monotonic() + timeout_s
    while True:
        batch = await asyncio.to_thread(client.xrange, STREAM, f"({cursor}", "+", 10_000) or []
        for entry_id, fields in batch:
            cursor = _text(entry_id)
            event = {_text(k): _text(v) for k, v in (fields or {}).items()}
            if event.get("sku") == sku and event.get("kind") == "reserve":
                seen.add((event["lsn"], event["kind"], event["location"], event["reservation_id"]))
        missing = len(wanted - seen)
        if not missing or (not batch and time.monotonic() > deadline):
            return len(wanted), missing
        if not batch:
            await asyncio.sleep(0.2)
