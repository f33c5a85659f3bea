"""The live stream's response: the feed's frames written to the client as the feed's flush
tells of them, without a task or a queue per stream, the end when the feed drops the stream,
and keep-alives when it is quiet. Litestar sees a `Stream` (headers, OpenAPI); on the wire
it is `_FeedBody`, whose `send_body` replaces the iteration of a streaming response."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Generator
from typing import Any, cast

import msgspec
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import HTTPResponseBodyEvent, Receive, Send

from reservoir.ledger.level_feed import LevelFeed, Subscription
from reservoir.lib import sse

HEARTBEAT_S = 15.0
logger = logging.getLogger("reservoir.stream")
encode = msgspec.json.Encoder().encode


class _Resume:
    """Awaits the rest of a coroutine that already ran up to its first suspension, where it
    yielded `pending` (the future it waits on): a task can finish what a callback began."""

    __slots__ = ("coro", "pending")

    def __init__(self, coro: Coroutine[Any, Any, None], pending: Any) -> None:
        self.coro = coro
        self.pending = pending

    def __await__(self) -> Generator[Any, Any, None]:
        pending = self.pending
        while True:
            try:
                value = yield pending
            except BaseException as exc:  # cancelled: the coroutine decides
                try:
                    pending = self.coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    pending = self.coro.send(value)
                except StopIteration:
                    return


async def _finish(resume: _Resume) -> None:
    await resume


class _Sender:
    """Writes a stream's frames from the feed's flush itself, not from a task per stream.

    At each flush the feed calls this for every stream it gave frames: the frames become one
    `http.response.body` message, and the ASGI `send` coroutine is run right here. Sending to
    a client that keeps up finishes without waiting (the server writes to the socket's
    buffer), so a write costs one pass through `send`, not a task switch and a wake-up
    (benchmarks/RESULTS.md, "The live availability stream": a hundred streams of a flash-drop
    SKU). When `send` has to wait (the client is not reading: flow control), a task finishes
    that write while the next frames gather; one that falls `queue_max` behind is dropped.
    """

    __slots__ = ("busy", "ended", "feed", "send", "subscription")

    def __init__(self, feed: LevelFeed, subscription: Subscription, send: Send) -> None:
        self.feed = feed
        self.subscription = subscription
        self.send = send
        self.busy: asyncio.Task[None] | None = None  # finishing a write that had to wait
        self.ended = asyncio.Event()  # dropped by the feed, or a write failed

    def __call__(self) -> None:
        if self.ended.is_set():
            return
        if self.subscription.dropped is not None:
            self.ended.set()  # the body ends the stream: the dropped event, then the end
        elif self.busy is None and self.subscription.frames:
            self.write(self.feed.take(self.subscription))
        # else: what gathers goes when the waiting write is done

    def keep_alive(self) -> None:
        if self.busy is None and not self.ended.is_set():
            self.write(sse.KEEP_ALIVE)

    def write(self, body: bytes) -> None:
        message: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": body,
            "more_body": True,
        }
        coro = cast("Coroutine[Any, Any, None]", self.send(message))  # Litestar's: an async def
        try:
            pending = coro.send(None)
        except StopIteration:
            return
        except Exception:  # the connection is gone
            self.ended.set()
            return
        self.busy = asyncio.ensure_future(_finish(_Resume(coro, pending)))
        self.busy.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self.busy = None
        if task.cancelled() or task.exception() is not None:
            self.ended.set()
        else:
            self()


class _FeedBody(ASGIStreamingResponse):
    """The stream's body: the `_Sender` writes, this waits for the client to go, the feed to
    drop the stream, or 15 s of quiet (a keep-alive comment)."""

    def __init__(self, feed: LevelFeed, subscription: Subscription, **kwargs: Any) -> None:
        super().__init__(iterator=(), **kwargs)
        self.feed = feed
        self.subscription = subscription

    async def send_body(self, send: Send, receive: Receive) -> None:
        sender = _Sender(self.feed, self.subscription, send)
        self.subscription.on_due = sender
        sender()  # the reset or what it missed
        gone = asyncio.ensure_future(_disconnected(receive))
        ended = asyncio.ensure_future(sender.ended.wait())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {gone, ended}, timeout=HEARTBEAT_S, return_when=asyncio.FIRST_COMPLETED
                )
                if gone in done:
                    return
                if ended in done:
                    break
                sender.keep_alive()
            await _end(sender, send)
        finally:
            for task in (gone, ended, sender.busy):
                if task is not None:
                    task.cancel()
            self.feed.unsubscribe(self.subscription)


async def _end(sender: _Sender, send: Send) -> None:
    """Tells the client why its stream ends and ends the body, once the write it has not read
    yet is through; a client that reads nothing for 15 s more is cut off (returning with the
    body unfinished: the server closes the connection)."""
    dropped = sender.subscription.dropped
    if dropped is None:
        return  # a write failed: the connection is gone
    try:
        async with asyncio.timeout(HEARTBEAT_S):
            waiting = sender.busy
            if waiting is not None:
                await asyncio.wait({waiting})
                if waiting.cancelled() or waiting.exception() is not None:
                    return  # the waiting write failed: the connection is gone
            reason = sse.frame("dropped", encode({"reason": dropped}))
            await send({"type": "http.response.body", "body": reason, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except TimeoutError:
        logger.warning("a live stream's client read nothing for %.0f s; cut off", HEARTBEAT_S)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class FeedStream(Stream):
    """`Stream` to Litestar (headers, OpenAPI), `_FeedBody` on the wire."""

    def __init__(self, feed: LevelFeed, subscription: Subscription) -> None:
        super().__init__((), media_type=sse.MEDIA_TYPE, headers=sse.HEADERS)
        self.feed = feed
        self.subscription = subscription

    def to_asgi_response(
        self, app: Any, request: Any, *, headers: dict[str, str] | None = None, **_: Any
    ) -> ASGIResponse:
        return _FeedBody(
            self.feed,
            self.subscription,
            headers={**(headers or {}), **self.headers},
            media_type=sse.MEDIA_TYPE,
        )
