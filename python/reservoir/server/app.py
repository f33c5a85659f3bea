"""The application factory: a Litestar app configured by the one `ReservoirPlugin`
(server/plugin.py), where every route, dependency, lifespan and handler is wired."""

from __future__ import annotations

from collections.abc import Sequence

from litestar import Litestar

from reservoir.lib.settings import Settings
from reservoir.server.plugin import Lifespan, ReservoirPlugin


def create_app(
    settings: Settings | None = None,
    *,
    write_path: Sequence[Lifespan] | None = None,
    exit_on_lock_loss: bool = False,
) -> Litestar:
    """`write_path` overrides the write path's lifespans (tests); `exit_on_lock_loss` makes
    the process stop once another process owns the ledger (what `reservoir serve` wants)."""
    settings = settings or Settings.from_env()
    plugin = ReservoirPlugin(settings, write_path=write_path, exit_on_lock_loss=exit_on_lock_loss)
    return Litestar(
        plugins=[plugin],
        # here, not in the plugin: Litestar 2 takes the limit from this argument only
        request_max_body_size=settings.body_bytes_max,
        logging_config=None,
        debug=False,
    )
