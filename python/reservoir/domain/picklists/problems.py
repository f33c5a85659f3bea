"""The answers `/v1/picklists` refuses with (problem+json through the one handler)."""

from __future__ import annotations

from typing import Any

from reservoir.lib.errors import ProblemError


def unknown_warehouse(code: str, kind: str | None = None) -> ProblemError:
    detail = (
        f"No warehouse {code!r}."
        if kind is None
        else f"Location {code!r} is a {kind}, not a warehouse."
    )
    return ProblemError(
        422, "unknown-warehouse", "Unknown warehouse", detail, field="warehouse", warehouse=code
    )


def nothing_to_pick(
    warehouse: str, *, field: str = "warehouse", reservation_id: str | None = None
) -> ProblemError:
    if reservation_id is None:
        detail = (
            f"No committed units at bins of warehouse {warehouse!r} are waiting for a pick list."
        )
        return ProblemError(409, "nothing-to-pick", "Nothing to pick", detail, field=field)
    detail = (
        f"Reservation {reservation_id!r} has no committed units at placed bins of warehouse "
        f"{warehouse!r}."
    )
    return ProblemError(
        409,
        "nothing-to-pick",
        "Nothing to pick",
        detail,
        field=field,
        reservation_id=reservation_id,
    )


def duplicate_reservation(index: int, rid: str, first: int) -> ProblemError:
    return ProblemError(
        422,
        "invalid-input",
        "Invalid input",
        f"Reservation {rid!r} is named twice (also at reservations[{first}]).",
        field=f"reservations[{index}]",
    )


def unknown_reservation(index: int, rid: str) -> ProblemError:
    return ProblemError(
        422,
        "unknown-reservation",
        "Unknown reservation",
        f"No reservation {rid!r}.",
        field=f"reservations[{index}]",
        reservation_id=rid,
    )


def reservation_not_committed(index: int, rid: str, status: str) -> ProblemError:
    return ProblemError(
        409,
        "reservation-not-committed",
        "Reservation not committed",
        f"Reservation {rid!r} is {status}; only committed reservations are picked.",
        field=f"reservations[{index}]",
        reservation_id=rid,
        reservation_status=status,
    )


def reservation_allocated(index: int, rid: str, pick_list_id: str) -> ProblemError:
    return ProblemError(
        409,
        "reservation-allocated",
        "Reservation already in an open pick list",
        f"The committed units of reservation {rid!r} are in open pick list {pick_list_id!r}.",
        field=f"reservations[{index}]",
        reservation_id=rid,
        pick_list_id=pick_list_id,
    )


def unplaced_bin(index: int, rid: str, location: str) -> ProblemError:
    return ProblemError(
        422,
        "unplaced-bin",
        "Bin not on the pick grid",
        f"Reservation {rid!r} holds units at {location!r}, which has no aisle and position.",
        field=f"reservations[{index}]",
        location=location,
    )


def too_many_orders(count: int, max_orders: int) -> ProblemError:
    return ProblemError(
        422,
        "invalid-input",
        "Invalid input",
        f"{count} reservations named but max_orders is {max_orders}.",
        field="max_orders",
    )


def pick_list_not_found(pick_list_id: str) -> ProblemError:
    return ProblemError(
        404,
        "pick-list-not-found",
        "Pick list not found",
        f"No pick list {pick_list_id!r}.",
        pick_list_id=pick_list_id,
    )


def already_confirmed(pick_list_id: str) -> ProblemError:
    return ProblemError(
        409,
        "pick-list-confirmed",
        "Pick list already confirmed",
        f"Pick list {pick_list_id!r} is already confirmed; its picks were shipped.",
        pick_list_id=pick_list_id,
    )


def bad_pick(field: str, detail: str) -> ProblemError:
    return ProblemError(422, "invalid-input", "Invalid input", detail, field=field)


def cannot_ship(field: str, detail: str, **extra: Any) -> ProblemError:
    return ProblemError(409, "cannot-ship", "Cannot ship the picks", detail, field=field, **extra)
