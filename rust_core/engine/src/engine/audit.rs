//! Comparing and checking engines: the snapshot and the audit of the engine's bookkeeping.

use rustc_hash::FxHashMap;

use crate::ids::{LocId, SkuId};
use crate::reservation::Status;

use super::{Engine, Snapshot};

impl Engine {
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
        let buyers = self
            .buyers
            .iter()
            .map(|(buyer, sku, units)| ((buyer.to_owned(), c.sku(sku).to_owned()), units))
            .collect();
        let pools = self
            .drops
            .iter()
            .flat_map(|d| {
                d.pools
                    .iter()
                    .map(|p| ((d.code.to_string(), p.channel.to_string()), p.taken))
            })
            .collect();
        let waitlists = self
            .waitlists
            .entries()
            .map(|e| {
                let state = (
                    c.sku(e.sku).to_owned(),
                    e.quantity,
                    e.buyer.to_string(),
                    e.channel.as_deref().map(str::to_owned),
                );
                (e.id, state)
            })
            .collect();
        let in_transit = self
            .inbound
            .iter()
            .filter(|(_, i)| i.in_transit != 0)
            .map(|(&(sku, location), i)| {
                let key = (c.sku(sku).to_owned(), c.location(location).to_owned());
                (key, i.in_transit)
            })
            .collect();
        Snapshot {
            levels,
            open,
            lots,
            buyers,
            pools,
            waitlists,
            in_transit,
        }
    }

    /// Checks the engine's own bookkeeping: counters never negative, `reserved` and
    /// `committed` equal to the sum of open lines, no oversell (`reserved + committed ≤
    /// on_hand`) except where `shrunk(sku, location)` says a negative adjustment happened,
    /// and one timer per held reservation. Returns what is wrong.
    pub fn audit(&self, shrunk: impl Fn(SkuId, LocId) -> bool) -> Vec<String> {
        let mut problems = Vec::new();
        let mut sums: FxHashMap<(SkuId, LocId), (i64, i64)> = FxHashMap::default();
        let mut buyer_open: FxHashMap<(crate::buyers::BuyerId, SkuId), u64> = FxHashMap::default();
        for (seq, hold) in &self.holds {
            for l in &hold.lines {
                if let Some(&buyer) = self.hold_buyers.get(seq) {
                    *buyer_open.entry((buyer, l.sku)).or_default() += u64::from(l.quantity);
                }
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
        if let Some(seq) = self
            .hold_buyers
            .keys()
            .find(|s| !self.holds.contains_key(s))
        {
            problems.push(format!(
                "a buyer is kept for reservation {seq}, which is not open"
            ));
        }
        for ((buyer, sku), open) in buyer_open {
            let counted = self.buyers.units(Some(buyer), sku);
            if counted < open {
                problems.push(format!(
                    "buyer {:?}: {open} units of {} open but {counted} counted",
                    self.buyers.code(buyer),
                    self.catalogue.sku(sku)
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
}
