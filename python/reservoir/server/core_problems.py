"""The Rust core's errors as problems: one mapper per error class of `reservoir._core`, used
by the one exception handler (server/exception_handler.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reservoir import _core
from reservoir.lib.clock import rfc3339
from reservoir.lib.errors import ProblemError, backpressure


def _insufficient_stock(exc: Exception) -> ProblemError:
    shortages = [_shortage(s) for s in getattr(exc, "shortages", None) or []]
    detail = "Not enough available stock; nothing was reserved."
    if shortages:
        parts = [
            f"{s['sku']}: requested {s['requested']}, available {s['available']}" for s in shortages
        ]
        detail = "Not enough available stock (" + "; ".join(parts) + "); nothing was reserved."
    return ProblemError(
        409, "insufficient-stock", "Insufficient stock", detail, shortages=shortages
    )


def _buyer_limit(exc: Exception) -> ProblemError:
    sku, current = getattr(exc, "sku", None), getattr(exc, "current", None)
    requested, cap = getattr(exc, "requested", None), getattr(exc, "per_buyer_max", None)
    return ProblemError(
        409,
        "buyer-limit",
        "Per-buyer limit reached",
        f"At most {cap} units of {sku!r} per buyer: this buyer has {current} (held, committed "
        f"or shipped) and asked for {requested} more; nothing was reserved.",
        field="buyer",
        sku=sku,
        current=current,
        requested=requested,
        per_buyer_max=cap,
    )


def _drop_not_started(exc: Exception) -> ProblemError:
    drop, sku = getattr(exc, "drop", None), getattr(exc, "sku", None)
    starts = getattr(exc, "starts_at_ms", None)
    starts_at = None if starts is None else rfc3339(starts)
    return ProblemError(
        409,
        "drop-not-started",
        "Drop not started",
        f"{sku!r} is in drop {drop!r}, which starts at {starts_at}; nothing was reserved.",
        sku=sku,
        drop=drop,
        starts_at=starts_at,
    )


def _waitlist_entry_not_found(exc: Exception) -> ProblemError:
    entry = f"wl_{getattr(exc, 'entry', '')}"
    return ProblemError(
        404,
        "waitlist-entry-not-found",
        "Waitlist entry not found",
        f"No waitlist entry {entry!r}.",
        entry=entry,
    )


def _already_waiting(exc: Exception) -> ProblemError:
    sku, entry = getattr(exc, "sku", None), f"wl_{getattr(exc, 'entry', '')}"
    return ProblemError(
        409,
        "already-waiting",
        "Already waiting",
        f"This buyer already waits for {sku!r} as {entry}; nothing was written.",
        field="buyer",
        sku=sku,
        entry=entry,
    )


def _units_available(exc: Exception) -> ProblemError:
    sku, available = getattr(exc, "sku", None), getattr(exc, "available", None)
    return ProblemError(
        409,
        "units-available",
        "Units available",
        f"{available} units of {sku!r} are available and nobody waits for them: reserve them "
        "instead (POST /v1/reservations); nothing was written.",
        sku=sku,
        available=available,
    )


def _shortage(item: Any) -> dict[str, Any]:
    if isinstance(item, tuple | list) and len(item) == 3:
        sku, requested, available = item
    else:
        sku = getattr(item, "sku", None)
        requested = getattr(item, "requested", None)
        available = getattr(item, "available", None)
    return {"sku": sku, "requested": requested, "available": available}


def _unknown_sku(exc: Exception) -> ProblemError:
    sku = getattr(exc, "sku", None)
    return ProblemError(
        422,
        "unknown-sku",
        "Unknown SKU",
        f"SKU {sku!r} is not in the catalogue.",
        field="sku",
        sku=sku,
    )


def _unknown_location(exc: Exception) -> ProblemError:
    location = getattr(exc, "location", None)
    return ProblemError(
        422,
        "unknown-location",
        "Unknown location",
        f"Location {location!r} is not defined.",
        field="location",
        location=location,
    )


def _unknown_channel(exc: Exception) -> ProblemError:
    channel = getattr(exc, "channel", None)
    return ProblemError(
        422,
        "unknown-channel",
        "Unknown channel",
        f"Channel {channel!r} is not defined (PUT /v1/channels/{{code}} defines one).",
        field="channel",
        channel=channel,
    )


def _limit_exceeded(exc: Exception) -> ProblemError:
    field = getattr(exc, "field", None) or "body"
    return ProblemError(422, "limit-exceeded", "Limit exceeded", _message(exc), field=field)


def _invalid_input(exc: Exception) -> ProblemError:
    field = getattr(exc, "field", None) or "body"
    return ProblemError(422, "invalid-input", "Invalid input", _message(exc), field=field)


def _reservation_not_found(exc: Exception) -> ProblemError:
    rid = getattr(exc, "reservation_id", None)
    return ProblemError(
        404,
        "reservation-not-found",
        "Reservation not found",
        f"No reservation {rid!r}.",
        reservation_id=rid,
    )


def _invalid_state(exc: Exception) -> ProblemError:
    rid = getattr(exc, "reservation_id", None)
    status = getattr(exc, "status", None)
    return ProblemError(
        409,
        "invalid-state",
        "Invalid reservation state",
        f"Reservation {rid!r} is {status}; the operation is not allowed in that state.",
        reservation_id=rid,
        reservation_status=status,
    )


def _backpressure(exc: Exception) -> ProblemError:
    return backpressure()


def _message(exc: Exception) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


# Most specific first: LimitExceeded is an InvalidInput.
_CORE_CLASSES: tuple[tuple[type[Exception], Callable[[Exception], ProblemError]], ...] = (
    (_core.InsufficientStock, _insufficient_stock),
    (_core.BuyerLimit, _buyer_limit),
    (_core.DropNotStarted, _drop_not_started),
    (_core.WaitlistEntryNotFound, _waitlist_entry_not_found),
    (_core.AlreadyWaiting, _already_waiting),
    (_core.UnitsAvailable, _units_available),
    (_core.UnknownSku, _unknown_sku),
    (_core.UnknownLocation, _unknown_location),
    (_core.UnknownChannel, _unknown_channel),
    (_core.LimitExceeded, _limit_exceeded),
    (_core.InvalidInput, _invalid_input),
    (_core.ReservationNotFound, _reservation_not_found),
    (_core.InvalidState, _invalid_state),
    (_core.Backpressure, _backpressure),
)


def from_core_error(exc: Exception) -> ProblemError | None:
    """The problem for an error of the Rust core, or None if `exc` is not one."""
    for cls, mapper in _CORE_CLASSES:
        if isinstance(exc, cls):
            return mapper(exc)
    return None
