"""`POST /v1/stock/receipts` and `POST /v1/stock/adjustments` (role warehouse): each a ledger
transaction, answered once durable."""

from __future__ import annotations

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.response.base import ASGIResponse

from reservoir import _core
from reservoir.domain.stock import returns
from reservoir.domain.stock.movements import movement_body
from reservoir.domain.stock.schemas import (
    AdjustmentIn,
    LevelOut,
    ReceiptIn,
    ReturnIn,
    TransferIn,
    TransferOut,
)
from reservoir.domain.writes import Writes, Written, transaction_id
from reservoir.ledger.changes import ChangeMeta
from reservoir.lib.auth import AuthedRequest, requires_role
from reservoir.lib.bodies import StrictBody
from reservoir.lib.clock import day_number, now_ms
from reservoir.lib.openapi import AUTHED, BODY, problem_responses
from reservoir.lib.text import check_text

WAREHOUSE = requires_role("warehouse")
# 409: a transfer of units that are held, or an Idempotency-Key in flight
MOVE_PROBLEMS = problem_responses(*AUTHED, *BODY, 409, 503)
encode = msgspec.json.Encoder().encode


class StockController(Controller):
    path = "/v1/stock"
    tags = ["stock"]
    before_request = WAREHOUSE

    @post(
        "/receipts",
        dto=StrictBody[ReceiptIn],
        return_dto=None,
        status_code=201,
        responses=MOVE_PROBLEMS,
    )
    async def receive(
        self,
        request: AuthedRequest,
        data: JSONBody[ReceiptIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        """Receive units into a location (`on_hand` grows), into `lot` when one is named:
        its first receipt brings the lot in with its `expires_on`, which later receipts of it
        may repeat but not change (422). Holds take the oldest lot first."""
        caller = request.auth
        check_text("reference", data.reference)
        check_text("lot", data.lot)
        write_path = writes.write_path
        expires_on = None if data.expires_on is None else day_number(data.expires_on)

        def apply() -> Written:
            lsn, level = write_path.engine().receive(
                data.sku,
                data.location,
                data.quantity,
                now_ms(),
                lot=data.lot,
                expires_on=expires_on,
            )
            meta = ChangeMeta(
                caller.actor,
                reference_type="receipt",
                reference_id=data.reference or transaction_id(lsn),
                expires_on=data.expires_on,
            )
            return Written(201, movement_body(lsn, level, lot=data.lot), lsn, meta)

        return await writes.perform(request, caller, apply)

    @post(
        "/adjustments",
        dto=StrictBody[AdjustmentIn],
        return_dto=None,
        status_code=201,
        responses=MOVE_PROBLEMS,
    )
    async def adjust(
        self,
        request: AuthedRequest,
        data: JSONBody[AdjustmentIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        """Correct `on_hand` after a count (signed delta, reason required), of `lot` when one
        is named. Fewer units found than the unlotted ones here must name the lot (422).
        Shrinkage below what is promised reads as `available` 0 and a `shortfall`."""
        caller = request.auth
        check_text("reason", data.reason, required=True)
        check_text("lot", data.lot)
        write_path = writes.write_path

        def apply() -> Written:
            lsn, level = write_path.engine().adjust(
                data.sku, data.location, data.delta, now_ms(), lot=data.lot
            )
            meta = ChangeMeta(caller.actor, reference_type="adjustment", reference_id=data.reason)
            body = movement_body(lsn, level, delta=data.delta, lot=data.lot)
            return Written(201, body, lsn, meta)

        return await writes.perform(request, caller, apply)

    @post(
        "/returns",
        dto=StrictBody[ReturnIn],
        return_dto=None,
        status_code=201,
        responses=MOVE_PROBLEMS,
    )
    async def take_return(
        self,
        request: AuthedRequest,
        data: JSONBody[ReturnIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        """Take back units a customer returned, by `condition`: `resellable` into `on_hand`
        at the location, `damaged` into its warehouse's quarantine (not sellable),
        `write_off` recorded and never in stock. With `reservation`, at most what that order
        shipped comes back (422 naming `quantity`)."""
        return await returns.take_return(writes, request, request.auth, data)

    @post(
        "/transfers",
        dto=StrictBody[TransferIn],
        return_dto=None,
        status_code=201,
        responses=MOVE_PROBLEMS,
    )
    async def transfer(
        self,
        request: AuthedRequest,
        data: JSONBody[TransferIn],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        """Move units nobody holds from one location to another (one ledger transaction:
        `transfer_out` and `transfer_in`). Held or committed units never move: more than
        `on_hand - reserved - committed` at `from` is 409 with the shortage. `lot` moves
        units of that lot (absent: unlotted units), which must be there (422)."""
        caller = request.auth
        check_text("reference", data.reference)
        check_text("lot", data.lot)
        write_path = writes.write_path

        def apply() -> Written:
            lsn, source, target = write_path.engine().transfer(
                data.sku,
                data.from_location,
                data.to_location,
                data.quantity,
                now_ms(),
                lot=data.lot,
            )
            meta = ChangeMeta(
                caller.actor,
                reference_type="transfer",
                reference_id=data.reference or transaction_id(lsn),
            )
            body = encode(
                TransferOut(
                    transaction_id=transaction_id(lsn),
                    sku=data.sku,
                    quantity=data.quantity,
                    from_location=_level(source),
                    to_location=_level(target),
                    lot=data.lot,
                )
            )
            return Written(201, body, lsn, meta)

        return await writes.perform(request, caller, apply)


def _level(level: _core.LevelRow) -> LevelOut:
    return LevelOut(level.location, level.on_hand, level.reserved, level.committed, level.available)
