"""Writes one drained batch into PostgreSQL as ONE statement: ledger rows, level and lot
increments, new lots, reservation rows and lines, idempotency records, an outbox event and
the ledger head.

One statement is one round trip and its own transaction: no BEGIN/COMMIT, no statement per
table. Its parts are data-modifying CTEs over `unnest`ed arrays (empty arrays write
nothing); the outbox event is built by PostgreSQL from the same arrays, off the service's
CPU. Times travel as integer milliseconds and become timestamps in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import asyncpg

from reservoir import _core
from reservoir.ledger.changes import SYSTEM_ACTOR, ChangeMeta, IdempotencyRecord
from reservoir.lib.clock import day_number

LEDGER_TOPIC = "ledger"


def _ms(column: str) -> str:
    return f"'epoch'::timestamptz + {column} * interval '1 millisecond'"


WRITE_BATCH = f"""
WITH rows AS (
    SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[],
                         $7::text[], $8::text[], $9::text[], $10::text[], $11::int4[])
        WITH ORDINALITY AS t(lsn, at_ms, sku, location, kind, quantity, reference_type,
                             reference_id, actor, lot, expires_on, ord)
), ledger AS (
    INSERT INTO ledger_entries (lsn, at, sku, location, kind, quantity, reference_type,
                                reference_id, actor, lot, expires_on)
    SELECT lsn, {_ms("at_ms")}, sku, location, kind, quantity, reference_type, reference_id,
           actor, lot, DATE '1970-01-01' + expires_on
    FROM rows ORDER BY ord
), new_lots AS (
    INSERT INTO lots (sku, lot, expires_on, first_lsn)
    SELECT DISTINCT ON (sku, lot) sku, lot, DATE '1970-01-01' + expires_on, lsn
    FROM rows WHERE lot IS NOT NULL AND kind = 'receipt'
    ORDER BY sku, lot, lsn
    ON CONFLICT (sku, lot) DO NOTHING
), lot_deltas AS (
    SELECT * FROM unnest($42::text[], $43::text[], $44::text[], $45::int8[])
        AS t(sku, location, lot, units)
), lot_changed AS (
    -- an UPDATE, not INSERT .. ON CONFLICT: a negative delta never forms a row to insert,
    -- so `on_hand >= 0` is checked on the result only
    UPDATE lot_levels x SET on_hand = x.on_hand + d.units FROM lot_deltas d
    WHERE x.sku = d.sku AND x.location = d.location AND x.lot = d.lot
    RETURNING x.sku, x.location, x.lot
), lot_added AS (
    INSERT INTO lot_levels (sku, location, lot, on_hand)
    SELECT d.sku, d.location, d.lot, d.units FROM lot_deltas d
    WHERE NOT EXISTS (SELECT 1 FROM lot_changed c
                      WHERE (c.sku, c.location, c.lot) = (d.sku, d.location, d.lot))
), levels AS (
    INSERT INTO inventory_levels AS l (sku, location, on_hand, reserved, committed, updated_at)
    SELECT sku, location, d_on_hand, d_reserved, d_committed, now()
    FROM unnest($12::text[], $13::text[], $14::int8[], $15::int8[], $16::int8[])
        AS t(sku, location, d_on_hand, d_reserved, d_committed)
    ON CONFLICT (sku, location) DO UPDATE SET
        on_hand = l.on_hand + EXCLUDED.on_hand,
        reserved = l.reserved + EXCLUDED.reserved,
        committed = l.committed + EXCLUDED.committed,
        updated_at = EXCLUDED.updated_at
), created AS (
    INSERT INTO reservations (id, seq, status, expires_at, created_at, updated_at, channel,
                              reference, commit_reference, owner, lsn)
    SELECT id, seq, status, {_ms("expires_ms")}, {_ms("created_ms")}, now(), channel,
           reference, commit_reference, owner, $40
    FROM unnest($17::text[], $18::int8[], $19::text[], $20::int8[], $21::int8[], $22::text[],
                $23::text[], $24::text[], $25::text[])
        AS t(id, seq, status, expires_ms, created_ms, channel, reference, commit_reference,
             owner)
), created_lines AS (
    INSERT INTO reservation_lines (reservation_id, line_no, sku, location, quantity)
    SELECT * FROM unnest($26::text[], $27::int4[], $28::text[], $29::text[], $30::int8[])
), changed AS (
    UPDATE reservations AS r SET
        status = u.status,
        expires_at = COALESCE({_ms("u.expires_ms")}, r.expires_at),
        commit_reference = COALESCE(u.commit_reference, r.commit_reference),
        updated_at = now(),
        lsn = $40
    FROM unnest($31::text[], $32::text[], $33::int8[], $34::text[])
        AS u(id, status, expires_ms, commit_reference)
    WHERE r.id = u.id
), answers AS (
    INSERT INTO idempotency_keys (owner, key, request_hash, status_code, body)
    SELECT * FROM unnest($35::text[], $36::text[], $37::text[], $38::int4[], $39::bytea[])
    ON CONFLICT (owner, key) DO NOTHING
), event AS (
    INSERT INTO outbox (lsn, topic, payload)
    SELECT $40, '{LEDGER_TOPIC}', jsonb_build_object(
        'first_lsn', $41::int8,
        'last_lsn', $40::int8,
        'changes', jsonb_agg(jsonb_build_array(
            lsn, at_ms, kind,
            CASE WHEN reference_type = 'reservation' THEN reference_id END,
            sku, location, quantity, lot) ORDER BY ord))
    FROM rows
    HAVING count(*) > 0
)
UPDATE ledger_head SET lsn = $40 WHERE lsn < $40
"""


async def store_batch(
    conn: asyncpg.Connection,
    batch: _core.Batch,
    metas: Mapping[int, ChangeMeta],
    loose: Sequence[IdempotencyRecord] = (),
) -> None:
    """Writes `batch` (with the metadata of its LSNs) in one statement, atomically."""
    records = [m.idempotency for m in metas.values() if m.idempotency is not None]
    records.extend(loose)
    await conn.execute(
        WRITE_BATCH,
        *_ledger_columns(batch.rows, metas),
        *_columns(batch.level_deltas, 5),
        *_reservation_columns(batch, metas),
        *_columns([(r.owner, r.key, r.request_hash, r.status_code, r.body) for r in records], 5),
        batch.last_lsn,
        batch.first_lsn,
        *_columns(batch.lot_deltas, 4),
    )


def _columns(rows: Iterable[Sequence[Any]], width: int) -> list[list[Any]]:
    columns: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


def _ledger_columns(
    rows: Sequence[_core.LogRow], metas: Mapping[int, ChangeMeta]
) -> list[list[Any]]:
    """lsn, at_ms, sku, location, kind, quantity, reference_type, reference_id, actor, lot,
    expires_on (a day number): one entry per ledger row. A row's lot (and its expiry) is
    the engine's; an unlotted receipt may still carry its own expiry date (`meta`)."""
    lsns = [r.lsn for r in rows]
    ats = [r.at_ms for r in rows]
    kinds = [r.kind for r in rows]
    rids = [r.reservation_id for r in rows]
    skus = [r.sku for r in rows]
    locations = [r.location for r in rows]
    quantities = [r.quantity for r in rows]
    lots = [r.lot for r in rows]
    expires = [r.lot_expires_on for r in rows]
    ref_types, ref_ids, actors = [], [], []
    for i, (lsn, rid) in enumerate(zip(lsns, rids, strict=True)):
        meta = metas.get(lsn)
        actors.append(meta.actor if meta else SYSTEM_ACTOR)
        if rid is not None:
            ref_types.append("reservation")
            ref_ids.append(rid)
        else:
            ref_types.append(meta.reference_type if meta else None)
            ref_ids.append(meta.reference_id if meta else None)
        if expires[i] is None and meta is not None and meta.expires_on is not None:
            expires[i] = day_number(meta.expires_on)
    return [
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
    ]


def _reservation_columns(batch: _core.Batch, metas: Mapping[int, ChangeMeta]) -> list[list[Any]]:
    """The reservations the batch creates (9 columns), their lines (5), and the existing
    ones it changes (4)."""
    created: dict[str, tuple[int, ChangeMeta | None]] = {}
    lines: list[tuple[str, int, str, str, int]] = []
    commit_refs: dict[str, str] = {}
    for row in batch.rows:
        rid = row.reservation_id
        # a new hold (not an order moving)
        if row.kind == "reserve" and row.expires_at_ms is not None:
            if rid not in created:
                created[rid] = (row.at_ms, metas.get(row.lsn))
                line_no = 0
            line_no += 1
            lines.append((rid, line_no, row.sku, row.location, row.quantity))
        elif row.kind == "commit":
            meta = metas.get(row.lsn)
            if meta is not None and meta.commit_reference is not None:
                commit_refs[rid] = meta.commit_reference
    new, changed = [], []
    for rid, status, expires_ms in batch.reservations:
        if rid in created:
            at_ms, meta = created[rid]
            info = meta.reservation if meta else None
            new.append(
                (
                    rid,
                    _core.reservation_seq(rid),
                    status,
                    expires_ms,
                    info.created_at_ms if info else at_ms,
                    info.channel if info else None,
                    info.reference if info else None,
                    commit_refs.get(rid),
                    info.owner if info else None,
                )
            )
        else:
            changed.append((rid, status, expires_ms, commit_refs.get(rid)))
    return [*_columns(new, 9), *_columns(lines, 5), *_columns(changed, 4)]
