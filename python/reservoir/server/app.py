"""The application factory: routes, dependencies, the one exception handler, OpenAPI, lifespan.

The write path plugs in through two functions below: `api_route_handlers()` (its
controllers) and `write_path_lifespans()` (its start-up/shutdown, between the platform and
readiness).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from reservoir.domain.admin import AdminController
from reservoir.domain.availability.controllers import AvailabilityController
from reservoir.domain.catalogue.controllers import ItemController, LocationController
from reservoir.domain.ledger.controllers import LedgerController
from reservoir.domain.picklists.controllers import PickListController
from reservoir.domain.reservations.controllers import ReservationController
from reservoir.domain.stock.controllers import StockController
from reservoir.ledger.outbox import outbox_lifespan
from reservoir.ledger.write_path import write_path_lifespan
from reservoir.lib import metrics
from reservoir.lib.api_keys import load_api_keys
from reservoir.lib.errors import problem_exception_handler
from reservoir.lib.settings import Settings
from reservoir.server.bench import BenchController, bench_enabled
from reservoir.server.dependencies import app_dependencies
from reservoir.server.health import HealthController
from reservoir.server.http_metrics import count_response
from reservoir.server.lifespan import platform_lifespan, readiness_lifespan

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def api_route_handlers() -> list[Any]:
    """Every controller of the API. (The lead adds reservations, stock, availability here.)"""
    return [
        HealthController,
        ItemController,
        LocationController,
        LedgerController,
        StockController,
        ReservationController,
        AvailabilityController,
        AdminController,
        PickListController,
        *([BenchController] if bench_enabled() else []),
    ]


def write_path_lifespans() -> list[Lifespan]:
    """The write path's start-up, in order, after the platform (DB, lock, pool, schema, Redis)
    and before the app is marked ready; shut down in reverse before the platform.

    Each is `lifespan(app) -> async context manager`; it finds what it needs on `app.state`
    (settings, pool, database_url, ledger_lock, redis) and leaves what handlers need there
    (e.g. `app.state.engine`). Engine recovery, the group-commit writer and expiry go here.
    """
    return [write_path_lifespan, outbox_lifespan]


def create_app(
    settings: Settings | None = None,
    *,
    write_path: Sequence[Lifespan] | None = None,
    exit_on_lock_loss: bool = False,
) -> Litestar:
    """`write_path` overrides `write_path_lifespans()` (tests); `exit_on_lock_loss` makes the
    process SIGTERM itself if it loses the ledger lock (what `reservoir serve` wants)."""
    settings = settings or Settings.from_env()
    state = State(
        {
            "settings": settings,
            "api_keys": load_api_keys(settings),
            "ready": False,
            "not_ready_reason": "starting",
            "startup_error": None,
            "exit_on_lock_loss": exit_on_lock_loss,
            "redis": None,
        }
    )
    lifespans = [
        platform_lifespan,
        *(write_path_lifespans() if write_path is None else write_path),
        readiness_lifespan,
    ]
    app = Litestar(
        route_handlers=api_route_handlers(),
        dependencies=app_dependencies(),
        exception_handlers={Exception: problem_exception_handler},
        lifespan=lifespans,
        state=state,
        before_send=[count_response],
        request_max_body_size=settings.body_bytes_max,
        openapi_config=_openapi_config(),
        logging_config=None,
        debug=False,
    )
    metrics.gauge("reservoir_ready", "1 when /readyz answers 200").set_function(
        lambda: 1.0 if app.state.get("ready") else 0.0
    )
    metrics.gauge(
        "reservoir_ledger_lock_held", "1 while this process owns the ledger"
    ).set_function(
        lambda: 1.0 if (lock := app.state.get("ledger_lock")) is not None and lock.held else 0.0
    )
    return app


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="reservoir",
        version=_version(),
        description="Inventory reservations over an append-only PostgreSQL ledger.",
        path="/schema",
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", description="API key")
            }
        ),
        security=[{"bearer": []}],
    )


def _version() -> str:
    try:
        return version("reservoir")
    except PackageNotFoundError:
        return "0.0.0"
