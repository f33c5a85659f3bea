"""The runner's API client for seeding and checks: a few httpx clients per role."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import httpx

from errors import RunError


class Api:
    """httpx clients per role, used round-robin: one httpx client slows down badly past a
    few connections, several small ones do not (tests/integration/stock_helpers.py)."""

    CLIENTS, CONNECTIONS, IN_FLIGHT = 4, 4, 16

    def __init__(self, base_url: str, keys: dict[str, str]) -> None:
        limits = httpx.Limits(max_connections=self.CONNECTIONS)
        self.clients = {
            role: [
                httpx.AsyncClient(
                    base_url=base_url,
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=30.0,
                    limits=limits,
                    trust_env=False,
                )
                for _ in range(self.CLIENTS)
            ]
            for role, key in keys.items()
        }
        self._next = itertools.count()

    def __getitem__(self, role: str) -> httpx.AsyncClient:
        clients = self.clients[role]
        return clients[next(self._next) % len(clients)]

    def role(self, role: str) -> RoleClient:
        return RoleClient(self, role)

    async def close(self) -> None:
        for clients in self.clients.values():
            for client in clients:
                await client.aclose()

    async def put(self, path: str, body: dict) -> None:
        r = await self["admin"].put(path, json=body)
        if r.status_code not in (200, 201):
            raise RunError(f"PUT {path} answered {r.status_code}: {r.text[:300]}")

    async def receive(self, sku: str, location: str, quantity: int) -> None:
        body = {"sku": sku, "location": location, "quantity": quantity, "reference": "seed"}
        r = await self["warehouse"].post("/v1/stock/receipts", json=body)
        if r.status_code != 201:
            raise RunError(f"receipt {body} answered {r.status_code}: {r.text[:300]}")


@dataclass
class RoleClient:
    """`get(path)` as one role, spread over that role's clients."""

    api: Api
    name: str

    async def get(self, path: str) -> httpx.Response:
        return await self.api[self.name].get(path)
