//! Largest-gap routing, in the multi-block form of Roodbergen & de Koster (2001). With one
//! block it is the classic heuristic: traverse the first and last aisles with picks; every
//! other aisle is entered from the back and from the front up to its largest gap (the
//! largest distance between adjacent picks, or between a cross aisle and its nearest pick),
//! which is never walked.
//!
//! Multi-block: walk up the leftmost pick aisle to the farthest block with picks; traverse
//! its leftmost sub-aisle with picks (enter and return if it is the only one). Then for each
//! block towards the depot, standing on its back cross aisle: pick the sub-aisle with picks
//! farthest from here (of the leftmost and rightmost) as the last one; walk the back cross
//! aisle towards it, entering each sub-aisle passed up to its largest gap; traverse the last
//! sub-aisle to the front; walk back along the front cross aisle picking what is left in
//! each sub-aisle by entering and returning.

use super::picks_by_block::{up_the_left_pick_aisle, PicksByBlock};
use crate::distance::{Grid, Spot};

/// Visiting order (pick indices) of the multi-block largest-gap heuristic.
pub(crate) fn largest_gap(grid: &Grid, spots: &[Spot]) -> Vec<usize> {
    let mut rem = PicksByBlock::new(grid.blocks, spots);
    let mut out = Vec::with_capacity(spots.len());
    let Some((_, far)) = up_the_left_pick_aisle(&mut rem, &mut out) else {
        return out;
    };
    let mut cur = rem.aisles(far)[0];
    let only = rem.aisle_count(far) == 1;
    out.extend(rem.take(far, cur, true));
    let top = if only { far } else { far + 1 };
    for k in (0..top).rev() {
        let aisles = rem.aisles(k);
        if aisles.is_empty() {
            continue;
        }
        let (l, r) = (aisles[0], aisles[aisles.len() - 1]);
        let last = if cur.abs_diff(l) > cur.abs_diff(r) {
            l
        } else {
            r
        };
        let mut others: Vec<u32> = aisles.into_iter().filter(|&a| a != last).collect();
        if others.first().is_some_and(|&a| a > last) {
            others.reverse(); // walk right to left towards `last`
        }
        let (front_y, back_y) = (grid.cross_y[k], grid.cross_y[k + 1]);
        for a in others {
            let count = picks_above_largest_gap(rem.peek(k, a), front_y, back_y);
            out.extend(rem.take_from_back(k, a, count));
        }
        out.extend(rem.take(k, last, false));
        cur = last;
        let mut left_over = rem.aisles(k);
        if left_over.first().is_some_and(|&a| a < last) {
            left_over.reverse(); // walk right to left along the front
        }
        for a in left_over {
            out.extend(rem.take(k, a, true));
            cur = a;
        }
    }
    out
}

/// How many of `picks` (ascending `y`, non-empty) lie beyond the sub-aisle's largest gap,
/// i.e. are picked from the back. Gaps: back cross aisle to the back-most pick, between
/// adjacent picks, front-most pick to the front cross aisle; the first largest one from the
/// back wins.
fn picks_above_largest_gap(picks: &[(f64, usize)], front_y: f64, back_y: f64) -> usize {
    let n = picks.len();
    let mut best_gap = back_y - picks[n - 1].0;
    let mut best_count = 0;
    for i in (0..n).rev() {
        let below = if i == 0 { front_y } else { picks[i - 1].0 };
        let gap = picks[i].0 - below;
        if gap > best_gap {
            best_gap = gap;
            best_count = n - i;
        }
    }
    best_count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_split() {
        // Aisle 0..12: picks at 2, 3, 10. Gaps from back: 2, 7, 1, 2 -> the 7 between 3 and 10.
        let picks = [(2.0, 0), (3.0, 1), (10.0, 2)];
        assert_eq!(picks_above_largest_gap(&picks, 0.0, 12.0), 1);
        // Largest gap at the back: nothing from the back.
        assert_eq!(picks_above_largest_gap(&[(1.0, 0)], 0.0, 12.0), 0);
        // Largest gap at the front: everything from the back.
        assert_eq!(picks_above_largest_gap(&[(11.0, 0)], 0.0, 12.0), 1);
    }
}
