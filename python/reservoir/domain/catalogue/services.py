"""Catalogue writes and reads: validation beyond types (422 naming the field), then SQL."""

from __future__ import annotations

import math

import asyncpg
import msgspec

from reservoir.domain.catalogue.schemas import Item, ItemIn, Layout, Location, LocationIn
from reservoir.lib.codes import check_code
from reservoir.lib.errors import ProblemError, invalid_input
from reservoir.lib.text import NAME_LENGTH_MAX, check_text

LAYOUT_METRES_MAX = 1_000.0
CROSS_AISLES_MAX = 1_000
# pg_advisory_xact_lock key serialising location hierarchy writes ("rsv-locs")
LOCATIONS_LOCK_KEY = 0x7273_762D_6C6F_6373


# --- items ------------------------------------------------------------------------------------


def validate_item(sku: str, body: ItemIn) -> None:
    check_code(sku, "sku")
    check_text("name", body.name, required=True, length_max=NAME_LENGTH_MAX)
    check_text("product", body.product, length_max=NAME_LENGTH_MAX)


async def put_item(pool: asyncpg.Pool, sku: str, body: ItemIn) -> tuple[Item, bool]:
    """Creates or replaces the item; returns it and whether it was created."""
    validate_item(sku, body)
    attributes = msgspec.json.encode(body.attributes or {}).decode()
    if "\\u0000" in attributes:  # PostgreSQL's jsonb cannot store NUL characters
        raise invalid_input("attributes", "`attributes` must not contain NUL characters")
    row = await pool.fetchrow(
        """
        INSERT INTO items AS i (sku, name, product, attributes, per_buyer_max)
        VALUES ($1, $2, $3, $4::jsonb, $5)
        ON CONFLICT (sku) DO UPDATE
            SET name = excluded.name, product = excluded.product,
                attributes = excluded.attributes, per_buyer_max = excluded.per_buyer_max,
                updated_at = now()
        RETURNING i.sku, i.name, i.product, i.attributes::text AS attributes,
                  i.created_at, i.updated_at, i.per_buyer_max, (xmax = 0) AS created
        """,
        sku,
        body.name,
        body.product,
        attributes,
        body.per_buyer_max,
    )
    assert row is not None
    return _item(row), row["created"]


async def get_item(pool: asyncpg.Pool, sku: str) -> Item | None:
    row = await pool.fetchrow(
        """
        SELECT sku, name, product, attributes::text AS attributes, created_at, updated_at,
               per_buyer_max
        FROM items WHERE sku = $1
        """,
        sku,
    )
    return None if row is None else _item(row)


def _item(row: asyncpg.Record) -> Item:
    return Item(
        sku=row["sku"],
        name=row["name"],
        product=row["product"],
        attributes=msgspec.json.decode(row["attributes"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        per_buyer_max=row["per_buyer_max"],
    )


# --- locations --------------------------------------------------------------------------------


def validate_location(code: str, body: LocationIn) -> None:
    check_code(code, "code")
    check_text("name", body.name, length_max=NAME_LENGTH_MAX)
    if body.parent is not None:
        check_code(body.parent, "parent")
        if body.parent == code:
            raise _parent_cycle(code, body.parent)
    # aisle / position / level: bounded by their type (lib/bounds.py GridNumber)
    if body.layout is not None:
        if body.kind != "warehouse":
            raise invalid_input(
                "layout", f"only a warehouse may carry a `layout` (this location is a {body.kind})"
            )
        _check_layout(body.layout)


def _check_layout(layout: Layout) -> None:
    for field in ("aisle_width_m", "cross_aisle_width_m", "bin_pitch_m"):
        value = getattr(layout, field)
        if value is not None and not (math.isfinite(value) and 0 < value <= LAYOUT_METRES_MAX):
            raise invalid_input(
                f"layout.{field}", f"`layout.{field}` must be > 0 and <= {LAYOUT_METRES_MAX:g}"
            )
    aisles = layout.middle_cross_aisles
    if aisles is not None:
        if len(aisles) > CROSS_AISLES_MAX:
            raise invalid_input(
                "layout.middle_cross_aisles",
                f"at most {CROSS_AISLES_MAX} middle cross aisles",
            )
        if len(set(aisles)) != len(aisles):
            raise invalid_input(
                "layout.middle_cross_aisles", "middle cross aisle positions must be distinct"
            )


async def put_location(pool: asyncpg.Pool, code: str, body: LocationIn) -> tuple[Location, bool]:
    """Creates or replaces the location; returns it and whether it was created."""
    validate_location(code, body)
    layout = None if body.layout is None else msgspec.json.encode(body.layout).decode()
    async with pool.acquire() as conn, conn.transaction():
        # hierarchy writes are rare: serialise them so two concurrent PUTs cannot form a cycle
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCATIONS_LOCK_KEY)
        if body.parent is not None:
            await _check_parent(conn, code, body.parent)
        row = await conn.fetchrow(
            """
            INSERT INTO locations AS l
                (code, name, parent, kind, sellable, aisle, position, level, layout)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
            ON CONFLICT (code) DO UPDATE
                SET name = excluded.name, parent = excluded.parent, kind = excluded.kind,
                    sellable = excluded.sellable, aisle = excluded.aisle,
                    position = excluded.position, level = excluded.level,
                    layout = excluded.layout, updated_at = now()
            RETURNING l.code, l.name, l.parent, l.kind, l.sellable, l.aisle, l.position,
                      l.level, l.layout::text AS layout, l.created_at, l.updated_at,
                      (xmax = 0) AS created
            """,
            code,
            body.name,
            body.parent,
            body.kind,
            body.sellable,
            body.aisle,
            body.position,
            body.level,
            layout,
        )
    assert row is not None
    return _location(row), row["created"]


async def _check_parent(conn: asyncpg.Connection, code: str, parent: str) -> None:
    ancestors = await conn.fetch(
        """
        WITH RECURSIVE up (code, parent) AS (
            SELECT code, parent FROM locations WHERE code = $1
            UNION
            SELECT l.code, l.parent FROM locations l JOIN up ON l.code = up.parent
        )
        SELECT code FROM up
        """,
        parent,
    )
    if not ancestors:
        raise ProblemError(
            422,
            "unknown-location",
            "Unknown location",
            f"The parent location {parent!r} is not defined.",
            field="parent",
            location=parent,
        )
    if any(r["code"] == code for r in ancestors):
        raise _parent_cycle(code, parent)


def _parent_cycle(code: str, parent: str) -> ProblemError:
    return ProblemError(
        422,
        "parent-cycle",
        "Location cycle",
        f"Making {parent!r} the parent of {code!r} would make {code!r} its own ancestor.",
        field="parent",
    )


async def get_location(pool: asyncpg.Pool, code: str) -> Location | None:
    row = await pool.fetchrow(
        """
        SELECT code, name, parent, kind, sellable, aisle, position, level,
               layout::text AS layout, created_at, updated_at
        FROM locations WHERE code = $1
        """,
        code,
    )
    return None if row is None else _location(row)


def _location(row: asyncpg.Record) -> Location:
    layout = row["layout"]
    return Location(
        code=row["code"],
        name=row["name"],
        parent=row["parent"],
        kind=row["kind"],
        sellable=row["sellable"],
        aisle=row["aisle"],
        position=row["position"],
        level=row["level"],
        layout=None if layout is None else msgspec.json.decode(layout, type=Layout),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
