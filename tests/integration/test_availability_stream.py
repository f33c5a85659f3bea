"""The live availability stream (issue 14): two clients watch a SKU while holds come and go;
one disconnects and resumes with Last-Event-ID; both see every change exactly once and in
order, and the last levels equal the availability read. Real HTTP against `reservoir serve`
on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx
import pytest
from tests.integration.stock_helpers import stock

from reservoir.domain.availability.feed_response import HEARTBEAT_S

SKU, BIN = "STREAM-SKU", "STREAM-BIN"
CHANGES = 40


@pytest.fixture(scope="module")
def shop(server):
    stock(server, SKU, BIN, 1000)
    return server


async def read_events(
    client: httpx.AsyncClient,
    into: list[dict[str, Any]],
    *,
    stop_after: int,
    cursor: str | None,
    skus: str = SKU,
) -> None:
    """Reads SSE events (`event`, `id`, parsed `data`) into `into` until `stop_after`."""
    headers = {"Last-Event-ID": cursor} if cursor else {}
    async with client.stream(
        "GET", "/v1/availability/stream", params={"skus": skus}, headers=headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event: dict[str, Any] = {}
        async for line in response.aiter_lines():
            if not line:
                if "data" in event:
                    into.append(event)
                    if len(into) >= stop_after:
                        return
                event = {}
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                event["data"] = json.loads(value)
            elif name in ("event", "id"):
                event[name] = value


async def make_changes(client: httpx.AsyncClient, count: int) -> None:
    for _ in range(count):
        held = await client.post("/v1/reservations", json={"lines": [{"sku": SKU, "quantity": 1}]})
        assert held.status_code == 201, held.text
        if held.json()["id"][-1] in "02468":
            await client.post(f"/v1/reservations/{held.json()['id']}/release")


async def test_two_streams_see_every_change_once_and_in_order_across_a_resume(shop):
    async with (
        shop.async_client("storefront", timeout=30) as watcher,
        shop.async_client("storefront", timeout=30) as other,
        shop.async_client("storefront", timeout=30) as writer,
    ):
        whole: list[dict[str, Any]] = []
        first_half: list[dict[str, Any]] = []
        steady = asyncio.create_task(read_events(watcher, whole, stop_after=10**9, cursor=None))
        part = asyncio.create_task(read_events(other, first_half, stop_after=15, cursor=None))
        await asyncio.sleep(0.5)  # both connected
        await make_changes(writer, CHANGES)
        await asyncio.wait_for(part, 30)
        # the second client is gone; changes go on; it comes back with its last id
        await make_changes(writer, CHANGES // 2)
        second_half: list[dict[str, Any]] = []
        resume = asyncio.create_task(
            read_events(other, second_half, stop_after=10**9, cursor=first_half[-1]["id"])
        )
        await make_changes(writer, CHANGES // 2)
        levels = (await writer.get(f"/v1/availability/{SKU}")).json()
        await asyncio.sleep(1.0)  # the last batch's events reach both streams
        steady.cancel()
        resume.cancel()

    assert whole[0]["event"] == "reset" and first_half[0]["event"] == "reset"
    start = whole[0]["data"]["seq"]
    seen = [e["data"]["seq"] for e in whole[1:]]
    assert seen == list(range(start + 1, start + 1 + len(seen))), "gap-free and in order"
    resumed = [e["data"]["seq"] for e in first_half[1:] + second_half]
    assert second_half[0]["event"] == "levels", "a resume, not a reset"
    assert resumed == seen[: len(resumed)], "the same events, exactly once"
    assert len(resumed) == len(seen)
    last = whole[-1]["data"]
    assert (last["reserved"], last["available"]) == (levels["reserved"], levels["available"])


async def test_bad_requests_name_the_field(shop):
    async with shop.async_client("storefront") as client:
        assert (await client.get("/v1/availability/stream")).status_code == 400
        unknown = await client.get("/v1/availability/stream", params={"skus": "NOPE"})
        assert unknown.status_code == 404 and unknown.json()["field"] == "skus"
        bad = await client.get("/v1/availability/stream", params={"skus": "bad code!"})
        assert bad.status_code == 400 and bad.json()["field"] == "skus"


WIDE = [f"WIDE-{i:02d}" for i in range(50)]


@pytest.fixture(scope="module")
def tight(start_server, database_factory):
    """A server whose streams may fall 200 events behind, writing each batch's events at once,
    with 50 SKUs in stock: a hold of one unit of each makes 50 events (~9 KB of frames)."""
    server = start_server(
        database_factory(),
        env={"RESERVOIR_STREAM_QUEUE_MAX": "200", "RESERVOIR_STREAM_FLUSH_MS": "0"},
    )
    for sku in WIDE:
        stock(server, sku, "WIDE-BIN", 10_000)
    yield server
    server.stop()


def _stuck_client(server, skus: str) -> socket.socket:
    """A stream whose client sends its request and then reads nothing."""
    stuck = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)  # before connect: a small window
    stuck.connect(("127.0.0.1", server.port))
    stuck.sendall(
        f"GET /v1/availability/stream?skus={skus} HTTP/1.1\r\nHost: t\r\n"
        f"Authorization: Bearer {server.keys['storefront']}\r\n\r\n".encode()
    )
    return stuck


async def test_clients_that_stop_reading_are_dropped_and_the_others_go_on(tight):
    skus = ",".join(WIDE)
    # one reads again soon after it is dropped, one never does
    stuck, mute = _stuck_client(tight, skus), _stuck_client(tight, skus)
    holds = 0
    async with (
        tight.async_client("storefront", timeout=30) as watcher,
        tight.async_client("storefront", timeout=30) as writer,
    ):
        seen: list[dict[str, Any]] = []
        reading = asyncio.create_task(
            read_events(watcher, seen, stop_after=10**9, cursor=None, skus=skus)
        )
        await asyncio.sleep(0.5)
        body = {"lines": [{"sku": sku, "quantity": 1} for sku in WIDE]}
        dropped = 0.0
        while dropped < 2 and holds < 400:  # each hold: 50 events neither stuck client reads
            held = await writer.post("/v1/reservations", json=body)
            assert held.status_code == 201, held.text
            released = await writer.post(f"/v1/reservations/{held.json()['id']}/release")
            assert released.status_code == 200, released.text
            holds += 1
            dropped = await metric(writer, "reservoir_live_streams_dropped_total")
        await asyncio.sleep(1.0)  # the last batch's events reach the reader
        open_streams = await metric(writer, "reservoir_live_streams")
        reading.cancel()
    rest, _ = await asyncio.to_thread(_read_to_end, stuck)  # it reads again: what was left
    stuck.close()
    assert b"event: dropped" in rest and b"events behind" in rest, rest[-300:]
    assert rest.endswith(b"0\r\n\r\n"), "and the end of the response"
    await asyncio.sleep(HEARTBEAT_S + 1)  # the mute one read nothing for 15 s more: cut off
    cut, closed = await asyncio.to_thread(_read_to_end, mute)
    mute.close()
    assert closed, "the server closed the mute client's connection"
    assert b"event: dropped" not in cut and not cut.endswith(b"0\r\n\r\n"), cut[-300:]

    assert dropped == 2, f"the stuck clients were still connected after {holds} holds"
    assert open_streams == 1, "the reader's stream is open, the stuck ones' are not"
    assert seen[0]["event"] == "reset"
    start = {e["data"]["sku"]: e["data"]["seq"] for e in seen if e["event"] == "reset"}
    per_sku: dict[str, list[int]] = {}
    for e in seen:
        if e["event"] == "levels":
            per_sku.setdefault(e["data"]["sku"], []).append(e["data"]["seq"])
    for sku in WIDE:
        got = per_sku[sku]
        assert got == list(range(start[sku] + 1, start[sku] + 1 + len(got))), sku
        assert len(got) == 2 * holds, f"{sku}: a hold and a release per round, each once"


async def metric(client: httpx.AsyncClient, name: str) -> float:
    for line in (await client.get("/metrics")).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


def _read_to_end(sock: socket.socket) -> tuple[bytes, bool]:
    """What the server sent, up to the end of the chunked response, the end of the
    connection, or 10 s of nothing; and whether the server closed the connection."""
    sock.settimeout(10)
    data = b""
    try:
        while not data.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(1 << 16)
            if not chunk:
                return data, True
            data += chunk
    except TimeoutError:
        pass
    except ConnectionResetError:
        return data, True
    return data, False
