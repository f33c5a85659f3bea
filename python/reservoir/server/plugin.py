"""All of the app's wiring in one place: the `ReservoirPlugin` (a Litestar `InitPlugin`)
registers the routes, the dependencies, the one exception handler, the lifespans in order, the
state they share, the response counter, the body limit and the OpenAPI document.

Lifespans, in start-up order (shut down in reverse):

    platform_lifespan     DSN (embedded PostgreSQL if unset), ledger lock, pool, migrations,
                          Redis, maintenance                       (server/lifespan.py)
    api_keys_lifespan     key file reloaded on change, keys' last use written
    WRITE_PATH_LIFESPANS  engine recovery, group-commit writer, expiry; the outbox relay
    readiness_lifespan    /readyz answers 200 from here on

`write_path` replaces the middle group (tests run the platform alone with `[]`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins import InitPluginProtocol

from reservoir.domain.admin import AdminController
from reservoir.domain.availability.controllers import AvailabilityController
from reservoir.domain.availability.stream import AvailabilityStreamController
from reservoir.domain.catalogue.controllers import ItemController, LocationController
from reservoir.domain.channels.controllers import ChannelController
from reservoir.domain.discrepancies.controllers import DiscrepancyController
from reservoir.domain.drops.controllers import DropController
from reservoir.domain.entries.controllers import LedgerController
from reservoir.domain.picklists.controllers import PickListController
from reservoir.domain.purchasing.controllers import PurchaseOrderController, SupplierController
from reservoir.domain.reconciliations.controllers import ReconciliationController
from reservoir.domain.reservations.controllers import ReservationController
from reservoir.domain.stock.controllers import StockController
from reservoir.domain.transfers.controllers import TransferController
from reservoir.domain.waitlists.controllers import WaitlistController, WaitlistEntryController
from reservoir.domain.webhooks.controllers import WebhookController
from reservoir.lib import metrics
from reservoir.lib.api_keys import load_api_keys
from reservoir.lib.settings import Settings
from reservoir.server.bench import BenchController, bench_enabled
from reservoir.server.dependencies import app_dependencies
from reservoir.server.exception_handler import problem_exception_handler
from reservoir.server.health import HealthController
from reservoir.server.http_metrics import count_response
from reservoir.server.lifespan import (
    WRITE_PATH_LIFESPANS,
    api_keys_lifespan,
    platform_lifespan,
    readiness_lifespan,
)
from reservoir.server.received_at import add_received_at, stamp_received_at

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def api_route_handlers() -> list[Any]:
    """Every controller of the API."""
    return [
        HealthController,
        ItemController,
        LocationController,
        ChannelController,
        DropController,
        WaitlistController,
        WaitlistEntryController,
        SupplierController,
        PurchaseOrderController,
        TransferController,
        DiscrepancyController,
        ReconciliationController,
        AvailabilityStreamController,
        WebhookController,
        LedgerController,
        StockController,
        ReservationController,
        AvailabilityController,
        AdminController,
        PickListController,
        *([BenchController] if bench_enabled() else []),
    ]


class ReservoirPlugin(InitPluginProtocol):
    """`exit_on_lock_loss` makes the process stop (and `reservoir serve` exit non-zero) once
    another process owns the ledger; a lost lock that is ours again is recovered either way."""

    def __init__(
        self,
        settings: Settings,
        *,
        write_path: Sequence[Lifespan] | None = None,
        exit_on_lock_loss: bool = False,
    ) -> None:
        self.settings = settings
        self.write_path = WRITE_PATH_LIFESPANS if write_path is None else tuple(write_path)
        self.exit_on_lock_loss = exit_on_lock_loss

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        settings = self.settings
        state = app_config.state = State(
            {
                "settings": settings,
                "api_keys": load_api_keys(settings),
                "ready": False,
                "not_ready_reason": "starting",
                "startup_error": None,
                "exit_on_lock_loss": self.exit_on_lock_loss,
                "redis": None,
            }
        )
        app_config.route_handlers.extend(api_route_handlers())
        app_config.dependencies.update(app_dependencies(state))
        app_config.exception_handlers[Exception] = problem_exception_handler
        app_config.lifespan.extend(
            [platform_lifespan, api_keys_lifespan, *self.write_path, readiness_lifespan]
        )
        app_config.middleware.append(stamp_received_at)
        app_config.before_send.extend([count_response, add_received_at])
        app_config.openapi_config = _openapi_config()
        app_config.on_startup.append(_export_state_gauges)
        return app_config


def _export_state_gauges(app: Litestar) -> None:
    metrics.gauge("reservoir_ready", "1 when /readyz answers 200").set_function(
        lambda: 1.0 if app.state.get("ready") else 0.0
    )
    metrics.gauge(
        "reservoir_ledger_lock_held", "1 while this process owns the ledger"
    ).set_function(
        lambda: 1.0 if (lock := app.state.get("ledger_lock")) is not None and lock.held else 0.0
    )


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
