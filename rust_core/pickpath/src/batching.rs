//! Order batching: group small orders into pick lists (one cart, one walk) by Clarke & Wright's
//! savings method, variant (i) of de Koster, van der Poort & Wolters (1999).
//!
//! The saving of picking orders `i` and `j` together is `d(i) + d(j) - d(i + j)`, each `d`
//! the route length by the chosen strategy. Pairs are taken in decreasing order of saving
//! (only positive savings): two unbatched orders open a batch; an unbatched order joins the
//! other's batch; two batches merge; each only if the cart's capacity (units and orders)
//! holds. Orders left over are picked alone. Every batch is then routed as one pick list.
//! Cost: one route per pair of orders, so [`ORDERS_MAX`] bounds the input.

use super::distance::{Grid, Spot};
use super::error::PickPathError;
use super::layout::{Layout, PickPoint};
use super::{route_spots, Strategy, STOPS_MAX};

/// Most orders one batching call accepts (the method routes every pair).
pub const ORDERS_MAX: usize = 500;

/// Savings at or below this (metres) do not justify a merge.
const SAVING_M_MIN: f64 = 1e-9;

/// What one cart (one pick list) can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CartCapacity {
    /// Most units on one cart.
    pub units_max: u32,
    /// Most orders on one cart.
    pub orders_max: u32,
}

/// An order to pick: its id (e.g. a reservation's), its size in units and its stops.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    /// Caller's id, unique within a call.
    pub id: u64,
    /// Units the order puts on the cart.
    pub units: u32,
    /// The bins to visit for it.
    pub picks: Vec<PickPoint>,
}

/// One stop of a batch: which order and which of its picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchStop {
    /// The order's id.
    pub order_id: u64,
    /// Index into that order's `picks`.
    pub pick: usize,
}

/// One pick list: some orders, routed together.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Ids of the orders in the batch, in input order.
    pub order_ids: Vec<u64>,
    /// Units on the cart.
    pub units: u32,
    /// Stops in visiting order.
    pub stops: Vec<BatchStop>,
    /// Walking distance of the batch's route, metres.
    pub distance_m: f64,
}

/// The batches and the comparison with picking every order on its own.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchPlan {
    /// The pick lists, ordered by their first order's input position.
    pub batches: Vec<Batch>,
    /// Total walking distance of all batches, metres.
    pub distance_m: f64,
    /// Total walking distance with one route per order, metres.
    pub single_order_distance_m: f64,
}

/// Groups `orders` into batches within `capacity`, routing with `strategy`.
pub fn batch_orders(
    layout: &Layout,
    orders: &[Order],
    capacity: CartCapacity,
    strategy: Strategy,
) -> Result<BatchPlan, PickPathError> {
    check(layout, orders, capacity)?;
    let grid = Grid::new(layout);
    let spots: Vec<Vec<Spot>> = orders
        .iter()
        .map(|o| o.picks.iter().map(|p| grid.spot(p)).collect())
        .collect();
    let length =
        |members: &[usize]| -> f64 { route_members(&grid, orders, &spots, members, strategy).1 };
    let single: Vec<f64> = (0..orders.len()).map(|i| length(&[i])).collect();

    let mut savings: Vec<(f64, usize, usize)> = Vec::new();
    for i in 0..orders.len() {
        for j in i + 1..orders.len() {
            if !fits(
                capacity,
                u64::from(orders[i].units) + u64::from(orders[j].units),
                2,
            ) || orders[i].picks.len() + orders[j].picks.len() > STOPS_MAX
            {
                continue;
            }
            let saving = single[i] + single[j] - length(&[i, j]);
            if saving > SAVING_M_MIN {
                savings.push((saving, i, j));
            }
        }
    }
    savings.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));

    let groups = merge_by_savings(orders, capacity, &savings);
    let mut batches = Vec::with_capacity(groups.len());
    for members in groups {
        let (stops, distance_m) = route_members(&grid, orders, &spots, &members, strategy);
        batches.push(Batch {
            order_ids: members.iter().map(|&i| orders[i].id).collect(),
            units: members.iter().map(|&i| orders[i].units).sum(),
            stops,
            distance_m,
        });
    }
    Ok(BatchPlan {
        distance_m: batches.iter().map(|b| b.distance_m).sum(),
        single_order_distance_m: single.iter().sum(),
        batches,
    })
}

fn fits(capacity: CartCapacity, units: u64, orders: usize) -> bool {
    units <= u64::from(capacity.units_max) && orders as u64 <= u64::from(capacity.orders_max)
}

/// Clarke & Wright (i): applies `savings` (best first) to form groups of order indices.
fn merge_by_savings(
    orders: &[Order],
    capacity: CartCapacity,
    savings: &[(f64, usize, usize)],
) -> Vec<Vec<usize>> {
    let mut group_of: Vec<Option<usize>> = vec![None; orders.len()];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let units = |g: &[usize]| -> u64 { g.iter().map(|&i| u64::from(orders[i].units)).sum() };
    for &(_, i, j) in savings {
        match (group_of[i], group_of[j]) {
            (None, None) => {
                group_of[i] = Some(groups.len());
                group_of[j] = Some(groups.len());
                groups.push(vec![i, j]);
            }
            (Some(g), None) | (None, Some(g)) => {
                let other = if group_of[i].is_none() { i } else { j };
                let n = groups[g].len() + 1;
                if fits(
                    capacity,
                    units(&groups[g]) + u64::from(orders[other].units),
                    n,
                ) {
                    groups[g].push(other);
                    group_of[other] = Some(g);
                }
            }
            (Some(a), Some(b)) if a != b => {
                let n = groups[a].len() + groups[b].len();
                if fits(capacity, units(&groups[a]) + units(&groups[b]), n) {
                    let moved = std::mem::take(&mut groups[b]);
                    for &m in &moved {
                        group_of[m] = Some(a);
                    }
                    groups[a].extend(moved);
                }
            }
            _ => {}
        }
    }
    for (i, g) in group_of.iter().enumerate() {
        if g.is_none() {
            groups.push(vec![i]);
        }
    }
    let mut groups: Vec<Vec<usize>> = groups.into_iter().filter(|g| !g.is_empty()).collect();
    for g in &mut groups {
        g.sort_unstable();
    }
    groups.sort_unstable_by_key(|g| g[0]);
    groups
}

/// Routes the union of `members`' picks: stops in visiting order and distance in metres.
fn route_members(
    grid: &Grid,
    orders: &[Order],
    spots: &[Vec<Spot>],
    members: &[usize],
    strategy: Strategy,
) -> (Vec<BatchStop>, f64) {
    let mut picks = Vec::new();
    let mut located = Vec::new();
    let mut owner = Vec::new();
    for &m in members {
        picks.extend_from_slice(&orders[m].picks);
        located.extend_from_slice(&spots[m]);
        owner.extend((0..orders[m].picks.len()).map(|p| BatchStop {
            order_id: orders[m].id,
            pick: p,
        }));
    }
    let r = route_spots(grid, &picks, &located, strategy);
    (r.order.iter().map(|&i| owner[i]).collect(), r.distance_m)
}

fn check(layout: &Layout, orders: &[Order], capacity: CartCapacity) -> Result<(), PickPathError> {
    layout.validate()?;
    if capacity.units_max == 0 {
        return Err(PickPathError::BadCartCapacity { field: "units_max" });
    }
    if capacity.orders_max == 0 {
        return Err(PickPathError::BadCartCapacity {
            field: "orders_max",
        });
    }
    if orders.len() > ORDERS_MAX {
        return Err(PickPathError::TooManyOrders {
            orders: orders.len(),
            orders_max: ORDERS_MAX,
        });
    }
    let mut ids: Vec<u64> = orders.iter().map(|o| o.id).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(PickPathError::DuplicateOrderId { order_id: w[0] });
    }
    for o in orders {
        if o.units > capacity.units_max {
            return Err(PickPathError::OrderExceedsCart {
                order_id: o.id,
                units: o.units,
                units_max: capacity.units_max,
            });
        }
        if o.picks.len() > STOPS_MAX {
            return Err(PickPathError::TooManyStops {
                stops: o.picks.len(),
                stops_max: STOPS_MAX,
            });
        }
        layout.check_points(&o.picks)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: u64, units: u32, picks: &[(u32, u32)]) -> Order {
        Order {
            id,
            units,
            picks: picks.iter().map(|&(a, p)| PickPoint::new(a, p)).collect(),
        }
    }

    #[test]
    fn neighbours_are_batched_and_capacity_holds() {
        let layout = Layout::new(10, 40).unwrap();
        let orders = vec![
            order(1, 2, &[(9, 30)]),
            order(2, 2, &[(9, 31)]),
            order(3, 2, &[(9, 32)]),
            order(4, 1, &[(1, 2)]),
        ];
        let cap = CartCapacity {
            units_max: 4,
            orders_max: 3,
        };
        let plan = batch_orders(&layout, &orders, cap, Strategy::Optimal).unwrap();
        assert!(plan.distance_m < plan.single_order_distance_m);
        for b in &plan.batches {
            assert!(b.units <= 4 && b.order_ids.len() <= 3);
            assert_eq!(b.stops.len(), b.order_ids.len());
        }
        let all: usize = plan.batches.iter().map(|b| b.stops.len()).sum();
        assert_eq!(all, 4);
    }

    #[test]
    fn rejects_bad_requests() {
        let layout = Layout::new(10, 40).unwrap();
        let cap = CartCapacity {
            units_max: 4,
            orders_max: 3,
        };
        let dup = vec![order(1, 1, &[(1, 1)]), order(1, 1, &[(2, 1)])];
        assert_eq!(
            batch_orders(&layout, &dup, cap, Strategy::SShape),
            Err(PickPathError::DuplicateOrderId { order_id: 1 })
        );
        let big = vec![order(7, 5, &[(1, 1)])];
        assert!(matches!(
            batch_orders(&layout, &big, cap, Strategy::SShape),
            Err(PickPathError::OrderExceedsCart { order_id: 7, .. })
        ));
        let zero = CartCapacity {
            units_max: 0,
            orders_max: 1,
        };
        assert!(batch_orders(&layout, &[], zero, Strategy::SShape).is_err());
    }
}
