"""The application factory: a Litestar app configured by the one `ReservoirPlugin`
(server/plugin.py), where every route, dependency, lifespan and handler is wired."""

from __future__ import annotations

from collections.abc import Sequence

from litestar import Litestar

from reservoir.lib.openapi import StrictStructSchemaPlugin
from reservoir.lib.settings import Settings
from reservoir.server.hot_path import HotPath
from reservoir.server.plugin import Lifespan, ReservoirPlugin
from reservoir.server.request_limits import with_request_limits


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
    app = Litestar(
        # the schema plugin here, as an app plugin: Litestar asks those before its own Struct
        # schema plugin (adding it from on_app_init would re-run the init plugins)
        plugins=[plugin, StrictStructSchemaPlugin()],
        # here, not in the plugin: Litestar 2 takes the limit from this argument only
        request_max_body_size=settings.body_bytes_max,
        logging_config=None,
        debug=False,
    )
    # here too: the URL and header limits wrap Litestar's handler, before routing (an
    # InitPlugin sees the config, not the app), inside `app(...)` so `before_send` counts them
    # and inside those, the hot path: POST /v1/reservations without Litestar's per-request
    # machinery, for the requests it answers exactly as the route would (server/hot_path.py)
    app.asgi_handler = with_request_limits(HotPath(app.asgi_handler, app.state))
    return app
