"""Readiness: `app.state.ready` is what `/readyz` answers; `not_ready_reason` says why not.

The write path calls `mark_not_ready(app, "…")` when it stops accepting writes (e.g. a failed
batch, while the engine is rebuilt) and `mark_ready(app)` once it accepts them again.
"""

from __future__ import annotations

import logging

from litestar import Litestar

logger = logging.getLogger("reservoir.readiness")


def mark_ready(app: Litestar) -> None:
    app.state.ready = True
    app.state.not_ready_reason = None
    logger.info("ready")


def mark_not_ready(app: Litestar, reason: str) -> None:
    was_ready = bool(app.state.get("ready"))
    app.state.ready = False
    app.state.not_ready_reason = reason
    if was_ready:
        logger.info("not ready: %s", reason)


def is_ready(app: Litestar) -> bool:
    return bool(app.state.get("ready"))
