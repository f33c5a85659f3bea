//! Seeded randomized simulation (VOPR-style): random operation streams against a simple
//! model. After every step: no oversell (but where a negative adjustment explains it), the
//! engine's counters and lots equal the model's, every hold due is gone. A one-line hold
//! without a location must take the locations in the model's order (oldest lot first, then
//! most available). Buyers join and leave waitlists; after every step the log the step
//! wrote is read: each waitlist offer (a hold the engine made by itself) went to the oldest
//! entry of its SKU still waiting, in a step where units of that SKU came back (or its
//! queue moved), for the entry's whole quantity, buyer and channel, and the model takes it
//! as a hold; and no SKU is left with a head entry the units free could serve (the model's
//! judgement and `Engine::servable_waitlist` both). Stock also comes in on receipts of
//! several lines (all or none; damaged units to the quarantine, a non-sellable location, and
//! released from it later), leaves on transfers in transit (only units nobody holds), and
//! arrives or is lost; customer returns come back into stock or are written off. After every
//! step the units in transit per (SKU, destination) equal the model's and are in no level
//! (never available), and each SKU's `on_hand` (every location) plus units in transit changed
//! by exactly what the step's ledger lines of receipts, returns, adjustments, ships and
//! transit losses say: transfers, transit and reservations move units, never make or lose
//! any. Periodically the drained log is replayed into a replica that must equal the engine,
//! waitlists and units in transit included. A failure names its seed:
//! rerun one with `SIM_SEED=<seed> cargo test --release --test simulation` (add
//! `SIM_TRACE=1` to print each step's operation and log, `SIM_STATS=1` for how much of the
//! waitlists and of inbound stock each seed exercised; both on stderr, so with
//! `-- --nocapture`).

mod model;
mod ops;

use std::collections::{BTreeMap, HashMap, VecDeque};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use reservoir_engine::{
    Change, DropSpec, Engine, EngineError, Kind, LeaveReason, Limits, Line, LogEntry, Parties,
    ReservationSeq, SafetyBuffer, SkuId, Status,
};

use model::{Model, ModelHold};

const SKUS: [&str; 3] = ["S0", "S1", "S2"];
const LOCATIONS: [(&str, bool); 4] = [("L0", true), ("L1", true), ("L2", true), ("QC", false)];
/// The quarantine: the non-sellable location damaged units are received into.
const QUARANTINE: &str = "QC";
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
/// How long a waitlist offer lasts: about as long as the simulation's other holds.
const OFFER_TTL: i64 = 2_000;
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
    /// What the engine logged and the replica has not applied yet, oldest first (the sim
    /// drains the engine's log every step to read it, and replays it in random batches).
    log: VecDeque<LogEntry>,
    wait: Waits,
    /// `SIM_TRACE` is set: print each step's operation (`last_op`, as drawn) and log.
    trace: bool,
    last_op: u32,
    /// Each SKU's units (the engine's `on_hand` everywhere plus its units in transit) after
    /// the previous step, and what the step's ledger lines say they changed by.
    units: [i64; SKUS.len()],
    moved: [i64; SKUS.len()],
    inbound: InboundStats,
}

/// How much of inbound stock a run exercised.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct InboundStats {
    pub receipts: u64,
    pub receipts_refused: u64,
    pub quarantined: u64,
    pub released: u64,
    pub shipped: u64,
    pub ships_short: u64,
    pub ships_refused: u64,
    pub arrived: u64,
    pub arrivals_refused: u64,
    pub lost: u64,
    pub returned: u64,
    pub written_off: u64,
}

/// What the waitlist checks carry from an operation to the reading of its log, and across
/// steps.
#[derive(Default)]
struct Waits {
    /// The entry the step's join made: its `Join` must be logged.
    expect_join: Option<u64>,
    /// The entry the step's leave took off: its `Leave` must be logged.
    expect_leave: Option<u64>,
    /// The offers `serve_waitlists` said it made in this step (the serve operation).
    serve_offers: Option<usize>,
    /// The clock crossed a drop's start, spill or end and the tick served every waitlist.
    time_served: bool,
    /// The last entry offered units of each SKU (ids grow: offers come in entry order).
    last_offered: [u64; SKUS.len()],
    /// Units of the capped SKU each buyer has, counted from the log alone, and the buyer of
    /// each open reservation holding some (what an offer's cap check sees at its moment).
    log_units: [u64; BUYERS.len()],
    log_holders: HashMap<ReservationSeq, usize>,
    stats: WaitStats,
}

/// How much of the waitlist machinery a run exercised.
#[derive(Debug, Default)]
struct WaitStats {
    joined: u64,
    offers: u64,
    cancelled: u64,
    refused: u64,
}

fn new_engine() -> Engine {
    let mut engine = Engine::new(Limits {
        lines_per_reservation_max: 4,
        offer_ttl_ms: OFFER_TTL,
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
            log: VecDeque::new(),
            wait: Waits::default(),
            trace: std::env::var_os("SIM_TRACE").is_some(),
            last_op: 0,
            units: [0; SKUS.len()],
            moved: [0; SKUS.len()],
            inbound: InboundStats::default(),
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
        let op = self.rng.random_range(0..120);
        self.last_op = op;
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
            90..=99 => self.tick(),
            100..=104 => self.join(),
            105..=106 => self.leave(),
            107 => self.serve(),
            108..=109 => self.sell_out(),
            110..=111 => self.receive_lines(),
            112..=114 => self.ship_transit(),
            115..=116 => self.arrive_transit(),
            117 => self.lose_transit(),
            118 => self.customer_return(),
            _ => self.release_quarantine(),
        }
        self.settle();
        if self.step.is_multiple_of(97) {
            self.drain_and_replay();
        }
    }

    /// After an operation: read what it logged, then check the engine against the model.
    fn settle(&mut self) {
        self.read_log();
        self.check();
        self.check_units();
        self.check_waitlists();
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
        let before = self.now;
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
        // What time alone changes (a drop's start lets entries be served; its spill frees
        // the pool's unsold units for everyone): the timer serves every waitlist then.
        let crossed = [DROP_STARTS, DROP_SPILLS, DROP_ENDS]
            .iter()
            .any(|&at| (before + 1..=self.now).contains(&at));
        if crossed {
            self.engine.serve_waitlists(self.now);
            self.wait.time_served = true;
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
            // while the drop's pool is fenced (it is the channel's own), the SKU's available
            // units everywhere; else its locations' less its buffer
            let want = self.model.free_for(sku, Some(CHANNEL), self.now);
            if got != want {
                self.fail(format!("{sku}: {got} available to {CHANNEL}, model {want}"));
            }
        }
        self.check_in_transit();
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

    /// The engine's units in transit per (SKU, destination) equal the model's, and are never
    /// available: the units of a SKU the engine would hold (what its sellable levels have
    /// available, and what its allocation order offers) are what its levels (checked equal
    /// to the model's, which count none in transit) have unheld at the sellable locations.
    fn check_in_transit(&self) {
        let c = self.engine.catalogue();
        for sku in SKUS {
            let rows = self.engine.inbound(sku).unwrap();
            let got: BTreeMap<&str, i64> = rows
                .iter()
                .filter(|(_, i)| i.in_transit != 0)
                .map(|&(loc, i)| (c.location(loc), i.in_transit))
                .collect();
            let want = self.model.in_transit_of(sku);
            if got != want {
                self.fail(format!("{sku} in transit: engine {got:?}, model {want:?}"));
            }
            if let Some((loc, i)) = rows
                .iter()
                .find(|(_, i)| i.incoming != 0 || i.in_transit < 0)
            {
                self.fail(format!("{sku}@{}: inbound {i:?}", c.location(*loc)));
            }
            let sku_id = c.sku_id(sku).unwrap();
            let total: i64 = want.values().sum();
            if self.engine.in_transit_units(sku_id) != total {
                self.fail(format!(
                    "{sku}: engine counts {} in transit, its rows {total}",
                    self.engine.in_transit_units(sku_id)
                ));
            }
            let levels = self.engine.levels(sku).unwrap();
            let want: i64 = levels
                .iter()
                .filter(|l| LOCATIONS.contains(&(c.location(l.location), true)))
                .map(|l| (l.on_hand - l.reserved - l.committed).max(0))
                .sum();
            let reservable: i64 = levels.iter().map(|l| self.engine.reservable(l)).sum();
            let ranked: i64 = self
                .engine
                .allocation_order(sku)
                .unwrap()
                .iter()
                .map(|&(units, _)| units)
                .sum();
            if reservable != want || ranked != want {
                self.fail(format!(
                    "{sku}: engine has {reservable} available ({ranked} in its allocation \
                     order), model {want} (and {total} in transit)"
                ));
            }
        }
    }

    /// Each SKU's units on hand (every location) plus in transit changed, over the step, by
    /// exactly what its ledger lines of receipts, returns, adjustments, ships and transit
    /// losses say (`moved`, from the log the step wrote).
    fn check_units(&mut self) {
        for (s, sku) in SKUS.into_iter().enumerate() {
            let on_hand: i64 = self
                .engine
                .levels(sku)
                .unwrap()
                .iter()
                .map(|l| l.on_hand)
                .sum();
            let in_transit: i64 = self
                .engine
                .inbound(sku)
                .unwrap()
                .iter()
                .map(|(_, i)| i.in_transit)
                .sum();
            let now = on_hand + in_transit;
            if now - self.units[s] != self.moved[s] {
                self.fail(format!(
                    "{sku}: on hand + in transit went {} -> {now} ({on_hand} + {in_transit}), \
                     the step's receipts, returns, adjustments, ships and losses say {:+}",
                    self.units[s], self.moved[s]
                ));
            }
            self.units[s] = now;
        }
    }

    fn sku_code(&self, sku: SkuId) -> &'static str {
        let code = self.engine.catalogue().sku(sku);
        SKUS.into_iter()
            .find(|&s| s == code)
            .expect("a simulated SKU")
    }

    fn buyer_index(&self, buyer: &str) -> usize {
        BUYERS
            .iter()
            .position(|&b| b == buyer)
            .unwrap_or_else(|| self.fail(format!("a hold for unknown buyer {buyer:?}")))
    }

    /// Reads what the step logged, in order: checks each waitlist change in it against the
    /// model's waitlists, and teaches the model the offers (the holds the engine made by
    /// itself). Keeps the entries for the replica.
    fn read_log(&mut self) {
        let batch = self.engine.drain(usize::MAX);
        if self.trace {
            eprintln!("step {} (op {}) at {}", self.step, self.last_op, self.now);
            for entry in &batch {
                eprintln!("    {:?}", entry.change);
            }
        }
        // SKUs whose units came back in this step so far, or whose queue's head left
        let mut freed: Vec<SkuId> = Vec::new();
        let mut offers = 0;
        self.moved = [0; SKUS.len()];
        for entry in &batch {
            let moved = &mut self.moved;
            let c = self.engine.catalogue();
            entry
                .change
                .for_each_ledger_line(|kind, sku, _, quantity, _| {
                    let delta = units_moved(kind, quantity);
                    if delta != 0 {
                        let code = c.sku(sku);
                        moved[SKUS.iter().position(|&s| s == code).unwrap()] += delta;
                    }
                });
            match &entry.change {
                Change::Receipt { sku, .. }
                | Change::Adjustment { sku, .. }
                | Change::Return { sku, .. }
                | Change::Transfer { sku, .. }
                | Change::Arrive { sku, .. }
                | Change::Reallocate { sku, .. } => freed.push(*sku),
                Change::Transit { .. } | Change::Lose { .. } | Change::WriteOff { .. } => {}
                Change::Release { seq, lines }
                | Change::Cancel { seq, lines }
                | Change::Expire { seq, lines } => {
                    freed.extend(lines.iter().map(|l| l.sku));
                    if let Some(b) = self.wait.log_holders.remove(seq) {
                        self.wait.log_units[b] -= self.capped_units(lines);
                    }
                }
                Change::Ship { seq, fulfilled, .. } => {
                    if *fulfilled {
                        self.wait.log_holders.remove(seq); // what it shipped stays counted
                    }
                }
                Change::Reserve {
                    seq,
                    expires_at_ms,
                    lines,
                    parties,
                } => {
                    let parties = parties.as_deref();
                    if let Some(p) = parties.filter(|p| p.entry.is_some()) {
                        self.offered(*seq, entry.at_ms, *expires_at_ms, lines, p, &freed);
                        offers += 1;
                    }
                    let units = self.capped_units(lines);
                    if let Some(buyer) = parties.and_then(|p| p.buyer.as_deref()) {
                        if units > 0 {
                            let b = self.buyer_index(buyer);
                            self.wait.log_units[b] += units;
                            self.wait.log_holders.insert(*seq, b);
                        }
                    }
                }
                Change::Join(joined) => {
                    let want = self.wait.expect_join.take();
                    let code = self.sku_code(joined.sku);
                    let model = self.model.waiting.get(&joined.id);
                    let same = model.is_some_and(|m| {
                        m.sku == code
                            && m.quantity == joined.quantity
                            && *m.buyer == *joined.buyer
                            && m.channel == joined.channel.as_deref()
                    });
                    if want != Some(joined.id) || !same {
                        self.fail(format!(
                            "logged join {joined:?}: the step joined {want:?} ({model:?})"
                        ));
                    }
                }
                Change::Leave {
                    entry: id,
                    sku,
                    reason,
                } => {
                    self.left(*id, *sku, *reason);
                    freed.push(*sku);
                }
                Change::Commit { .. } | Change::Extend { .. } => {}
            }
        }
        if let Some(made) = self.wait.serve_offers.take() {
            if made != offers {
                self.fail(format!(
                    "serve_waitlists said {made} offers, logged {offers}"
                ));
            }
        }
        if let Some(entry) = self.wait.expect_join.take() {
            self.fail(format!("entry {entry} joined but no join was logged"));
        }
        if let Some(entry) = self.wait.expect_leave.take() {
            self.fail(format!("entry {entry} left but no leave was logged"));
        }
        self.wait.time_served = false;
        self.log.extend(batch);
    }

    /// Units of the capped SKU in `lines`.
    fn capped_units(&self, lines: &[Line]) -> u64 {
        lines
            .iter()
            .filter(|l| self.engine.catalogue().sku(l.sku) == CAPPED_SKU)
            .map(|l| u64::from(l.quantity))
            .sum()
    }

    /// A logged offer (hold `seq` for waitlist entry `parties.entry`): it must be for the
    /// oldest entry still waiting for its SKU, in a step where that SKU's units came back,
    /// for the entry's quantity, buyer and channel, within the buyer's cap at that moment,
    /// lasting the offer TTL. The model then holds it like any hold.
    fn offered(
        &mut self,
        seq: ReservationSeq,
        at_ms: i64,
        expires_at_ms: i64,
        lines: &[Line],
        parties: &Parties,
        freed: &[SkuId],
    ) {
        let id = parties.entry.expect("an offer names its entry");
        let Some(entry) = self.model.waiting.get(&id).cloned() else {
            self.fail(format!(
                "offer {seq} to entry {id}, which is not waiting (never joined, left or offered)"
            ));
        };
        let head = self.model.head(entry.sku).map(|(head, _)| head);
        if head != Some(id) {
            self.fail(format!(
                "offer {seq} to entry {id} of {}, but {head:?} waits longer",
                entry.sku
            ));
        }
        let s = SKUS.iter().position(|&s| s == entry.sku).unwrap();
        if self.wait.last_offered[s] >= id {
            self.fail(format!(
                "offer to entry {id} of {} after one to entry {}",
                entry.sku, self.wait.last_offered[s]
            ));
        }
        self.wait.last_offered[s] = id;
        let c = self.engine.catalogue();
        let sku_id = c.sku_id(entry.sku).unwrap();
        if !self.wait.time_served && !freed.contains(&sku_id) {
            self.fail(format!(
                "offer {seq} to entry {id} of {} though none of its units came back",
                entry.sku
            ));
        }
        let got: Vec<(String, String, i64)> = lines
            .iter()
            .map(|l| {
                let loc = c.location(l.location).to_owned();
                (c.sku(l.sku).to_owned(), loc, i64::from(l.quantity))
            })
            .collect();
        let places_ok = got.iter().all(|(s, loc, _)| {
            let sellable = LOCATIONS.iter().any(|&(l, sellable)| l == loc && sellable);
            let in_channel = entry.channel.is_none() || CHANNEL_LOCATIONS.contains(&&**loc);
            s == entry.sku && sellable && in_channel
        });
        let held: i64 = got.iter().map(|l| l.2).sum();
        let b = self.buyer_index(entry.buyer);
        let within_cap = entry.sku != CAPPED_SKU
            || self.wait.log_units[b] + entry.quantity as u64 <= PER_BUYER_MAX;
        if !places_ok
            || held != entry.quantity
            || parties.buyer.as_deref() != Some(entry.buyer)
            || parties.channel.as_deref() != entry.channel
            || at_ms != self.now
            || expires_at_ms != self.now + OFFER_TTL
            || !within_cap
        {
            self.fail(format!(
                "offer {seq} to entry {id} {entry:?}: {got:?} for {parties:?} at {at_ms} until \
                 {expires_at_ms} (now {}, the buyer had {} of {CAPPED_SKU})",
                self.now, self.wait.log_units[b]
            ));
        }
        self.model.waiting.remove(&id);
        let fenced = (DROP_STARTS..DROP_SPILLS).contains(&self.now);
        let pooled = entry.channel.is_some() && entry.sku == DROP_SKU && fenced;
        let hold = ModelHold {
            status: Status::Held,
            expires_at_ms,
            lines: got,
            buyer: Some(entry.buyer),
            pooled,
        };
        self.model.hold(seq, hold);
        self.wait.stats.offers += 1;
    }

    /// A logged leave: one the step asked for, or the oldest entry of its SKU passed over
    /// because its buyer reached the cap (the only rule that refuses an offer here).
    fn left(&mut self, id: u64, sku: SkuId, reason: LeaveReason) {
        let code = self.sku_code(sku);
        let Some(entry) = self.model.waiting.remove(&id) else {
            self.fail(format!("entry {id} left ({reason:?}) but was not waiting"));
        };
        let ok = match reason {
            LeaveReason::Cancelled => {
                self.wait.stats.cancelled += 1;
                self.wait.expect_leave.take() == Some(id)
            }
            LeaveReason::Refused => {
                self.wait.stats.refused += 1;
                let first = self.model.head(code).is_none_or(|(head, _)| head > id);
                let b = self.buyer_index(entry.buyer);
                let capped = self.wait.log_units[b] + entry.quantity as u64 > PER_BUYER_MAX;
                first && code == CAPPED_SKU && capped
            }
        };
        if !ok || entry.sku != code {
            self.fail(format!(
                "entry {id} {entry:?} left ({reason:?}, logged for {code}); the buyers have \
                 {:?} of {CAPPED_SKU}",
                self.wait.log_units
            ));
        }
    }

    /// The waitlists equal the model's, and no SKU has a head entry that could be served
    /// now (units free for its channel, its buyer within the cap): an offer is made as soon
    /// as units are there. Checked with the model's figures and by the engine's own read.
    fn check_waitlists(&mut self) {
        if let Some((sku, entry)) = self.engine.servable_waitlist(self.now) {
            self.fail(format!(
                "entry {entry} of {sku} could be served but was not (engine's read)"
            ));
        }
        for sku in SKUS {
            let got: Vec<u64> = self.engine.waitlist(sku).unwrap().map(|e| e.id).collect();
            let want: Vec<u64> = self.model.queue(sku).map(|(id, _)| id).collect();
            let units = self.engine.waitlisted_units(sku).unwrap();
            if got != want || units != self.model.waiting_units(sku) {
                self.fail(format!(
                    "{sku}: engine waitlist {got:?} ({units} units), model {want:?}"
                ));
            }
            let Some((id, head)) = self.model.head(sku) else {
                continue;
            };
            let capped = sku == CAPPED_SKU
                && self.model.units_of(head.buyer, sku) + head.quantity as u64 > PER_BUYER_MAX;
            let free = self.model.free_for(sku, head.channel, self.now);
            if !capped && free >= head.quantity {
                self.fail(format!(
                    "entry {id} {head:?} still waits with {free} units free for it"
                ));
            }
        }
        for (b, &buyer) in BUYERS.iter().enumerate() {
            let want = self.model.units_of(buyer, CAPPED_SKU);
            if self.wait.log_units[b] != want {
                self.fail(format!(
                    "buyer {buyer}: the log counts {} of {CAPPED_SKU}, model {want}",
                    self.wait.log_units[b]
                ));
            }
        }
    }

    fn drain_and_replay(&mut self) {
        // as `Engine::drain` takes them: about `rows_max` ledger rows, at least one entry
        let rows_max = self.rng.random_range(1..500);
        let (mut rows, mut n) = (0, 0);
        for entry in &self.log {
            if n > 0 && rows + entry.change.row_count() > rows_max {
                break;
            }
            rows += entry.change.row_count();
            n += 1;
        }
        let batch: Vec<LogEntry> = self.log.drain(..n).collect();
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
        if self.log.is_empty() && self.replica.snapshot() != self.engine.snapshot() {
            self.fail("the replayed log does not rebuild the engine");
        }
    }

    /// Replays everything still unapplied and compares the replica with the engine.
    fn replay_all(&mut self, when: &str) {
        for entry in self.log.drain(..) {
            self.replica.apply(&entry);
        }
        assert_eq!(
            self.replica.snapshot(),
            self.engine.snapshot(),
            "seed {}: {when} replay differs",
            self.seed
        );
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
    sim.replay_all("final");
    // Every hold still open expires once the clock passes the last expiry; the units an
    // expiry gives back may go to a waiting entry, whose offer expires on the next round.
    let rounds = BUYERS.len() * SKUS.len() + 2; // at most one entry per SKU and buyer
    for _ in 0..rounds {
        sim.step += 1;
        sim.now += 10_000;
        sim.tick();
        sim.settle();
        if sim
            .model
            .holds
            .values()
            .all(|h| h.status == Status::Committed)
        {
            break;
        }
    }
    assert!(
        sim.model
            .holds
            .values()
            .all(|h| h.status == Status::Committed),
        "seed {seed}"
    );
    sim.replay_all("last");
    let stats = sim.wait.stats;
    let inbound = sim.inbound;
    if std::env::var_os("SIM_STATS").is_some() {
        eprintln!("seed {seed}: waitlists {stats:?}");
        eprintln!("seed {seed}: inbound {inbound:?}");
    }
    assert!(
        stats.joined > 0 && stats.offers > 0 && stats.cancelled > 0,
        "seed {seed}: the waitlists were hardly exercised: {stats:?}"
    );
    let InboundStats {
        receipts,
        receipts_refused,
        quarantined,
        released,
        shipped,
        ships_short,
        ships_refused,
        arrived,
        arrivals_refused,
        lost,
        returned,
        written_off,
    } = inbound;
    assert!(
        [
            receipts,
            receipts_refused,
            quarantined,
            released,
            shipped,
            ships_short,
            ships_refused,
            arrived,
            arrivals_refused,
            lost,
            returned,
            written_off
        ]
        .iter()
        .all(|&n| n > 0),
        "seed {seed}: inbound stock was hardly exercised: {inbound:?}"
    );
}

/// What one ledger line does to its SKU's units on hand plus in transit: receipts, returns
/// and adjustments (signed) bring units, ships and transit losses take them; moving units
/// (transfers, transit out, in transit, in from transit) or promising them makes or loses
/// none, and a written-off return was never in stock.
fn units_moved(kind: Kind, quantity: i64) -> i64 {
    match kind {
        Kind::Receipt | Kind::Return | Kind::Adjustment => quantity,
        Kind::Ship | Kind::TransitLost => -quantity,
        Kind::Reserve
        | Kind::Commit
        | Kind::Release
        | Kind::Cancel
        | Kind::Expire
        | Kind::TransferOut
        | Kind::TransferIn
        | Kind::TransitOut
        | Kind::Transit
        | Kind::TransitIn
        | Kind::WriteOff => 0,
    }
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
