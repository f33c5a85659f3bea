//! The combined heuristic of Roodbergen & de Koster (2001): like S-shape it walks up the
//! leftmost pick aisle to the farthest block with picks and then works block by block
//! towards the depot, visiting the sub-aisles with picks of a block from the nearer end
//! (leftmost or rightmost) to the other; for each sub-aisle a small dynamic programme
//! chooses between traversing it entirely and entering and leaving it from the same side,
//! so that the block is left at its front cross aisle at the least vertical walking cost.

use super::picks_by_block::{nearer_end, up_the_left_pick_aisle, PicksByBlock};
use crate::distance::{Grid, Spot};

/// Visiting order (pick indices) of the combined heuristic.
pub(crate) fn combined(grid: &Grid, spots: &[Spot]) -> Vec<usize> {
    let mut rem = PicksByBlock::new(grid.blocks, spots);
    let mut out = Vec::with_capacity(spots.len());
    let Some((left, far)) = up_the_left_pick_aisle(&mut rem, &mut out) else {
        return out;
    };
    let mut cur = left;
    // Arriving at the farthest block by its front cross aisle; every later block by its back.
    let mut at_front = true;
    for k in (0..=far).rev() {
        let aisles = rem.aisles(k);
        if !aisles.is_empty() {
            let start = nearer_end(&aisles, cur);
            let mut order = aisles;
            if start != order[0] {
                order.reverse();
            }
            let entered_from_front = plan_block(grid, &rem, k, &order, at_front);
            for (&a, &from_front) in order.iter().zip(&entered_from_front) {
                out.extend(rem.take(k, a, from_front));
            }
            cur = order[order.len() - 1];
        }
        at_front = false;
    }
    out
}

/// The block's dynamic programme: states "at the front" / "at the back" after each sub-aisle
/// of `order`; moves: traverse (switch side, block length) or enter and return (stay, twice
/// the depth to the farthest pick from that side). Ends at the front. Returns, per sub-aisle,
/// whether it is entered from the front. Ties prefer traversing.
fn plan_block(
    grid: &Grid,
    rem: &PicksByBlock,
    k: usize,
    order: &[u32],
    start_front: bool,
) -> Vec<bool> {
    const FRONT: usize = 0;
    const BACK: usize = 1;
    let (front_y, back_y) = (grid.cross_y[k], grid.cross_y[k + 1]);
    let length = back_y - front_y;
    let mut cost = [f64::INFINITY; 2];
    cost[if start_front { FRONT } else { BACK }] = 0.0;
    // came_from[i][side] = side before sub-aisle i when ending at `side` after it.
    let mut came_from: Vec<[usize; 2]> = Vec::with_capacity(order.len());
    for &a in order {
        let picks = rem.peek(k, a);
        let return_front = 2.0 * (picks[picks.len() - 1].0 - front_y);
        let return_back = 2.0 * (back_y - picks[0].0);
        let mut next = [f64::INFINITY; 2];
        let mut from = [FRONT; 2];
        // End at the back: traverse from the front, or return from the back.
        let (t, r) = (cost[FRONT] + length, cost[BACK] + return_back);
        (next[BACK], from[BACK]) = if t <= r { (t, FRONT) } else { (r, BACK) };
        // End at the front: traverse from the back, or return from the front.
        let (t, r) = (cost[BACK] + length, cost[FRONT] + return_front);
        (next[FRONT], from[FRONT]) = if t <= r { (t, BACK) } else { (r, FRONT) };
        came_from.push(from);
        cost = next;
    }
    let mut side = FRONT;
    let mut entered_from_front = vec![false; order.len()];
    for i in (0..order.len()).rev() {
        let before = came_from[i][side];
        entered_from_front[i] = before == FRONT;
        side = before;
    }
    entered_from_front
}
