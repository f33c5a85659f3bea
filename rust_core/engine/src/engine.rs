//! The engine: applies operations atomically in memory and logs every change.
//!
//! Every operation checks everything first and then changes state; a refused operation
//! changes nothing. Time comes in as `now_ms`; the engine never reads a clock.

mod allocation;
mod audit;
mod drops;
mod holders;
mod picking;
mod reads;
mod recovery;
mod replay;
mod reservations;
mod stock;
mod transit;
mod waitlists;

pub use recovery::OpenLines;
pub use transit::{Inbound, ReceiptLine, ShipLine, TransitLine};
pub use waitlists::WaitlistJoin;

use std::collections::{BTreeMap, VecDeque};

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::buyers::{BuyerId, Buyers};
use crate::catalogue::Catalogue;
use crate::channels::{Channel, Channels, SafetyBuffer};
use crate::drops::Drops;
use crate::error::{EngineError, Result, Shortage};
use crate::expiry::ExpiryTimers;
use crate::ids::{LocId, ReservationSeq, SeqMap, SkuId};
use crate::limits::Limits;
use crate::log::{Change, ChangeLog};
use crate::lots::{Age, LotId, LotTable};
use crate::reservation::{Finished, Hold, Lines, Status};
use crate::stock::StockTable;
use crate::waitlists::{EntryId, Waitlists};

/// One requested line of a reservation.
#[derive(Debug, Clone, Copy)]
pub struct LineRequest<'a> {
    pub sku: &'a str,
    pub quantity: i64,
    /// Where to hold the units; `None` lets the engine allocate (see [`Engine::reserve`]).
    pub location: Option<&'a str>,
}

/// Who a hold is for, besides its lines: the channel selling it (its buffer and locations
/// apply) and the buyer (per-buyer caps apply).
#[derive(Debug, Clone, Copy, Default)]
pub struct HoldFor<'a> {
    pub channel: Option<&'a str>,
    pub buyer: Option<&'a str>,
}

impl<'a> HoldFor<'a> {
    pub fn buyer(buyer: &'a str) -> Self {
        Self {
            channel: None,
            buyer: Some(buyer),
        }
    }

    pub fn channel(channel: &'a str) -> Self {
        Self {
            channel: Some(channel),
            buyer: None,
        }
    }
}

/// A reservation as the engine knows it: open, or finished and not yet pruned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationView {
    pub seq: ReservationSeq,
    pub status: Status,
    pub expires_at_ms: i64,
    pub lines: Lines,
    /// Answer only once this LSN is durable.
    pub lsn: u64,
}

/// The result of an operation on an existing reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub view: ReservationView,
    /// False when the call changed nothing (it was already in that state).
    pub changed: bool,
}

/// The lots one pick ships, its own lot first: (lot, units); `None` for the bin's units
/// outside any lot.
pub type PickedLots = SmallVec<[(Option<LotId>, i64); 2]>;

/// Where a confirmation's picks ship from (see [`Engine::lots_to_ship`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LotsToShip {
    /// Per pick, in the order given, the lots it ships.
    Ship(Vec<PickedLots>),
    /// Pick `pick` (an index) asks for more than its bin holds for it: only `available`.
    Short { pick: usize, available: i64 },
}

/// The engine's whole observable state, for comparing two engines (replay, recovery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub levels: BTreeMap<(String, String), (i64, i64, i64)>,
    pub open: BTreeMap<ReservationSeq, OpenState>,
    /// Units per (sku, location, lot).
    pub lots: BTreeMap<(String, String, String), i64>,
    /// Units each buyer has taken per SKU: (buyer, sku) -> held + committed + shipped.
    pub buyers: BTreeMap<(String, String), u64>,
    /// Units each drop pool's channel has taken: (drop, channel) -> taken.
    pub pools: BTreeMap<(String, String), u64>,
    /// Waiting waitlist entries: id -> (sku, quantity, buyer, channel).
    pub waitlists: BTreeMap<EntryId, WaitingState>,
    /// Units in transit per (sku, destination).
    pub in_transit: BTreeMap<(String, String), i64>,
}

/// A waiting waitlist entry by code: (sku, quantity, buyer, channel).
pub type WaitingState = (String, i64, String, Option<String>);

#[derive(Debug, Clone)]
pub struct Engine {
    limits: Limits,
    catalogue: Catalogue,
    stock: StockTable,
    lots: LotTable,
    buyers: Buyers,
    channels: Channels,
    holds: SeqMap<Hold>,
    /// The buyer of each open hold that has one (beside `holds`, so a hold without a buyer
    /// costs nothing more).
    hold_buyers: SeqMap<BuyerId>,
    drops: Drops,
    /// The drop pools each open hold took from, by SKU: (sku, channel).
    hold_pools: SeqMap<HoldPools>,
    waitlists: Waitlists,
    /// Units on their way to each level: incoming on purchase orders, in transit on
    /// transfers (beside the levels: few levels have any).
    inbound: FxHashMap<(SkuId, LocId), Inbound>,
    finished: SeqMap<Finished>,
    finished_order: VecDeque<(u64, ReservationSeq)>,
    timers: ExpiryTimers,
    log: ChangeLog,
    next_seq: ReservationSeq,
}

/// Each SKU `lines` ask for, once, in the order of its first line, with the units asked for
/// it (the lines of one SKU summed): what the per-SKU checks of a hold judge.
fn asked_per_sku(lines: &[ResolvedLine]) -> SmallVec<[(SkuId, i64); 4]> {
    let mut asked: SmallVec<[(SkuId, i64); 4]> = SmallVec::new();
    for &(sku, quantity, _) in lines {
        match asked.iter_mut().find(|(s, _)| *s == sku) {
            Some((_, total)) => *total += quantity,
            None => asked.push((sku, quantity)),
        }
    }
    asked
}

/// Ok, or `InsufficientStock` with the shortages found.
fn refused_if_short(short: Vec<Shortage>) -> Result<()> {
    if short.is_empty() {
        Ok(())
    } else {
        Err(EngineError::InsufficientStock(short))
    }
}

/// The drop pools one hold took from: (sku, channel).
type HoldPools = SmallVec<[(SkuId, Box<str>); 1]>;
/// Units this request already planned to take, per level.
type Taken = SmallVec<[(SkuId, LocId, i64); 4]>;
/// Locations with units available for a line without a location, in the order it takes
/// them: (available, location).
pub type Ranked = SmallVec<[(i64, LocId); 4]>;
/// A location a line may take units from: (age of its oldest free lot, available, location).
type Candidate = (Age, i64, LocId);
/// A request line with its SKU and location resolved.
type ResolvedLine = (SkuId, i64, Option<LocId>);
/// An open reservation by code: (status, expires_at_ms, [(sku, location, quantity)]).
pub type OpenState = (Status, i64, Vec<(String, String, u32)>);

impl Engine {
    /// A new, empty engine. Panics on unusable limits (see [`Limits::validate`]).
    pub fn new(limits: Limits) -> Self {
        if let Err(e) = limits.validate() {
            panic!("invalid engine limits: {e}");
        }
        Self {
            limits,
            catalogue: Catalogue::new(limits.catalogue_entries_max),
            stock: StockTable::default(),
            lots: LotTable::default(),
            buyers: Buyers::default(),
            channels: Channels::default(),
            holds: SeqMap::default(),
            hold_buyers: SeqMap::default(),
            drops: Drops::default(),
            hold_pools: SeqMap::default(),
            waitlists: Waitlists::default(),
            inbound: FxHashMap::default(),
            finished: SeqMap::default(),
            finished_order: VecDeque::new(),
            timers: ExpiryTimers::default(),
            log: ChangeLog::default(),
            next_seq: 1,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    pub fn define_sku(&mut self, sku: &str) -> Result<SkuId> {
        let (id, _) = self.catalogue.define_sku(sku)?;
        self.stock.ensure_sku(id);
        Ok(id)
    }

    pub fn define_location(&mut self, code: &str, sellable: bool) -> Result<LocId> {
        self.catalogue.define_location(code, sellable)
    }

    /// Sets the location `code` is inside (a channel selling from a place sells from
    /// everything inside it).
    pub fn set_location_parent(&mut self, code: &str, parent: Option<&str>) -> Result<()> {
        self.catalogue.set_parent(code, parent)
    }

    /// Defines or replaces a sales channel: the safety buffer withheld from its holds of every
    /// SKU, and the places it may sell from (`None`: everywhere).
    pub fn define_channel(
        &mut self,
        code: &str,
        buffer: SafetyBuffer,
        locations: Option<&[&str]>,
    ) -> Result<()> {
        let locations = locations
            .map(|codes| {
                codes
                    .iter()
                    .map(|code| self.catalogue.location_id(code))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?;
        self.channels.define(code, Channel { buffer, locations })
    }

    pub fn channel(&self, code: &str) -> Option<&Channel> {
        self.channels.get(code)
    }

    fn check_log_room(&self) -> Result<()> {
        let pending = self.log.pending();
        if pending >= self.limits.log_entries_max {
            return Err(EngineError::Backpressure { pending });
        }
        Ok(())
    }

    fn check_lot_room(&self) -> Result<()> {
        if self.lots.len() >= self.limits.lots_max {
            return Err(EngineError::LimitExceeded {
                field: "lots".into(),
                limit: self.limits.lots_max as u64,
            });
        }
        Ok(())
    }

    fn check_quantity(&self, field: &str, quantity: i64) -> Result<()> {
        let max = self.limits.quantity_per_line_max;
        if quantity < 1 || quantity as u64 > max {
            return Err(EngineError::invalid(
                field,
                format!("must be between 1 and {max}"),
            ));
        }
        Ok(())
    }

    fn check_ttl(&self, ttl_ms: i64) -> Result<()> {
        let max = self.limits.ttl_ms_max;
        if ttl_ms < 1 || ttl_ms > max {
            return Err(EngineError::invalid(
                "ttl_ms",
                format!("must be between 1 and {max}"),
            ));
        }
        Ok(())
    }

    fn resolve(&self, sku: &str, location: &str) -> Result<(SkuId, LocId)> {
        Ok((
            self.catalogue.sku_id(sku)?,
            self.catalogue.location_id(location)?,
        ))
    }

    fn resolve_lines(&self, lines: &[LineRequest<'_>]) -> Result<SmallVec<[ResolvedLine; 4]>> {
        lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                if line.quantity < 1 || line.quantity as u64 > self.limits.quantity_per_line_max {
                    self.check_quantity(&format!("lines[{i}].quantity"), line.quantity)?;
                }
                let sku = self.catalogue.sku_id(line.sku)?;
                let location = line
                    .location
                    .map(|code| self.catalogue.location_id(code))
                    .transpose()?;
                Ok((sku, line.quantity, location))
            })
            .collect()
    }

    /// The shortage of `sku` when `requested` is more than `available`.
    fn shortage(&self, sku: SkuId, requested: i64, available: i64) -> Option<Shortage> {
        (requested > available).then(|| Shortage {
            sku: self.catalogue.sku(sku).to_owned(),
            requested,
            available,
        })
    }

    /// Applies a change's ledger fold to the levels and the lots in them.
    fn apply_effects(&mut self, change: &Change) {
        let (stock, lots) = (&mut self.stock, &mut self.lots);
        change.for_each_effect(|s, l, delta| stock.apply(s, l, delta));
        change.for_each_lot_effect(|s, l, lot, units| lots.apply(s, l, lot, units));
        self.apply_transit(change);
    }

    fn remove_timer(&mut self, expires_at_ms: i64, slot: u32) {
        if let Some((moved, slot)) = self.timers.remove(expires_at_ms, slot) {
            self.holds
                .get_mut(&moved)
                .expect("timer of an open hold")
                .timer_slot = slot;
        }
    }

    /// Logs `change` to a reservation and answers its new state.
    fn logged(
        &mut self,
        seq: ReservationSeq,
        status: Status,
        expires_at_ms: i64,
        lines: Lines,
        change: Change,
        now_ms: i64,
    ) -> Outcome {
        let lsn = self.log.append(now_ms, change);
        let view = ReservationView {
            seq,
            status,
            expires_at_ms,
            lines,
            lsn,
        };
        Outcome {
            view,
            changed: true,
        }
    }

    fn finish(
        &mut self,
        seq: ReservationSeq,
        hold: Hold,
        status: Status,
        change: Change,
        now_ms: i64,
    ) -> Outcome {
        let lines = Lines::from_slice(&hold.lines);
        let outcome = self.logged(seq, status, hold.expires_at_ms, hold.lines, change, now_ms);
        let lsn = outcome.view.lsn;
        self.finished_order.push_back((lsn, seq));
        let expires_at_ms = hold.expires_at_ms;
        self.finished.insert(
            seq,
            Finished {
                status,
                lsn,
                expires_at_ms,
                lines,
            },
        );
        outcome
    }
}
