"""Writes one drained batch into PostgreSQL: ledger rows, level increments, reservation
rows, idempotency records, an outbox event and the ledger head, in the caller's transaction.

Set-based statements over arrays (`unnest`): a handful of round trips per batch, however many
requests it answers. Times travel as integer milliseconds and become timestamps in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg
import msgspec

from reservoir import _core
from reservoir.ledger.changes import SYSTEM_ACTOR, ChangeMeta, IdempotencyRecord

_MS = "'epoch'::timestamptz + {} * interval '1 millisecond'"

INSERT_LEDGER = f"""
INSERT INTO ledger_entries
    (lsn, at, sku, location, kind, quantity, reference_type, reference_id, actor, lot, expires_on)
SELECT lsn, {_MS.format("at_ms")}, sku, location, kind, quantity, reference_type, reference_id,
       actor, lot, expires_on
FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[],
            $7::text[], $8::text[], $9::text[], $10::text[], $11::date[])
    AS t(lsn, at_ms, sku, location, kind, quantity, reference_type, reference_id, actor, lot,
         expires_on)
"""

UPSERT_LEVELS = """
INSERT INTO inventory_levels AS l (sku, location, on_hand, reserved, committed, updated_at)
SELECT sku, location, d_on_hand, d_reserved, d_committed, now()
FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[])
    AS t(sku, location, d_on_hand, d_reserved, d_committed)
ON CONFLICT (sku, location) DO UPDATE SET
    on_hand = l.on_hand + EXCLUDED.on_hand,
    reserved = l.reserved + EXCLUDED.reserved,
    committed = l.committed + EXCLUDED.committed,
    updated_at = EXCLUDED.updated_at
"""

INSERT_RESERVATIONS = f"""
INSERT INTO reservations
    (id, seq, status, expires_at, created_at, updated_at, channel, reference, commit_reference,
     owner, lsn)
SELECT id, seq, status, {_MS.format("expires_ms")}, {_MS.format("created_ms")}, now(), channel,
       reference, commit_reference, owner, $10
FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::text[],
            $8::text[], $9::text[])
    AS t(id, seq, status, expires_ms, created_ms, channel, reference, commit_reference, owner)
"""

INSERT_RESERVATION_LINES = """
INSERT INTO reservation_lines (reservation_id, line_no, sku, location, quantity)
SELECT * FROM unnest($1::text[], $2::int4[], $3::text[], $4::text[], $5::int8[])
"""

UPDATE_RESERVATIONS = f"""
UPDATE reservations AS r SET
    status = u.status,
    expires_at = COALESCE({_MS.format("u.expires_ms")}, r.expires_at),
    commit_reference = COALESCE(u.commit_reference, r.commit_reference),
    updated_at = now(),
    lsn = $5
FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[])
    AS u(id, status, expires_ms, commit_reference)
WHERE r.id = u.id
"""

INSERT_IDEMPOTENCY = """
INSERT INTO idempotency_keys (owner, key, request_hash, status_code, body)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::bytea[])
ON CONFLICT (owner, key) DO NOTHING
"""

INSERT_OUTBOX = "INSERT INTO outbox (lsn, topic, payload) VALUES ($1, $2, $3::jsonb)"

ADVANCE_HEAD = "UPDATE ledger_head SET lsn = $1 WHERE lsn < $1"

LEDGER_TOPIC = "ledger"

_encode = msgspec.json.Encoder().encode


async def store_batch(
    conn: asyncpg.Connection,
    batch: _core.Batch,
    metas: Mapping[int, ChangeMeta],
    loose: Sequence[IdempotencyRecord] = (),
) -> None:
    """Writes `batch` (with the metadata of its LSNs) inside the caller's transaction."""
    rows = batch.rows
    if rows:
        await _insert_ledger(conn, rows, metas)
    if batch.level_deltas:
        await conn.execute(UPSERT_LEVELS, *_columns(batch.level_deltas, 5))
    if batch.reservations:
        await _write_reservations(conn, batch, metas)
    records = [m.idempotency for m in metas.values() if m.idempotency is not None]
    records.extend(loose)
    if records:
        await conn.execute(
            INSERT_IDEMPOTENCY,
            [r.owner for r in records],
            [r.key for r in records],
            [r.request_hash for r in records],
            [r.status_code for r in records],
            [r.body for r in records],
        )
    if rows:
        payload = {
            "first_lsn": batch.first_lsn,
            "last_lsn": batch.last_lsn,
            "changes": [row[:7] for row in rows],
        }
        await conn.execute(INSERT_OUTBOX, batch.last_lsn, LEDGER_TOPIC, _encode(payload).decode())
    if batch.last_lsn:
        await conn.execute(ADVANCE_HEAD, batch.last_lsn)


def _columns(rows: Sequence[tuple], width: int) -> list[list]:
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


async def _insert_ledger(
    conn: asyncpg.Connection, rows: Sequence[_core.LogRow], metas: Mapping[int, ChangeMeta]
) -> None:
    lsns, ats, kinds, rids, skus, locations, quantities, _ = _columns(rows, 8)
    ref_types, ref_ids, actors, lots, expires = [], [], [], [], []
    for lsn, rid in zip(lsns, rids, strict=True):
        meta = metas.get(lsn)
        actors.append(meta.actor if meta else SYSTEM_ACTOR)
        if rid is not None:
            ref_types.append("reservation")
            ref_ids.append(rid)
        else:
            ref_types.append(meta.reference_type if meta else None)
            ref_ids.append(meta.reference_id if meta else None)
        lots.append(meta.lot if meta else None)
        expires.append(meta.expires_on if meta else None)
    await conn.execute(
        INSERT_LEDGER,
        lsns,
        ats,
        skus,
        locations,
        kinds,
        quantities,
        ref_types,
        ref_ids,
        actors,
        lots,
        expires,
    )


async def _write_reservations(
    conn: asyncpg.Connection, batch: _core.Batch, metas: Mapping[int, ChangeMeta]
) -> None:
    created: dict[str, tuple[int, ChangeMeta | None]] = {}
    lines: dict[str, list[tuple[str, str, int]]] = {}
    commit_refs: dict[str, str] = {}
    for lsn, at_ms, kind, rid, sku, location, quantity, _ in batch.rows:
        if kind == "reserve":
            created.setdefault(rid, (at_ms, metas.get(lsn)))
            lines.setdefault(rid, []).append((sku, location, quantity))
        elif kind == "commit":
            meta = metas.get(lsn)
            if meta is not None and meta.commit_reference is not None:
                commit_refs[rid] = meta.commit_reference
    new = [r for r in batch.reservations if r[0] in created]
    if new:
        ids, statuses, expires = _columns(new, 3)
        owners, channels, references, created_ms = [], [], [], []
        for rid in ids:
            at_ms, meta = created[rid]
            info = meta.reservation if meta else None
            created_ms.append(info.created_at_ms if info else at_ms)
            owners.append(info.owner if info else None)
            channels.append(info.channel if info else None)
            references.append(info.reference if info else None)
        await conn.execute(
            INSERT_RESERVATIONS,
            ids,
            [_core.reservation_seq(rid) for rid in ids],
            statuses,
            expires,
            created_ms,
            channels,
            references,
            [commit_refs.get(rid) for rid in ids],
            owners,
            batch.last_lsn,
        )
        line_rows = [
            (rid, no, sku, location, quantity)
            for rid in ids
            for no, (sku, location, quantity) in enumerate(lines[rid], start=1)
        ]
        await conn.execute(INSERT_RESERVATION_LINES, *_columns(line_rows, 5))
    changed = [r for r in batch.reservations if r[0] not in created]
    if changed:
        ids, statuses, expires = _columns(changed, 3)
        await conn.execute(
            UPDATE_RESERVATIONS,
            ids,
            statuses,
            expires,
            [commit_refs.get(rid) for rid in ids],
            batch.last_lsn,
        )
