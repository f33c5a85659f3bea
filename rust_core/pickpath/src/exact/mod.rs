//! Exact routing: a dynamic programme over the aisles, left to right.
//!
//! For a single block this is Ratliff & Rosenthal's (1983) algorithm: the classes of partial
//! tours at each aisle, 6 ways to walk an aisle, 5 ways to connect to the next one; linear in
//! the number of aisles. For several blocks it is the same sweep with one boundary vertex per
//! cross aisle (Roodbergen & de Koster's 2001 extension, generalised from two blocks to up to
//! `VERTICES_MAX - 1` blocks): a segment configuration per block and a copy count per cross
//! aisle; the states track degree parity and connectivity of all cross-aisle vertices. The
//! result is a shortest closed walk through the depot and all picks in the aisle graph, so
//! it is exactly the optimum of the travelling-salesman problem on the walking-distance
//! matrix. Cost: O(aisles x blocks x states), states depending only on the block count.

mod columns;
mod dp;
mod euler;
mod states;

pub(crate) use states::VERTICES_MAX;

use crate::distance::{Grid, Spot};
use columns::Columns;
use states::StateTable;

/// An exact route: visiting order and the programme's optimum length in metres.
pub(crate) struct ExactRoute {
    pub order: Vec<usize>,
    pub length_m: f64,
}

/// Whether the exact programme handles this many blocks.
pub(crate) fn supports(blocks: usize) -> bool {
    blocks < VERTICES_MAX
}

/// The exact optimum for `spots` (non-empty) on `grid`, or `None` when the layout has more
/// blocks than the programme handles.
pub(crate) fn solve(grid: &Grid, spots: &[Spot]) -> Option<ExactRoute> {
    if !supports(grid.blocks) {
        return None;
    }
    let table = StateTable::get(grid.blocks + 1);
    let cols = Columns::build(grid, spots);
    let solution = dp::sweep(table, &cols)?;
    let order = euler::visiting_order(&cols, &solution.steps, grid.blocks + 1);
    Some(ExactRoute {
        order,
        length_m: solution.length_m,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{Layout, PickPoint};

    #[test]
    #[ignore = "prints state counts and build times for every supported block count"]
    fn state_counts_per_block_count() {
        for v in 2..=VERTICES_MAX {
            let t0 = std::time::Instant::now();
            let t = StateTable::get(v);
            eprintln!(
                "cross aisles {v}: {} states, built in {:?}",
                t.states,
                t0.elapsed()
            );
        }
    }

    #[test]
    fn one_pick_is_there_and_back() {
        let layout = Layout::new(5, 10).unwrap();
        let grid = Grid::new(&layout);
        let spots = [grid.spot(&PickPoint::new(3, 4))];
        let r = solve(&grid, &spots).unwrap();
        assert_eq!(r.order, vec![0]);
        let d = grid.distance_m(&grid.depot(), &spots[0]);
        assert!(
            (r.length_m - 2.0 * d).abs() < 1e-9,
            "{} vs {}",
            r.length_m,
            2.0 * d
        );
    }
}
