//! Pick-path routing: the warehouse walking layout, walking distances, routing strategies,
//! exact solvers for cross-checking, and order batching. Pure functions, no I/O, no clock.
//!
//! ```
//! use reservoir_pickpath::{route, Layout, PickPoint, Strategy};
//! let layout = Layout::new(10, 40).unwrap();
//! let picks = [PickPoint::new(3, 12), PickPoint::new(7, 30), PickPoint::new(3, 2)];
//! let best = route(&layout, &picks, "optimal".parse::<Strategy>().unwrap()).unwrap();
//! let s = route(&layout, &picks, Strategy::SShape).unwrap();
//! assert!(best.distance_m <= s.distance_m);
//! assert_eq!(best.order.len(), 3);
//! ```

mod batching;
mod distance;
mod error;
mod exact;
mod held_karp;
mod layout;
pub mod local_search;
mod strategies;

pub use batching::{batch_orders, Batch, BatchPlan, BatchStop, CartCapacity, Order, ORDERS_MAX};
pub use distance::{distance_matrix, walking_distance_m, DistanceMatrix, Point, MATRIX_STOPS_MAX};
pub use error::PickPathError;
pub use held_karp::{brute_force, held_karp, BRUTE_FORCE_STOPS_MAX, HELD_KARP_STOPS_MAX};
pub use layout::{
    Layout, LayoutOptions, PickPoint, AISLES_MAX, AISLE_WIDTH_M_DEFAULT, BIN_PITCH_M_DEFAULT,
    CROSS_AISLE_WIDTH_M_DEFAULT, MIDDLE_CROSS_AISLES_MAX, POSITIONS_PER_AISLE_MAX, WIDTH_M_MAX,
};

use distance::{Grid, Spot};
use std::fmt;
use std::str::FromStr;

/// Most stops one route may have.
pub const STOPS_MAX: usize = 10_000;

/// Largest block count for which `Strategy::Optimal` is exact; above it, optimal is the
/// local search described in [`local_search`].
pub const EXACT_BLOCKS_MAX: usize = exact::VERTICES_MAX - 1;

/// A routing strategy. Parses from and prints as the API strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// `"optimal"`: shortest route. Exact (Ratliff & Rosenthal's programme, extended to
    /// several blocks) for up to [`EXACT_BLOCKS_MAX`] blocks; beyond, best heuristic improved
    /// by 2-opt and Or-opt.
    Optimal,
    /// `"largest-gap"`: Roodbergen & de Koster's (multi-block) largest-gap heuristic.
    LargestGap,
    /// `"s-shape"`: traversal, in Roodbergen & de Koster's multi-block form.
    SShape,
    /// `"location-order"`: sorted by aisle, then position.
    LocationOrder,
    /// `"combined"`: Roodbergen & de Koster's combined heuristic.
    Combined,
}

impl Strategy {
    /// All strategies, in a fixed order.
    pub const ALL: [Strategy; 5] = [
        Strategy::Optimal,
        Strategy::LargestGap,
        Strategy::SShape,
        Strategy::LocationOrder,
        Strategy::Combined,
    ];

    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Optimal => "optimal",
            Strategy::LargestGap => "largest-gap",
            Strategy::SShape => "s-shape",
            Strategy::LocationOrder => "location-order",
            Strategy::Combined => "combined",
        }
    }
}

impl FromStr for Strategy {
    type Err = PickPathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Strategy::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| PickPathError::UnknownStrategy(s.to_owned()))
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A route from the depot through every pick and back to the depot.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// Pick indices in visiting order; each pick appears once (stops sharing a bin are
    /// consecutive).
    pub order: Vec<usize>,
    /// Walking distance in metres: shortest walks depot -> first stop -> ... -> last stop ->
    /// depot, the same measure for every strategy (the distance matrix's tour length).
    pub distance_m: f64,
}

/// Routes `picks` in `layout` with `strategy`.
pub fn route(
    layout: &Layout,
    picks: &[PickPoint],
    strategy: Strategy,
) -> Result<Route, PickPathError> {
    layout.validate()?;
    if picks.len() > STOPS_MAX {
        return Err(PickPathError::TooManyStops {
            stops: picks.len(),
            stops_max: STOPS_MAX,
        });
    }
    layout.check_points(picks)?;
    let grid = Grid::new(layout);
    let spots: Vec<Spot> = picks.iter().map(|p| grid.spot(p)).collect();
    Ok(route_spots(&grid, picks, &spots, strategy))
}

/// Routing once layout and picks are checked and located.
fn route_spots(grid: &Grid, picks: &[PickPoint], spots: &[Spot], strategy: Strategy) -> Route {
    let order = match strategy {
        Strategy::Optimal => strategies::optimal(grid, spots),
        Strategy::LargestGap => strategies::largest_gap(grid, spots),
        Strategy::SShape => strategies::s_shape(grid.blocks, spots),
        Strategy::LocationOrder => strategies::location_order(picks),
        Strategy::Combined => strategies::combined(grid, spots),
    };
    debug_assert_eq!(order.len(), picks.len());
    let distance_m = grid.tour_length_m(spots, &order);
    Route { order, distance_m }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_strings_round_trip() {
        for s in Strategy::ALL {
            assert_eq!(s.as_str().parse::<Strategy>().unwrap(), s);
            assert_eq!(s.to_string(), s.as_str());
        }
        let e = "fastest".parse::<Strategy>().unwrap_err();
        assert!(e.to_string().contains("fastest"));
    }

    #[test]
    fn empty_pick_list_is_an_empty_route() {
        let layout = Layout::new(3, 5).unwrap();
        for s in Strategy::ALL {
            let r = route(&layout, &[], s).unwrap();
            assert!(r.order.is_empty());
            assert_eq!(r.distance_m, 0.0);
        }
    }

    #[test]
    fn route_rejects_bad_input() {
        let mut layout = Layout::new(3, 5).unwrap();
        assert!(matches!(
            route(&layout, &[PickPoint::new(4, 1)], Strategy::Optimal),
            Err(PickPathError::BinOutsideGrid { index: 0, .. })
        ));
        layout.aisle_width_m = -2.0;
        assert!(route(&layout, &[], Strategy::Optimal).is_err());
    }
}
