"""From the outbox to webhook messages: each outbox row, in id order, becomes the events a
consumer wants, and each event one message per enabled endpoint subscribed to its type, in
the same transaction that moves the cursor (`webhook_state`). A crash repeats nothing and
loses nothing: the messages are rows with stable ids from then on.

Events (`type`, with `data`):
- `stock.changed`: per SKU and location a batch changed, the levels after it and its LSN;
- `stock.low`: a location's available units fell below `RESERVOIR_STOCK_LOW_UNITS` in a batch;
- `reservation.held|committed|released|expired|fulfilled`, per reservation and state;
- `po.received`: a receipt against a purchase order, its lines and their outcomes;
- `transfer.shipped|received|lost`: a transfer's step;
- `waitlist.offered`, `reconciliation.flagged`, `webhook.disabled`.
Each has an ordering key (its SKU, where it has one): messages of one endpoint and key are
delivered in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg

from reservoir.ledger.fold import FOLD
from reservoir.lib.clock import rfc3339

logger = logging.getLogger("reservoir.webhooks")

EVENT_TYPES = (
    "stock.changed",
    "stock.low",
    "reservation.held",
    "reservation.committed",
    "reservation.released",
    "reservation.expired",
    "reservation.fulfilled",
    "po.received",
    "transfer.shipped",
    "transfer.received",
    "transfer.lost",
    "waitlist.offered",
    "reconciliation.flagged",
    "webhook.disabled",
)
ROWS_PER_ROUND_MAX = 500
POLL_INTERVAL_S = 0.1
RESERVATION_EVENTS = {
    "reserve": "reservation.held",
    "commit": "reservation.committed",
    "release": "reservation.released",
    "cancel": "reservation.released",
    "expire": "reservation.expired",
}
TRANSFER_EVENTS = {
    "transit_out": "transfer.shipped",
    "transit_in": "transfer.received",
    "transit_lost": "transfer.lost",
}
PO_REFERENCES = {
    "purchase_order": "accepted",
    "purchase_order_damaged": "rejected",
    "purchase_order_wrong_item": "wrong_item",
}


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    key: str | None  # ordering key: the SKU
    data: dict[str, Any]


def events_of(
    topic: str, payload: dict[str, Any], stock_low_units: int | None = None
) -> Iterator[Event]:
    """The events of one outbox row."""
    if topic == "ledger":
        yield from _ledger_events(payload)
        if stock_low_units is not None:
            yield from _stock_low(payload, stock_low_units)
    elif topic == "waitlist":
        for offer in payload.get("offers", ()):
            yield Event("waitlist.offered", offer.get("sku"), offer)
    elif topic == "reconciliation":
        summary = payload["reconciliation"]
        yield Event("reconciliation.flagged", None, summary)
    elif topic == "webhook":
        yield Event("webhook.disabled", None, payload["webhook_disabled"])


def _ledger_events(payload: dict[str, Any]) -> Iterator[Event]:
    changes = payload["changes"]
    last_lsn = payload["last_lsn"]
    for sku, location, on_hand, reserved, committed in payload.get("levels", ()):
        moves = [
            {"kind": c[2], "quantity": c[6], "lot": c[7], "reservation_id": c[3], "lsn": c[0]}
            for c in changes
            if c[4] == sku and c[5] == location
        ]
        data = {
            "sku": sku,
            "location": location,
            "on_hand": on_hand,
            "reserved": reserved,
            "committed": committed,
            "available": max(0, on_hand - reserved - committed),
            "lsn": last_lsn,
            "changes": moves,
        }
        yield Event("stock.changed", sku, data)
    yield from _reservation_events(payload)
    yield from _document_events(payload)


def _stock_low(payload: dict[str, Any], threshold: int) -> Iterator[Event]:
    """`stock.low` for each location whose available units the batch took from at least
    `threshold` to below it (the levels before are the levels after less the batch's fold)."""
    for sku, location, on_hand, reserved, committed in payload.get("levels", ()):
        delta = [0, 0, 0]
        for change in payload["changes"]:
            if change[4] == sku and change[5] == location:
                for i, sign in enumerate(FOLD[change[2]]):
                    delta[i] += sign * change[6]
        after = max(0, on_hand - reserved - committed)
        before = max(0, (on_hand - delta[0]) - (reserved - delta[1]) - (committed - delta[2]))
        if before >= threshold > after:
            data = {
                "sku": sku,
                "location": location,
                "available": after,
                "threshold": threshold,
                "lsn": payload["last_lsn"],
            }
            yield Event("stock.low", sku, data)


def _reservation_events(payload: dict[str, Any]) -> Iterator[Event]:
    seen: set[tuple[str, str]] = set()
    skus: dict[str, str] = {}
    for lsn, at_ms, kind, rid, sku, *_ in payload["changes"]:
        if rid is None:
            continue
        skus.setdefault(rid, sku)
        event = RESERVATION_EVENTS.get(kind)
        if event is not None and (rid, event) not in seen:
            seen.add((rid, event))
            yield Event(event, sku, {"reservation_id": rid, "lsn": lsn, "at": rfc3339(at_ms)})
    for rid in payload.get("fulfilled", ()):  # set by the fan-out from `reservations`
        yield Event("reservation.fulfilled", skus.get(rid), {"reservation_id": rid})


def _document_events(payload: dict[str, Any]) -> Iterator[Event]:
    changes = payload["changes"]
    orders: dict[str, list[dict[str, Any]]] = {}
    transfers: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for index, reference_type, reference_id in payload.get("references", ()):
        change = changes[index]
        line = {"sku": change[4], "location": change[5], "quantity": change[6], "lot": change[7]}
        if reference_type in PO_REFERENCES and change[2] == "receipt":
            orders.setdefault(reference_id, []).append(
                {**line, "outcome": PO_REFERENCES[reference_type]}
            )
        elif reference_type == "transfer" and change[2] in TRANSFER_EVENTS:
            transfers.setdefault((reference_id, TRANSFER_EVENTS[change[2]]), []).append(line)
    for order, lines in orders.items():
        yield Event("po.received", lines[0]["sku"], {"purchase_order": order, "lines": lines})
    for (transfer, event), lines in transfers.items():
        yield Event(event, lines[0]["sku"], {"transfer": transfer, "lines": lines})


SELECT_ROWS = """
SELECT id, topic, payload::text, created_at FROM outbox WHERE id > $1 ORDER BY id LIMIT $2
"""
SELECT_ENDPOINTS = "SELECT id, events FROM webhook_endpoints WHERE enabled"
INSERT_MESSAGE = """
INSERT INTO webhook_messages (msg_id, endpoint, event_type, ordering_key, payload, outbox_id)
VALUES ($1, $2, $3, $4, $5::jsonb, $6)
ON CONFLICT (msg_id) DO NOTHING
"""


SKIP_ALL = """
UPDATE webhook_state SET last_outbox_id = (SELECT max(id) FROM outbox)
WHERE last_outbox_id < (SELECT max(id) FROM outbox)
"""
# fulfilled by this batch: a reservation's `lsn` is that of the batch that last changed it,
# and nothing changes a fulfilled one again (an earlier, partial ship's batch does not match)
FULFILLED = """
SELECT id FROM reservations WHERE id = ANY($1::text[]) AND status = 'fulfilled' AND lsn = $2
"""


async def name_fulfilled(conn: asyncpg.Connection, payload: dict[str, Any]) -> None:
    """Names the reservations a batch's `ship` rows fulfilled (the batch does not say)."""
    shipped = list({c[3] for c in payload.get("changes", ()) if c[2] == "ship" and c[3]})
    if shipped:
        rows = await conn.fetch(FULFILLED, shipped, payload["last_lsn"])
        payload["fulfilled"] = [r[0] for r in rows]


async def fan_out_once(pool: asyncpg.Pool, stock_low_units: int | None = None) -> int:
    """Turns the next outbox rows into messages; returns how many rows it read. With no
    endpoint enabled, it only moves the cursor (no payload is read)."""
    async with pool.acquire() as conn, conn.transaction():
        endpoints = await conn.fetch(SELECT_ENDPOINTS)
        if not endpoints:
            await conn.execute(SKIP_ALL)
            return 0
        last = await conn.fetchval("SELECT last_outbox_id FROM webhook_state FOR UPDATE")
        rows = await conn.fetch(SELECT_ROWS, last, ROWS_PER_ROUND_MAX)
        if not rows:
            return 0
        messages = []
        for outbox_id, topic, text, created_at in rows:
            payload = json.loads(text)
            if topic == "ledger":
                await name_fulfilled(conn, payload)
            for n, event in enumerate(events_of(topic, payload, stock_low_units)):
                body = json.dumps(
                    {
                        "type": event.type,
                        "timestamp": created_at.isoformat(),
                        "data": event.data,
                    }
                )
                for endpoint, wanted in endpoints:
                    if event.type in wanted:
                        msg_id = f"msg_{outbox_id}_{n}_{endpoint}"
                        messages.append((msg_id, endpoint, event.type, event.key, body, outbox_id))
        if messages:
            await conn.executemany(INSERT_MESSAGE, messages)
        await conn.execute("UPDATE webhook_state SET last_outbox_id = $1", rows[-1][0])
        return len(rows)


async def fan_out(
    pool: asyncpg.Pool, wake: asyncio.Event, stock_low_units: int | None = None
) -> None:
    """Runs forever: outbox rows become messages; `wake` is set when there are new ones."""
    while True:
        try:
            read = await fan_out_once(pool, stock_low_units)
            if read:
                wake.set()
            if read < ROWS_PER_ROUND_MAX:  # caught up: poll again shortly
                await asyncio.sleep(POLL_INTERVAL_S)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("webhook fan-out: %r; retrying", exc)
            await asyncio.sleep(1.0)
