"""PostgreSQL's binary COPY format, written as the server sends it, for tests of what reads
it (`_core.OpenLinesLoader`) without a server."""

from __future__ import annotations

import struct
from collections.abc import Mapping

POSTGRES_EPOCH_MS = 946_684_800_000  # 2000-01-01 in Unix milliseconds

# (seq, status, expires_at in Unix ms, line_no, sku, location, quantity); the buyer apart
OpenLine = tuple[int, str, int, int, str, str, int]


def open_lines_stream(lines: list[OpenLine], buyers: Mapping[int, str] | None = None) -> bytes:
    """A binary COPY of `recovery.OPEN_RESERVATION_LINES`'s columns; `buyers` by seq (the
    rest have none)."""
    out = bytearray(b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0))
    for seq, status, expires_ms, line_no, sku, location, quantity in lines:
        buyer = (buyers or {}).get(seq)
        expires_us = (expires_ms - POSTGRES_EPOCH_MS) * 1000  # timestamptz: µs since 2000
        out += struct.pack(">hiqi", 8, 8, seq, len(status)) + status.encode()
        out += struct.pack(">iqiq", 8, expires_us, 8, line_no)
        for text in (sku.encode(), location.encode()):
            out += struct.pack(">i", len(text)) + text
        out += struct.pack(">iq", 8, quantity)
        if buyer is None:
            out += struct.pack(">i", -1)  # NULL
        else:
            out += struct.pack(">i", len(buyer.encode())) + buyer.encode()
    return bytes(out + struct.pack(">h", -1))
