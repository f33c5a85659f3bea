"""Channels: validation beyond types (422 naming the field), then SQL."""

from __future__ import annotations

import asyncpg

from reservoir.domain.channels.schemas import Channel, ChannelIn
from reservoir.lib.codes import check_code
from reservoir.lib.errors import ProblemError, invalid_input
from reservoir.lib.text import NAME_LENGTH_MAX, check_text

LOCATIONS_MAX = 1_000
COLUMNS = (
    "code, name, safety_buffer_units, safety_buffer_percent, locations, created_at, updated_at"
)


async def validate_channel(conn: asyncpg.Connection, code: str, body: ChannelIn) -> None:
    check_code(code, "code")
    check_text("name", body.name, length_max=NAME_LENGTH_MAX)
    if body.safety_buffer is not None and body.safety_buffer_percent is not None:
        raise invalid_input(
            "safety_buffer_percent", "Give `safety_buffer` or `safety_buffer_percent`, not both."
        )
    if body.locations is None:
        return
    if len(body.locations) > LOCATIONS_MAX:
        raise invalid_input("locations", f"At most {LOCATIONS_MAX} locations.")
    for i, location in enumerate(body.locations):
        check_code(location, f"locations[{i}]")
    known = {
        r[0]
        for r in await conn.fetch(
            "SELECT code FROM locations WHERE code = ANY($1::text[])", body.locations
        )
    }
    for i, location in enumerate(body.locations):
        if location not in known:
            raise ProblemError(
                422,
                "unknown-location",
                "Unknown location",
                f"Location {location!r} is not defined.",
                field=f"locations[{i}]",
                location=location,
            )


async def put_channel(pool: asyncpg.Pool, code: str, body: ChannelIn) -> tuple[Channel, bool]:
    """Creates or replaces the channel; returns it and whether it was created."""
    async with pool.acquire() as conn:
        await validate_channel(conn, code, body)
        row = await conn.fetchrow(
            f"""
            INSERT INTO channels AS c (code, name, safety_buffer_units, safety_buffer_percent,
                                       locations)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (code) DO UPDATE
                SET name = excluded.name, safety_buffer_units = excluded.safety_buffer_units,
                    safety_buffer_percent = excluded.safety_buffer_percent,
                    locations = excluded.locations, updated_at = now()
            RETURNING {COLUMNS}, (xmax = 0) AS created
            """,
            code,
            body.name,
            body.safety_buffer,
            body.safety_buffer_percent,
            body.locations,
        )
    assert row is not None
    return channel_of(row), row["created"]


async def get_channel(pool: asyncpg.Pool, code: str) -> Channel | None:
    row = await pool.fetchrow(f"SELECT {COLUMNS} FROM channels WHERE code = $1", code)
    return None if row is None else channel_of(row)


async def list_channels(pool: asyncpg.Pool) -> list[Channel]:
    return [
        channel_of(r) for r in await pool.fetch(f"SELECT {COLUMNS} FROM channels ORDER BY code")
    ]


def channel_of(row: asyncpg.Record) -> Channel:
    return Channel(
        code=row["code"],
        name=row["name"],
        safety_buffer=row["safety_buffer_units"],
        safety_buffer_percent=row["safety_buffer_percent"],
        locations=None if row["locations"] is None else list(row["locations"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def unknown_channel(code: str, *, status: int = 404, field: str = "channel") -> ProblemError:
    """No channel `code`: 404 for a read of it, 422 (naming `field`) for a write that names it."""
    return ProblemError(
        status,
        "unknown-channel",
        "Unknown channel",
        f"No channel {code!r}.",
        field=field,
        channel=code,
    )
