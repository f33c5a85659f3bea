"""Writes one drained batch into PostgreSQL as ONE statement: ledger rows, level and lot
increments, new lots, reservation rows and lines, idempotency records, an outbox event and
the ledger head, fenced by the writer's epoch.

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
from reservoir.ledger.arrays import Arrays
from reservoir.ledger.changes import SYSTEM_ACTOR, ChangeMeta, IdempotencyRecord
from reservoir.ledger.fencing import fenced_error
from reservoir.lib.clock import day_number

LEDGER_TOPIC = "ledger"


def _ms(column: str) -> str:
    return f"'epoch'::timestamptz + {column} * interval '1 millisecond'"


ROWS = Arrays(
    1,
    ("lsn", "int8"),
    ("at_ms", "int8"),
    ("sku", "text"),
    ("location", "text"),
    ("kind", "text"),
    ("quantity", "int8"),
    ("reference_type", "text"),
    ("reference_id", "text"),
    ("actor", "text"),
    ("lot", "text"),
    ("expires_on", "int4"),  # a day number
    ("note", "text"),
)
LEVELS = Arrays(
    ROWS.next,
    ("sku", "text"),
    ("location", "text"),
    ("d_on_hand", "int8"),
    ("d_reserved", "int8"),
    ("d_committed", "int8"),
)
CREATED = Arrays(
    LEVELS.next,
    ("id", "text"),
    ("seq", "int8"),
    ("status", "text"),
    ("expires_ms", "int8"),
    ("created_ms", "int8"),
    ("channel", "text"),
    ("reference", "text"),
    ("commit_reference", "text"),
    ("owner", "text"),
    ("buyer", "text"),
)
LINES = Arrays(
    CREATED.next,
    ("reservation_id", "text"),
    ("line_no", "int4"),
    ("sku", "text"),
    ("location", "text"),
    ("quantity", "int8"),
)
CHANGED = Arrays(
    LINES.next,
    ("id", "text"),
    ("status", "text"),
    ("expires_ms", "int8"),
    ("commit_reference", "text"),
)
ANSWERS = Arrays(
    CHANGED.next,
    ("owner", "text"),
    ("key", "text"),
    ("request_hash", "text"),
    ("status_code", "int4"),
    ("body", "bytea"),
)
LOT_DELTAS = Arrays(
    ANSWERS.next,
    ("sku", "text"),
    ("location", "text"),
    ("lot", "text"),
    ("units", "int8"),
)
LAST_LSN = f"${LOT_DELTAS.next}::int8"
FIRST_LSN = f"${LOT_DELTAS.next + 1}::int8"
EPOCH = f"${LOT_DELTAS.next + 2}::int8"  # the writer's fencing token (ledger/fencing.py)
PARAMETER_GROUPS = (ROWS, LEVELS, CREATED, LINES, CHANGED, ANSWERS, LOT_DELTAS)
# a batch with waitlist changes adds these after EPOCH (WRITE_BATCH_WAITLIST)
JOINS = Arrays(
    LOT_DELTAS.next + 3,
    ("id", "int8"),
    ("lsn", "int8"),
    ("at_ms", "int8"),
    ("sku", "text"),
    ("quantity", "int8"),
    ("buyer", "text"),
    ("channel", "text"),
    ("owner", "text"),
    ("callback", "text"),
)
OFFERS = Arrays(
    JOINS.next,
    ("entry", "int8"),
    ("reservation_id", "text"),
    ("at_ms", "int8"),
)
LEAVES = Arrays(
    OFFERS.next,
    ("entry", "int8"),
    ("at_ms", "int8"),
    ("reason", "text"),
)
WAITLIST_TOPIC = "waitlist"

_HEAD = f"""
WITH rows AS (
    SELECT * FROM {ROWS.unnest()} WITH ORDINALITY AS t({ROWS.columns()}, ord)
), ledger AS (
    INSERT INTO ledger_entries (lsn, at, sku, location, kind, quantity, reference_type,
                                reference_id, actor, lot, expires_on, note)
    SELECT lsn, {_ms("at_ms")}, sku, location, kind, quantity, reference_type, reference_id,
           actor, lot, DATE '1970-01-01' + expires_on, note
    FROM rows ORDER BY ord
), new_lots AS (
    INSERT INTO lots (sku, lot, expires_on, first_lsn)
    SELECT DISTINCT ON (sku, lot) sku, lot, DATE '1970-01-01' + expires_on, lsn
    FROM rows WHERE lot IS NOT NULL AND kind = 'receipt'
    ORDER BY sku, lot, lsn
    ON CONFLICT (sku, lot) DO NOTHING
), lot_deltas AS (
    SELECT * FROM {LOT_DELTAS.unnest()} AS t({LOT_DELTAS.columns()})
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
    FROM {LEVELS.unnest()} AS t({LEVELS.columns()})
    ON CONFLICT (sku, location) DO UPDATE SET
        on_hand = l.on_hand + EXCLUDED.on_hand,
        reserved = l.reserved + EXCLUDED.reserved,
        committed = l.committed + EXCLUDED.committed,
        updated_at = EXCLUDED.updated_at
    RETURNING l.sku, l.location, l.on_hand, l.reserved, l.committed
"""
_WAITLIST_CTES = f"""), joined AS (
    SELECT * FROM {JOINS.unnest()} AS t({JOINS.columns()})
), offered AS (
    SELECT * FROM {OFFERS.unnest()} AS t({OFFERS.columns()})
), waitlist_left AS (
    SELECT * FROM {LEAVES.unnest()} AS t({LEAVES.columns()})
), offer_entries AS (
    -- each offer with its entry: joined in an earlier batch, or in this one (a statement's
    -- own inserts are invisible to it, so those come from the array)
    SELECT o.entry, o.reservation_id, o.at_ms, w.sku, w.quantity, w.buyer, w.channel,
           w.owner, w.callback
    FROM offered o JOIN (
        SELECT id, sku, quantity, buyer, channel, owner, callback FROM joined
        UNION ALL
        SELECT id, sku, quantity, buyer, channel, owner, callback FROM waitlist_entries
        WHERE id IN (SELECT entry FROM offered)
    ) w ON w.id = o.entry
), new_entries AS (
    INSERT INTO waitlist_entries (id, sku, quantity, buyer, channel, owner, callback,
                                  created_at, lsn, reservation_id, offered_at, ended_at,
                                  end_reason)
    SELECT j.id, j.sku, j.quantity, j.buyer, j.channel, j.owner, j.callback,
           {_ms("j.at_ms")}, j.lsn, o.reservation_id, {_ms("o.at_ms")}, {_ms("l.at_ms")},
           l.reason
    FROM joined j LEFT JOIN offered o ON o.entry = j.id LEFT JOIN waitlist_left l ON l.entry = j.id
), entries_offered AS (
    UPDATE waitlist_entries w SET reservation_id = o.reservation_id, offered_at = {_ms("o.at_ms")}
    FROM offered o WHERE w.id = o.entry
), entries_left AS (
    UPDATE waitlist_entries w SET ended_at = {_ms("l.at_ms")}, end_reason = l.reason
    FROM waitlist_left l WHERE w.id = l.entry
"""
_CREATED_ROWS = f"""), created_rows AS (
    SELECT * FROM {CREATED.unnest()} AS t({CREATED.columns()})
"""
_CREATED = f"""), created AS (
    INSERT INTO reservations (id, seq, status, expires_at, created_at, updated_at, channel,
                              reference, commit_reference, owner, buyer, lsn)
    SELECT t.id, t.seq, t.status, {_ms("t.expires_ms")}, {_ms("t.created_ms")}, now(),
           t.channel, t.reference, t.commit_reference, t.owner, t.buyer, {LAST_LSN}
    FROM created_rows t
"""
_CREATED_OFFERS = f"""), created AS (
    -- an offer's reservation belongs to its entry's key, buyer and channel
    INSERT INTO reservations (id, seq, status, expires_at, created_at, updated_at, channel,
                              reference, commit_reference, owner, buyer, lsn)
    SELECT t.id, t.seq, t.status, {_ms("t.expires_ms")}, {_ms("t.created_ms")}, now(),
           coalesce(t.channel, e.channel), t.reference, t.commit_reference,
           coalesce(t.owner, e.owner), coalesce(t.buyer, e.buyer), {LAST_LSN}
    FROM created_rows t LEFT JOIN offer_entries e ON e.reservation_id = t.id
"""
_WAITLIST_EVENT = f"""), waitlist_event AS (
    INSERT INTO outbox (lsn, topic, payload)
    SELECT {LAST_LSN}, '{WAITLIST_TOPIC}', jsonb_build_object('offers', jsonb_agg(
        jsonb_build_object(
            'entry', 'wl_' || e.entry, 'reservation_id', e.reservation_id, 'at_ms', e.at_ms,
            'sku', e.sku, 'quantity', e.quantity, 'buyer', e.buyer, 'channel', e.channel,
            'callback', e.callback, 'expires_at_ms', t.expires_ms)
        ORDER BY e.entry))
    FROM offer_entries e JOIN created_rows t ON t.id = e.reservation_id
    HAVING count(*) > 0
"""
_TAIL = f"""), created_lines AS (
    INSERT INTO reservation_lines ({LINES.columns()})
    SELECT * FROM {LINES.unnest()}
), changed AS (
    UPDATE reservations AS r SET
        status = u.status,
        expires_at = COALESCE({_ms("u.expires_ms")}, r.expires_at),
        commit_reference = COALESCE(u.commit_reference, r.commit_reference),
        updated_at = now(),
        lsn = {LAST_LSN}
    FROM {CHANGED.unnest()} AS u({CHANGED.columns()})
    WHERE r.id = u.id
), answers AS (
    INSERT INTO idempotency_keys ({ANSWERS.columns()})
    SELECT * FROM {ANSWERS.unnest()}
    ON CONFLICT (owner, key) DO NOTHING
), event AS (
    INSERT INTO outbox (lsn, topic, payload)
    SELECT {LAST_LSN}, '{LEDGER_TOPIC}', jsonb_build_object(
        'first_lsn', {FIRST_LSN},
        'last_lsn', {LAST_LSN},
        'changes', jsonb_agg(jsonb_build_array(
            lsn, at_ms, kind,
            CASE WHEN reference_type = 'reservation' THEN reference_id END,
            sku, location, quantity, lot) ORDER BY ord),
        -- for webhooks (ledger/webhook_fanout.py): what the documents' rows name (by their
        -- index in `changes`; none on the reserve path) and the levels after the batch
        'references', coalesce(jsonb_agg(jsonb_build_array(ord - 1, reference_type,
            reference_id) ORDER BY ord) FILTER (WHERE reference_type <> 'reservation'), '[]'),
        'levels', (SELECT coalesce(jsonb_agg(jsonb_build_array(
            sku, location, on_hand, reserved, committed)), '[]') FROM levels))
    FROM rows
    HAVING count(*) > 0
), head AS (
    -- the fence: under READ COMMITTED this WHERE is re-checked against the newest version of
    -- the row, so a successor's committed epoch bump makes it match nothing (and a bump in
    -- flight waits for this statement). No row: the whole statement is aborted.
    UPDATE ledger_head SET lsn = GREATEST(lsn, {LAST_LSN}) WHERE epoch = {EPOCH}
    RETURNING epoch
)
SELECT ledger_fenced({EPOCH}) WHERE NOT EXISTS (SELECT 1 FROM head)
"""

# The batch statement, and (only for a batch with waitlist changes, so the reserve path
# pays nothing for them) the one that also writes `waitlist_entries` and offers' owners.
WRITE_BATCH = _HEAD + _CREATED_ROWS + _CREATED + _TAIL
WRITE_BATCH_WAITLIST = (
    _HEAD + _WAITLIST_CTES + _CREATED_ROWS + _CREATED_OFFERS + _WAITLIST_EVENT + _TAIL
)


async def store_batch(
    conn: asyncpg.Connection,
    batch: _core.Batch,
    metas: Mapping[int, ChangeMeta],
    loose: Sequence[IdempotencyRecord] = (),
    *,
    epoch: int,
) -> None:
    """Writes `batch` (with the metadata of its LSNs) in one statement, atomically, as the
    owner of `epoch`; raises `LedgerFenced` (nothing written) if another process owns the
    ledger now."""
    records = [m.idempotency for m in metas.values() if m.idempotency is not None]
    records.extend(loose)
    created, lines, changed = _reservation_rows(batch, metas)
    arrays = {
        ROWS: _ledger_columns(batch.rows, metas),
        LEVELS: _columns(batch.level_deltas, LEVELS),
        CREATED: _columns(created, CREATED),
        LINES: _columns(lines, LINES),
        CHANGED: _columns(changed, CHANGED),
        ANSWERS: _columns(
            [(r.owner, r.key, r.request_hash, r.status_code, r.body) for r in records], ANSWERS
        ),
        LOT_DELTAS: _columns(batch.lot_deltas, LOT_DELTAS),
    }
    args: list[Any] = [column for group in PARAMETER_GROUPS for column in arrays[group]]
    args += [batch.last_lsn, batch.first_lsn, epoch]
    statement = WRITE_BATCH
    if batch.joins or batch.offers or batch.leaves:
        statement = WRITE_BATCH_WAITLIST
        args += _columns(_join_rows(batch, metas), JOINS)
        args += _columns(batch.offers, OFFERS) + _columns(batch.leaves, LEAVES)
    try:
        await conn.execute(statement, *args)
    except asyncpg.PostgresError as exc:
        fenced = fenced_error(exc)
        if fenced is not None:
            raise fenced from exc
        raise


def _columns(rows: Iterable[Sequence[Any]], group: Arrays | int) -> list[list[Any]]:
    """Rows (tuples in the order of `group`'s columns) as one list per column."""
    width = group if isinstance(group, int) else len(group.names)
    columns: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


def _ledger_columns(
    rows: Sequence[_core.LogRow], metas: Mapping[int, ChangeMeta]
) -> list[list[Any]]:
    """The columns of ROWS: one entry per ledger row. A row's lot (and its expiry) is the
    engine's; an unlotted receipt may still carry its own expiry date (`meta`)."""
    lsns = [r.lsn for r in rows]
    ats = [r.at_ms for r in rows]
    kinds = [r.kind for r in rows]
    rids = [r.reservation_id for r in rows]
    skus = [r.sku for r in rows]
    locations = [r.location for r in rows]
    quantities = [r.quantity for r in rows]
    lots = [r.lot for r in rows]
    expires = [r.lot_expires_on for r in rows]
    ref_types: list[str | None] = []
    ref_ids: list[str | None] = []
    actors: list[str] = []
    notes: list[str | None] = []
    for i, (lsn, rid) in enumerate(zip(lsns, rids, strict=True)):
        meta = metas.get(lsn)
        actors.append(meta.actor if meta else SYSTEM_ACTOR)
        notes.append(meta.note if meta else None)
        if rid is not None:
            ref_types.append("reservation")
            ref_ids.append(rid)
        else:
            ref_types.append(meta.reference_type if meta else None)
            ref_ids.append(meta.reference_id if meta else None)
        if expires[i] is None and meta is not None and meta.expires_on is not None:
            expires[i] = day_number(meta.expires_on)
    by_name: dict[str, list[Any]] = {
        "lsn": lsns,
        "at_ms": ats,
        "sku": skus,
        "location": locations,
        "kind": kinds,
        "quantity": quantities,
        "reference_type": ref_types,
        "reference_id": ref_ids,
        "actor": actors,
        "lot": lots,
        "expires_on": expires,
        "note": notes,
    }
    return [by_name[name] for name in ROWS.names]


Rows = list[tuple[Any, ...]]


def _join_rows(batch: _core.Batch, metas: Mapping[int, ChangeMeta]) -> Rows:
    """The waitlist entries the batch adds (JOINS' columns), with their key and callback."""
    rows: Rows = []
    for entry, lsn, at_ms, sku, quantity, buyer, channel in batch.joins:
        meta = metas.get(lsn)
        join = meta.waitlist if meta else None
        owner = join.owner if join else (meta.actor if meta else None)
        callback = join.callback if join else None
        rows.append((entry, lsn, at_ms, sku, quantity, buyer, channel, owner, callback))
    return rows


def _reservation_rows(
    batch: _core.Batch, metas: Mapping[int, ChangeMeta]
) -> tuple[Rows, Rows, Rows]:
    """The reservations the batch creates (CREATED's columns), their lines (LINES'), and the
    existing ones it changes (CHANGED')."""
    created: dict[str, tuple[int, ChangeMeta | None]] = {}
    lines: list[tuple[str, int, str, str, int]] = []
    commit_refs: dict[str, str] = {}
    for row in batch.rows:
        rid = row.reservation_id
        if rid is None:  # not a reservation's row: neither a hold nor a commit
            continue
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
    new: Rows = []
    changed: Rows = []
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
                    info.buyer if info else None,
                )
            )
        else:
            changed.append((rid, status, expires_ms, commit_refs.get(rid)))
    return new, list(lines), changed
