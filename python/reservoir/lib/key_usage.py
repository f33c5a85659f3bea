"""The keys' last use, `<data_dir>/api-keys-last-use.json`: `{key id: RFC 3339 time}`.

Only the running server writes it (`key_reload.py`, every few seconds and at shutdown);
`reservoir keys list` reads it. It is not the key file, so each file has one writer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

import msgspec

from reservoir.lib.clock import rfc3339
from reservoir.lib.key_file import write_atomically

logger = logging.getLogger("reservoir.auth")


def read(path: Path) -> dict[str, str]:
    """The last use per key id; {} when the file is missing or unreadable."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.warning("ignoring %s: %s", path, exc)
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def record(path: Path, last_use: dict[str, str], used: Iterable[str], at_ms: int) -> bool:
    """Stamps `used` with `at_ms` in `last_use` and writes the file; False if nothing new."""
    stamp = rfc3339(at_ms)
    changed = False
    for key_id in used:
        last_use[key_id] = stamp
        changed = True
    if changed:
        write_atomically(path, msgspec.json.encode(dict(sorted(last_use.items()))) + b"\n")
    return changed
