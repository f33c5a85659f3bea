//! The sweep: a shortest path through the state tables, column by column, then backtracking
//! to the chosen configuration of every segment and every cross-aisle edge.

use super::columns::Columns;
use super::states::{StateTable, COPIES, NONE, SEGMENT_CONFIGS};

/// What was chosen at one step of the sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Segment `block` of column `col` uses configuration `config` (a `Segment` as u8).
    Vertical {
        col: usize,
        block: usize,
        config: u8,
    },
    /// Cross aisle `cross` carries `copies` edges from column `col` to `col + 1`.
    Horizontal {
        col: usize,
        cross: usize,
        copies: u8,
    },
}

/// The optimum: tour length in metres and the choices that realise it.
pub(crate) struct Solution {
    pub length_m: f64,
    pub steps: Vec<Step>,
}

/// Runs the programme over `cols` with `table` (whose vertex count is blocks + 1).
/// Returns `None` only if no tour exists, which cannot happen for valid input.
pub(crate) fn sweep(table: &StateTable, cols: &Columns) -> Option<Solution> {
    let states = table.states;
    let crosses = table.vertices;
    let blocks = crosses - 1;
    let inf = f64::INFINITY;
    let mut cost = vec![inf; states];
    let mut next = vec![inf; states];
    cost[table.empty as usize] = 0.0;
    // parents[step * states + s] = (previous state << 8) | choice.
    let mut parents: Vec<u32> = Vec::new();
    let mut kinds: Vec<Step> = Vec::new();

    let columns = &cols.columns;
    for (j, col) in columns.iter().enumerate() {
        if col.has_aisle {
            for (k, seg) in col.segments.iter().enumerate() {
                let trans =
                    &table.vertical[k * states * SEGMENT_CONFIGS..][..states * SEGMENT_CONFIGS];
                relax(&cost, &mut next, &mut parents, trans, &seg.costs, None);
                std::mem::swap(&mut cost, &mut next);
                kinds.push(Step::Vertical {
                    col: j,
                    block: k,
                    config: 0,
                });
            }
        }
        let dx = columns.get(j + 1).map(|c| c.x - col.x);
        for k in 0..crosses {
            let copy_costs = match dx {
                Some(dx) => [0.0, dx, 2.0 * dx],
                None => [0.0, inf, inf],
            };
            let front_guard = (j == cols.depot && k == 0).then_some(&table.front_is_zero[..]);
            let trans = &table.horizontal[k * states * COPIES..][..states * COPIES];
            relax(
                &cost,
                &mut next,
                &mut parents,
                trans,
                &copy_costs,
                front_guard,
            );
            std::mem::swap(&mut cost, &mut next);
            kinds.push(Step::Horizontal {
                col: j,
                cross: k,
                copies: 0,
            });
        }
    }
    debug_assert_eq!(blocks + 1, crosses);
    let length_m = cost[table.closed as usize];
    if !length_m.is_finite() {
        return None;
    }
    // Backtrack from the closed state.
    let mut state = table.closed as usize;
    for (i, kind) in kinds.iter_mut().enumerate().rev() {
        let p = parents[i * states + state];
        debug_assert_ne!(p, u32::MAX);
        let choice = (p & 0xff) as u8;
        state = (p >> 8) as usize;
        match kind {
            Step::Vertical { config, .. } => *config = choice,
            Step::Horizontal { copies, .. } => *copies = choice,
        }
    }
    debug_assert_eq!(state, table.empty as usize);
    Some(Solution {
        length_m,
        steps: kinds,
    })
}

/// One relaxation step: every reached state times every choice. `guard`, when given, forbids
/// choice 0 (no edge) from states where it is true: the depot's vertex must be on the tour.
fn relax(
    cost: &[f64],
    next: &mut [f64],
    parents: &mut Vec<u32>,
    trans: &[u16],
    choice_costs: &[f64],
    guard: Option<&[bool]>,
) {
    let n = choice_costs.len();
    let states = cost.len();
    next.fill(f64::INFINITY);
    let base = parents.len();
    parents.resize(base + states, u32::MAX);
    let par = &mut parents[base..];
    for s in 0..states {
        let c = cost[s];
        if c == f64::INFINITY {
            continue;
        }
        let row = &trans[s * n..][..n];
        for (ch, (&t, &add)) in row.iter().zip(choice_costs).enumerate() {
            if t == NONE || add == f64::INFINITY {
                continue;
            }
            if ch == 0 && guard.is_some_and(|g| g[s]) {
                continue;
            }
            let nc = c + add;
            let t = t as usize;
            if nc < next[t] {
                next[t] = nc;
                par[t] = ((s as u32) << 8) | ch as u32;
            }
        }
    }
}
