//! Exact travelling-salesman solvers on a distance matrix, for cross-checking small
//! instances: Held-Karp's dynamic programme over subsets (O(2^n n^2) time, O(2^n n) memory)
//! and brute force over permutations.

use super::distance::DistanceMatrix;
use super::error::PickPathError;
use super::Route;

/// Most stops Held-Karp accepts (2^16 x 16 table entries).
pub const HELD_KARP_STOPS_MAX: usize = 16;
/// Most stops brute force accepts (9! orders).
pub const BRUTE_FORCE_STOPS_MAX: usize = 9;

/// A shortest closed route from the depot (matrix point 0) through every stop, by Held-Karp.
pub fn held_karp(matrix: &DistanceMatrix) -> Result<Route, PickPathError> {
    let n = matrix.size.saturating_sub(1);
    if n > HELD_KARP_STOPS_MAX {
        return Err(PickPathError::TooManyStops {
            stops: n,
            stops_max: HELD_KARP_STOPS_MAX,
        });
    }
    if n == 0 {
        return Ok(Route {
            order: Vec::new(),
            distance_m: 0.0,
        });
    }
    let full = (1usize << n) - 1;
    let inf = f64::INFINITY;
    // best[mask * n + j]: shortest walk from the depot through `mask`, ending at stop j.
    let mut best = vec![inf; (full + 1) * n];
    let mut parent = vec![u8::MAX; (full + 1) * n];
    for j in 0..n {
        best[(1 << j) * n + j] = matrix.get(0, j + 1);
    }
    for mask in 1..=full {
        for j in 0..n {
            let here = best[mask * n + j];
            if mask & (1 << j) == 0 || here == inf {
                continue;
            }
            for k in 0..n {
                if mask & (1 << k) != 0 {
                    continue;
                }
                let next = mask | (1 << k);
                let c = here + matrix.get(j + 1, k + 1);
                if c < best[next * n + k] {
                    best[next * n + k] = c;
                    parent[next * n + k] = j as u8;
                }
            }
        }
    }
    let (mut last, mut distance_m) = (0, inf);
    for j in 0..n {
        let c = best[full * n + j] + matrix.get(j + 1, 0);
        if c < distance_m {
            distance_m = c;
            last = j;
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut mask = full;
    loop {
        order.push(last);
        let p = parent[mask * n + last];
        mask &= !(1 << last);
        if p == u8::MAX {
            break;
        }
        last = p as usize;
    }
    order.reverse();
    Ok(Route { order, distance_m })
}

/// A shortest closed route by trying every order (for tiny instances).
pub fn brute_force(matrix: &DistanceMatrix) -> Result<Route, PickPathError> {
    let n = matrix.size.saturating_sub(1);
    if n > BRUTE_FORCE_STOPS_MAX {
        return Err(PickPathError::TooManyStops {
            stops: n,
            stops_max: BRUTE_FORCE_STOPS_MAX,
        });
    }
    let mut perm: Vec<usize> = (0..n).collect();
    let mut best = Route {
        distance_m: matrix.tour_length_m(&perm),
        order: perm.clone(),
    };
    // Heap's algorithm, iterative.
    let mut c = vec![0usize; n];
    let mut i = 0;
    while i < n {
        if c[i] < i {
            if i % 2 == 0 {
                perm.swap(0, i);
            } else {
                perm.swap(c[i], i);
            }
            let d = matrix.tour_length_m(&perm);
            if d < best.distance_m {
                best = Route {
                    distance_m: d,
                    order: perm.clone(),
                };
            }
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> DistanceMatrix {
        // Depot and three corners of a unit square, Manhattan distances.
        let pts = [(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)];
        let size = pts.len();
        let mut metres = vec![0.0; size * size];
        for i in 0..size {
            for j in 0..size {
                let (a, b): ((f64, f64), (f64, f64)) = (pts[i], pts[j]);
                metres[i * size + j] = (a.0 - b.0).abs() + (a.1 - b.1).abs();
            }
        }
        DistanceMatrix { size, metres }
    }

    #[test]
    fn held_karp_matches_brute_force() {
        let m = square();
        let hk = held_karp(&m).unwrap();
        let bf = brute_force(&m).unwrap();
        assert_eq!(hk.distance_m, 4.0);
        assert_eq!(bf.distance_m, 4.0);
        assert!((m.tour_length_m(&hk.order) - hk.distance_m).abs() < 1e-12);
        let mut o = hk.order.clone();
        o.sort();
        assert_eq!(o, vec![0, 1, 2]);
    }

    #[test]
    fn limits() {
        let m = DistanceMatrix {
            size: 18,
            metres: vec![0.0; 18 * 18],
        };
        assert!(matches!(
            held_karp(&m),
            Err(PickPathError::TooManyStops { .. })
        ));
    }
}
