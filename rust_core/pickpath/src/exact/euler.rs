//! From the chosen edge multiset to a visiting order: build the multigraph, walk an Euler
//! circuit from the depot (Hierholzer), and list picks in order of first visit.

use super::columns::Columns;
use super::dp::Step;
use super::states::Segment;

/// Visiting order of the picks along an Euler circuit of the chosen edges, starting at the
/// depot. `crosses` is blocks + 1.
pub(crate) fn visiting_order(cols: &Columns, steps: &[Step], crosses: usize) -> Vec<usize> {
    let columns = &cols.columns;
    let cross_node = |col: usize, k: usize| col * crosses + k;
    // Pick nodes after the cross-aisle nodes: first node id of (col, block).
    let mut first_pick_node = vec![vec![0usize; crosses - 1]; columns.len()];
    let mut node_stops: Vec<&[usize]> = Vec::new();
    let mut nodes = columns.len() * crosses;
    for (j, col) in columns.iter().enumerate() {
        for (k, seg) in col.segments.iter().enumerate() {
            first_pick_node[j][k] = nodes;
            nodes += seg.ys.len();
        }
    }
    node_stops.resize(nodes, &[]);
    for (j, col) in columns.iter().enumerate() {
        for (k, seg) in col.segments.iter().enumerate() {
            for (i, stops) in seg.stops.iter().enumerate() {
                node_stops[first_pick_node[j][k] + i] = stops;
            }
        }
    }

    let mut adj: Vec<Vec<(usize, usize)>> = vec![Vec::new(); nodes];
    let mut edges = 0usize;
    let mut add = |a: usize, b: usize, copies: u8, adj: &mut Vec<Vec<(usize, usize)>>| {
        for _ in 0..copies {
            adj[a].push((edges, b));
            adj[b].push((edges, a));
            edges += 1;
        }
    };
    for step in steps {
        match *step {
            Step::Horizontal { col, cross, copies } => {
                if copies > 0 {
                    add(
                        cross_node(col, cross),
                        cross_node(col + 1, cross),
                        copies,
                        &mut adj,
                    );
                }
            }
            Step::Vertical { col, block, config } => {
                let seg = &columns[col].segments[block];
                let picks = seg.ys.len();
                // Path: low cross node, pick nodes ascending, high cross node.
                let path: Vec<usize> = std::iter::once(cross_node(col, block))
                    .chain((0..picks).map(|i| first_pick_node[col][block] + i))
                    .chain(std::iter::once(cross_node(col, block + 1)))
                    .collect();
                let edge_count = path.len() - 1;
                // copies[e] for edge e between path[e] and path[e + 1].
                let copies: Vec<u8> = (0..edge_count)
                    .map(|e| match config {
                        c if c == Segment::Traverse as u8 => 1,
                        c if c == Segment::TraverseTwice as u8 => 2,
                        c if c == Segment::FromLow as u8 => 2 * u8::from(e < picks),
                        c if c == Segment::FromHigh as u8 => 2 * u8::from(e >= 1),
                        c if c == Segment::Gap as u8 => 2 * u8::from(e != seg.gap_after + 1),
                        _ => 0,
                    })
                    .collect();
                for (e, &c) in copies.iter().enumerate() {
                    if c > 0 {
                        add(path[e], path[e + 1], c, &mut adj);
                    }
                }
            }
        }
    }

    // Hierholzer, iterative; first visits of pick nodes in circuit order.
    let start = cross_node(cols.depot, 0);
    let mut used = vec![false; edges];
    let mut next_edge = vec![0usize; nodes];
    let mut stack = vec![start];
    let mut circuit = Vec::with_capacity(edges + 1);
    while let Some(&u) = stack.last() {
        let list = &adj[u];
        let mut p = next_edge[u];
        while p < list.len() && used[list[p].0] {
            p += 1;
        }
        next_edge[u] = p;
        if p < list.len() {
            let (e, w) = list[p];
            used[e] = true;
            stack.push(w);
        } else {
            circuit.push(u);
            stack.pop();
        }
    }
    let mut seen = vec![false; nodes];
    let mut order = Vec::new();
    for &u in circuit.iter().rev() {
        if !seen[u] {
            seen[u] = true;
            order.extend_from_slice(node_stops[u]);
        }
    }
    order
}
