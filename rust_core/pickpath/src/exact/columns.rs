//! The columns the exact programme sweeps: the aisles between the leftmost and rightmost
//! required point (picks and depot), plus a virtual column (cross aisles only) when the depot
//! stands between two aisles; and, per aisle and block, the picks' distinct `y` values with
//! the cost of each segment configuration.

use super::states::{Segment, SEGMENT_CONFIGS};
use crate::distance::{Grid, Spot};

/// One block segment of one aisle.
#[derive(Clone, Debug, Default)]
pub(crate) struct SegmentPicks {
    /// Distinct pick `y` values, ascending, metres.
    pub ys: Vec<f64>,
    /// Pick indices at each `ys[i]`, ascending.
    pub stops: Vec<Vec<usize>>,
    /// Cost in metres of each [`Segment`] configuration (`INFINITY` when not allowed).
    pub costs: [f64; SEGMENT_CONFIGS],
    /// For [`Segment::Gap`]: the unwalked gap lies between `ys[gap_after]` and
    /// `ys[gap_after + 1]`.
    pub gap_after: usize,
}

/// One column of the sweep.
#[derive(Clone, Debug)]
pub(crate) struct Column {
    /// Metres across.
    pub x: f64,
    /// `false` for the depot's virtual column between two aisles (no aisle segments).
    pub has_aisle: bool,
    /// One entry per block (empty when `!has_aisle`).
    pub segments: Vec<SegmentPicks>,
}

/// The sweep's columns and the index of the depot's column.
pub(crate) struct Columns {
    pub columns: Vec<Column>,
    pub depot: usize,
}

impl Columns {
    pub fn build(grid: &Grid, spots: &[Spot]) -> Columns {
        let depot = grid.depot_aisle;
        let (mut lo, mut hi) = (depot.floor() as u32, depot.ceil() as u32);
        for s in spots {
            lo = lo.min(s.aisle);
            hi = hi.max(s.aisle);
        }
        let blocks = grid.blocks;
        let mut columns: Vec<Column> = (lo..=hi)
            .map(|a| Column {
                x: grid.x_of(f64::from(a)),
                has_aisle: true,
                segments: vec![SegmentPicks::default(); blocks],
            })
            .collect();
        let mut depot_col = (depot.floor() as u32 - lo) as usize;
        if depot.fract() != 0.0 {
            depot_col += 1;
            columns.insert(
                depot_col,
                Column {
                    x: grid.x_of(depot),
                    has_aisle: false,
                    segments: Vec::new(),
                },
            );
        }
        let virtual_col = (depot.fract() != 0.0).then_some(depot_col);
        let col_of = |aisle: u32| -> usize {
            let i = (aisle - lo) as usize;
            match virtual_col {
                Some(v) if i >= v => i + 1,
                _ => i,
            }
        };
        let mut order: Vec<usize> = (0..spots.len()).collect();
        order.sort_by(|&a, &b| spots[a].y.total_cmp(&spots[b].y).then(a.cmp(&b)));
        for i in order {
            let s = &spots[i];
            let seg = &mut columns[col_of(s.aisle)].segments[s.block as usize];
            if seg.ys.last() == Some(&s.y) {
                seg.stops.last_mut().expect("parallel to ys").push(i);
            } else {
                seg.ys.push(s.y);
                seg.stops.push(vec![i]);
            }
        }
        for col in &mut columns {
            for (k, seg) in col.segments.iter_mut().enumerate() {
                seg.price(grid.cross_y[k], grid.cross_y[k + 1]);
            }
        }
        Columns {
            columns,
            depot: depot_col,
        }
    }
}

impl SegmentPicks {
    /// Fills `costs` and `gap_after` for a segment from `low_y` to `high_y`.
    fn price(&mut self, low_y: f64, high_y: f64) {
        let length = high_y - low_y;
        let inf = f64::INFINITY;
        let mut costs = [inf; SEGMENT_CONFIGS];
        costs[Segment::Traverse as usize] = length;
        costs[Segment::TraverseTwice as usize] = 2.0 * length;
        if self.ys.is_empty() {
            costs[Segment::Skip as usize] = 0.0;
        } else {
            let (first, last) = (self.ys[0], self.ys[self.ys.len() - 1]);
            costs[Segment::FromLow as usize] = 2.0 * (last - low_y);
            costs[Segment::FromHigh as usize] = 2.0 * (high_y - first);
            if self.ys.len() >= 2 {
                let (mut best, mut after) = (f64::NEG_INFINITY, 0);
                for i in 0..self.ys.len() - 1 {
                    let gap = self.ys[i + 1] - self.ys[i];
                    if gap > best {
                        best = gap;
                        after = i;
                    }
                }
                costs[Segment::Gap as usize] = 2.0 * (length - best);
                self.gap_after = after;
            }
        }
        self.costs = costs;
    }
}
