//! Pick-path routing time per strategy at 10/30/60 stops on a single-block (10 aisles x 40
//! positions) and a multi-block (20 x 60, 2 middle cross aisles) warehouse, seeded.
//! Also prints each strategy's mean route length relative to `optimal`.
//!
//! cargo bench -p reservoir-pickpath --bench pickpath

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use reservoir_pickpath::local_search::{local_search_route, PASSES_MAX};
use reservoir_pickpath::{batch_orders, route, CartCapacity, Layout, Order, PickPoint, Strategy};
use std::hint::black_box;

const INSTANCES: usize = 32;

fn warehouses() -> Vec<(&'static str, Layout)> {
    let single = Layout::new(10, 40).unwrap();
    let mut multi = Layout::new(20, 60).unwrap();
    multi.middle_cross_aisles = vec![20, 40];
    multi.validate().unwrap();
    vec![("single-10x40", single), ("multi-20x60x3", multi)]
}

fn pick_lists(layout: &Layout, stops: usize, seed: u64) -> Vec<Vec<PickPoint>> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..INSTANCES)
        .map(|_| {
            (0..stops)
                .map(|_| {
                    PickPoint::new(
                        rng.random_range(1..=layout.aisles),
                        rng.random_range(1..=layout.positions_per_aisle),
                    )
                })
                .collect()
        })
        .collect()
}

fn bench_routes(c: &mut Criterion) {
    for (name, layout) in warehouses() {
        let mut group = c.benchmark_group(format!("pickpath/{name}"));
        for stops in [10usize, 30, 60] {
            let lists = pick_lists(&layout, stops, 42 + stops as u64);
            let optimal: Vec<f64> = lists
                .iter()
                .map(|p| route(&layout, p, Strategy::Optimal).unwrap().distance_m)
                .collect();
            for strategy in Strategy::ALL {
                let ratio: f64 = lists
                    .iter()
                    .zip(&optimal)
                    .map(|(p, o)| route(&layout, p, strategy).unwrap().distance_m / o)
                    .sum::<f64>()
                    / INSTANCES as f64;
                println!(
                    "{name} {stops:>2} stops {:<15} mean length vs optimal {:+.2}%",
                    strategy.as_str(),
                    (ratio - 1.0) * 100.0
                );
                let mut i = 0;
                group.bench_function(BenchmarkId::new(strategy.as_str(), stops), |b| {
                    b.iter(|| {
                        i = (i + 1) % INSTANCES;
                        black_box(route(&layout, black_box(&lists[i]), strategy).unwrap())
                    })
                });
            }
            // The fallback `optimal` uses above its exact block limit, for comparison.
            let ratio: f64 = lists
                .iter()
                .zip(&optimal)
                .map(|(p, o)| {
                    local_search_route(&layout, p, PASSES_MAX)
                        .unwrap()
                        .distance_m
                        / o
                })
                .sum::<f64>()
                / INSTANCES as f64;
            println!(
                "{name} {stops:>2} stops {:<15} mean length vs optimal {:+.2}%",
                "local-search",
                (ratio - 1.0) * 100.0
            );
            let mut i = 0;
            group.bench_function(BenchmarkId::new("local-search", stops), |b| {
                b.iter(|| {
                    i = (i + 1) % INSTANCES;
                    black_box(
                        local_search_route(&layout, black_box(&lists[i]), PASSES_MAX).unwrap(),
                    )
                })
            });
        }
        group.finish();
    }
}

fn bench_batching(c: &mut Criterion) {
    let layout = Layout::new(10, 40).unwrap();
    let mut rng = SmallRng::seed_from_u64(7);
    let orders: Vec<Order> = (0..100u64)
        .map(|id| {
            let n = rng.random_range(1..=3);
            Order {
                id,
                units: n,
                picks: (0..n)
                    .map(|_| PickPoint::new(rng.random_range(1..=10), rng.random_range(1..=40)))
                    .collect(),
            }
        })
        .collect();
    let cart = CartCapacity {
        units_max: 24,
        orders_max: 8,
    };
    let plan = batch_orders(&layout, &orders, cart, Strategy::Optimal).unwrap();
    println!(
        "batching 100 orders: {} pick lists, {:.0} m vs {:.0} m one list per order ({:+.1}%)",
        plan.batches.len(),
        plan.distance_m,
        plan.single_order_distance_m,
        (plan.distance_m / plan.single_order_distance_m - 1.0) * 100.0
    );
    c.bench_function("pickpath/batch-100-orders", |b| {
        b.iter(|| black_box(batch_orders(&layout, &orders, cart, Strategy::Optimal).unwrap()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = bench_routes, bench_batching
}
criterion_main!(benches);
