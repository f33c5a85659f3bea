"""`GET /v1/availability/{sku}` (roles storefront, warehouse): read from the engine, so it
reflects holds the moment they are taken or given back."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from reservoir import _core
from reservoir.domain.channels.services import unknown_channel
from reservoir.ledger.write_path import WritePath
from reservoir.lib.auth import requires_role
from reservoir.lib.clock import from_day_number, now_ms
from reservoir.lib.codes import check_code, path_code
from reservoir.lib.errors import unknown_sku
from reservoir.lib.openapi import AUTHED, problem_responses


class LotUnits(msgspec.Struct, omit_defaults=True):
    lot: str
    on_hand: int
    expires_on: str | None = None


class LocationAvailability(msgspec.Struct, omit_defaults=True):
    location: str
    on_hand: int
    reserved: int
    committed: int
    available: int
    sellable: bool
    # the lots of the on-hand units, oldest first (absent: none are in lots); holds and
    # orders promise units of the location, not of a lot
    lots: list[LotUnits] | None = None
    # units on their way here, never in `available`: open purchase orders' units not
    # received yet (at a warehouse), and units shipped on a transfer to here
    incoming: int = 0
    in_transit: int = 0


class Availability(msgspec.Struct, omit_defaults=True):
    sku: str
    on_hand: int
    reserved: int
    committed: int
    available: int
    locations: list[LocationAvailability]
    # with `?channel=`: that channel, and what its holds may take (its locations' available
    # units less its safety buffer)
    channel: str | None = None
    available_to_channel: int | None = None
    # units the SKU's waitlist entries wait for (absent: nobody waits): while anyone waits,
    # units that come back are offered to them first, and a fresh hold may take only what
    # is available beyond these
    waitlisted: int = 0
    # units on their way (never in `available`): open purchase orders' units not received
    # yet, and units shipped on transfers and not arrived, over all locations
    incoming: int = 0
    in_transit: int = 0


def availability(
    engine: _core.Engine, sku: FromPath[str], channel: str | None = None
) -> Availability:
    """Totals over sellable locations; every location listed, with its `sellable` flag; with
    a `channel`, what that channel may take."""
    try:
        levels = engine.levels(sku)
    except _core.UnknownSku:
        raise unknown_sku(sku, status=404) from None
    locations = [
        LocationAvailability(
            level.location,
            level.on_hand,
            level.reserved,
            level.committed,
            level.available,
            level.sellable,
            _lots(engine, sku, level.location),
        )
        for level in sorted(levels, key=lambda level: level.location)
    ]
    _add_inbound(engine, sku, locations)
    sellable = [loc for loc in locations if loc.sellable]
    to_channel = None
    if channel is not None:
        try:
            to_channel = engine.available_to_channel(sku, channel, now_ms())
        except _core.UnknownChannel:
            raise unknown_channel(channel) from None
    return Availability(
        sku=sku,
        on_hand=sum(loc.on_hand for loc in sellable),
        reserved=sum(loc.reserved for loc in sellable),
        committed=sum(loc.committed for loc in sellable),
        available=sum(loc.available for loc in sellable),
        locations=locations,
        channel=channel,
        available_to_channel=to_channel,
        waitlisted=engine.waitlisted_units(sku),
        incoming=sum(loc.incoming for loc in locations),
        in_transit=sum(loc.in_transit for loc in locations),
    )


def _add_inbound(engine: _core.Engine, sku: str, locations: list[LocationAvailability]) -> None:
    """Sets each location's incoming and in-transit units, listing a location that has only
    units on their way (kept sorted by code)."""
    inbound = engine.inbound(sku)
    if not inbound:
        return
    by_code = {loc.location: loc for loc in locations}
    for code, sellable, incoming, in_transit in inbound:
        row = by_code.get(code)
        if row is None:
            row = by_code[code] = LocationAvailability(code, 0, 0, 0, 0, sellable)
            locations.append(row)
        row.incoming, row.in_transit = incoming, in_transit
    locations.sort(key=lambda loc: loc.location)


def _lots(engine: _core.Engine, sku: str, location: str) -> list[LotUnits] | None:
    lots = [
        LotUnits(lot, units, None if day is None else from_day_number(day).isoformat())
        for lot, day, units in engine.lots(sku, location)
        if lot is not None
    ]
    return lots or None


class AvailabilityController(Controller):
    path = "/v1/availability"
    tags = ["availability"]
    before_request = requires_role("storefront", "warehouse", "purchasing")

    @get(
        "/{sku:path}",
        summary="Units on hand, reserved, committed and available",
        responses=problem_responses(*AUTHED, 400, 404, 503),
    )
    async def read(
        self,
        sku: FromPath[str],
        write_path: NamedDependency[WritePath],
        channel: Annotated[
            str | None,
            QueryParameter(description="Also answer what this sales channel's holds may take"),
        ] = None,
    ) -> Availability:
        if channel is not None:
            check_code(channel, "channel", status=400)  # a bad query code, as the ledger's
        return availability(write_path.reader(), path_code(sku), channel)
