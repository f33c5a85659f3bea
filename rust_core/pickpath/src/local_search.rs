//! Local search on a distance matrix: 2-opt and Or-opt (moving runs of 1 to 3 stops, either
//! way round), until no move shortens the tour or `passes_max` passes. `optimal` uses it for
//! layouts with more blocks than the exact programme handles: the routes of S-shape,
//! largest-gap, combined and location-order are each improved and the shortest is kept.
//! Public so tests and benchmarks can measure its gap against the exact optimum.

use super::distance::{DistanceMatrix, Grid, Spot};
use super::error::PickPathError;
use super::layout::{Layout, PickPoint};
use super::{strategies, Route, STOPS_MAX};

/// Default limit on improvement passes over the whole tour.
pub const PASSES_MAX: usize = 200;

/// Improvement smaller than this (metres) is not a move: guards against float cycling.
const EPSILON_M: f64 = 1e-9;

/// The local-search route `optimal` falls back to, for any layout (also ones the exact
/// programme handles, to measure the gap).
pub fn local_search_route(
    layout: &Layout,
    picks: &[PickPoint],
    passes_max: usize,
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
    let order = from_heuristics(&grid, &spots, passes_max);
    let distance_m = grid.tour_length_m(&spots, &order);
    Ok(Route { order, distance_m })
}

/// Improves each heuristic's order and keeps the shortest.
pub(crate) fn from_heuristics(grid: &Grid, spots: &[Spot], passes_max: usize) -> Vec<usize> {
    let matrix = grid.matrix(spots);
    let picks_order: Vec<usize> = {
        let mut o: Vec<usize> = (0..spots.len()).collect();
        o.sort_by(|&a, &b| {
            (spots[a].aisle, spots[a].block)
                .cmp(&(spots[b].aisle, spots[b].block))
                .then(spots[a].y.total_cmp(&spots[b].y))
                .then(a.cmp(&b))
        });
        o
    };
    [
        strategies::s_shape(grid.blocks, spots),
        strategies::largest_gap(grid, spots),
        strategies::combined(grid, spots),
        picks_order,
    ]
    .into_iter()
    .map(|start| improve(&matrix, start, passes_max))
    .map(|o| (matrix.tour_length_m(&o), o))
    .min_by(|a, b| a.0.total_cmp(&b.0))
    .map(|(_, o)| o)
    .unwrap_or_default()
}

/// Improves `order` (pick indices; matrix point `i + 1` is pick `i`) and returns it.
pub fn improve(matrix: &DistanceMatrix, order: Vec<usize>, passes_max: usize) -> Vec<usize> {
    // Tour of matrix points with the depot (0) first.
    let mut tour: Vec<usize> = std::iter::once(0)
        .chain(order.iter().map(|i| i + 1))
        .collect();
    let n = tour.len();
    if n < 4 {
        return order;
    }
    let d = |a: usize, b: usize| matrix.get(a, b);
    for _ in 0..passes_max {
        let mut improved = false;
        // 2-opt: reverse tour[i..=j].
        for i in 1..n - 1 {
            for j in i + 1..n {
                let (a, b) = (tour[i - 1], tour[i]);
                let (c, e) = (tour[j], tour[(j + 1) % n]);
                let delta = d(a, c) + d(b, e) - d(a, b) - d(c, e);
                if delta < -EPSILON_M {
                    tour[i..=j].reverse();
                    improved = true;
                }
            }
        }
        // Or-opt: move tour[i..i+len] between tour[p] and tour[p+1], possibly reversed.
        for len in 1..=3usize {
            let mut i = 1;
            while i + len <= n {
                if let Some(new_tour) = or_move(&tour, i, len, &d) {
                    tour = new_tour;
                    improved = true;
                }
                i += 1;
            }
        }
        if !improved {
            break;
        }
    }
    tour[1..].iter().map(|p| p - 1).collect()
}

/// The best improving relocation of the run `tour[i..i + len]`, if any.
fn or_move(
    tour: &[usize],
    i: usize,
    len: usize,
    d: &impl Fn(usize, usize) -> f64,
) -> Option<Vec<usize>> {
    let n = tour.len();
    let prev = tour[i - 1];
    let next = tour[(i + len) % n];
    let (first, last) = (tour[i], tour[i + len - 1]);
    let removed = d(prev, first) + d(last, next) - d(prev, next);
    let mut best: Option<(f64, usize, bool)> = None;
    for p in 0..n {
        // Insert between tour[p] and tour[p + 1]; skip positions inside or next to the run.
        if p + 1 >= i && p < i + len {
            continue;
        }
        let (a, b) = (tour[p], tour[(p + 1) % n]);
        for reversed in [false, true] {
            let (x, y) = if reversed {
                (last, first)
            } else {
                (first, last)
            };
            let added = d(a, x) + d(y, b) - d(a, b);
            let delta = added - removed;
            if delta < -EPSILON_M && best.is_none_or(|(bd, _, _)| delta < bd) {
                best = Some((delta, p, reversed));
            }
        }
    }
    let (_, p, reversed) = best?;
    let mut run: Vec<usize> = tour[i..i + len].to_vec();
    if reversed {
        run.reverse();
    }
    let mut rest: Vec<usize> = tour[..i].iter().chain(&tour[i + len..]).copied().collect();
    let at = if p < i { p + 1 } else { p + 1 - len };
    rest.splice(at..at, run);
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_matrix(xs: &[f64]) -> DistanceMatrix {
        let size = xs.len();
        let mut metres = vec![0.0; size * size];
        for i in 0..size {
            for j in 0..size {
                metres[i * size + j] = (xs[i] - xs[j]).abs();
            }
        }
        DistanceMatrix { size, metres }
    }

    #[test]
    fn untangles_a_line() {
        // Depot at 0, stops on a line; the optimum is out and back: 2 * 9.
        let m = line_matrix(&[0.0, 5.0, 1.0, 9.0, 3.0, 7.0]);
        let order = improve(&m, vec![0, 1, 2, 3, 4], PASSES_MAX);
        assert!((m.tour_length_m(&order) - 18.0).abs() < 1e-9, "{order:?}");
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
    }
}
