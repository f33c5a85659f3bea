//! Engine hot paths, side by side in one run:
//!
//! - `engine/hot_sku/reserve_release`: reserve + release pairs on one hot SKU (one location,
//!   huge `on_hand`), the log drained and finished reservations pruned every 4096 operations
//!   as the writer would, so memory stays flat. Throughput is in pairs (elements) per second.
//!   Run twice: with no other hold open, and with 100,000 other holds open (bigger maps,
//!   timers in their buckets), which is closer to a flash drop.
//! - `engine/expire/1m_due_at_once`: one `expire_due(now, usize::MAX)` over 1,000,000 holds
//!   whose expiries are spread over 10 s, all due. Setup (not timed) builds the holds and
//!   drains the log.
//!
//! Memory per open hold is measured by `tests/memory_per_hold.rs` (a counting allocator).
//!
//! cargo bench -p reservoir-engine --bench engine

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use reservoir_engine::{Engine, Limits, LineRequest};

const SKU: &str = "HOT";
const LOCATION: &str = "WH1";
/// Operations (reserve or release) between two drains of the log, as the writer would.
const OPS_PER_DRAIN: u64 = 4096;
const TTL_MS: i64 = 600_000;
const NOW_MS: i64 = 1_700_000_000_000;
const HOLDS_TO_EXPIRE: usize = 1_000_000;
/// Expiries of the holds to expire are spread over this window.
const EXPIRY_SPREAD_MS: i64 = 10_000;

const HOT_LINE: [LineRequest<'static>; 1] = [LineRequest {
    sku: SKU,
    quantity: 1,
    location: None,
}];

/// One SKU at one location with more units than any benchmark can hold.
fn hot_engine() -> Engine {
    let mut engine = Engine::new(Limits::default());
    engine.define_sku(SKU).unwrap();
    engine.define_location(LOCATION, true).unwrap();
    engine
        .receive(SKU, LOCATION, 1_000_000, None, None, NOW_MS)
        .unwrap();
    for _ in 0..1_000 {
        engine
            .adjust(SKU, LOCATION, 1_000_000, None, NOW_MS)
            .unwrap();
    }
    drain_all(&mut engine);
    engine
}

/// What the writer does once a batch is durable: take the log and forget finished holds.
fn drain_all(engine: &mut Engine) {
    while engine.pending() > 0 {
        black_box(engine.drain(usize::MAX));
    }
    engine.prune_finished(engine.last_lsn());
}

/// `count` open holds, expiries spread evenly over `spread_ms` after `ttl_ms`.
fn hold_many(engine: &mut Engine, count: usize, ttl_ms: i64, spread_ms: i64) {
    for i in 0..count {
        let ttl = ttl_ms + (i as i64 * spread_ms) / count as i64;
        engine.reserve(&HOT_LINE, ttl, NOW_MS).unwrap();
        if (i as u64 + 1).is_multiple_of(OPS_PER_DRAIN) {
            drain_all(engine);
        }
    }
    drain_all(engine);
}

/// Reserve+release pairs of one unit without a location, draining as the writer would.
fn bench_pairs(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, engine: &mut Engine) {
    let mut ops = 0u64;
    group.bench_function(name, |b| {
        b.iter(|| {
            let view = engine
                .reserve(black_box(&HOT_LINE), TTL_MS, NOW_MS)
                .unwrap();
            let out = engine.release(view.seq, NOW_MS).unwrap();
            black_box(out);
            ops += 2;
            if ops.is_multiple_of(OPS_PER_DRAIN) {
                drain_all(engine);
            }
        });
    });
}

fn bench_hot_sku(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/hot_sku");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    for background in [0usize, 100_000] {
        let mut engine = hot_engine();
        hold_many(&mut engine, background, TTL_MS * 2, 60_000);
        let name = format!("reserve_release/{background}_other_holds_open");
        bench_pairs(&mut group, &name, &mut engine);
        assert_eq!(engine.open_count(), background, "every pair released");
    }
    group.finish();
}

/// One SKU at three bins, each with `lots` lots (none: unlotted units), for the cost of
/// oldest-lot-first allocation next to fullest-bin allocation.
fn three_bin_engine(lots: usize) -> Engine {
    let mut engine = Engine::new(Limits::default());
    engine.define_sku(SKU).unwrap();
    for (b, bin) in ["B1", "B2", "B3"].into_iter().enumerate() {
        engine.define_location(bin, true).unwrap();
        for l in 0..lots.max(1) {
            let lot = format!("L{b}{l}");
            let (lot, expires) = if lots == 0 {
                (None, None)
            } else {
                (Some(lot.as_str()), Some(20_000 + (b * 7 + l * 3) as i32))
            };
            engine
                .receive(SKU, bin, 1_000_000, lot, expires, NOW_MS)
                .unwrap();
        }
    }
    drain_all(&mut engine);
    engine
}

fn bench_three_bins(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/three_bins");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    for lots in [0usize, 2] {
        let mut engine = three_bin_engine(lots);
        let name = format!("reserve_release/{lots}_lots_per_bin");
        bench_pairs(&mut group, &name, &mut engine);
    }
    group.finish();
}

fn bench_expire(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/expire");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    // Ten samples of one call each: ~0.1-0.8 s a call, plus the untimed setup.
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(HOLDS_TO_EXPIRE as u64));
    let template = {
        let mut engine = hot_engine();
        hold_many(&mut engine, HOLDS_TO_EXPIRE, 1, EXPIRY_SPREAD_MS);
        engine
    };
    let after_all = NOW_MS + 1 + EXPIRY_SPREAD_MS + 1;
    group.bench_function("1m_due_at_once", |b| {
        b.iter_batched(
            || template.clone(),
            |mut engine| {
                let expired = engine.expire_due(after_all, usize::MAX);
                assert_eq!(expired, HOLDS_TO_EXPIRE);
                engine
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench_hot_sku, bench_three_bins, bench_expire);
criterion_main!(benches);
