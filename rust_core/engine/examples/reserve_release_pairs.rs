//! `PAIRS` reserve+release pairs of one unit on a hot SKU, draining the log every 4,096
//! operations as the writer does: a fixed workload for counting instructions, which (unlike
//! time) does not depend on what else the machine is doing:
//!
//! ```sh
//! cargo build --release -p reservoir-engine --example reserve_release_pairs
//! for n in 0 200000; do PAIRS=$n valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!   target/release/examples/reserve_release_pairs 2>&1 | grep refs; done
//! ```
//! (instructions per pair = the difference / 200,000). `LOTS=2` gives the SKU three bins of
//! two lots each (oldest-lot-first allocation); `LOTS=0` three bins without lots.

use std::hint::black_box;

use reservoir_engine::{Engine, Limits, LineRequest};

const NOW_MS: i64 = 1_700_000_000_000;

fn main() {
    let pairs: u64 = std::env::var("PAIRS").map_or(200_000, |v| v.parse().expect("PAIRS"));
    let lots: Option<usize> = std::env::var("LOTS").ok().map(|v| v.parse().expect("LOTS"));
    let mut engine = Engine::new(Limits::default());
    engine.define_sku("HOT").unwrap();
    let bins = if lots.is_some() { 3 } else { 1 };
    for b in 0..bins {
        let bin = format!("B{b}");
        engine.define_location(&bin, true).unwrap();
        for l in 0..lots.unwrap_or(0).max(1) {
            let code = format!("L{b}{l}");
            let lot = lots.filter(|&n| n > 0).map(|_| code.as_str());
            let expires = lot.map(|_| 20_000 + (b * 7 + l * 3) as i32);
            engine
                .receive("HOT", &bin, 1_000_000, lot, expires, NOW_MS)
                .unwrap();
        }
    }
    let line = [LineRequest {
        sku: "HOT",
        quantity: 1,
        location: None,
    }];
    for i in 0..pairs {
        let view = engine.reserve(black_box(&line), 600_000, NOW_MS).unwrap();
        black_box(engine.release(view.seq, NOW_MS).unwrap());
        if (i * 2 + 2).is_multiple_of(4096) {
            black_box(engine.drain(usize::MAX));
            engine.prune_finished(engine.last_lsn());
        }
    }
}
