"""The load: a few dozen concurrent clients POSTing one-unit holds of one SKU, each with a
unique Idempotency-Key (also sent as the hold's `reference`, so the judge can tell a hold
from a later one that reused a lost reservation id). Every answer is recorded with the time
it came back; every 201 with its reservation id."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

REQUEST_TIMEOUT_S = 5.0
BACKOFF_S = 0.05  # after a refused connection or a 5xx, so a dead server is not spun on
REQUESTS_MAX = 2_000_000  # a hard bound per run, whatever the clock says


def outcome_of(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.ConnectError):
        return "conn-refused"
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "conn-reset"
    return type(error).__name__


@dataclass
class Load:
    base_url: str
    headers: dict[str, str]
    sku: str
    concurrency: int = 32
    acknowledged: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> id
    answers: list[tuple[float, int | str]] = field(default_factory=list)
    _wanted: int = 0
    _enough: asyncio.Event = field(default_factory=asyncio.Event)

    async def acknowledged_at_least(self, count: int, timeout_s: float) -> bool:
        """Waits until `count` holds were acknowledged (a slow machine takes a while), or
        `timeout_s`; says whether they were."""
        self._wanted = count
        if len(self.acknowledged) < count:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._enough.wait(), timeout_s)
        return len(self.acknowledged) >= count

    async def run(self, stop: asyncio.Event, seconds_max: float) -> None:
        """Runs the clients until `stop` is set, or `seconds_max` at the latest."""
        deadline = time.monotonic() + seconds_max
        await asyncio.gather(*(self._client(stop, deadline) for _ in range(self.concurrency)))

    async def _client(self, stop: asyncio.Event, deadline: float) -> None:
        async with httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=REQUEST_TIMEOUT_S
        ) as client:
            while not stop.is_set() and time.monotonic() < deadline:
                if len(self.answers) >= REQUESTS_MAX:
                    return
                await self._hold(client)

    async def _hold(self, client: httpx.AsyncClient) -> None:
        key = uuid.uuid4().hex
        body = {
            "lines": [{"sku": self.sku, "quantity": 1}],
            "ttl_seconds": 86_400,
            "reference": key,
        }
        try:
            response = await client.post(
                "/v1/reservations", json=body, headers={"Idempotency-Key": key}
            )
        except httpx.HTTPError as error:
            self.answers.append((time.monotonic(), outcome_of(error)))
            await asyncio.sleep(BACKOFF_S)
            return
        self.answers.append((time.monotonic(), response.status_code))
        if response.status_code == 201:
            self.acknowledged[key] = response.json()["id"]
            if len(self.acknowledged) >= self._wanted:
                self._enough.set()
        elif response.status_code >= 500:
            await asyncio.sleep(BACKOFF_S)

    def histogram(self, start: float, end: float) -> Counter[int | str]:
        """Answers that came back between `start` and `end` (time.monotonic())."""
        return Counter(outcome for at, outcome in self.answers if start <= at <= end)
