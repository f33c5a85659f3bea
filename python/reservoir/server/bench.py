"""Benchmark-only endpoints: the bare request ceiling of a server.

`POST /bench/noop` takes the same body as `POST /v1/reservations`, decodes it with msgspec
and answers 201 with a reservation-shaped body of the same size, touching nothing else (no
engine, no database). Mount `BenchController` only when `RESERVOIR_BENCH_ENDPOINTS=1`
(see `bench_enabled`). The baseline apps in benchmarks/baselines/ mount this same module,
so every server in the side-by-side comparison reports its own ceiling.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec
from litestar import Controller, post

Quantity = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")]


class ReservationLine(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    sku: Code
    quantity: Quantity
    location: Code | None = None


class ReservationRequest(msgspec.Struct, forbid_unknown_fields=True):
    lines: Annotated[list[ReservationLine], msgspec.Meta(min_length=1, max_length=100)]
    ttl_seconds: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 900
    channel: str | None = None
    reference: str | None = None


class ReservationOut(msgspec.Struct, omit_defaults=True):
    id: str
    status: str
    lines: list[ReservationLine]
    expires_at: datetime
    created_at: datetime
    channel: str | None = None
    reference: str | None = None


_NOW = datetime(2025, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
NOOP_RESERVATION = ReservationOut(
    id="0b9e5a1c-7d2f-4e8a-9c3b-5f1d2e3a4b6c",
    status="held",
    lines=[ReservationLine(sku="HOT-1", quantity=1, location="WH-1-A01")],
    expires_at=_NOW + timedelta(seconds=900),
    created_at=_NOW,
)


def bench_enabled() -> bool:
    return os.environ.get("RESERVOIR_BENCH_ENDPOINTS") == "1"


class BenchController(Controller):
    path = "/bench"
    tags = ["bench"]
    include_in_schema = False

    @post("/noop", status_code=201)
    async def noop(self, data: ReservationRequest) -> ReservationOut:
        return NOOP_RESERVATION
