//! The state space of the exact aisle-by-aisle dynamic programme and its transition tables.
//!
//! Ratliff & Rosenthal (1983) sweep a single-block warehouse from left to right. After the
//! vertical edges of aisle `j` are chosen, what matters for the rest of the tour is, for the
//! two boundary vertices (front and back cross aisle at aisle `j`): is its degree zero, even
//! or odd, and which boundary vertices share a connected component. With two boundary
//! vertices that gives their 7 equivalence classes (plus the empty start): (U,U,1C),
//! (E,0,1C), (0,E,1C), (E,E,1C), (E,E,2C), (0,0,0C) and (0,0,1C), the last one meaning the
//! tour is already closed. Roodbergen & de Koster extended this to two blocks (three
//! boundary vertices). This module builds the same classes for any number of cross aisles
//! `V = blocks + 1`: a state is the degree class of each of the `V` boundary vertices, the
//! partition of the non-zero ones into components, and a "closed" flag. States and the
//! transitions between them are enumerated once per `V` and cached.
//!
//! Transitions:
//! * vertical, per block segment `k` (between cross aisles `k` and `k + 1` of one aisle):
//!   one of [`SEGMENT_CONFIGS`] (none, traverse once, traverse twice, in-and-out from the
//!   front, from the back, from both leaving the largest gap);
//! * horizontal, per cross aisle `k`: 0, 1 or 2 copies of the edge to the next aisle; the
//!   old boundary vertex `k` is then final (its degree must be even) and the new one takes its
//!   place. A component left without boundary vertex is closed: legal only if it is the only
//!   one, and then nothing may be added any more.

use rustc_hash::FxHashMap;
use std::sync::OnceLock;

/// Most boundary vertices (cross aisles) the exact programme handles: 6, i.e. 5 blocks
/// (3033 states; 7 vertices would need 16769 and ~10x the time per aisle).
pub(crate) const VERTICES_MAX: usize = 6;
/// Number of segment configurations.
pub(crate) const SEGMENT_CONFIGS: usize = 6;
/// Horizontal copies: 0, 1 or 2.
pub(crate) const COPIES: usize = 3;
/// "No such transition" in the tables.
pub(crate) const NONE: u16 = u16::MAX;

/// How the edges of one aisle segment (between two cross aisles) are used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Segment {
    /// Not walked.
    Skip = 0,
    /// Walked once end to end (enter at one cross aisle, leave at the other).
    Traverse = 1,
    /// Walked twice end to end.
    TraverseTwice = 2,
    /// From the lower cross aisle up to the farthest pick and back.
    FromLow = 3,
    /// From the upper cross aisle down to the nearest pick and back.
    FromHigh = 4,
    /// From both cross aisles, leaving the largest gap between adjacent picks unwalked.
    Gap = 5,
}

impl Segment {
    pub const ALL: [Segment; SEGMENT_CONFIGS] = [
        Segment::Skip,
        Segment::Traverse,
        Segment::TraverseTwice,
        Segment::FromLow,
        Segment::FromHigh,
        Segment::Gap,
    ];
}

/// Degree classes.
const ZERO: u8 = 0;
const EVEN: u8 = 1;
const ODD: u8 = 2;

/// Adds `copies` edge ends to a degree class.
fn add_degree(class: u8, copies: u8) -> u8 {
    match (class, copies % 2) {
        (_, _) if copies == 0 => class,
        (ZERO, 0) | (EVEN, 0) | (ODD, 1) => EVEN,
        _ => ODD,
    }
}

/// A state before interning: degree class and component label per boundary vertex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Raw {
    deg: [u8; VERTICES_MAX],
    label: [u8; VERTICES_MAX],
    closed: bool,
}

impl Raw {
    fn empty() -> Raw {
        Raw {
            deg: [ZERO; VERTICES_MAX],
            label: [0; VERTICES_MAX],
            closed: false,
        }
    }

    /// Relabels components in order of first appearance; zero-degree vertices get label 0.
    fn canonical(mut self, v: usize) -> Raw {
        let mut map = [u8::MAX; 256];
        let mut next = 0u8;
        for i in 0..v {
            if self.deg[i] == ZERO {
                self.label[i] = 0;
            } else {
                let l = self.label[i] as usize;
                if map[l] == u8::MAX {
                    map[l] = next;
                    next += 1;
                }
                self.label[i] = map[l];
            }
        }
        self
    }

    /// Adds `copies` edge ends at vertex `i`, starting a new component if it had none.
    fn touch(&mut self, i: usize, copies: u8) {
        if self.deg[i] == ZERO {
            self.label[i] = 100 + i as u8; // fresh, canonical labels are < VERTICES_MAX
        }
        self.deg[i] = add_degree(self.deg[i], copies);
    }

    fn merge(&mut self, a: usize, b: usize, v: usize) {
        let (keep, gone) = (self.label[a], self.label[b]);
        for i in 0..v {
            if self.deg[i] != ZERO && self.label[i] == gone {
                self.label[i] = keep;
            }
        }
    }

    fn any_nonzero(&self, v: usize) -> bool {
        self.deg[..v].iter().any(|&d| d != ZERO)
    }

    fn segment(mut self, k: usize, config: Segment, v: usize) -> Option<Raw> {
        if config == Segment::Skip {
            return Some(self);
        }
        if self.closed {
            return None;
        }
        match config {
            Segment::Skip => {}
            Segment::Traverse | Segment::TraverseTwice => {
                let copies = if config == Segment::Traverse { 1 } else { 2 };
                self.touch(k, copies);
                self.touch(k + 1, copies);
                self.merge(k, k + 1, v);
            }
            Segment::FromLow => self.touch(k, 2),
            Segment::FromHigh => self.touch(k + 1, 2),
            Segment::Gap => {
                self.touch(k, 2);
                self.touch(k + 1, 2);
            }
        }
        Some(self.canonical(v))
    }

    fn horizontal(mut self, k: usize, copies: u8, v: usize) -> Option<Raw> {
        let d = self.deg[k];
        // The old vertex k is final now: its degree must be even.
        let parity_ok = if d == ODD { copies == 1 } else { copies != 1 };
        if !parity_ok {
            return None;
        }
        if self.closed {
            return (copies == 0).then_some(self);
        }
        if copies > 0 {
            if d == ZERO {
                self.label[k] = 100 + k as u8;
            }
            self.deg[k] = if copies == 1 { ODD } else { EVEN };
            return Some(self.canonical(v));
        }
        if d == ZERO {
            return Some(self);
        }
        let label = self.label[k];
        self.deg[k] = ZERO;
        let still_open = (0..v).any(|i| self.deg[i] != ZERO && self.label[i] == label);
        if still_open {
            return Some(self.canonical(v));
        }
        // Its component closes: only legal if nothing else is open.
        if self.any_nonzero(v) {
            return None;
        }
        let mut closed = Raw::empty();
        closed.closed = true;
        Some(closed)
    }
}

/// Interned states of one `V` and their transition tables.
pub(crate) struct StateTable {
    /// Boundary vertices (cross aisles).
    pub vertices: usize,
    /// Number of states.
    pub states: usize,
    /// The start: no edge chosen yet.
    pub empty: u16,
    /// The end: one closed tour.
    pub closed: u16,
    /// `vertical[(k * states + s) * SEGMENT_CONFIGS + config]`: next state or [`NONE`].
    pub vertical: Vec<u16>,
    /// `horizontal[(k * states + s) * COPIES + copies]`: next state or [`NONE`].
    pub horizontal: Vec<u16>,
    /// Whether the front boundary vertex (the depot's cross aisle) has degree zero.
    pub front_is_zero: Vec<bool>,
}

impl StateTable {
    fn build(v: usize) -> StateTable {
        assert!((2..=VERTICES_MAX).contains(&v));
        let mut index: FxHashMap<Raw, u16> = FxHashMap::default();
        let mut raws: Vec<Raw> = Vec::new();
        let intern = |r: Raw, index: &mut FxHashMap<Raw, u16>, raws: &mut Vec<Raw>| -> u16 {
            *index.entry(r).or_insert_with(|| {
                raws.push(r);
                u16::try_from(raws.len() - 1).expect("state count fits u16")
            })
        };
        let empty = intern(Raw::empty(), &mut index, &mut raws);
        let mut closed_raw = Raw::empty();
        closed_raw.closed = true;
        let closed = intern(closed_raw, &mut index, &mut raws);
        // Breadth-first closure; transitions stored per state, flattened afterwards.
        let mut vert: Vec<Vec<u16>> = Vec::new();
        let mut horiz: Vec<Vec<u16>> = Vec::new();
        let mut s = 0;
        while s < raws.len() {
            let r = raws[s];
            let mut vs = vec![NONE; (v - 1) * SEGMENT_CONFIGS];
            for k in 0..v - 1 {
                for (c, &config) in Segment::ALL.iter().enumerate() {
                    if let Some(n) = r.segment(k, config, v) {
                        vs[k * SEGMENT_CONFIGS + c] = intern(n, &mut index, &mut raws);
                    }
                }
            }
            let mut hs = vec![NONE; v * COPIES];
            for k in 0..v {
                for copies in 0..COPIES as u8 {
                    if let Some(n) = r.horizontal(k, copies, v) {
                        hs[k * COPIES + copies as usize] = intern(n, &mut index, &mut raws);
                    }
                }
            }
            vert.push(vs);
            horiz.push(hs);
            s += 1;
        }
        let states = raws.len();
        let mut vertical = vec![NONE; (v - 1) * states * SEGMENT_CONFIGS];
        let mut horizontal = vec![NONE; v * states * COPIES];
        for s in 0..states {
            for k in 0..v - 1 {
                for c in 0..SEGMENT_CONFIGS {
                    vertical[(k * states + s) * SEGMENT_CONFIGS + c] =
                        vert[s][k * SEGMENT_CONFIGS + c];
                }
            }
            for k in 0..v {
                for c in 0..COPIES {
                    horizontal[(k * states + s) * COPIES + c] = horiz[s][k * COPIES + c];
                }
            }
        }
        StateTable {
            vertices: v,
            states,
            empty,
            closed,
            vertical,
            horizontal,
            front_is_zero: raws.iter().map(|r| r.deg[0] == ZERO).collect(),
        }
    }

    /// The cached table for `vertices` boundary vertices (`2..=VERTICES_MAX`).
    pub fn get(vertices: usize) -> &'static StateTable {
        static TABLES: [OnceLock<StateTable>; VERTICES_MAX + 1] =
            [const { OnceLock::new() }; VERTICES_MAX + 1];
        TABLES[vertices].get_or_init(|| StateTable::build(vertices))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_block_has_ratliff_rosenthal_classes() {
        // Exactly the 7 classes of Ratliff & Rosenthal: (0,0,0C) is "empty" and (0,0,1C)
        // "closed"; replacing the two horizontal edges one at a time adds none.
        let t = StateTable::get(2);
        assert_eq!(t.states, 7);
        assert_eq!(t.horizontal.len(), 2 * t.states * COPIES);
        // Three blocks (the 2-middle-cross-aisle warehouses): 113 classes.
        assert_eq!(StateTable::get(4).states, 113);
    }

    #[test]
    fn closing_alone_is_legal_twice_is_not() {
        let v = 2;
        let r = Raw::empty().segment(0, Segment::TraverseTwice, v).unwrap();
        // Closing the front vertex keeps the component open through the back vertex.
        let r = r.horizontal(0, 0, v).unwrap();
        assert!(!r.closed);
        let r = r.horizontal(1, 0, v).unwrap();
        assert!(r.closed);
        // Two components, closing one while the other is open: illegal.
        let two = Raw::empty().segment(0, Segment::Gap, v).unwrap();
        assert!(two.horizontal(0, 0, v).is_none());
        // Odd degree needs exactly one copy.
        let odd = Raw::empty().segment(0, Segment::Traverse, v).unwrap();
        assert!(odd.horizontal(0, 0, v).is_none());
        assert!(odd.horizontal(0, 2, v).is_none());
        assert!(odd.horizontal(0, 1, v).is_some());
    }
}
