"""`GET /v1/admin/verify` (role admin): the running engine checked against its ledger."""

from __future__ import annotations

import asyncpg
import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from reservoir.ledger.verify_engine import verify_with_engine
from reservoir.ledger.write_path import WritePath
from reservoir.lib.auth import requires_role
from reservoir.lib.openapi import AUTHED, problem_responses


class VerifyResult(msgspec.Struct):
    ok: bool
    differences: list[str]


class AdminController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    before_request = requires_role("admin")

    @get(
        "/verify",
        summary="Prove SUM(ledger) = levels = engine, and no oversell",
        responses=problem_responses(*AUTHED, 503),
    )
    async def verify(
        self, pool: NamedDependency[asyncpg.Pool], write_path: NamedDependency[WritePath]
    ) -> VerifyResult:
        differences = await verify_with_engine(pool, write_path)
        return VerifyResult(ok=not differences, differences=differences)
