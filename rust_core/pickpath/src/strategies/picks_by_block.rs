//! Picks still to visit, grouped by block and aisle: the bookkeeping the heuristics share.

use std::collections::BTreeMap;

use crate::distance::Spot;

/// Remaining picks: for each block (0 = front), aisle -> picks sorted by `y` ascending
/// (ties by pick index, so stops sharing a bin stay together and in input order).
pub(crate) struct PicksByBlock {
    blocks: Vec<BTreeMap<u32, Vec<(f64, usize)>>>,
}

impl PicksByBlock {
    pub fn new(blocks: usize, spots: &[Spot]) -> Self {
        let mut by_block: Vec<BTreeMap<u32, Vec<(f64, usize)>>> = vec![BTreeMap::new(); blocks];
        for (i, s) in spots.iter().enumerate() {
            by_block[s.block as usize]
                .entry(s.aisle)
                .or_default()
                .push((s.y, i));
        }
        for block in &mut by_block {
            for list in block.values_mut() {
                list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            }
        }
        PicksByBlock { blocks: by_block }
    }

    /// Leftmost aisle with any pick in any block.
    pub fn leftmost_aisle(&self) -> Option<u32> {
        self.blocks
            .iter()
            .filter_map(|b| b.keys().next().copied())
            .min()
    }

    /// Block farthest from the depot with any pick.
    pub fn farthest_block(&self) -> Option<usize> {
        self.blocks.iter().rposition(|b| !b.is_empty())
    }

    /// Aisles with picks left in `block`, ascending.
    pub fn aisles(&self, block: usize) -> Vec<u32> {
        self.blocks[block].keys().copied().collect()
    }

    /// Number of aisles with picks left in `block`.
    pub fn aisle_count(&self, block: usize) -> usize {
        self.blocks[block].len()
    }

    /// Picks left in `(block, aisle)`, ascending `y` (empty if none).
    pub fn peek(&self, block: usize, aisle: u32) -> &[(f64, usize)] {
        self.blocks[block]
            .get(&aisle)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Removes and returns all picks of `(block, aisle)`: front to back (ascending `y`) when
    /// `front_to_back`, else back to front. Stops sharing a bin keep input order either way.
    pub fn take(&mut self, block: usize, aisle: u32, front_to_back: bool) -> Vec<usize> {
        let list = self.blocks[block].remove(&aisle).unwrap_or_default();
        if front_to_back {
            list.into_iter().map(|(_, i)| i).collect()
        } else {
            back_to_front(list)
        }
    }

    /// Removes and returns the `count` back-most picks of `(block, aisle)`, back to front.
    pub fn take_from_back(&mut self, block: usize, aisle: u32, count: usize) -> Vec<usize> {
        let Some(list) = self.blocks[block].get_mut(&aisle) else {
            return Vec::new();
        };
        let split = list.len() - count.min(list.len());
        let back = list.split_off(split);
        if list.is_empty() {
            self.blocks[block].remove(&aisle);
        }
        back_to_front(back)
    }
}

/// Pick indices by descending `y`, ties (same bin) in ascending index order.
fn back_to_front(mut list: Vec<(f64, usize)>) -> Vec<usize> {
    list.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    list.into_iter().map(|(_, i)| i).collect()
}

/// Steps 1-3 shared by the multi-block heuristics of Roodbergen & de Koster (2001): find the
/// leftmost aisle with picks and the farthest block with picks, walk from the depot up that
/// aisle to the front cross aisle of the farthest block, picking everything on the way.
/// Returns `(left aisle, farthest block)`, or `None` when there are no picks.
pub(crate) fn up_the_left_pick_aisle(
    rem: &mut PicksByBlock,
    out: &mut Vec<usize>,
) -> Option<(u32, usize)> {
    let left = rem.leftmost_aisle()?;
    let far = rem.farthest_block()?;
    for k in 0..far {
        out.extend(rem.take(k, left, true));
    }
    Some((left, far))
}

/// The nearer (to `cur`) of the leftmost and rightmost of `aisles` (non-empty, ascending);
/// ties go left.
pub(crate) fn nearer_end(aisles: &[u32], cur: u32) -> u32 {
    let (l, r) = (aisles[0], aisles[aisles.len() - 1]);
    if cur.abs_diff(l) <= cur.abs_diff(r) {
        l
    } else {
        r
    }
}
