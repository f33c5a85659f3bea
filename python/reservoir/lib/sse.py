"""Server-Sent Events on the wire (the WHATWG `text/event-stream` format), as bytes built once
and sent to every stream that wants them: a frame is `id:`, `event:` and one `data:` line
(our data is single-line JSON), ended by a blank line; a comment line keeps an idle
connection open. Litestar's `ServerSentEvent` encodes each message per stream; the live feed
sends one event to many streams, so it frames each event once here."""

from __future__ import annotations

MEDIA_TYPE = "text/event-stream"
# no proxy buffering, no cache: each frame is for now
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEP_ALIVE = b": keep-alive\n\n"


def frame(event: str, data: bytes, id: str | None = None) -> bytes:
    """One event; `data` is one line (no CR or LF), as msgspec's JSON is."""
    head = b"" if id is None else b"id: " + id.encode() + b"\n"
    return head + b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"
