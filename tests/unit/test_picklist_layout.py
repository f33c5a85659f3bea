"""Pick lists without a server: the warehouse layout from bins and `layout` JSON, routing
and batching of orders, the checks on confirmed picks, the cart setting."""

from __future__ import annotations

import pytest

from reservoir import _core
from reservoir.domain.catalogue.schemas import Layout
from reservoir.domain.picklists.confirmation import picked_per_stop
from reservoir.domain.picklists.layout import (
    Bin,
    decode_layout,
    layout_options,
    placed_bins,
    warehouse_layout,
)
from reservoir.domain.picklists.orders import Order, Stop, pickable_stops
from reservoir.domain.picklists.routing import batch_with_oldest, route_orders
from reservoir.domain.picklists.schemas import PickIn
from reservoir.domain.picklists.store import StoredStop
from reservoir.lib.errors import ProblemError
from reservoir.lib.settings import Settings, SettingsError

BINS = [Bin("A", 2, 7, 1), Bin("B", 5, 3, 4), Bin("FLOOR", None, None), Bin("Z", 0, 4)]


# --- layout ------------------------------------------------------------------------------


def test_only_bins_with_aisle_and_position_are_on_the_grid() -> None:
    assert set(placed_bins(BINS)) == {"A", "B"}
    assert placed_bins(BINS)["B"].point == (5, 3, 4)


def test_the_default_layout_is_one_block_sized_from_the_bins() -> None:
    layout = warehouse_layout("WH", BINS, None)
    assert layout == {
        "aisles": 5,
        "positions_per_aisle": 7,
        "aisle_width_m": 3.0,
        "cross_aisle_width_m": 2.0,
        "bin_pitch_m": 1.0,
        "middle_cross_aisles": [],
        "depot_aisle": 1.0,
    }


def test_the_warehouse_layout_overrides_widths_cross_aisles_and_depot() -> None:
    stored = decode_layout(
        b'{"middle_cross_aisles": [5, 2], "aisle_width_m": 4, "bin_pitch_m": 1.5, "depot_aisle": 3}'
    )
    assert layout_options(stored) == {
        "middle_cross_aisles": [2, 5],  # any order in the catalogue, increasing for the core
        "aisle_width_m": 4.0,
        "bin_pitch_m": 1.5,
        "depot_aisle": 3.0,
    }
    layout = warehouse_layout("WH", BINS, stored)
    assert layout["middle_cross_aisles"] == [2, 5] and layout["depot_aisle"] == 3.0
    assert layout_options(None) == {} and decode_layout(None) is None


@pytest.mark.parametrize(
    ("stored", "layout_field"),
    [
        (Layout(middle_cross_aisles=[7]), "layout.middle_cross_aisles[0]"),
        (Layout(middle_cross_aisles=[0]), "layout.middle_cross_aisles[0]"),
        (Layout(depot_aisle=9), "layout.depot_aisle"),
        (Layout(depot_aisle=0), "layout.depot_aisle"),
        (Layout(aisle_width_m=0.0), "layout.aisle_width_m"),
    ],
)
def test_an_unusable_layout_is_a_422_naming_the_warehouse_and_key(
    stored: Layout, layout_field: str
) -> None:
    with pytest.raises(ProblemError) as info:
        warehouse_layout("WH-9", BINS, stored)
    problem = info.value
    assert (problem.status, problem.slug) == (422, "invalid-warehouse-layout")
    assert problem.extra == {"field": "warehouse", "layout_field": layout_field}
    assert "WH-9" in problem.detail


def test_a_warehouse_without_placed_bins_has_no_layout() -> None:
    with pytest.raises(ProblemError) as info:
        warehouse_layout("WH", [Bin("FLOOR", None, None)], None)
    assert info.value.extra["layout_field"] == "bins"


# --- the core binding --------------------------------------------------------------------


def test_the_binding_names_the_offending_field() -> None:
    layout = _core.layout_from_bins([(3, 5, 0)])
    cases = [
        (lambda: _core.route_picks(layout, [(4, 1, 0)], "optimal"), "picks[0]"),
        (lambda: _core.route_picks(layout, [(-1, 1, 0)], "optimal"), "picks[0].aisle"),
        (lambda: _core.route_picks(layout, [], "fastest"), "strategy"),
        (lambda: _core.route_picks({**layout, "colour": 1}, [], "optimal"), "layout.colour"),
        (lambda: _core.route_picks({"aisles": 3}, [], "optimal"), "layout.positions_per_aisle"),
        (lambda: _core.layout_from_bins([]), "bins"),
        (lambda: _core.layout_from_bins([(1, 1, 0)], bin_pitch_m=-1.0), "layout.bin_pitch_m"),
        (
            lambda: _core.batch_orders(layout, [(1, 1, [])], "optimal", units_max=0, orders_max=1),
            "units_max",
        ),
        (
            lambda: _core.batch_orders(
                layout, [(1, 1, []), (1, 1, [])], "optimal", units_max=5, orders_max=2
            ),
            "orders",
        ),
    ]
    for call, field in cases:
        with pytest.raises(_core.InvalidInput) as info:
            call()
        assert info.value.field == field, (field, str(info.value))
    too_many = [(1, 1, 0)] * 10_001
    with pytest.raises(_core.LimitExceeded) as info:
        _core.route_picks(layout, too_many, "s-shape")
    assert (info.value.field, info.value.limit) == ("picks", 10_000)


def test_optimal_is_never_longer_than_any_heuristic() -> None:
    layout = _core.layout_from_bins([(10, 40, 0)], middle_cross_aisles=[20])
    picks = [(a, p, 0) for a, p in [(3, 12), (7, 30), (3, 2), (9, 21), (1, 39), (5, 19)]]
    best = _core.route_picks(layout, picks, "optimal")[1]
    for strategy in ("largest-gap", "s-shape", "location-order", "combined"):
        order, distance = _core.route_picks(layout, picks, strategy)
        assert sorted(order) == list(range(len(picks)))
        assert best <= distance + 1e-9
    matrix = _core.distance_matrix(layout, picks)
    assert len(matrix) == len(picks) + 1 and all(len(row) == len(matrix) for row in matrix)
    assert matrix[0][0] == 0.0 and matrix[1][2] == matrix[2][1]


# --- orders and routes -------------------------------------------------------------------


def stop(rid: str, aisle: int, position: int, quantity: int = 1) -> Stop:
    return Stop(rid, "SKU", f"B{aisle}-{position}", quantity, (aisle, position, 0))


def test_pickable_stops_merge_lines_per_bin_and_skip_allocated_and_unplaced_ones() -> None:
    bins = placed_bins(BINS)
    lines = [("S1", "A", 2), ("S1", "A", 3), ("S2", "B", 1), ("S3", "FLOOR", 4), ("S4", "B", 2)]
    stops = pickable_stops("rsv_1", lines, bins, allocated={("S4", "B")})
    assert [(s.sku, s.location, s.quantity, s.point) for s in stops] == [
        ("S1", "A", 5, (2, 7, 1)),
        ("S2", "B", 1, (5, 3, 4)),
    ]


def test_routes_list_every_stop_once_in_visiting_order() -> None:
    layout = _core.layout_from_bins([(10, 40, 0)])
    orders = [Order("r1", (stop("r1", 9, 30), stop("r1", 1, 2))), Order("r2", (stop("r2", 4, 4),))]
    route = route_orders(layout, orders, "s-shape")
    assert sorted(s.location for s in route.stops) == ["B1-2", "B4-4", "B9-30"]
    assert route.stops[0].location == "B1-2" and route.distance_m > 0


def test_batching_puts_the_oldest_order_with_its_neighbours_within_the_cart() -> None:
    """Savings batch the orders (here: the three in aisle 9 together, the far one alone);
    the list made is the batch holding the oldest order."""
    layout = _core.layout_from_bins([(10, 40, 0)])
    oldest = Order("old", (stop("old", 9, 30, 2),))
    near = [Order(f"n{i}", (stop(f"n{i}", 9, 31 + i, 2),)) for i in range(2)]
    far = Order("far", (stop("far", 1, 1, 1),))
    route = batch_with_oldest(layout, [oldest, far, *near], "optimal", orders_max=3, units_max=6)
    assert {s.reservation_id for s in route.stops} == {"old", "n0", "n1"}
    alone = route_orders(layout, [oldest], "optimal")
    assert route.distance_m < 3 * alone.distance_m
    too_big = batch_with_oldest(layout, [oldest, *near], "optimal", orders_max=3, units_max=1)
    assert [s.reservation_id for s in too_big.stops] == ["old"], "larger than a cart: alone"


# --- confirmed picks ---------------------------------------------------------------------


STOPS = [StoredStop(1, "B1", "S", 3, "r1", None), StoredStop(2, "B2", "S", 2, "r2", None)]


def test_picked_quantities_are_aligned_with_the_stops() -> None:
    picks = [PickIn(seq=2, quantity=1), PickIn(seq=1, quantity=3)]
    assert picked_per_stop(STOPS, picks) == [3, 1]


@pytest.mark.parametrize(
    ("picks", "field"),
    [
        ([(1, 3), (3, 1)], "picks[1].seq"),
        ([(1, 3), (1, 1)], "picks[1].seq"),
        ([(1, 4), (2, 1)], "picks[0].quantity"),
        ([(1, -1), (2, 1)], "picks[0].quantity"),
        ([(1, 3)], "picks"),
    ],
)
def test_bad_picks_name_the_field(picks: list[tuple[int, int]], field: str) -> None:
    with pytest.raises(ProblemError) as info:
        picked_per_stop(STOPS, [PickIn(seq=s, quantity=q) for s, q in picks])
    assert info.value.status == 422 and info.value.extra["field"] == field


# --- the cart setting ----------------------------------------------------------------------


def test_the_cart_capacity_setting() -> None:
    assert Settings.from_env({}).pick_cart_units_max == 100
    assert (
        Settings.from_env({"RESERVOIR_PICK_CART_UNITS_MAX": "2_500"}).pick_cart_units_max == 2_500
    )
    for bad in ("0", "x", "1000001"):
        with pytest.raises(SettingsError, match="RESERVOIR_PICK_CART_UNITS_MAX"):
            Settings.from_env({"RESERVOIR_PICK_CART_UNITS_MAX": bad})
