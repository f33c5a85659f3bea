//! The change log: every change the engine makes, in order, with a sequence number (LSN).
//! The writer drains it in batches into the ledger; replaying it rebuilds the engine.

use std::collections::VecDeque;

use smallvec::SmallVec;

use crate::ids::{LocId, ReservationSeq, SkuId};
use crate::lots::{Lot, LotId};
use crate::reservation::Lines;
use crate::stock::LevelDelta;
use crate::waitlists::{Entry, EntryId, LeaveReason};

/// The lot of each shipped line (index-aligned with the lines; `None`: unlotted units).
pub type LotTags = SmallVec<[Option<LotId>; 1]>;

/// A ship's lots: boxed, and `None` when no line is of a lot, so a `Change` (and every log
/// entry) stays as small as before lots.
pub type ShipLots = Option<Box<LotTags>>;

/// The channel and the buyer a hold is for: what a replay needs to count it toward the
/// buyer's units and the channel's drop pool (see [`crate::buyers`], [`crate::drops`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parties {
    pub channel: Option<Box<str>>,
    pub buyer: Option<Box<str>>,
    /// The waitlist entry this hold was offered to (see [`crate::waitlists`]).
    pub entry: Option<EntryId>,
}

/// What changed. A stock movement names the lot its units are in (`None`: unlotted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Receipt {
        sku: SkuId,
        location: LocId,
        quantity: i64,
        lot: Option<LotId>,
        /// Set when this receipt brought the lot in first (so a replay can define it).
        new_lot: Option<Box<Lot>>,
    },
    Adjustment {
        sku: SkuId,
        location: LocId,
        delta: i64,
        lot: Option<LotId>,
    },
    Reserve {
        seq: ReservationSeq,
        expires_at_ms: i64,
        lines: Lines,
        /// Who the hold is for, when it says (boxed: most holds name neither).
        parties: Option<Box<Parties>>,
    },
    Commit {
        seq: ReservationSeq,
        lines: Lines,
    },
    /// A held reservation given back by the client.
    Release {
        seq: ReservationSeq,
        lines: Lines,
    },
    /// A committed reservation cancelled (the order was cancelled).
    Cancel {
        seq: ReservationSeq,
        lines: Lines,
    },
    Expire {
        seq: ReservationSeq,
        lines: Lines,
    },
    Extend {
        seq: ReservationSeq,
        expires_at_ms: i64,
    },
    /// Committed units of an order moved to another location (after a short pick): the
    /// commitment leaves `from` (a `cancel` line) and is held and committed at `to`
    /// (`reserve` and `commit` lines), so the ledger fold needs no kind of its own.
    Reallocate {
        seq: ReservationSeq,
        sku: SkuId,
        from: LocId,
        to: LocId,
        quantity: i64,
    },
    /// Units a customer sent back, into a location's on-hand stock.
    Return {
        sku: SkuId,
        location: LocId,
        quantity: i64,
        lot: Option<LotId>,
    },
    /// Unpromised units moved between two locations (two ledger lines: out, then in).
    Transfer {
        sku: SkuId,
        from: LocId,
        to: LocId,
        quantity: i64,
        lot: Option<LotId>,
    },
    /// Committed units picked and shipped; `fulfilled` when nothing is left to ship.
    Ship {
        seq: ReservationSeq,
        lines: Lines,
        lots: ShipLots,
        fulfilled: bool,
    },
    /// Units shipped on a transfer: they leave `from` (a `transit_out` line) and are in
    /// transit to `to` (a `transit` line, which moves no level).
    Transit {
        sku: SkuId,
        from: LocId,
        to: LocId,
        quantity: i64,
        lot: Option<LotId>,
    },
    /// Units of a transfer that arrived at `to` (`transit_in`): out of transit, on hand.
    Arrive {
        sku: SkuId,
        to: LocId,
        quantity: i64,
        lot: Option<LotId>,
    },
    /// Units of a transfer that never arrived at `to` (`transit_lost`): out of transit.
    Lose {
        sku: SkuId,
        to: LocId,
        quantity: i64,
        lot: Option<LotId>,
    },
    /// Returned units written off (`write_off`): recorded, never in stock.
    WriteOff {
        sku: SkuId,
        location: LocId,
        quantity: i64,
        lot: Option<LotId>,
    },
    /// A buyer joined a SKU's waitlist (boxed: the entry is larger than most changes).
    Join(Box<Entry>),
    /// A waiting entry left its waitlist without an offer.
    Leave {
        entry: EntryId,
        sku: SkuId,
        reason: LeaveReason,
    },
}

/// The ledger kind of each line a change writes (none for `Extend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Receipt,
    Adjustment,
    Reserve,
    Commit,
    Release,
    Cancel,
    Expire,
    Ship,
    Return,
    TransferOut,
    TransferIn,
    TransitOut,
    Transit,
    TransitIn,
    TransitLost,
    WriteOff,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Receipt => "receipt",
            Kind::Adjustment => "adjustment",
            Kind::Reserve => "reserve",
            Kind::Commit => "commit",
            Kind::Release => "release",
            Kind::Cancel => "cancel",
            Kind::Expire => "expire",
            Kind::Ship => "ship",
            Kind::Return => "return",
            Kind::TransferOut => "transfer_out",
            Kind::TransferIn => "transfer_in",
            Kind::TransitOut => "transit_out",
            Kind::Transit => "transit",
            Kind::TransitIn => "transit_in",
            Kind::TransitLost => "transit_lost",
            Kind::WriteOff => "write_off",
        }
    }

    /// The ledger fold: what one ledger line of this kind and `quantity` does to a level.
    /// The verifier's SQL folds the same way.
    pub fn effect(self, quantity: i64) -> LevelDelta {
        let (on_hand, reserved, committed) = match self {
            Kind::Receipt
            | Kind::Adjustment
            | Kind::Return
            | Kind::TransferIn
            | Kind::TransitIn => (quantity, 0, 0),
            Kind::TransferOut | Kind::TransitOut => (-quantity, 0, 0),
            Kind::Transit | Kind::TransitLost | Kind::WriteOff => (0, 0, 0),
            Kind::Reserve => (0, quantity, 0),
            Kind::Release | Kind::Expire => (0, -quantity, 0),
            Kind::Commit => (0, -quantity, quantity),
            Kind::Cancel => (0, 0, -quantity),
            Kind::Ship => (-quantity, 0, -quantity),
        };
        LevelDelta {
            on_hand,
            reserved,
            committed,
        }
    }

    /// What one ledger line of this kind does to the units in transit to its location.
    pub fn in_transit(self, quantity: i64) -> i64 {
        match self {
            Kind::Transit => quantity,
            Kind::TransitIn | Kind::TransitLost => -quantity,
            _ => 0,
        }
    }
}

impl Change {
    /// The reservation this change is about, if any.
    pub fn reservation(&self) -> Option<ReservationSeq> {
        match self {
            Change::Receipt { .. }
            | Change::Adjustment { .. }
            | Change::Return { .. }
            | Change::Transfer { .. }
            | Change::Transit { .. }
            | Change::Arrive { .. }
            | Change::Lose { .. }
            | Change::WriteOff { .. }
            | Change::Join(_)
            | Change::Leave { .. } => None,
            Change::Reserve { seq, .. }
            | Change::Commit { seq, .. }
            | Change::Release { seq, .. }
            | Change::Cancel { seq, .. }
            | Change::Expire { seq, .. }
            | Change::Extend { seq, .. }
            | Change::Ship { seq, .. }
            | Change::Reallocate { seq, .. } => Some(*seq),
        }
    }

    /// How many rows this change writes (ledger lines, or one reservation or waitlist
    /// entry update).
    pub fn row_count(&self) -> usize {
        match self {
            Change::Reserve { lines, .. }
            | Change::Commit { lines, .. }
            | Change::Release { lines, .. }
            | Change::Cancel { lines, .. }
            | Change::Expire { lines, .. }
            | Change::Ship { lines, .. } => lines.len(),
            Change::Transfer { .. } | Change::Transit { .. } => 2,
            Change::Reallocate { .. } => 3,
            _ => 1,
        }
    }

    /// Calls `f` with the ledger kind and each ledger line this change writes, in order
    /// (none for `Extend`, `Join` and `Leave`): (kind, sku, location, quantity, lot).
    pub fn for_each_ledger_line(&self, mut f: impl FnMut(Kind, SkuId, LocId, i64, Option<LotId>)) {
        let (kind, lines) = match self {
            Change::Receipt {
                sku,
                location,
                quantity,
                lot,
                ..
            } => return f(Kind::Receipt, *sku, *location, *quantity, *lot),
            Change::Adjustment {
                sku,
                location,
                delta,
                lot,
            } => return f(Kind::Adjustment, *sku, *location, *delta, *lot),
            Change::Return {
                sku,
                location,
                quantity,
                lot,
            } => return f(Kind::Return, *sku, *location, *quantity, *lot),
            Change::Transfer {
                sku,
                from,
                to,
                quantity,
                lot,
            } => {
                f(Kind::TransferOut, *sku, *from, *quantity, *lot);
                return f(Kind::TransferIn, *sku, *to, *quantity, *lot);
            }
            Change::Transit {
                sku,
                from,
                to,
                quantity,
                lot,
            } => {
                f(Kind::TransitOut, *sku, *from, *quantity, *lot);
                return f(Kind::Transit, *sku, *to, *quantity, *lot);
            }
            Change::Arrive {
                sku,
                to,
                quantity,
                lot,
            } => return f(Kind::TransitIn, *sku, *to, *quantity, *lot),
            Change::Lose {
                sku,
                to,
                quantity,
                lot,
            } => return f(Kind::TransitLost, *sku, *to, *quantity, *lot),
            Change::WriteOff {
                sku,
                location,
                quantity,
                lot,
            } => return f(Kind::WriteOff, *sku, *location, *quantity, *lot),
            Change::Reallocate {
                sku,
                from,
                to,
                quantity,
                ..
            } => {
                f(Kind::Cancel, *sku, *from, *quantity, None);
                f(Kind::Reserve, *sku, *to, *quantity, None);
                return f(Kind::Commit, *sku, *to, *quantity, None);
            }
            Change::Ship { lines, lots, .. } => {
                for (i, line) in lines.iter().enumerate() {
                    let lot = lots.as_ref().and_then(|tags| tags[i]);
                    f(
                        Kind::Ship,
                        line.sku,
                        line.location,
                        i64::from(line.quantity),
                        lot,
                    );
                }
                return;
            }
            Change::Reserve { lines, .. } => (Kind::Reserve, lines),
            Change::Commit { lines, .. } => (Kind::Commit, lines),
            Change::Release { lines, .. } => (Kind::Release, lines),
            Change::Cancel { lines, .. } => (Kind::Cancel, lines),
            Change::Expire { lines, .. } => (Kind::Expire, lines),
            Change::Extend { .. } | Change::Join(_) | Change::Leave { .. } => return,
        };
        for line in lines {
            f(
                kind,
                line.sku,
                line.location,
                i64::from(line.quantity),
                None,
            );
        }
    }

    /// Calls `f` with each level this change touches and how (the ledger fold).
    pub fn for_each_effect(&self, mut f: impl FnMut(SkuId, LocId, LevelDelta)) {
        self.for_each_ledger_line(|kind, sku, location, quantity, _| {
            f(sku, location, kind.effect(quantity));
        });
    }

    /// Calls `f` with each lot this change moves units of: (sku, location, lot, units).
    pub fn for_each_lot_effect(&self, mut f: impl FnMut(SkuId, LocId, LotId, i64)) {
        self.for_each_ledger_line(|kind, sku, location, quantity, lot| {
            if let Some(lot) = lot {
                f(sku, location, lot, kind.effect(quantity).on_hand);
            }
        });
    }
}

/// A logged change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub lsn: u64,
    pub at_ms: i64,
    pub change: Change,
}

/// The undrained tail of the log.
#[derive(Debug, Clone, Default)]
pub struct ChangeLog {
    entries: VecDeque<LogEntry>,
    last_lsn: u64,
}

impl ChangeLog {
    pub fn append(&mut self, at_ms: i64, change: Change) -> u64 {
        self.last_lsn += 1;
        self.entries.push_back(LogEntry {
            lsn: self.last_lsn,
            at_ms,
            change,
        });
        self.last_lsn
    }

    pub fn last_lsn(&self) -> u64 {
        self.last_lsn
    }

    /// Makes room for `additional` more entries.
    pub fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }

    /// Continues numbering after `lsn` (recovery). Only valid while nothing is pending.
    pub fn set_last_lsn(&mut self, lsn: u64) {
        assert!(
            self.entries.is_empty(),
            "set_last_lsn with undrained entries"
        );
        self.last_lsn = lsn;
    }

    pub fn pending(&self) -> usize {
        self.entries.len()
    }

    /// The undrained entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    /// Takes the oldest entries, stopping once they hold `rows_max` ledger lines (always at
    /// least one entry, so a reservation with many lines is never split).
    pub fn drain(&mut self, rows_max: usize) -> Vec<LogEntry> {
        let mut rows = 0;
        let mut n = 0;
        for entry in &self.entries {
            if n > 0 && rows + entry.change.row_count() > rows_max {
                break;
            }
            rows += entry.change.row_count();
            n += 1;
        }
        self.entries.drain(..n).collect()
    }
}
