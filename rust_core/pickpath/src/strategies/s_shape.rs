//! S-shape (traversal) routing, in the multi-block form of Roodbergen & de Koster (2001),
//! "Routing methods for warehouses with multiple cross aisles", IJPR 39(9). With one block it
//! is the classic S-shape: every aisle with picks is traversed entirely, alternating
//! direction; with an odd count the last one is entered and left from the front.
//!
//! Multi-block: walk up the leftmost pick aisle to the farthest block with picks; there,
//! traverse the leftmost sub-aisle with picks (or enter and return if it is the only one);
//! then, block by block towards the depot, go to the nearer of the leftmost and rightmost
//! sub-aisles with picks, traverse sub-aisles one after another in S-shape, and finish the
//! block at its front cross aisle (the last sub-aisle is traversed if entered from the back,
//! else entered and left from the front).

use super::picks_by_block::{nearer_end, up_the_left_pick_aisle, PicksByBlock};
use crate::distance::Spot;

/// Visiting order (pick indices) of the multi-block S-shape heuristic.
pub(crate) fn s_shape(blocks: usize, spots: &[Spot]) -> Vec<usize> {
    let mut rem = PicksByBlock::new(blocks, spots);
    let mut out = Vec::with_capacity(spots.len());
    let Some((_, far)) = up_the_left_pick_aisle(&mut rem, &mut out) else {
        return out;
    };
    // Step 4: the leftmost sub-aisle with picks in the farthest block, entered from its front.
    let mut cur = rem.aisles(far)[0];
    let only = rem.aisle_count(far) == 1;
    out.extend(rem.take(far, cur, true));
    // Returned to the front (only sub-aisle): the farthest block is done. Else we stand at
    // its back. Either way the loop below starts at the back cross aisle of block `k`.
    let top = if only { far } else { far + 1 };
    for k in (0..top).rev() {
        let aisles = rem.aisles(k);
        if aisles.is_empty() {
            continue; // walk straight through this block
        }
        cur = nearer_end(&aisles, cur);
        out.extend(rem.take(k, cur, false));
        let mut at_back = false;
        while rem.aisle_count(k) > 1 {
            let aisles = rem.aisles(k);
            cur = if aisles[0] < cur {
                aisles[aisles.len() - 1]
            } else {
                aisles[0]
            };
            out.extend(rem.take(k, cur, !at_back));
            at_back = !at_back;
        }
        if let Some(&last) = rem.aisles(k).first() {
            cur = last;
            // From the back: traverse to the front. From the front: in and back out.
            out.extend(rem.take(k, cur, !at_back));
        }
    }
    out
}
