//! Optimal routing: the exact aisle-by-aisle programme (see `exact`) for layouts of up to
//! `VERTICES_MAX - 1` blocks; beyond that, a stated local search: each heuristic's route
//! improved by 2-opt and Or-opt on the exact distance matrix, the shortest kept (see
//! `local_search`).

use crate::distance::{Grid, Spot};
use crate::exact;
use crate::local_search;

/// Visiting order of a shortest route (exact when the block count allows).
pub(crate) fn optimal(grid: &Grid, spots: &[Spot]) -> Vec<usize> {
    if spots.is_empty() {
        return Vec::new();
    }
    if let Some(r) = exact::solve(grid, spots) {
        if r.order.len() == spots.len() {
            debug_assert!(
                grid.tour_length_m(spots, &r.order) <= r.length_m + 1e-6 * (1.0 + r.length_m),
                "exact order longer than the programme's optimum"
            );
            return r.order;
        }
        debug_assert!(false, "exact route lost stops");
    }
    local_search::from_heuristics(grid, spots, local_search::PASSES_MAX)
}
