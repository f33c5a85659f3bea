//! Inbound stock: receipts of several lines at once (a purchase order's), transfers in
//! transit between sites, returned units written off, and the units on their way to each
//! location (incoming on purchase orders, in transit on transfers).
//!
//! A shipped transfer's units leave `on_hand` at the source (`transit_out`) and are in
//! transit to the destination (`transit`, no level effect); they arrive (`transit_in`, into
//! `on_hand`) or are lost (`transit_lost`). Units in transit are never available: a hold
//! cannot take stock that is not on the shelf. Incoming units are the purchase orders' (the
//! service tells the engine, which only keeps them for reads: `set_incoming`).

use rustc_hash::FxHashSet;

use crate::error::{EngineError, Result};
use crate::ids::{LocId, SkuId};
use crate::log::Change;
use crate::lots::LotId;
use crate::stock::Level;

use super::Engine;

/// One line of a receipt: (sku, location, quantity, lot, lot expiry as a day number).
pub type ReceiptLine<'a> = (&'a str, &'a str, i64, Option<&'a str>, Option<i32>);
/// One line of a transfer shipped: (sku, from, to, quantity, lot).
pub type ShipLine<'a> = (&'a str, &'a str, &'a str, i64, Option<&'a str>);
/// One line of a transfer arriving or lost at its destination: (sku, to, quantity, lot).
pub type TransitLine<'a> = (&'a str, &'a str, i64, Option<&'a str>);

/// Units on their way to a location: (incoming on purchase orders, in transit on transfers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inbound {
    pub incoming: i64,
    pub in_transit: i64,
}

/// An engine error about line `i` names the line's field (`lines[2].quantity`).
fn on_line(i: usize, error: EngineError) -> EngineError {
    match error {
        EngineError::InvalidInput { field, reason } => EngineError::InvalidInput {
            field: format!("lines[{i}].{field}"),
            reason,
        },
        other => other,
    }
}

impl Engine {
    /// Receives every line or none: all are checked first (quantities, SKUs, locations, lots
    /// and their expiry dates, also between lines of one receipt), then each is received as
    /// [`Engine::receive`] does. Returns each line's LSN and level after.
    pub fn receive_lines(
        &mut self,
        lines: &[ReceiptLine<'_>],
        now_ms: i64,
    ) -> Result<Vec<(u64, Level)>> {
        self.check_lines(lines.len())?;
        let mut new_lots: Vec<(SkuId, &str, Option<i32>)> = Vec::new();
        for (i, &(sku, location, quantity, lot, expires_on)) in lines.iter().enumerate() {
            self.check_quantity(&format!("lines[{i}].quantity"), quantity)?;
            let (sku_id, _) = self.resolve(sku, location)?;
            let Some(code) = lot else { continue };
            let (_, new_lot) = self
                .receipt_lot(sku_id, code, expires_on)
                .map_err(|e| on_line(i, e))?;
            if new_lot.is_none() {
                continue;
            }
            match new_lots.iter().find(|(s, c, _)| *s == sku_id && *c == code) {
                Some(&(_, _, first)) if expires_on.is_some() && expires_on != first => {
                    return Err(EngineError::invalid(
                        format!("lines[{i}].expires_on"),
                        format!("an earlier line brings lot {code} in with another expiry date"),
                    ));
                }
                Some(_) => {}
                None => new_lots.push((sku_id, code, expires_on)),
            }
        }
        if self.lots.len() + new_lots.len() > self.limits.lots_max {
            return Err(EngineError::LimitExceeded {
                field: "lots".into(),
                limit: self.limits.lots_max as u64,
            });
        }
        Ok(lines
            .iter()
            .map(|&(sku, location, quantity, lot, expires_on)| {
                self.receive(sku, location, quantity, lot, expires_on, now_ms)
                    .expect("a receipt line checked above")
            })
            .collect())
    }

    fn check_lines(&self, count: usize) -> Result<()> {
        self.check_log_room()?;
        if count == 0 {
            return Err(EngineError::invalid("lines", "must have at least one line"));
        }
        Ok(())
    }

    /// Ships a transfer: every line or none. Each line's units leave `from` (only units
    /// nobody holds, of the line's lot: else `InsufficientStock` with what may move, or 422
    /// naming the lot) and are in transit to `to`. Returns each line's LSN.
    pub fn ship_transit(&mut self, lines: &[ShipLine<'_>], now_ms: i64) -> Result<Vec<u64>> {
        self.check_lines(lines.len())?;
        let mut changes = Vec::with_capacity(lines.len());
        let mut asked: Vec<(SkuId, LocId, Option<LotId>, i64)> = Vec::new();
        for (i, &(sku, from, to, quantity, lot)) in lines.iter().enumerate() {
            self.check_quantity(&format!("lines[{i}].quantity"), quantity)?;
            if from == to {
                return Err(EngineError::invalid(
                    format!("lines[{i}].to"),
                    "must differ from `from`",
                ));
            }
            let (sku_id, from_id) = self.resolve(sku, from)?;
            let to_id = self.catalogue.location_id(to)?;
            let lot = self.known_lot(sku_id, lot, &format!("lines[{i}].lot"))?;
            changes.push(Change::Transit {
                sku: sku_id,
                from: from_id,
                to: to_id,
                quantity,
                lot,
            });
            asked.push((sku_id, from_id, lot, quantity));
        }
        self.check_movable(&asked)?;
        Ok(changes
            .into_iter()
            .map(|change| self.record_transit(change, now_ms))
            .collect())
    }

    /// Refuses moving more units out of a level than nobody holds there, or more of a lot
    /// than the level has of it (lines of one level and lot summed).
    fn check_movable(&self, asked: &[(SkuId, LocId, Option<LotId>, i64)]) -> Result<()> {
        let mut seen = FxHashSet::default();
        let mut short = Vec::new();
        for (i, &(sku, from, lot, _)) in asked.iter().enumerate() {
            let level: i64 = asked
                .iter()
                .filter(|a| a.0 == sku && a.1 == from)
                .map(|a| a.3)
                .sum();
            if seen.insert((sku, from)) {
                let movable = self.stock.get(sku, from).map_or(0, Level::available);
                short.extend(self.shortage(sku, level, movable));
            }
            let of_lot: i64 = asked
                .iter()
                .filter(|a| a.0 == sku && a.1 == from && a.2 == lot)
                .map(|a| a.3)
                .sum();
            let (field, unlotted) = (format!("lines[{i}].quantity"), format!("lines[{i}].lot"));
            self.check_lot_units(sku, from, lot, of_lot, &field, &unlotted)?;
        }
        if short.is_empty() {
            Ok(())
        } else {
            Err(EngineError::InsufficientStock(short))
        }
    }

    /// Units of a shipped transfer that arrived at `to`: out of transit, into `on_hand` (and
    /// the line's lot). Every line or none; more than is in transit to `to` is refused.
    pub fn arrive_transit(&mut self, lines: &[TransitLine<'_>], now_ms: i64) -> Result<Vec<u64>> {
        self.end_transit(lines, now_ms, |sku, to, quantity, lot| Change::Arrive {
            sku,
            to,
            quantity,
            lot,
        })
    }

    /// Units of a shipped transfer that never arrived at `to`: out of transit, and gone.
    pub fn lose_transit(&mut self, lines: &[TransitLine<'_>], now_ms: i64) -> Result<Vec<u64>> {
        self.end_transit(lines, now_ms, |sku, to, quantity, lot| Change::Lose {
            sku,
            to,
            quantity,
            lot,
        })
    }

    /// Ends units' transit to their destination, every line or none: each line checked
    /// (at most what is in transit to `to`, lines of one destination summed), then logged
    /// as the change `make` builds.
    fn end_transit(
        &mut self,
        lines: &[TransitLine<'_>],
        now_ms: i64,
        make: impl Fn(SkuId, LocId, i64, Option<LotId>) -> Change,
    ) -> Result<Vec<u64>> {
        let changes = self.transit_ends(lines, make)?;
        Ok(changes
            .into_iter()
            .map(|change| self.record_transit(change, now_ms))
            .collect())
    }

    fn transit_ends(
        &self,
        lines: &[TransitLine<'_>],
        make: impl Fn(SkuId, LocId, i64, Option<LotId>) -> Change,
    ) -> Result<Vec<Change>> {
        self.check_lines(lines.len())?;
        let mut changes = Vec::with_capacity(lines.len());
        let mut asked: Vec<(SkuId, LocId, i64)> = Vec::new();
        for (i, &(sku, to, quantity, lot)) in lines.iter().enumerate() {
            self.check_quantity(&format!("lines[{i}].quantity"), quantity)?;
            let (sku_id, to_id) = self.resolve(sku, to)?;
            let lot = self.known_lot(sku_id, lot, &format!("lines[{i}].lot"))?;
            let before: i64 = asked
                .iter()
                .filter(|a| a.0 == sku_id && a.1 == to_id)
                .map(|a| a.2)
                .sum();
            let in_transit = self.inbound_at(sku_id, to_id).in_transit;
            if before + quantity > in_transit {
                return Err(EngineError::invalid(
                    format!("lines[{i}].quantity"),
                    format!(
                        "only {} units of {sku} are in transit to {to}",
                        in_transit - before
                    ),
                ));
            }
            asked.push((sku_id, to_id, quantity));
            changes.push(make(sku_id, to_id, quantity, lot));
        }
        Ok(changes)
    }

    /// Logs a transit change and applies its fold (levels, lots, units in transit); units
    /// that arrived go to the SKU's waitlist.
    fn record_transit(&mut self, change: Change, now_ms: i64) -> u64 {
        let arrived = match change {
            Change::Arrive { sku, .. } => Some(sku),
            _ => None,
        };
        self.apply_effects(&change);
        let lsn = self.log.append(now_ms, change);
        if let Some(sku) = arrived {
            self.serve_waitlist(sku, now_ms);
        }
        lsn
    }

    /// Records returned units written off (`write_off`): never in stock, so no level moves.
    /// Returns the LSN and the level at `location` (unchanged).
    pub fn write_off(
        &mut self,
        sku: &str,
        location: &str,
        quantity: i64,
        lot: Option<&str>,
        now_ms: i64,
    ) -> Result<(u64, Level)> {
        self.movement_of(
            sku,
            location,
            quantity,
            lot,
            now_ms,
            |sku, location, lot| Change::WriteOff {
                sku,
                location,
                quantity,
                lot,
            },
        )
    }

    /// Sets the units open purchase orders still bring of `sku` to `location` (the service
    /// keeps the orders; the engine only answers reads with it). Not logged.
    pub fn set_incoming(&mut self, sku: &str, location: &str, units: i64) -> Result<()> {
        let (sku, location) = self.resolve(sku, location)?;
        self.inbound_entry(sku, location).incoming = units.max(0);
        self.inbound.retain(|_, i| *i != Inbound::default());
        Ok(())
    }

    /// Forgets every location's incoming units of `sku` (before setting them anew).
    pub fn clear_incoming(&mut self, sku: &str) -> Result<()> {
        let sku = self.catalogue.sku_id(sku)?;
        for ((s, _), inbound) in self.inbound.iter_mut() {
            if *s == sku {
                inbound.incoming = 0;
            }
        }
        self.inbound.retain(|_, i| *i != Inbound::default());
        Ok(())
    }

    /// Recovery: units in transit to `location` (the ledger's `transit` fold).
    pub fn load_in_transit(&mut self, sku: &str, location: &str, units: i64) -> Result<()> {
        if units < 0 {
            return Err(EngineError::invalid("units", "must not be negative"));
        }
        let (sku, location) = self.resolve(sku, location)?;
        self.inbound_entry(sku, location).in_transit = units;
        Ok(())
    }

    /// Units on their way to each location of `sku`: (location, inbound), by location id.
    pub fn inbound(&self, sku: &str) -> Result<Vec<(LocId, Inbound)>> {
        let sku = self.catalogue.sku_id(sku)?;
        let mut rows: Vec<(LocId, Inbound)> = self
            .inbound
            .iter()
            .filter(|((s, _), _)| *s == sku)
            .map(|(&(_, location), &inbound)| (location, inbound))
            .collect();
        rows.sort_unstable_by_key(|&(location, _)| location);
        Ok(rows)
    }

    /// Units of `sku` in transit, over all destinations.
    pub fn in_transit_units(&self, sku: SkuId) -> i64 {
        self.inbound
            .iter()
            .filter(|((s, _), _)| *s == sku)
            .map(|(_, i)| i.in_transit)
            .sum()
    }

    fn inbound_at(&self, sku: SkuId, location: LocId) -> Inbound {
        self.inbound
            .get(&(sku, location))
            .copied()
            .unwrap_or_default()
    }

    fn inbound_entry(&mut self, sku: SkuId, location: LocId) -> &mut Inbound {
        self.inbound.entry((sku, location)).or_default()
    }

    /// The fold of a change's `transit`, `transit_in` and `transit_lost` lines.
    pub(super) fn apply_transit(&mut self, change: &Change) {
        if !matches!(
            change,
            Change::Transit { .. } | Change::Arrive { .. } | Change::Lose { .. }
        ) {
            return;
        }
        let inbound = &mut self.inbound;
        change.for_each_ledger_line(|kind, sku, location, quantity, _| {
            let delta = kind.in_transit(quantity);
            if delta != 0 {
                let entry = inbound.entry((sku, location)).or_default();
                entry.in_transit += delta;
                if *entry == Inbound::default() {
                    inbound.remove(&(sku, location));
                }
            }
        });
    }
}
