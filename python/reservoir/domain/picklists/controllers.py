"""`/v1/picklists` (role warehouse): create, claim the next, read, confirm.

Creating and claiming change only pick-list tables: answered once their transaction
commits, with an `Idempotency-Key`'s answer stored in it (`perform_in_transaction`).
Confirming ships through the engine and is answered once the `ship` entries are durable
(`perform`).
"""

from __future__ import annotations

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response.base import ASGIResponse

from reservoir.domain.picklists import confirmation, problems, services, store
from reservoir.domain.picklists.schemas import ClaimIn, ConfirmIn, PickListIn, PickListOut
from reservoir.domain.writes import Writes, Written
from reservoir.ledger.changes import ChangeMeta
from reservoir.ledger.write_path import engine_limits
from reservoir.lib.auth import AuthedRequest, requires_role
from reservoir.lib.bodies import StrictBody
from reservoir.lib.clock import now_ms
from reservoir.lib.codes import check_code
from reservoir.lib.openapi import AUTHED, BODY, problem_responses
from reservoir.lib.settings import Settings

WAREHOUSE = requires_role("warehouse")
encode = msgspec.json.Encoder().encode


class PickListController(Controller):
    path = "/v1/picklists"
    tags = ["picklists"]
    before_request = WAREHOUSE

    @post(
        "/",
        dto=StrictBody[PickListIn],
        return_dto=None,
        status_code=201,
        summary="Create a pick list: committed units allocated and routed",
        description=(
            "Takes the named committed reservations, or the oldest committed ones with "
            "unallocated units at placed bins of the warehouse (`max_orders` > 1 batches the "
            "oldest with others by the savings method, within one cart of "
            "RESERVOIR_PICK_CART_UNITS_MAX units), and orders the stops into a walking route "
            "by `strategy`. `distance` is in metres."
        ),
        responses=problem_responses(*AUTHED, *BODY, 409, 503),
    )
    async def create(
        self,
        request: AuthedRequest,
        data: JSONBody[PickListIn],
        pool: NamedDependency[asyncpg.Pool],
        writes: NamedDependency[Writes],
        settings: NamedDependency[Settings],
    ) -> ASGIResponse:
        caller = request.auth
        write_path = writes.write_path
        cart_units_max = settings.pick_cart_units_max

        async def apply(conn: asyncpg.Connection) -> Written:
            body = await services.create(
                conn, write_path.engine(), data, caller.actor, cart_units_max
            )
            return Written(201, body, 0, changed=False)

        return await writes.perform_in_transaction(request, caller, pool, apply)

    @post(
        "/next",
        dto=StrictBody[ClaimIn],
        return_dto=None,
        status_code=200,
        summary="Claim the oldest open pick list of a warehouse (204 when none)",
        responses=problem_responses(*AUTHED, *BODY, 409, 503),
    )
    async def claim_next(
        self,
        request: AuthedRequest,
        data: JSONBody[ClaimIn],
        pool: NamedDependency[asyncpg.Pool],
        writes: NamedDependency[Writes],
    ) -> ASGIResponse:
        caller = request.auth
        check_code(data.warehouse, "warehouse")

        async def apply(conn: asyncpg.Connection) -> Written:
            await services.warehouse_layout_json(conn, data.warehouse)
            pick_list_id = await store.claim_oldest(conn, data.warehouse, caller.actor)
            if pick_list_id is None:
                return Written(204, b"", 0, changed=False)
            pick_list = await store.load(conn, pick_list_id)
            assert pick_list is not None
            body = encode(await store.render(conn, pick_list))
            return Written(200, body, 0, changed=False)

        return await writes.perform_in_transaction(request, caller, pool, apply)

    @get(
        "/{pick_list_id:str}",
        summary="Read a pick list",
        responses=problem_responses(*AUTHED, 400, 404, 503),
    )
    async def read(
        self, pick_list_id: FromPath[str], pool: NamedDependency[asyncpg.Pool]
    ) -> PickListOut:
        await confirmation.settle_interrupted(pool, pick_list_id)
        async with pool.acquire() as conn:
            pick_list = await store.load(conn, pick_list_id)
            if pick_list is None:
                raise problems.pick_list_not_found(pick_list_id)
            return await store.render(conn, pick_list)

    @post(
        "/{pick_list_id:str}/confirm",
        dto=StrictBody[ConfirmIn],
        return_dto=None,
        status_code=200,
        summary="Confirm picks: picked units ship (ledger `ship`), short picks are recorded",
        description=(
            "Every stop is confirmed once with the quantity picked (0..its quantity). Picked "
            "units leave on_hand and committed; a reservation with nothing left is fulfilled. "
            "A short pick is recorded as a discrepancy; its shortfall moves to a bin with units "
            "to spare (or stays committed where it was, reported) for a later pick list. All "
            "or nothing; confirming twice is 409."
        ),
        responses=problem_responses(*AUTHED, *BODY, 404, 409, 503),
    )
    async def confirm(
        self,
        request: AuthedRequest,
        pick_list_id: FromPath[str],
        data: JSONBody[ConfirmIn],
        pool: NamedDependency[asyncpg.Pool],
        writes: NamedDependency[Writes],
        settings: NamedDependency[Settings],
    ) -> ASGIResponse:
        caller = request.auth
        write_path = writes.write_path
        log_entries_max = engine_limits(settings).log_entries_max
        await confirmation.settle_interrupted(pool, pick_list_id)
        async with pool.acquire() as conn, conn.transaction():
            done: list[tuple[confirmation.Plan, int]] = []

            async def record(plan: confirmation.Plan, at_ms: int) -> None:
                await store.record_confirmation(
                    conn,
                    plan.pick_list,
                    plan.picked,
                    plan.short,
                    caller.actor,
                    at_ms,
                    plan.reallocated,
                )

            async def apply() -> Written:
                pick_list = await store.load(conn, pick_list_id, for_update=True)
                if pick_list is None:
                    raise problems.pick_list_not_found(pick_list_id)
                shown = await store.render(conn, pick_list)  # no await after the engine calls
                engine = write_path.engine()
                log_room = log_entries_max - engine.pending()
                plan = confirmation.plan(pick_list, data.picks, engine, log_room)
                at_ms = now_ms()
                lsns, statuses = confirmation.ship(engine, plan, at_ms)
                meta = ChangeMeta(
                    caller.actor, reference_type="pick_list", reference_id=pick_list_id
                )
                # every ship entry carries the caller (the last one's meta goes with the answer)
                for lsn in lsns[:-1]:
                    write_path.note(lsn, meta)
                body = encode(confirmation.confirmed_view(shown, plan, at_ms, statuses))
                if not lsns:
                    # Nothing shipped or moved: no ledger entry to wait for. The list is
                    # marked now, and the key's answer is stored with it (`conn`).
                    await record(plan, at_ms)
                    return Written(200, body, 0, meta, changed=False, conn=conn)
                done.append((plan, at_ms))
                return Written(200, body, max(lsns), meta)

            response = await writes.perform(request, caller, apply)
            if done:  # once the ship entries are durable (an interruption is settled later)
                await record(*done[0])
        return response
