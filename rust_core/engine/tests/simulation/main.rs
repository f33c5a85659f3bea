//! Seeded randomized simulation (VOPR-style): random operation streams against a simple
//! model. After every step: no oversell (but where a negative adjustment explains it), the
//! engine's counters and lots equal the model's, every hold due is gone. A one-line hold
//! without a location must take the locations in the model's order (oldest lot first, then
//! most available). Periodically the drained log
//! is replayed into a replica that must equal the engine. A failure names its seed:
//! rerun one with `SIM_SEED=<seed> cargo test --release --test simulation`.

mod model;
mod ops;

use std::collections::BTreeMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use reservoir_engine::{
    DropSpec, Engine, EngineError, Limits, ReservationSeq, SafetyBuffer, Status,
};

use model::Model;

const SKUS: [&str; 3] = ["S0", "S1", "S2"];
const LOCATIONS: [(&str, bool); 4] = [("L0", true), ("L1", true), ("L2", true), ("QC", false)];
/// Lot codes the simulation receives, each with its expiry day (the same for every SKU).
const LOTS: [(&str, Option<i32>); 3] = [("A", Some(100)), ("B", Some(50)), ("C", None)];
/// Buyers the simulation reserves for (a third of holds have none); S0 is capped per buyer.
const BUYERS: [&str; 4] = ["b0", "b1", "b2", "b3"];
const CAPPED_SKU: &str = "S0";
const PER_BUYER_MAX: u64 = 5;
/// A channel that sells from two of the three sellable locations and keeps a buffer.
const CHANNEL: &str = "mkt";
const CHANNEL_LOCATIONS: [&str; 2] = ["L0", "L1"];
const CHANNEL_BUFFER: i64 = 2;
/// A drop of S2 (no holds before its start, a pool of POOL units for the channel until the
/// spill), times from the simulation's start (its clock runs about an hour per seed).
const DROP_SKU: &str = "S2";
const DROP: &str = "D";
const POOL: i64 = 4;
const T0: i64 = 1_700_000_000_000;
const DROP_STARTS: i64 = T0 + 20_000;
const DROP_SPILLS: i64 = T0 + 600_000;
const DROP_ENDS: i64 = T0 + 1_200_000;
const OPS_PER_SEED: usize = 125_000;
const SEEDS: u64 = 8;

struct Sim {
    rng: SmallRng,
    seed: u64,
    now: i64,
    engine: Engine,
    replica: Engine,
    model: Model,
    step: usize,
}

fn new_engine() -> Engine {
    let mut engine = Engine::new(Limits {
        lines_per_reservation_max: 4,
        ..Limits::default()
    });
    for (code, sellable) in LOCATIONS {
        engine.define_location(code, sellable).unwrap();
    }
    for sku in SKUS {
        engine.define_sku(sku).unwrap();
    }
    engine
        .set_per_buyer_max(CAPPED_SKU, Some(PER_BUYER_MAX))
        .unwrap();
    let buffer = SafetyBuffer::Units(CHANNEL_BUFFER as u64);
    engine
        .define_channel(CHANNEL, buffer, Some(&CHANNEL_LOCATIONS))
        .unwrap();
    let drop = DropSpec {
        code: DROP,
        sku: DROP_SKU,
        starts_at_ms: DROP_STARTS,
        ends_at_ms: DROP_ENDS,
        spill_at_ms: Some(DROP_SPILLS),
        per_buyer_max: None,
        pools: &[(CHANNEL, POOL as u64)],
    };
    engine.load_drop(&drop).unwrap(); // no stock yet: the pool is not checked against it
    engine
}

impl Sim {
    fn new(seed: u64) -> Self {
        Sim {
            rng: SmallRng::seed_from_u64(seed),
            seed,
            now: T0,
            engine: new_engine(),
            replica: new_engine(),
            model: Model::default(),
            step: 0,
        }
    }

    fn fail(&self, what: impl std::fmt::Display) -> ! {
        panic!(
            "seed {} step {}: {what}\nrerun: SIM_SEED={} cargo test --release --test simulation",
            self.seed, self.step, self.seed
        )
    }

    fn some_seq(&mut self) -> ReservationSeq {
        // Mostly known reservations (open or finished), sometimes an unknown one.
        let open: Vec<_> = self.model.holds.keys().copied().collect();
        match self.rng.random_range(0..10) {
            0 => self.engine.next_seq() + 7,
            1 if !self.model.finished.is_empty() => {
                let i = self.rng.random_range(0..self.model.finished.len());
                *self.model.finished.keys().nth(i).unwrap()
            }
            _ if !open.is_empty() => open[self.rng.random_range(0..open.len())],
            _ => self.engine.next_seq() + 7,
        }
    }

    fn step(&mut self) {
        self.step += 1;
        let op = self.rng.random_range(0..100);
        match op {
            0..=9 => self.receive(),
            10..=13 => self.adjust(),
            14..=49 => self.reserve(),
            50..=61 => self.commit(),
            62..=75 => self.release(),
            76..=81 => self.extend(),
            82..=85 => self.ship(),
            86..=87 => self.transfer(),
            88..=89 => self.reallocate(),
            _ => self.tick(),
        }
        self.check();
        if self.step.is_multiple_of(97) {
            self.drain_and_replay();
        }
    }

    fn finished_error(&self, seq: ReservationSeq) -> EngineError {
        match self.model.finished.get(&seq) {
            Some(&status) => EngineError::InvalidState { seq, status },
            None => EngineError::ReservationNotFound(seq),
        }
    }

    fn compare(
        &self,
        what: &str,
        got: Result<(Status, bool), EngineError>,
        expected: Result<(Status, bool), EngineError>,
    ) {
        if got != expected {
            self.fail(format!("{what}: engine {got:?}, model {expected:?}"));
        }
    }

    fn tick(&mut self) {
        // Mostly small steps, sometimes a jump past many expiries at once.
        self.now += if self.rng.random_bool(0.1) {
            self.rng.random_range(1_000..5_000)
        } else {
            self.rng.random_range(0..50)
        };
        let expected = self
            .model
            .holds
            .values()
            .filter(|h| h.status == Status::Held && h.expires_at_ms <= self.now)
            .count();
        let expired = self.engine.expire_due(self.now, usize::MAX);
        if expired != expected {
            self.fail(format!("expired {expired}, model says {expected} were due"));
        }
        self.model.expire_due(self.now);
        if let Some(next) = self.engine.next_expiry_ms() {
            if next > self.now + expiry_slack()
                && self
                    .model
                    .holds
                    .values()
                    .any(|h| h.status == Status::Held && h.expires_at_ms <= self.now)
            {
                self.fail("a due hold is still held");
            }
        }
    }

    fn check(&self) {
        let problems = self.engine.audit(|sku, loc| {
            let c = self.engine.catalogue();
            self.model
                .shrunk
                .contains(&(c.sku(sku).to_owned(), c.location(loc).to_owned()))
        });
        if !problems.is_empty() {
            self.fail(format!("audit: {problems:?}"));
        }
        for sku in SKUS {
            let got = self
                .engine
                .available_to_channel(sku, CHANNEL, self.now)
                .unwrap();
            let fenced = sku == DROP_SKU && (DROP_STARTS..DROP_SPILLS).contains(&self.now);
            // while the drop's pool is fenced (it is the channel's own), the SKU's available
            // units everywhere; else its locations' less its buffer
            let want = if fenced {
                LOCATIONS
                    .iter()
                    .map(|(loc, _)| self.model.available(sku, loc))
                    .sum::<i64>()
            } else {
                let there: i64 = CHANNEL_LOCATIONS
                    .iter()
                    .map(|loc| self.model.available(sku, loc))
                    .sum();
                (there - CHANNEL_BUFFER).max(0)
            };
            if got != want {
                self.fail(format!("{sku}: {got} available to {CHANNEL}, model {want}"));
            }
        }
        let taken = self.engine.drop_pool_taken(DROP, CHANNEL).unwrap();
        if taken != self.model.pool_taken as u64 {
            self.fail(format!(
                "drop pool: engine counts {taken} taken, model {}",
                self.model.pool_taken
            ));
        }
        for buyer in BUYERS {
            let got = self.engine.buyer_units(buyer, CAPPED_SKU).unwrap();
            let want = self.model.units_of(buyer, CAPPED_SKU);
            if got != want || got > PER_BUYER_MAX {
                self.fail(format!(
                    "buyer {buyer}: engine counts {got} of {CAPPED_SKU}, model {want}, cap {PER_BUYER_MAX}"
                ));
            }
        }
        for sku in SKUS {
            for (loc, _) in LOCATIONS {
                let id = self.engine.catalogue().location_id(loc).unwrap();
                let level = self
                    .engine
                    .levels(sku)
                    .unwrap()
                    .iter()
                    .find(|l| l.location == id)
                    .copied()
                    .unwrap_or_default();
                let got = (level.on_hand, level.reserved, level.committed);
                let want = self.model.counters(sku, loc);
                if got != want {
                    self.fail(format!("{sku}@{loc}: engine {got:?}, model {want:?}"));
                }
                let lots = self.engine.lots();
                let sku_id = self.engine.catalogue().sku_id(sku).unwrap();
                let got: BTreeMap<&str, i64> = lots
                    .at(sku_id, id)
                    .iter()
                    .map(|&(lot, units)| (&*lots.lot(lot).code, units))
                    .collect();
                let want: BTreeMap<&str, i64> = LOTS
                    .iter()
                    .map(|&(lot, _)| (lot, self.model.lot_units(sku, loc, Some(lot))))
                    .filter(|&(_, units)| units != 0)
                    .collect();
                if got != want {
                    self.fail(format!("{sku}@{loc}: engine lots {got:?}, model {want:?}"));
                }
            }
        }
    }

    fn drain_and_replay(&mut self) {
        let batch = self.engine.drain(self.rng.random_range(1..500));
        for entry in &batch {
            self.replica.apply(entry);
        }
        if let Some(last) = batch.last() {
            self.engine.prune_finished(last.lsn);
            // Once durable, a finished reservation is the ledger's to answer for, not memory's.
            let engine = &self.engine;
            self.model
                .finished
                .retain(|&seq, _| engine.get(seq).is_some());
        }
        if self.engine.pending() == 0 && self.replica.snapshot() != self.engine.snapshot() {
            self.fail("the replayed log does not rebuild the engine");
        }
    }
}

fn expiry_slack() -> i64 {
    reservoir_engine::expiry::BUCKET_MS
}

fn run(seed: u64, ops: usize) {
    let mut sim = Sim::new(seed);
    for _ in 0..ops {
        sim.step();
    }
    let rest = sim.engine.drain(usize::MAX);
    for entry in &rest {
        sim.replica.apply(entry);
    }
    assert_eq!(
        sim.replica.snapshot(),
        sim.engine.snapshot(),
        "seed {seed}: final replay differs"
    );
    // Every hold still open expires once the clock passes the last expiry.
    sim.now += 10_000;
    sim.tick();
    assert!(
        sim.model
            .holds
            .values()
            .all(|h| h.status == Status::Committed),
        "seed {seed}"
    );
}

#[test]
fn random_operation_streams_match_the_model() {
    if let Ok(seed) = std::env::var("SIM_SEED") {
        run(seed.parse().expect("SIM_SEED is a number"), OPS_PER_SEED);
        return;
    }
    for seed in 0..SEEDS {
        run(0x5EED_0000 + seed, OPS_PER_SEED);
    }
}
