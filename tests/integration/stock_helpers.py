"""Small helpers integration tests share: set up a catalogue and stock through the API, and
read the ledger the way an operator would."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import httpx


def post_via_route(client: httpx.Client, path: str, body: dict) -> httpx.Response:
    """POST `body` chunked (no Content-Length): the hot path hands such a request to the
    Litestar route, so a test can compare the two answers."""
    return client.post(path, content=iter([json.dumps(body).encode()]))


def put_item(admin: httpx.Client, sku: str) -> None:
    response = admin.put(f"/v1/items/{sku}", json={"name": sku})
    assert response.status_code in (200, 201), response.text


def put_location(admin: httpx.Client, code: str, *, sellable: bool = True, **fields) -> None:
    body = {"kind": "bin", "sellable": sellable, **fields}
    response = admin.put(f"/v1/locations/{code}", json=body)
    assert response.status_code in (200, 201), response.text


def receive(warehouse: httpx.Client, sku: str, location: str, quantity: int) -> dict:
    response = warehouse.post(
        "/v1/stock/receipts", json={"sku": sku, "location": location, "quantity": quantity}
    )
    assert response.status_code == 201, response.text
    return response.json()


def stock(server, sku: str, location: str, quantity: int, *, sellable: bool = True) -> None:
    """An item at a location with `quantity` units received."""
    with server.client("admin") as admin, server.client("warehouse") as warehouse:
        put_item(admin, sku)
        put_location(admin, location, sellable=sellable)
        if quantity:
            receive(warehouse, sku, location, quantity)


async def ledger_count(conn: asyncpg.Connection, **where: str) -> int:
    clauses = " AND ".join(f"{column} = ${i}" for i, column in enumerate(where, start=1))
    sql = "SELECT count(*) FROM ledger_entries" + (f" WHERE {clauses}" if clauses else "")
    return await conn.fetchval(sql, *where.values())


async def level(conn: asyncpg.Connection, sku: str, location: str) -> tuple[int, int, int]:
    row = await conn.fetchrow(
        "SELECT on_hand, reserved, committed FROM inventory_levels"
        " WHERE sku = $1 AND location = $2",
        sku,
        location,
    )
    return tuple(row) if row else (0, 0, 0)


async def post_concurrently(
    server, role: str, path: str, bodies: list[dict], *, clients: int = 20
) -> list[httpx.Response]:
    """POSTs every body at once over `clients` clients of 10 connections each (one httpx
    client slows down badly past a few dozen connections; the server does not)."""
    pool = [
        server.async_client(role, limits=httpx.Limits(max_connections=10), timeout=120)
        for _ in range(clients)
    ]
    try:
        return list(
            await asyncio.gather(
                *(pool[i % clients].post(path, json=body) for i, body in enumerate(bodies))
            )
        )
    finally:
        for client in pool:
            await client.aclose()
