//! The public pick-path API as a caller (the PyO3 layer, the service) sees it: hand-checked
//! routes per strategy, layout errors, distances, batching.

/// Named `pickpath` so `cargo test pickpath` selects these tests.
mod pickpath {
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use reservoir_pickpath::{
        batch_orders, distance_matrix, route, walking_distance_m, CartCapacity, Layout,
        LayoutOptions, Order, PickPathError, PickPoint, Point, Strategy,
    };

    fn p(aisle: u32, position: u32) -> PickPoint {
        PickPoint::new(aisle, position)
    }

    fn order_of(layout: &Layout, picks: &[PickPoint], s: Strategy) -> Vec<usize> {
        route(layout, picks, s).unwrap().order
    }

    #[test]
    fn single_block_heuristics_follow_their_textbook_shapes() {
        let layout = Layout::new(10, 40).unwrap();
        // A, B in aisle 2 (front, back), C near the front of aisle 5, D and E in aisle 7.
        let picks = [p(2, 5), p(2, 30), p(5, 10), p(7, 20), p(7, 3)];
        // S-shape: up aisle 2, down aisle 5, into aisle 7 and back out (odd count).
        assert_eq!(
            order_of(&layout, &picks, Strategy::SShape),
            vec![0, 1, 2, 4, 3]
        );
        // Largest gap: traverse aisle 2 and the last aisle 7; aisle 5's pick is near the
        // front, so it is picked from the front on the way back.
        assert_eq!(
            order_of(&layout, &picks, Strategy::LargestGap),
            vec![0, 1, 3, 4, 2]
        );
        // Location order: by aisle, then position.
        assert_eq!(
            order_of(&layout, &picks, Strategy::LocationOrder),
            vec![0, 1, 2, 4, 3]
        );
        // Combined: every aisle entered and left from the front is cheapest here.
        assert_eq!(
            order_of(&layout, &picks, Strategy::Combined),
            vec![0, 1, 2, 4, 3]
        );
        let optimal = route(&layout, &picks, Strategy::Optimal).unwrap();
        for s in Strategy::ALL {
            assert!(route(&layout, &picks, s).unwrap().distance_m >= optimal.distance_m - 1e-9);
        }
    }

    #[test]
    fn multi_block_s_shape_works_from_the_farthest_block_back() {
        let mut layout = Layout::new(6, 30).unwrap();
        layout.middle_cross_aisles = vec![10, 20];
        let picks = [p(2, 5), p(4, 25), p(5, 15), p(2, 28), p(6, 22), p(3, 12)];
        // Up aisle 2 to the farthest block (picking 0), traverse aisle 2 there (3), back down
        // aisle 4 (1), in and out of aisle 6 (4); middle block: nearer end is aisle 5 (2), then
        // aisle 3 (5) in and out from its front.
        assert_eq!(
            order_of(&layout, &picks, Strategy::SShape),
            vec![0, 3, 1, 4, 2, 5]
        );
    }

    #[test]
    fn same_bin_stops_are_consecutive_and_all_returned() {
        let layout = Layout::new(4, 10).unwrap();
        let picks = [
            p(3, 4),
            p(1, 2),
            PickPoint {
                aisle: 3,
                position: 4,
                level: 2,
            },
            p(3, 4),
        ];
        for s in Strategy::ALL {
            let r = route(&layout, &picks, s).unwrap();
            let at: Vec<usize> = (0..4).filter(|&i| r.order[i] != 1).collect();
            assert_eq!(at.len(), 3);
            assert_eq!(at[2] - at[0], 2, "{s}: {:?}", r.order);
        }
    }

    #[test]
    fn depot_placement_changes_distances() {
        let mut layout = Layout::new(10, 40).unwrap();
        let picks = [p(10, 1)];
        let far = route(&layout, &picks, Strategy::Optimal)
            .unwrap()
            .distance_m;
        layout.depot_aisle = 9.5;
        let near = route(&layout, &picks, Strategy::Optimal)
            .unwrap()
            .distance_m;
        // 27 m along the front cross aisle each way versus 1.5 m.
        assert!(
            (far - near - 2.0 * (27.0 - 1.5)).abs() < 1e-9,
            "{far} {near}"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let mut layout = Layout::new(10, 40).unwrap();
        layout.middle_cross_aisles = vec![30, 20];
        let e = route(&layout, &[p(1, 1)], Strategy::Optimal).unwrap_err();
        assert!(matches!(
            e,
            PickPathError::MiddleCrossAislesNotIncreasing { .. }
        ));
        assert!(e.to_string().contains("middle_cross_aisles"));
        let layout = Layout::new(10, 40).unwrap();
        let e = route(&layout, &[p(1, 1), p(2, 41)], Strategy::SShape).unwrap_err();
        assert!(e.to_string().contains("bin 1"), "{e}");
        assert!(Layout::new(0, 40).is_err());
        assert!(walking_distance_m(&layout, &Point::Depot, &Point::Bin(p(11, 1))).is_err());
        let opts = LayoutOptions {
            bin_pitch_m: Some(0.0),
            ..LayoutOptions::default()
        };
        let e = Layout::from_bins_with(&[p(1, 1)], &opts).unwrap_err();
        assert!(e.to_string().contains("bin_pitch_m"), "{e}");
    }

    #[test]
    fn distance_matrix_is_the_route_measure() {
        let mut layout = Layout::new(8, 30).unwrap();
        layout.middle_cross_aisles = vec![15];
        let picks = [p(1, 3), p(8, 29), p(4, 16), p(4, 14)];
        let m = distance_matrix(&layout, &picks).unwrap();
        assert_eq!(m.size, 5);
        for i in 0..5 {
            for j in 0..5 {
                assert_eq!(m.get(i, j), m.get(j, i));
            }
        }
        assert_eq!(
            m.get(0, 1),
            walking_distance_m(&layout, &Point::Depot, &Point::Bin(picks[0])).unwrap()
        );
        for s in Strategy::ALL {
            let r = route(&layout, &picks, s).unwrap();
            assert!((m.tour_length_m(&r.order) - r.distance_m).abs() < 1e-9);
        }
    }

    #[test]
    fn batching_100_small_orders_saves_walking_and_respects_the_cart() {
        let layout = Layout::new(10, 40).unwrap();
        let mut rng = SmallRng::seed_from_u64(4);
        let orders: Vec<Order> = (0..100u64)
            .map(|id| {
                let n = rng.random_range(1..=3);
                Order {
                    id: 1_000 + id,
                    units: n + rng.random_range(0..3),
                    picks: (0..n)
                        .map(|_| p(rng.random_range(1..=10), rng.random_range(1..=40)))
                        .collect(),
                }
            })
            .collect();
        let cart = CartCapacity {
            units_max: 20,
            orders_max: 6,
        };
        let plan = batch_orders(&layout, &orders, cart, Strategy::Optimal).unwrap();
        eprintln!(
            "100 orders -> {} pick lists: {:.0} m batched vs {:.0} m one per order",
            plan.batches.len(),
            plan.distance_m,
            plan.single_order_distance_m
        );
        assert!(plan.distance_m < 0.6 * plan.single_order_distance_m);
        let mut stops_seen = std::collections::HashSet::new();
        let mut orders_seen = std::collections::HashSet::new();
        for b in &plan.batches {
            assert!(b.units <= cart.units_max);
            assert!(b.order_ids.len() <= cart.orders_max as usize);
            let units: u32 = b
                .order_ids
                .iter()
                .map(|id| orders[(id - 1_000) as usize].units)
                .sum();
            assert_eq!(units, b.units);
            for id in &b.order_ids {
                assert!(orders_seen.insert(*id));
            }
            for s in &b.stops {
                assert!(b.order_ids.contains(&s.order_id));
                assert!(stops_seen.insert((s.order_id, s.pick)));
            }
        }
        let total_stops: usize = orders.iter().map(|o| o.picks.len()).sum();
        assert_eq!(stops_seen.len(), total_stops);
        assert_eq!(orders_seen.len(), 100);
        let sum: f64 = plan.batches.iter().map(|b| b.distance_m).sum();
        assert!((sum - plan.distance_m).abs() < 1e-6);
    }

    #[test]
    fn batching_with_one_order_per_cart_is_per_order_routing() {
        let layout = Layout::new(5, 20).unwrap();
        let orders: Vec<Order> = (0..5u64)
            .map(|id| Order {
                id,
                units: 1,
                picks: vec![p(id as u32 + 1, 10)],
            })
            .collect();
        let cart = CartCapacity {
            units_max: 10,
            orders_max: 1,
        };
        let plan = batch_orders(&layout, &orders, cart, Strategy::SShape).unwrap();
        assert_eq!(plan.batches.len(), 5);
        assert!((plan.distance_m - plan.single_order_distance_m).abs() < 1e-9);
    }
}
