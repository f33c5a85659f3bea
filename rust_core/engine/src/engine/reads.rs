//! Reads of the engine's state, and the change log drained by the ledger writer.

use crate::batch::{summarize, BatchSummary};
use crate::error::Result;
use crate::ids::{LocId, ReservationSeq, SkuId};
use crate::log::LogEntry;
use crate::lots::LotTable;
use crate::stock::Level;

use super::Engine;

impl Engine {
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
}
