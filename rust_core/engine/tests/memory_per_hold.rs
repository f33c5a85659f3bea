//! Memory per open hold: heap bytes live after opening 1,000,000 one-line holds, minus before,
//! divided by the holds, counted by a global allocator. The log is drained as the writer
//! would, so what is left is the engine's own state (hold map, expiry timers). Prints the
//! figure (run with `-- --nocapture` to see it) and checks a generous bound so it never flakes;
//! the goal (<= 128 B) is recorded in benchmarks/RESULTS.md.
//!
//! cargo test -p reservoir-engine --release --test memory_per_hold -- --nocapture

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use reservoir_engine::{Engine, Limits, LineRequest};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const HOLDS: usize = 1_000_000;
/// Hold counts at which the figure is printed: the hold map doubles at its 917,505th entry
/// (7/8 of 2^20 buckets are full), so the figure depends on where in that cycle it is read;
/// just after the doubling is the worst case.
const CHECKPOINTS: [usize; 5] = [250_000, 500_000, 917_504, 917_505, HOLDS];
const OPS_PER_DRAIN: usize = 4096;
/// Expiries are spread over 10 minutes (about 37,500 expiry buckets of 16 ms).
const TTL_SPREAD_MS: i64 = 600_000;
const BYTES_PER_HOLD_BOUND: f64 = 256.0;

fn live() -> isize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

fn drain_all(engine: &mut Engine) {
    while engine.pending() > 0 {
        drop(engine.drain(usize::MAX));
    }
    engine.prune_finished(engine.last_lsn());
}

#[test]
fn bytes_per_open_hold() {
    let now_ms = 1_700_000_000_000;
    let mut engine = Engine::new(Limits::default());
    engine.define_sku("HOT").unwrap();
    engine.define_location("WH1", true).unwrap();
    engine
        .receive("HOT", "WH1", 1_000_000, None, None, now_ms)
        .unwrap();
    engine
        .adjust("HOT", "WH1", 1_000_000, None, now_ms)
        .unwrap();
    drain_all(&mut engine);
    let line = [LineRequest {
        sku: "HOT",
        quantity: 1,
        location: None,
    }];

    let before = live();
    let mut per_hold = 0.0;
    let mut worst = 0.0f64;
    for i in 1..=HOLDS {
        let ttl_ms = 60_000 + (i as i64 * TTL_SPREAD_MS) / HOLDS as i64;
        engine.reserve(&line, ttl_ms, now_ms).unwrap();
        if i % OPS_PER_DRAIN == 0 || i == HOLDS {
            drain_all(&mut engine);
        }
        if CHECKPOINTS.contains(&i) {
            per_hold = (live() - before) as f64 / i as f64;
            worst = worst.max(per_hold);
            println!("memory per open hold at {i:>9} holds: {per_hold:6.1} B");
        }
    }
    assert_eq!(engine.open_count(), HOLDS);
    for figure in [per_hold, worst] {
        assert!(
            figure < BYTES_PER_HOLD_BOUND,
            "{figure:.1} B per open hold (bound {BYTES_PER_HOLD_BOUND} B)"
        );
    }
}
