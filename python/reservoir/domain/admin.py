"""`GET /v1/admin/verify` (role admin): the running engine checked against its ledger."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency

from reservoir.ledger.verify_engine import verify_with_engine
from reservoir.lib.auth import requires_role


class VerifyResult(msgspec.Struct):
    ok: bool
    differences: list[str]


class AdminController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    before_request = requires_role("admin")

    @get("/verify", summary="Prove SUM(ledger) = levels = engine, and no oversell")
    async def verify(
        self, request: Request[Any, Any, Any], pool: NamedDependency[asyncpg.Pool]
    ) -> VerifyResult:
        differences = await verify_with_engine(pool, request.app.state.write_path)
        return VerifyResult(ok=not differences, differences=differences)
