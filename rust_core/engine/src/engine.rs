//! The engine: applies operations atomically in memory and logs every change.
//!
//! Every operation checks everything first and then changes state; a refused operation
//! changes nothing. Time comes in as `now_ms`; the engine never reads a clock.

use std::collections::{BTreeMap, VecDeque};

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::batch::{summarize, BatchSummary};
use crate::catalogue::Catalogue;
use crate::error::{EngineError, Result, Shortage};
use crate::expiry::ExpiryTimers;
use crate::ids::{LocId, ReservationSeq, SeqMap, SkuId};
use crate::limits::Limits;
use crate::log::{Change, ChangeLog, LogEntry, LotTags};
use crate::lots::{format_day, validate_lot_code, Age, Lot, LotId, LotTable, AGE_NONE};
use crate::reservation::{move_line, take_shipped, Finished, Hold, Line, Lines, Status};
use crate::stock::{Level, StockTable};

/// One requested line of a reservation.
#[derive(Debug, Clone, Copy)]
pub struct LineRequest<'a> {
    pub sku: &'a str,
    pub quantity: i64,
    /// Where to hold the units; `None` lets the engine allocate (see [`Engine::reserve`]).
    pub location: Option<&'a str>,
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

/// The engine's whole observable state, for comparing two engines (replay, recovery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub levels: BTreeMap<(String, String), (i64, i64, i64)>,
    pub open: BTreeMap<ReservationSeq, OpenState>,
    /// Units per (sku, location, lot).
    pub lots: BTreeMap<(String, String, String), i64>,
}

#[derive(Debug, Clone)]
pub struct Engine {
    limits: Limits,
    catalogue: Catalogue,
    stock: StockTable,
    lots: LotTable,
    holds: SeqMap<Hold>,
    finished: SeqMap<Finished>,
    finished_order: VecDeque<(u64, ReservationSeq)>,
    timers: ExpiryTimers,
    log: ChangeLog,
    next_seq: ReservationSeq,
}

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
            holds: SeqMap::default(),
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

    // --- catalogue ---------------------------------------------------------------------------

    pub fn define_sku(&mut self, sku: &str) -> Result<SkuId> {
        let (id, _) = self.catalogue.define_sku(sku)?;
        self.stock.ensure_sku(id);
        Ok(id)
    }

    pub fn define_location(&mut self, code: &str, sellable: bool) -> Result<LocId> {
        self.catalogue.define_location(code, sellable)
    }

    // --- stock movements ---------------------------------------------------------------------

    /// Adds received units to `on_hand`, into `lot` when one is named (a new lot is defined
    /// by its first receipt, with `expires_on` in days since 1970-01-01; later receipts of
    /// it may not name another date). Returns the LSN and the level after.
    pub fn receive(
        &mut self,
        sku: &str,
        location: &str,
        quantity: i64,
        lot: Option<&str>,
        expires_on: Option<i32>,
        now_ms: i64,
    ) -> Result<(u64, Level)> {
        self.check_log_room()?;
        self.check_quantity("quantity", quantity)?;
        let (sku, location) = self.resolve(sku, location)?;
        let (lot, new_lot) = match lot {
            Some(code) => self.receipt_lot(sku, code, expires_on)?,
            None => (None, None),
        };
        let lot = lot.or_else(|| new_lot.as_deref().map(|new| self.lots.define(new.clone())));
        let change = Change::Receipt {
            sku,
            location,
            quantity,
            lot,
            new_lot,
        };
        Ok(self.record_movement(sku, location, change, now_ms))
    }

    /// A receipt's lot: a known one (whose expiry date it may repeat, not change), or a new
    /// one to define (not yet defined: the receipt may still be refused).
    fn receipt_lot(
        &self,
        sku: SkuId,
        code: &str,
        expires_on: Option<i32>,
    ) -> Result<(Option<LotId>, Option<Box<Lot>>)> {
        validate_lot_code(code)?;
        if let Some(id) = self.lots.id(sku, code) {
            let known = self.lots.lot(id).expires_on;
            if expires_on.is_some() && expires_on != known {
                let was = known.map_or_else(|| "no expiry date".to_owned(), format_day);
                return Err(EngineError::invalid(
                    "expires_on",
                    format!("lot {code} was received with {was}; a lot has one expiry date"),
                ));
            }
            return Ok((Some(id), None));
        }
        self.check_lot_room()?;
        let lot = Lot {
            sku,
            code: code.into(),
            expires_on,
            first_lsn: self.log.last_lsn() + 1,
        };
        Ok((None, Some(Box::new(lot))))
    }

    /// The id of a lot an operation names; only receipts bring new lots in.
    fn known_lot(&self, sku: SkuId, lot: Option<&str>, field: &str) -> Result<Option<LotId>> {
        let Some(code) = lot else { return Ok(None) };
        self.lots.id(sku, code).map(Some).ok_or_else(|| {
            EngineError::invalid(
                field,
                format!(
                    "no lot {code:?} of {} was ever received",
                    self.catalogue.sku(sku)
                ),
            )
        })
    }

    /// Units of `lot` at a level (`None`: its units outside any lot).
    fn lot_units(&self, sku: SkuId, location: LocId, lot: Option<LotId>) -> i64 {
        match lot {
            Some(id) => self.lots.units(sku, location, id),
            None => {
                let on_hand = self.stock.get(sku, location).map_or(0, |l| l.on_hand);
                on_hand - self.lots.lotted(sku, location)
            }
        }
    }

    /// Refuses to take `units` of `lot` (`None`: unlotted) from a level that has fewer,
    /// naming `field` (`unlotted_field` when unlotted units are short: where the caller
    /// should have named a lot).
    fn check_lot_units(
        &self,
        sku: SkuId,
        location: LocId,
        lot: Option<LotId>,
        units: i64,
        field: &str,
        unlotted_field: &str,
    ) -> Result<()> {
        let there = self.lot_units(sku, location, lot);
        if units <= there {
            return Ok(());
        }
        Err(match lot {
            Some(id) => EngineError::invalid(
                field,
                format!(
                    "only {there} of lot {} on hand at this location",
                    self.lots.lot(id).code
                ),
            ),
            None => {
                let lots: Vec<String> = self
                    .lots
                    .at(sku, location)
                    .iter()
                    .map(|&(id, n)| format!("{} ({n})", self.lots.lot(id).code))
                    .collect();
                EngineError::invalid(
                    unlotted_field,
                    format!(
                        "only {there} units here are outside lots; name the lot: {}",
                        lots.join(", ")
                    ),
                )
            }
        })
    }

    /// Changes `on_hand` by a signed count correction. `on_hand` may not go below zero; it
    /// may go below `reserved + committed` (shrinkage), which then reads as a shortfall.
    /// A count of one lot corrects that lot (`lot`; `None`: the unlotted units).
    pub fn adjust(
        &mut self,
        sku: &str,
        location: &str,
        delta: i64,
        lot: Option<&str>,
        now_ms: i64,
    ) -> Result<(u64, Level)> {
        self.check_log_room()?;
        if delta == 0 {
            return Err(EngineError::invalid("delta", "must not be zero"));
        }
        self.check_quantity("delta", delta.abs())?;
        let (sku, location) = self.resolve(sku, location)?;
        let lot = self.known_lot(sku, lot, "lot")?;
        let on_hand = self.stock.get(sku, location).map_or(0, |l| l.on_hand);
        if on_hand + delta < 0 {
            return Err(EngineError::invalid(
                "delta",
                format!("would make on_hand negative ({on_hand} on hand)"),
            ));
        }
        if delta < 0 {
            self.check_lot_units(sku, location, lot, -delta, "delta", "lot")?;
        }
        let change = Change::Adjustment {
            sku,
            location,
            delta,
            lot,
        };
        Ok(self.record_movement(sku, location, change, now_ms))
    }

    /// Takes back units a customer returned into `on_hand` at a location.
    /// `lot` names a lot received before (`None`: the units come back unlotted).
    pub fn return_units(
        &mut self,
        sku: &str,
        location: &str,
        quantity: i64,
        lot: Option<&str>,
        now_ms: i64,
    ) -> Result<(u64, Level)> {
        self.check_log_room()?;
        self.check_quantity("quantity", quantity)?;
        let (sku, location) = self.resolve(sku, location)?;
        let lot = self.known_lot(sku, lot, "lot")?;
        let change = Change::Return {
            sku,
            location,
            quantity,
            lot,
        };
        Ok(self.record_movement(sku, location, change, now_ms))
    }

    /// Moves units between two locations of the same SKU. Only units nobody holds move:
    /// at most `on_hand − reserved − committed` at `from` (sellable or not); otherwise the
    /// shortage is reported and nothing moves. The units moved are of `lot` (`None`: the
    /// unlotted ones), which must have them at `from`. Returns the LSN and both levels after.
    pub fn transfer(
        &mut self,
        sku: &str,
        from: &str,
        to: &str,
        quantity: i64,
        lot: Option<&str>,
        now_ms: i64,
    ) -> Result<(u64, Level, Level)> {
        self.check_log_room()?;
        self.check_quantity("quantity", quantity)?;
        if from == to {
            return Err(EngineError::invalid("to", "must differ from `from`"));
        }
        let (sku_id, from_id) = self.resolve(sku, from)?;
        let to_id = self.catalogue.location_id(to)?;
        let lot = self.known_lot(sku_id, lot, "lot")?;
        let movable = self.stock.get(sku_id, from_id).map_or(0, Level::available);
        if quantity > movable {
            let shortage = Shortage {
                sku: sku.to_owned(),
                requested: quantity,
                available: movable,
            };
            return Err(EngineError::InsufficientStock(vec![shortage]));
        }
        self.check_lot_units(sku_id, from_id, lot, quantity, "quantity", "lot")?;
        let change = Change::Transfer {
            sku: sku_id,
            from: from_id,
            to: to_id,
            quantity,
            lot,
        };
        let (lsn, after_from) = self.record_movement(sku_id, from_id, change, now_ms);
        Ok((lsn, after_from, *self.stock.entry(sku_id, to_id)))
    }

    /// Applies a stock movement to its level (by the ledger fold) and logs it; returns the
    /// LSN and the level after.
    fn record_movement(
        &mut self,
        sku: SkuId,
        location: LocId,
        change: Change,
        now_ms: i64,
    ) -> (u64, Level) {
        self.apply_effects(&change);
        let lsn = self.log.append(now_ms, change);
        (lsn, *self.stock.entry(sku, location))
    }

    /// Applies a change's ledger fold to the levels and the lots in them.
    fn apply_effects(&mut self, change: &Change) {
        let (stock, lots) = (&mut self.stock, &mut self.lots);
        change.for_each_effect(|s, l, delta| stock.apply(s, l, delta));
        change.for_each_lot_effect(|s, l, lot, units| lots.apply(s, l, lot, units));
    }

    // --- reservations ------------------------------------------------------------------------

    /// Holds every line or none. A line naming a location holds there (it must be sellable);
    /// a line without one is allocated over the SKU's sellable locations in the order of
    /// [`Engine::allocation_order`], splitting the line when one location is not enough.
    /// Lines naming a location are served first.
    pub fn reserve(
        &mut self,
        lines: &[LineRequest<'_>],
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<ReservationView> {
        self.check_log_room()?;
        if lines.is_empty() {
            return Err(EngineError::invalid("lines", "must have at least one line"));
        }
        if lines.len() > self.limits.lines_per_reservation_max {
            return Err(EngineError::LimitExceeded {
                field: "lines".into(),
                limit: self.limits.lines_per_reservation_max as u64,
            });
        }
        self.check_ttl(ttl_ms)?;
        if self.holds.len() >= self.limits.holds_max {
            return Err(EngineError::LimitExceeded {
                field: "holds".into(),
                limit: self.limits.holds_max as u64,
            });
        }
        let resolved = self.resolve_lines(lines)?;
        let allocated = self.allocate(&resolved)?;

        for line in &allocated {
            self.stock.entry(line.sku, line.location).reserved += i64::from(line.quantity);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let expires_at_ms = now_ms.saturating_add(ttl_ms);
        let timer_slot = self.timers.insert(seq, expires_at_ms);
        self.holds.insert(
            seq,
            Hold {
                status: Status::Held,
                expires_at_ms,
                timer_slot,
                lines: Lines::from_slice(&allocated),
            },
        );
        let lsn = self.log.append(
            now_ms,
            Change::Reserve {
                seq,
                expires_at_ms,
                lines: Lines::from_slice(&allocated),
            },
        );
        Ok(ReservationView {
            seq,
            status: Status::Held,
            expires_at_ms,
            lines: allocated,
            lsn,
        })
    }

    /// Turns a hold into an order: its units move from `reserved` to `committed` and it no
    /// longer expires. Committing a committed reservation changes nothing.
    pub fn commit(&mut self, seq: ReservationSeq, now_ms: i64) -> Result<Outcome> {
        self.check_log_room()?;
        let (status, expires_at_ms) = self.state(seq)?;
        match status {
            Status::Committed => Ok(self.unchanged(seq)),
            Status::Held if expires_at_ms <= now_ms => {
                self.expire_held(seq, now_ms);
                Err(EngineError::InvalidState {
                    seq,
                    status: Status::Expired,
                })
            }
            Status::Held => {
                let hold = self.holds.get_mut(&seq).expect("held reservation");
                hold.status = Status::Committed;
                let (expires_at_ms, slot, lines) = (
                    hold.expires_at_ms,
                    hold.timer_slot,
                    Lines::from_slice(&hold.lines),
                );
                self.remove_timer(expires_at_ms, slot);
                for line in &lines {
                    let level = self.stock.entry(line.sku, line.location);
                    level.reserved -= i64::from(line.quantity);
                    level.committed += i64::from(line.quantity);
                }
                let change = Change::Commit {
                    seq,
                    lines: Lines::from_slice(&lines),
                };
                Ok(self.logged(seq, Status::Committed, expires_at_ms, lines, change, now_ms))
            }
            status => Err(EngineError::InvalidState { seq, status }),
        }
    }

    /// Gives a reservation's units back: a hold is released, a committed one cancelled.
    /// Releasing a released reservation changes nothing; a hold past its expiry is expired
    /// instead (and reads `expired`).
    pub fn release(&mut self, seq: ReservationSeq, now_ms: i64) -> Result<Outcome> {
        self.check_log_room()?;
        let (status, expires_at_ms) = self.state(seq)?;
        match status {
            Status::Released | Status::Expired => Ok(self.unchanged(seq)),
            Status::Fulfilled => Err(EngineError::InvalidState { seq, status }),
            Status::Held if expires_at_ms <= now_ms => {
                self.expire_held(seq, now_ms);
                Ok(self.unchanged(seq))
            }
            Status::Held => {
                let hold = self.holds.remove(&seq).expect("held reservation");
                self.remove_timer(hold.expires_at_ms, hold.timer_slot);
                for line in &hold.lines {
                    self.stock.entry(line.sku, line.location).reserved -= i64::from(line.quantity);
                }
                let change = Change::Release {
                    seq,
                    lines: Lines::from_slice(&hold.lines),
                };
                Ok(self.finish(seq, hold, Status::Released, change, now_ms))
            }
            Status::Committed => {
                let hold = self.holds.remove(&seq).expect("committed reservation");
                for line in &hold.lines {
                    self.stock.entry(line.sku, line.location).committed -= i64::from(line.quantity);
                }
                let change = Change::Cancel {
                    seq,
                    lines: Lines::from_slice(&hold.lines),
                };
                Ok(self.finish(seq, hold, Status::Released, change, now_ms))
            }
        }
    }

    /// Ships picked units of a committed reservation: they leave `on_hand` and `committed`.
    /// `picks` are (sku, location, quantity, lot) at the reservation's own lines, each taken
    /// from the named lot there (`None`: unlotted units); a short pick ships less and leaves
    /// the rest committed. Shipping everything fulfils it.
    pub fn ship(
        &mut self,
        seq: ReservationSeq,
        picks: &[(&str, &str, i64, Option<&str>)],
        now_ms: i64,
    ) -> Result<Outcome> {
        self.check_log_room()?;
        let hold = self.open_or_finished(seq)?;
        if hold.status != Status::Committed {
            return Err(EngineError::InvalidState {
                seq,
                status: hold.status,
            });
        }
        if picks.is_empty() {
            return Err(EngineError::invalid("picks", "must have at least one pick"));
        }
        let mut shipped = Lines::new();
        let mut lots = LotTags::new();
        for (i, &(sku, location, quantity, lot)) in picks.iter().enumerate() {
            self.check_quantity(&format!("picks[{i}].quantity"), quantity)?;
            let (sku, location) = self.resolve(sku, location)?;
            let lot = self.known_lot(sku, lot, &format!("picks[{i}].lot"))?;
            let same = |l: &&Line| l.sku == sku && l.location == location;
            let held: i64 = hold
                .lines
                .iter()
                .filter(same)
                .map(|l| i64::from(l.quantity))
                .sum();
            let earlier: i64 = shipped
                .iter()
                .filter(same)
                .map(|l| i64::from(l.quantity))
                .sum();
            if earlier + quantity > held {
                return Err(EngineError::invalid(
                    format!("picks[{i}].quantity"),
                    format!("only {} committed at this location", held - earlier),
                ));
            }
            let on_hand = self.stock.get(sku, location).map_or(0, |l| l.on_hand);
            if earlier + quantity > on_hand {
                return Err(EngineError::invalid(
                    format!("picks[{i}].quantity"),
                    format!("only {on_hand} on hand at this location"),
                ));
            }
            let earlier_of_lot: i64 = shipped
                .iter()
                .zip(&lots)
                .filter(|(l, t)| same(l) && **t == lot)
                .map(|(l, _)| i64::from(l.quantity))
                .sum();
            let field = format!("picks[{i}].quantity");
            self.check_lot_units(
                sku,
                location,
                lot,
                earlier_of_lot + quantity,
                &field,
                &field,
            )?;
            shipped.push(Line {
                sku,
                location,
                quantity: quantity as u32,
            });
            lots.push(lot);
        }
        let hold = self.holds.get_mut(&seq).expect("committed reservation");
        let fulfilled = take_shipped(&mut hold.lines, &shipped);
        let (expires_at_ms, lines) = (hold.expires_at_ms, hold.lines.clone());
        let lots = lots.iter().any(Option::is_some).then(|| Box::new(lots));
        let change = Change::Ship {
            seq,
            lines: shipped,
            lots,
            fulfilled,
        };
        self.apply_effects(&change);
        if fulfilled {
            let hold = self.holds.remove(&seq).expect("committed reservation");
            return Ok(self.finish(seq, hold, Status::Fulfilled, change, now_ms));
        }
        Ok(self.logged(seq, Status::Committed, expires_at_ms, lines, change, now_ms))
    }

    /// Moves `quantity` committed units of an order's line at `from` to another location
    /// that has them to spare (after a short pick found fewer at `from`). `to: None` picks
    /// the first other location in [`Engine::allocation_order`] with enough. No
    /// location with enough: InsufficientStock, and nothing moves.
    pub fn reallocate(
        &mut self,
        seq: ReservationSeq,
        sku: &str,
        from: &str,
        to: Option<&str>,
        quantity: i64,
        now_ms: i64,
    ) -> Result<Outcome> {
        self.check_log_room()?;
        self.check_quantity("quantity", quantity)?;
        let (status, expires_at_ms) = self.state(seq)?;
        if status != Status::Committed {
            return Err(EngineError::InvalidState { seq, status });
        }
        let (sku_id, from_id) = self.resolve(sku, from)?;
        let committed: i64 = self.holds[&seq]
            .lines
            .iter()
            .filter(|l| l.sku == sku_id && l.location == from_id)
            .map(|l| i64::from(l.quantity))
            .sum();
        if quantity > committed {
            return Err(EngineError::invalid(
                "quantity",
                format!("only {committed} committed at {from}"),
            ));
        }
        let to_id = match to {
            Some(code) => {
                let id = self.catalogue.location_id(code)?;
                if id == from_id {
                    return Err(EngineError::invalid("to", "must differ from `from`"));
                }
                id
            }
            None => self
                .best_location(sku_id, from_id, quantity)
                .unwrap_or(from_id),
        };
        let available = if to_id == from_id {
            0
        } else {
            self.available(sku_id, to_id, &Taken::new())
        };
        if available < quantity {
            let shortage = Shortage {
                sku: sku.to_owned(),
                requested: quantity,
                available,
            };
            return Err(EngineError::InsufficientStock(vec![shortage]));
        }
        let change = Change::Reallocate {
            seq,
            sku: sku_id,
            from: from_id,
            to: to_id,
            quantity,
        };
        self.apply_effects(&change);
        let hold = self.holds.get_mut(&seq).expect("committed reservation");
        move_line(&mut hold.lines, sku_id, from_id, to_id, quantity as u32);
        let lines = Lines::from_slice(&hold.lines);
        Ok(self.logged(seq, Status::Committed, expires_at_ms, lines, change, now_ms))
    }

    /// The first location other than `except` in the SKU's allocation order with
    /// `quantity` available.
    fn best_location(&self, sku: SkuId, except: LocId, quantity: i64) -> Option<LocId> {
        self.ranked(sku, &Taken::new())
            .into_iter()
            .find(|&(available, location)| location != except && available >= quantity)
            .map(|(_, location)| location)
    }

    /// The sellable locations of `sku` with units available, in the order a line without a
    /// location takes them: for a SKU with lots, the location whose oldest lot not already
    /// promised is oldest first (oldest lot first; see [`crate::lots`]); then the one with
    /// the most available units (fewest stops); ties by location code, so the rule does not
    /// depend on the order locations were defined or loaded in.
    pub fn allocation_order(&self, sku: &str) -> Result<Ranked> {
        Ok(self.ranked(self.catalogue.sku_id(sku)?, &Taken::new()))
    }

    fn ranked(&self, sku: SkuId, taken: &Taken) -> Ranked {
        let mut ranked: SmallVec<[Candidate; 4]> = self.candidates(sku, taken).collect();
        if ranked.len() > 1 {
            ranked.sort_unstable_by(|a, b| self.prefer(a, b));
        }
        ranked.into_iter().map(|(_, n, l)| (n, l)).collect()
    }

    /// The first location of [`Engine::allocation_order`], without sorting the rest.
    fn first_choice(&self, sku: SkuId) -> Option<(i64, LocId)> {
        let first = self
            .candidates(sku, &Taken::new())
            .min_by(|a, b| self.prefer(a, b));
        first.map(|(_, available, location)| (available, location))
    }

    /// The SKU's locations with units available to this request, each with the age of its
    /// oldest lot not yet promised (for a SKU with lots; else every age is the same).
    fn candidates<'a>(
        &'a self,
        sku: SkuId,
        taken: &'a Taken,
    ) -> impl Iterator<Item = Candidate> + 'a {
        let lotted = self.lots.has_lots(sku);
        self.stock.levels(sku).iter().filter_map(move |l| {
            if !self.catalogue.is_sellable(l.location) {
                return None;
            }
            let planned = taken_at(taken, sku, l.location);
            let available = l.available() - planned;
            if available <= 0 {
                return None;
            }
            let age = if lotted {
                let promised = l.reserved + l.committed + planned;
                self.lots.oldest_free(sku, l.location, promised)
            } else {
                AGE_NONE
            };
            Some((age, available, l.location))
        })
    }

    /// The allocation order: older lot, then more available, then lower location code.
    fn prefer(&self, a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
        let code = |location| self.catalogue.location(location);
        (a.0.cmp(&b.0))
            .then_with(|| b.1.cmp(&a.1))
            .then_with(|| code(a.2).cmp(code(b.2)))
    }

    /// Moves a hold's expiry to `now_ms + ttl_ms`.
    pub fn extend(&mut self, seq: ReservationSeq, ttl_ms: i64, now_ms: i64) -> Result<Outcome> {
        self.check_log_room()?;
        self.check_ttl(ttl_ms)?;
        let (status, expires_at_ms) = self.state(seq)?;
        match status {
            Status::Held if expires_at_ms <= now_ms => {
                self.expire_held(seq, now_ms);
                Err(EngineError::InvalidState {
                    seq,
                    status: Status::Expired,
                })
            }
            Status::Held => {
                let slot = self.holds[&seq].timer_slot;
                self.remove_timer(expires_at_ms, slot);
                let expires_at_ms = now_ms.saturating_add(ttl_ms);
                let timer_slot = self.timers.insert(seq, expires_at_ms);
                let hold = self.holds.get_mut(&seq).expect("held reservation");
                hold.expires_at_ms = expires_at_ms;
                hold.timer_slot = timer_slot;
                let lines = Lines::from_slice(&hold.lines);
                let change = Change::Extend { seq, expires_at_ms };
                Ok(self.logged(seq, Status::Held, expires_at_ms, lines, change, now_ms))
            }
            status => Err(EngineError::InvalidState { seq, status }),
        }
    }

    /// Expires up to `max` holds due at `now_ms`, in O(due). Returns how many.
    pub fn expire_due(&mut self, now_ms: i64, max: usize) -> usize {
        let (mut due, mut moved) = (Vec::new(), Vec::new());
        let holds = &self.holds;
        self.timers.take_due(
            now_ms,
            max,
            |seq| holds[&seq].expires_at_ms,
            &mut due,
            &mut moved,
        );
        for (seq, slot) in moved {
            self.holds
                .get_mut(&seq)
                .expect("timer of an open hold")
                .timer_slot = slot;
        }
        // Room for everything at once, not a dozen rehashes and copies of growing tables.
        self.finished.reserve(due.len());
        self.finished_order.reserve(due.len());
        self.log.reserve(due.len());
        for &seq in &due {
            let hold = self.holds.remove(&seq).expect("timer of an open hold");
            self.expire_removed(seq, hold, now_ms);
        }
        due.len()
    }

    /// An open reservation, or a finished one whose final entry may not be durable yet.
    pub fn get(&self, seq: ReservationSeq) -> Option<ReservationView> {
        if let Some(hold) = self.holds.get(&seq) {
            return Some(ReservationView {
                seq,
                status: hold.status,
                expires_at_ms: hold.expires_at_ms,
                lines: Lines::from_slice(&hold.lines),
                lsn: self.log.last_lsn(),
            });
        }
        self.finished.get(&seq).map(|f| ReservationView {
            seq,
            status: f.status,
            expires_at_ms: f.expires_at_ms,
            lines: Lines::from_slice(&f.lines),
            lsn: f.lsn,
        })
    }

    /// Forgets finished reservations whose final entry is at or below `upto_lsn` (durable).
    pub fn prune_finished(&mut self, upto_lsn: u64) {
        while let Some(&(lsn, seq)) = self.finished_order.front() {
            if lsn > upto_lsn {
                break;
            }
            self.finished_order.pop_front();
            self.finished.remove(&seq);
        }
    }

    // --- reads -------------------------------------------------------------------------------

    /// The levels of a SKU, as (location id, level).
    pub fn levels(&self, sku: &str) -> Result<&[Level]> {
        Ok(self.stock.levels(self.catalogue.sku_id(sku)?))
    }

    /// Every lot, and the units of each at every location.
    pub fn lots(&self) -> &LotTable {
        &self.lots
    }

    /// Units of a level outside any lot.
    pub fn unlotted(&self, sku: SkuId, location: LocId) -> i64 {
        self.lot_units(sku, location, None)
    }

    /// Units of `level` a reservation may take: none at a non-sellable location.
    pub fn reservable(&self, level: &Level) -> i64 {
        if self.catalogue.is_sellable(level.location) {
            level.available()
        } else {
            0
        }
    }

    pub fn all_levels(&self) -> impl Iterator<Item = (SkuId, &Level)> {
        self.stock.iter()
    }

    pub fn open_count(&self) -> usize {
        self.holds.len()
    }

    pub fn held_count(&self) -> usize {
        self.timers.len()
    }

    pub fn next_expiry_ms(&self) -> Option<i64> {
        self.timers.next_due_ms()
    }

    pub fn next_seq(&self) -> ReservationSeq {
        self.next_seq
    }

    // --- the log -----------------------------------------------------------------------------

    pub fn last_lsn(&self) -> u64 {
        self.log.last_lsn()
    }

    pub fn pending(&self) -> usize {
        self.log.pending()
    }

    /// What the undrained log will add to the ledger's levels: the ledger plus this equals
    /// the engine's levels (the verifier checks it with the writer paused).
    pub fn pending_summary(&self) -> BatchSummary {
        summarize(self.log.entries())
    }

    /// Takes the oldest logged changes, about `rows_max` ledger rows' worth.
    pub fn drain(&mut self, rows_max: usize) -> Vec<LogEntry> {
        self.log.drain(rows_max)
    }

    // --- recovery: state loaded from the ledger, not logged ---------------------------------

    pub fn load_level(
        &mut self,
        sku: &str,
        location: &str,
        on_hand: i64,
        reserved: i64,
        committed: i64,
    ) -> Result<()> {
        let (sku, location) = self.resolve(sku, location)?;
        *self.stock.entry(sku, location) = Level {
            location,
            on_hand,
            reserved,
            committed,
        };
        Ok(())
    }

    /// Defines a lot as the ledger knows it (before its units are loaded).
    pub fn load_lot(
        &mut self,
        sku: &str,
        code: &str,
        expires_on: Option<i32>,
        first_lsn: u64,
    ) -> Result<LotId> {
        let sku = self.catalogue.sku_id(sku)?;
        validate_lot_code(code)?;
        if self.lots.id(sku, code).is_some() {
            return Err(EngineError::invalid("lot", "loaded twice"));
        }
        self.check_lot_room()?;
        Ok(self.lots.define(Lot {
            sku,
            code: code.into(),
            expires_on,
            first_lsn,
        }))
    }

    /// Sets the units of a loaded lot at a level (after the level itself is loaded).
    pub fn load_lot_units(
        &mut self,
        sku: &str,
        location: &str,
        code: &str,
        units: i64,
    ) -> Result<()> {
        let (sku, location) = self.resolve(sku, location)?;
        let lot = self.known_lot(sku, Some(code), "lot")?.expect("named lot");
        if units < 0 {
            return Err(EngineError::invalid("units", "must not be negative"));
        }
        let now = self.lots.units(sku, location, lot);
        self.lots.apply(sku, location, lot, units - now);
        Ok(())
    }

    /// Loads an open reservation. Its units are already counted in the loaded levels.
    pub fn load_reservation(
        &mut self,
        seq: ReservationSeq,
        status: Status,
        expires_at_ms: i64,
        lines: &[(&str, &str, i64)],
    ) -> Result<()> {
        if !matches!(status, Status::Held | Status::Committed) {
            return Err(EngineError::invalid(
                "status",
                "only held or committed reservations are open",
            ));
        }
        if self.holds.contains_key(&seq) {
            return Err(EngineError::invalid("reservation_id", "loaded twice"));
        }
        let mut loaded = Lines::new();
        for &(sku, location, quantity) in lines {
            let (sku, location) = self.resolve(sku, location)?;
            let quantity = u32::try_from(quantity)
                .map_err(|_| EngineError::invalid("quantity", "out of range"))?;
            loaded.push(Line {
                sku,
                location,
                quantity,
            });
        }
        let timer_slot = if status == Status::Held {
            self.timers.insert(seq, expires_at_ms)
        } else {
            0
        };
        self.holds.insert(
            seq,
            Hold {
                status,
                expires_at_ms,
                timer_slot,
                lines: loaded,
            },
        );
        self.next_seq = self.next_seq.max(seq + 1);
        Ok(())
    }

    pub fn set_last_lsn(&mut self, lsn: u64) {
        self.log.set_last_lsn(lsn);
    }

    pub fn set_next_seq(&mut self, seq: ReservationSeq) {
        self.next_seq = self.next_seq.max(seq);
    }

    /// Applies a logged change without logging it: replaying a drained log into an engine
    /// with the same catalogue rebuilds the state that produced it.
    pub fn apply(&mut self, entry: &LogEntry) {
        if let Change::Receipt {
            lot: Some(id),
            new_lot: Some(lot),
            ..
        } = &entry.change
        {
            let defined = self.lots.define((**lot).clone());
            debug_assert_eq!(defined, *id, "replayed lots are defined in the same order");
        }
        self.apply_effects(&entry.change);
        match &entry.change {
            Change::Receipt { .. }
            | Change::Adjustment { .. }
            | Change::Return { .. }
            | Change::Transfer { .. } => {}
            Change::Reserve {
                seq,
                expires_at_ms,
                lines,
            } => {
                let timer_slot = self.timers.insert(*seq, *expires_at_ms);
                let hold = Hold {
                    status: Status::Held,
                    expires_at_ms: *expires_at_ms,
                    timer_slot,
                    lines: Lines::from_slice(lines),
                };
                self.holds.insert(*seq, hold);
                self.next_seq = self.next_seq.max(seq + 1);
            }
            Change::Commit { seq, .. } => {
                let hold = self
                    .holds
                    .get_mut(seq)
                    .expect("replayed commit of an open hold");
                hold.status = Status::Committed;
                let (expires_at_ms, slot) = (hold.expires_at_ms, hold.timer_slot);
                self.remove_timer(expires_at_ms, slot);
            }
            Change::Release { seq, .. }
            | Change::Cancel { seq, .. }
            | Change::Expire { seq, .. } => {
                let hold = self
                    .holds
                    .remove(seq)
                    .expect("replayed end of an open reservation");
                if hold.status == Status::Held {
                    self.remove_timer(hold.expires_at_ms, hold.timer_slot);
                }
            }
            Change::Ship {
                seq,
                lines,
                fulfilled,
                ..
            } => {
                let hold = self
                    .holds
                    .get_mut(seq)
                    .expect("replayed ship of an open order");
                take_shipped(&mut hold.lines, lines);
                if *fulfilled {
                    self.holds.remove(seq);
                }
            }
            Change::Reallocate {
                seq,
                sku,
                from,
                to,
                quantity,
            } => {
                let hold = self
                    .holds
                    .get_mut(seq)
                    .expect("replayed move of an open order");
                move_line(&mut hold.lines, *sku, *from, *to, *quantity as u32);
            }
            Change::Extend { seq, expires_at_ms } => {
                let hold = &self.holds[seq];
                let (old, slot) = (hold.expires_at_ms, hold.timer_slot);
                self.remove_timer(old, slot);
                let timer_slot = self.timers.insert(*seq, *expires_at_ms);
                let hold = self
                    .holds
                    .get_mut(seq)
                    .expect("replayed extend of an open hold");
                hold.expires_at_ms = *expires_at_ms;
                hold.timer_slot = timer_slot;
            }
        }
    }

    /// Levels and open reservations by code, for comparing engines.
    pub fn snapshot(&self) -> Snapshot {
        let c = &self.catalogue;
        let levels = self
            .stock
            .iter()
            .filter(|(_, l)| l.on_hand != 0 || l.reserved != 0 || l.committed != 0)
            .map(|(sku, l)| {
                (
                    (c.sku(sku).to_owned(), c.location(l.location).to_owned()),
                    (l.on_hand, l.reserved, l.committed),
                )
            })
            .collect();
        let open = self
            .holds
            .iter()
            .map(|(&seq, h)| {
                let lines = h
                    .lines
                    .iter()
                    .map(|l| {
                        (
                            c.sku(l.sku).to_owned(),
                            c.location(l.location).to_owned(),
                            l.quantity,
                        )
                    })
                    .collect();
                (seq, (h.status, h.expires_at_ms, lines))
            })
            .collect();
        let lots = self
            .lots
            .iter()
            .map(|(sku, location, lot, units)| {
                let key = (
                    c.sku(sku).to_owned(),
                    c.location(location).to_owned(),
                    self.lots.lot(lot).code.to_string(),
                );
                (key, units)
            })
            .collect();
        Snapshot { levels, open, lots }
    }

    /// Checks the engine's own bookkeeping: counters never negative, `reserved` and
    /// `committed` equal to the sum of open lines, no oversell (`reserved + committed ≤
    /// on_hand`) except where `shrunk(sku, location)` says a negative adjustment happened,
    /// and one timer per held reservation. Returns what is wrong.
    pub fn audit(&self, shrunk: impl Fn(SkuId, LocId) -> bool) -> Vec<String> {
        let mut problems = Vec::new();
        let mut sums: FxHashMap<(SkuId, LocId), (i64, i64)> = FxHashMap::default();
        for hold in self.holds.values() {
            for l in &hold.lines {
                let sum = sums.entry((l.sku, l.location)).or_default();
                match hold.status {
                    Status::Held => sum.0 += i64::from(l.quantity),
                    _ => sum.1 += i64::from(l.quantity),
                }
            }
        }
        for (sku, level) in self.stock.iter() {
            let name = format!(
                "{}@{}",
                self.catalogue.sku(sku),
                self.catalogue.location(level.location)
            );
            if level.on_hand < 0 || level.reserved < 0 || level.committed < 0 {
                problems.push(format!("{name}: negative counter {level:?}"));
            }
            let (held, committed) = sums.remove(&(sku, level.location)).unwrap_or_default();
            if (held, committed) != (level.reserved, level.committed) {
                problems.push(format!(
                    "{name}: open lines hold {held}/{committed}, level says {}/{}",
                    level.reserved, level.committed
                ));
            }
            if level.shortfall() > 0 && !shrunk(sku, level.location) {
                problems.push(format!("{name}: oversold {level:?}"));
            }
        }
        if !sums.is_empty() {
            problems.push(format!("open lines at levels that do not exist: {sums:?}"));
        }
        for (sku, location, lot, units) in self.lots.iter() {
            if units <= 0 {
                problems.push(format!(
                    "lot {lot} of sku {sku} at {location}: {units} units"
                ));
            }
        }
        for (sku, level) in self.stock.iter() {
            let lotted = self.lots.lotted(sku, level.location);
            if lotted > level.on_hand.max(0) {
                problems.push(format!(
                    "{}@{}: {lotted} units in lots but {} on hand",
                    self.catalogue.sku(sku),
                    self.catalogue.location(level.location),
                    level.on_hand
                ));
            }
        }
        let held = self
            .holds
            .values()
            .filter(|h| h.status == Status::Held)
            .count();
        if held != self.timers.len() {
            problems.push(format!(
                "{held} held reservations but {} timers",
                self.timers.len()
            ));
        }
        problems
    }

    // --- internals ---------------------------------------------------------------------------

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

    /// What `sku` at `location` can still give to this request.
    fn available(&self, sku: SkuId, location: LocId, taken: &Taken) -> i64 {
        if !self.catalogue.is_sellable(location) {
            return 0;
        }
        let level = self.stock.get(sku, location).map_or(0, Level::available);
        level - taken_at(taken, sku, location)
    }

    /// Plans where every line is held; all lines fit, or the shortages per SKU.
    fn allocate(&self, lines: &[ResolvedLine]) -> Result<Lines> {
        // One line that one location covers (the flash-drop cart): the plan below would pick
        // the same location, without the candidate list, the sorts and the collects.
        if let [(sku, quantity, location)] = *lines {
            let best = match location {
                Some(location) => Some((self.available(sku, location, &Taken::new()), location)),
                None => self.first_choice(sku),
            };
            if let Some((available, location)) = best {
                if available >= quantity {
                    return Ok(smallvec::smallvec![Line {
                        sku,
                        location,
                        quantity: quantity as u32,
                    }]);
                }
            }
        }
        let mut taken = Taken::new();
        let mut planned: SmallVec<[(usize, Line); 4]> = SmallVec::new();
        let mut short: SmallVec<[SkuId; 2]> = SmallVec::new();
        let named = lines.iter().enumerate().filter(|(_, l)| l.2.is_some());
        let unnamed = lines.iter().enumerate().filter(|(_, l)| l.2.is_none());
        for (index, &(sku, quantity, location)) in named.chain(unnamed) {
            let candidates: Ranked = match location {
                Some(location) => {
                    smallvec::smallvec![(self.available(sku, location, &taken), location)]
                }
                None => self.ranked(sku, &taken),
            };
            let mut left = quantity;
            for (available, location) in candidates {
                let take = left.min(available);
                if take <= 0 {
                    continue;
                }
                taken.push((sku, location, take));
                planned.push((
                    index,
                    Line {
                        sku,
                        location,
                        quantity: take as u32,
                    },
                ));
                left -= take;
                if left == 0 {
                    break;
                }
            }
            if left > 0 && !short.contains(&sku) {
                short.push(sku);
            }
        }
        if !short.is_empty() {
            return Err(EngineError::InsufficientStock(
                self.shortages(lines, &short),
            ));
        }
        planned.sort_by_key(|(index, _)| *index);
        Ok(planned.into_iter().map(|(_, line)| line).collect())
    }

    /// Requested and available units of each short SKU, over the locations its lines could use.
    fn shortages(&self, lines: &[ResolvedLine], short: &[SkuId]) -> Vec<Shortage> {
        let none = Taken::new();
        short
            .iter()
            .map(|&sku| {
                let of_sku = || lines.iter().filter(move |l| l.0 == sku);
                let requested = of_sku().map(|l| l.1).sum();
                let available = if of_sku().any(|l| l.2.is_none()) {
                    self.stock
                        .levels(sku)
                        .iter()
                        .map(|l| self.available(sku, l.location, &none))
                        .sum()
                } else {
                    let mut named: SmallVec<[LocId; 4]> = of_sku().filter_map(|l| l.2).collect();
                    named.sort_unstable();
                    named.dedup();
                    named
                        .iter()
                        .map(|&loc| self.available(sku, loc, &none))
                        .sum()
                };
                Shortage {
                    sku: self.catalogue.sku(sku).to_owned(),
                    requested,
                    available,
                }
            })
            .collect()
    }

    fn open_or_finished(&self, seq: ReservationSeq) -> Result<ReservationView> {
        self.get(seq).ok_or(EngineError::ReservationNotFound(seq))
    }

    /// Status and expiry of an open or not yet pruned finished reservation: what the state
    /// checks need, without building a view (and copying its lines).
    fn state(&self, seq: ReservationSeq) -> Result<(Status, i64)> {
        if let Some(hold) = self.holds.get(&seq) {
            return Ok((hold.status, hold.expires_at_ms));
        }
        self.finished
            .get(&seq)
            .map(|f| (f.status, f.expires_at_ms))
            .ok_or(EngineError::ReservationNotFound(seq))
    }

    fn unchanged(&self, seq: ReservationSeq) -> Outcome {
        Outcome {
            view: self.get(seq).expect("known reservation"),
            changed: false,
        }
    }

    fn remove_timer(&mut self, expires_at_ms: i64, slot: u32) {
        if let Some((moved, slot)) = self.timers.remove(expires_at_ms, slot) {
            self.holds
                .get_mut(&moved)
                .expect("timer of an open hold")
                .timer_slot = slot;
        }
    }

    fn expire_held(&mut self, seq: ReservationSeq, now_ms: i64) {
        let hold = self.holds.remove(&seq).expect("held reservation");
        self.remove_timer(hold.expires_at_ms, hold.timer_slot);
        self.expire_removed(seq, hold, now_ms);
    }

    /// Gives back the units of a hold already taken out of `holds` and its timer.
    fn expire_removed(&mut self, seq: ReservationSeq, hold: Hold, now_ms: i64) {
        for line in &hold.lines {
            self.stock.entry(line.sku, line.location).reserved -= i64::from(line.quantity);
        }
        let change = Change::Expire {
            seq,
            lines: Lines::from_slice(&hold.lines),
        };
        self.finish(seq, hold, Status::Expired, change, now_ms);
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

/// Units of (`sku`, `location`) this request already planned to take.
fn taken_at(taken: &Taken, sku: SkuId, location: LocId) -> i64 {
    taken
        .iter()
        .filter(|t| t.0 == sku && t.1 == location)
        .map(|t| t.2)
        .sum()
}
