//! Seeded randomized cross-checks of the pick-path strategies: `optimal` against Held-Karp
//! (and brute force), every heuristic against `optimal`, and route validity. A failure
//! prints the seed that reproduces it.

/// Named `pickpath` so `cargo test pickpath` selects these tests.
mod pickpath {
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use reservoir_pickpath::local_search::{local_search_route, PASSES_MAX};
    use reservoir_pickpath::{
        brute_force, distance_matrix, held_karp, route, Layout, PickPoint, Route, Strategy,
    };

    const TOLERANCE_M: f64 = 1e-9;

    fn single_block() -> Layout {
        Layout::new(10, 40).unwrap()
    }

    fn multi_block() -> Layout {
        let mut l = Layout::new(20, 60).unwrap();
        l.middle_cross_aisles = vec![20, 40];
        l.validate().unwrap();
        l
    }

    fn random_picks(rng: &mut SmallRng, layout: &Layout, n: usize) -> Vec<PickPoint> {
        let mut picks: Vec<PickPoint> = Vec::with_capacity(n);
        for _ in 0..n {
            // One in eight stops shares a bin with an earlier one.
            if !picks.is_empty() && rng.random_range(0..8) == 0 {
                let p = picks[rng.random_range(0..picks.len())];
                picks.push(PickPoint {
                    level: p.level + 1,
                    ..p
                });
            } else {
                picks.push(PickPoint {
                    aisle: rng.random_range(1..=layout.aisles),
                    position: rng.random_range(1..=layout.positions_per_aisle),
                    level: rng.random_range(0..4),
                });
            }
        }
        picks
    }

    /// Every pick exactly once, stops sharing a bin consecutive, distance = matrix tour length.
    fn assert_valid(seed: u64, layout: &Layout, picks: &[PickPoint], r: &Route, what: &str) {
        let mut seen = vec![false; picks.len()];
        for &i in &r.order {
            assert!(
                i < picks.len() && !seen[i],
                "seed {seed}: {what} repeats or invents stop {i}"
            );
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s), "seed {seed}: {what} misses a stop");
        let m = distance_matrix(layout, picks).unwrap();
        let d = m.tour_length_m(&r.order);
        assert!(
            (d - r.distance_m).abs() <= TOLERANCE_M,
            "seed {seed}: {what} distance {} vs matrix {d}",
            r.distance_m
        );
        // Stops at the same bin are consecutive.
        let mut at: std::collections::HashMap<(u32, u32), Vec<usize>> = Default::default();
        for (seq, &i) in r.order.iter().enumerate() {
            at.entry((picks[i].aisle, picks[i].position))
                .or_default()
                .push(seq);
        }
        for seqs in at.values() {
            assert_eq!(
                seqs[seqs.len() - 1] - seqs[0] + 1,
                seqs.len(),
                "seed {seed}: {what} splits a bin's stops"
            );
        }
    }

    /// Checks one instance; returns (optimal, best heuristic) distances.
    fn check_instance(seed: u64, layout: &Layout, picks: &[PickPoint]) -> (f64, f64) {
        let optimal = route(layout, picks, Strategy::Optimal).unwrap();
        assert_valid(seed, layout, picks, &optimal, "optimal");
        if picks.len() <= 12 {
            let m = distance_matrix(layout, picks).unwrap();
            let hk = held_karp(&m).unwrap();
            assert!(
                (optimal.distance_m - hk.distance_m).abs() <= TOLERANCE_M,
                "seed {seed}: optimal {} != Held-Karp {} for {picks:?} in {layout:?}",
                optimal.distance_m,
                hk.distance_m
            );
        }
        let mut best_heuristic = f64::INFINITY;
        for s in Strategy::ALL {
            if s == Strategy::Optimal {
                continue;
            }
            let r = route(layout, picks, s).unwrap();
            assert_valid(seed, layout, picks, &r, s.as_str());
            assert!(
                r.distance_m >= optimal.distance_m - TOLERANCE_M,
                "seed {seed}: {s} {} beats optimal {}",
                r.distance_m,
                optimal.distance_m
            );
            best_heuristic = best_heuristic.min(r.distance_m);
        }
        (optimal.distance_m, best_heuristic)
    }

    #[test]
    fn optimal_equals_held_karp_single_block() {
        let layout = single_block();
        let mut instances = 0;
        for seed in 0..1_500u64 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let n = rng.random_range(1..=12);
            let picks = random_picks(&mut rng, &layout, n);
            check_instance(seed, &layout, &picks);
            instances += 1;
        }
        assert_eq!(instances, 1_500);
    }

    #[test]
    fn optimal_equals_held_karp_multi_block() {
        let layout = multi_block();
        for seed in 10_000..10_800u64 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let n = rng.random_range(1..=12);
            let picks = random_picks(&mut rng, &layout, n);
            check_instance(seed, &layout, &picks);
        }
    }

    #[test]
    fn optimal_equals_brute_force_tiny() {
        for seed in 20_000..20_300u64 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let layout = random_layout(&mut rng);
            let n = rng.random_range(1..=7);
            let picks = random_picks(&mut rng, &layout, n);
            let optimal = route(&layout, &picks, Strategy::Optimal).unwrap();
            let bf = brute_force(&distance_matrix(&layout, &picks).unwrap()).unwrap();
            assert!(
                (optimal.distance_m - bf.distance_m).abs() <= TOLERANCE_M,
                "seed {seed}: optimal {} != brute force {} for {picks:?} in {layout:?}",
                optimal.distance_m,
                bf.distance_m
            );
        }
    }

    /// Random small layouts: 1-5 blocks, odd widths, depot anywhere on the front (also between
    /// aisles), so the programme meets every shape it supports.
    fn random_layout(rng: &mut SmallRng) -> Layout {
        let aisles = rng.random_range(1..=7);
        let positions_per_aisle = rng.random_range(2..=16);
        let middle_count = rng.random_range(0..=4.min(positions_per_aisle as usize - 1));
        let mut middle: Vec<u32> = Vec::new();
        while middle.len() < middle_count {
            let p = rng.random_range(1..positions_per_aisle);
            if !middle.contains(&p) {
                middle.push(p);
            }
        }
        middle.sort_unstable();
        let depot_aisle = if rng.random_range(0..2) == 0 {
            f64::from(rng.random_range(1..=aisles))
        } else {
            1.0 + f64::from(rng.random_range(0..=(aisles - 1) * 4)) / 4.0
        };
        let layout = Layout {
            aisles,
            positions_per_aisle,
            aisle_width_m: rng.random_range(1..=8) as f64 * 0.75,
            cross_aisle_width_m: rng.random_range(1..=8) as f64 * 0.5,
            bin_pitch_m: rng.random_range(1..=4) as f64 * 0.6,
            middle_cross_aisles: middle,
            depot_aisle,
        };
        layout.validate().unwrap();
        layout
    }

    #[test]
    fn optimal_equals_held_karp_random_layouts() {
        for seed in 30_000..31_000u64 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let layout = random_layout(&mut rng);
            let n = rng.random_range(1..=10);
            let picks = random_picks(&mut rng, &layout, n);
            check_instance(seed, &layout, &picks);
        }
    }

    #[test]
    fn larger_instances_are_valid_and_heuristics_not_shorter() {
        for (layout, base) in [(single_block(), 40_000u64), (multi_block(), 50_000)] {
            for seed in base..base + 60 {
                let mut rng = SmallRng::seed_from_u64(seed);
                let n = [10, 30, 60][(seed % 3) as usize];
                let picks = random_picks(&mut rng, &layout, n);
                check_instance(seed, &layout, &picks);
            }
        }
    }

    /// Too many blocks for the exact programme: optimal falls back to local search; it must
    /// still be valid and no worse than the heuristics it starts from.
    #[test]
    fn many_blocks_fall_back_to_local_search() {
        let mut layout = Layout::new(8, 48).unwrap();
        layout.middle_cross_aisles = vec![6, 12, 18, 24, 30, 36, 42];
        layout.validate().unwrap();
        let (mut gap, mut exact_hits) = (0.0, 0);
        let runs = 100;
        for seed in 60_000..60_000 + runs {
            let mut rng = SmallRng::seed_from_u64(seed);
            let n = rng.random_range(1..=12);
            let picks = random_picks(&mut rng, &layout, n);
            let (optimal, best, hk) = check_instance_no_exact(seed, &layout, &picks);
            assert!(optimal <= best + TOLERANCE_M, "seed {seed}");
            gap += optimal / hk - 1.0;
            exact_hits += usize::from(optimal <= hk + TOLERANCE_M);
        }
        eprintln!(
            "8 blocks, 1-12 stops: local search mean gap to Held-Karp +{:.3}%, optimal in {exact_hits}/{runs}",
            100.0 * gap / runs as f64
        );
    }

    fn check_instance_no_exact(seed: u64, layout: &Layout, picks: &[PickPoint]) -> (f64, f64, f64) {
        let optimal = route(layout, picks, Strategy::Optimal).unwrap();
        assert_valid(seed, layout, picks, &optimal, "optimal (local search)");
        let m = distance_matrix(layout, picks).unwrap();
        let hk = held_karp(&m).unwrap();
        assert!(optimal.distance_m >= hk.distance_m - TOLERANCE_M);
        let best = [Strategy::SShape, Strategy::LargestGap, Strategy::Combined]
            .into_iter()
            .map(|s| route(layout, picks, s).unwrap().distance_m)
            .fold(f64::INFINITY, f64::min);
        (optimal.distance_m, best, hk.distance_m)
    }

    #[test]
    fn gaps_report() {
        // Not a pass/fail on quality beyond "optimal is never worse": prints mean gaps of each
        // heuristic to optimal on both warehouse kinds (run with --nocapture to see them).
        for (name, layout) in [
            ("single-block 10x40", single_block()),
            ("multi-block 20x60/3", multi_block()),
        ] {
            for n in [10usize, 30, 60] {
                let mut sums = [0.0f64; 5];
                let mut local_search_gap = 0.0;
                let runs = 40;
                for seed in 0..runs {
                    let mut rng = SmallRng::seed_from_u64(70_000 + seed);
                    let picks = random_picks(&mut rng, &layout, n);
                    let opt = route(&layout, &picks, Strategy::Optimal)
                        .unwrap()
                        .distance_m;
                    for (k, s) in Strategy::ALL.into_iter().enumerate() {
                        let d = route(&layout, &picks, s).unwrap().distance_m;
                        assert!(d >= opt - TOLERANCE_M);
                        sums[k] += d / opt - 1.0;
                    }
                    // The fallback used above the exact programme's block limit, measured
                    // against the exact optimum.
                    let ls = local_search_route(&layout, &picks, PASSES_MAX)
                        .unwrap()
                        .distance_m;
                    assert!(ls >= opt - TOLERANCE_M);
                    local_search_gap += ls / opt - 1.0;
                }
                let cells: Vec<String> = Strategy::ALL
                    .into_iter()
                    .zip(sums)
                    .map(|(s, g)| format!("{s} +{:.1}%", 100.0 * g / runs as f64))
                    .collect();
                eprintln!(
                    "{name}, {n} stops: {}; local search +{:.2}%",
                    cells.join(", "),
                    100.0 * local_search_gap / runs as f64
                );
            }
        }
    }
}
