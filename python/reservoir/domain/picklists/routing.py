"""Orders into one walking route: all of them together, or the oldest batched with the
partners the savings method picks within one cart. CPU work in the core (GIL released)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reservoir import _core
from reservoir.domain.picklists.orders import Order, Stop


@dataclass(frozen=True, slots=True)
class Route:
    stops: tuple[Stop, ...]  # in visiting order: stop i has seq i + 1
    distance_m: float


def route_orders(layout: dict[str, Any], orders: Sequence[Order], strategy: str) -> Route:
    """Every stop of `orders` in one route."""
    stops = [s for o in orders for s in o.stops]
    order, distance_m = _core.route_picks(layout, [s.point for s in stops], strategy)
    return Route(tuple(stops[i] for i in order), distance_m)


def batch_with_oldest(
    layout: dict[str, Any],
    orders: Sequence[Order],
    strategy: str,
    *,
    orders_max: int,
    units_max: int,
) -> Route:
    """The cart load holding `orders[0]` (the oldest) when `orders` are batched by savings
    within `orders_max` orders and `units_max` units. An oldest order larger than a cart is
    picked alone; others larger than a cart are left for their own lists."""
    oldest = orders[0]
    pool = [oldest, *(o for o in orders[1:] if o.units <= units_max)]
    if oldest.units > units_max or len(pool) == 1 or orders_max == 1:
        return route_orders(layout, [oldest], strategy)
    rows = [(i, o.units, [s.point for s in o.stops]) for i, o in enumerate(pool)]
    batches, _, _ = _core.batch_orders(
        layout, rows, strategy, units_max=units_max, orders_max=orders_max
    )
    _, _, visits, distance_m = next(b for b in batches if 0 in b[0])
    return Route(tuple(pool[i].stops[pick] for i, pick in visits), distance_m)
