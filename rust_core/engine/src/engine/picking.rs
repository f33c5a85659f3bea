//! Pick lists: which lots a list's stops take as it is made, and which lots a confirmation's
//! picks ship. Both only read the engine; shipping is [`Engine::ship`], a short pick's
//! units move with [`Engine::reallocate_spare`].

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::error::Result;
use crate::ids::{LocId, SkuId};
use crate::lots::LotId;

use super::{Engine, LotsToShip, PickedLots};

/// The units at a bin while picks are resolved: (lot, units), `None` for unlotted units.
type BinUnits = SmallVec<[(Option<LotId>, i64); 4]>;

impl Engine {
    /// Which lots pick-list stops take, as a list is made: `stops` are (sku, location,
    /// quantity) in route order, `taken` the units of each lot that open lists already take,
    /// (sku, location, lot, units). At each bin a stop takes the oldest lots first (first to
    /// expire, then first received) less what is taken (by open lists, then by the stops
    /// before it), and what those do not cover from the bin's unlotted units, `None` (or it
    /// comes up short there). Per stop, (lot, units) in the order it picks them; a stop of
    /// no units takes nothing. Changes nothing.
    pub fn lots_to_pick(
        &self,
        stops: &[(&str, &str, i64)],
        taken: &[(&str, &str, &str, i64)],
    ) -> Result<Vec<PickedLots>> {
        // Units of a lot taken so far, per (sku, location, lot).
        let mut promised: FxHashMap<(SkuId, LocId, LotId), i64> = FxHashMap::default();
        for &(sku, location, lot, units) in taken {
            let (Ok(sku), Ok(location)) = (
                self.catalogue.sku_id(sku),
                self.catalogue.location_id(location),
            ) else {
                continue;
            };
            if let Some(lot) = self.lots.id(sku, lot) {
                *promised.entry((sku, location, lot)).or_default() += units;
            }
        }
        let mut picked = Vec::with_capacity(stops.len());
        for &(sku, location, quantity) in stops {
            let (sku, location) = self.resolve(sku, location)?;
            let mut lots = PickedLots::new();
            let mut left = quantity;
            for &(lot, units) in self.lots.at(sku, location) {
                if left <= 0 {
                    break;
                }
                let promised = promised.entry((sku, location, lot)).or_default();
                let take = left.min(units - *promised);
                if take > 0 {
                    lots.push((Some(lot), take));
                    *promised += take;
                    left -= take;
                }
            }
            if left > 0 {
                lots.push((None, left));
            }
            picked.push(lots);
        }
        Ok(picked)
    }

    /// Which lots a confirmation's picks ship, before anything ships: `picks` are (sku,
    /// location, quantity, lot), each a pick of units of `lot` (`None`: unlotted units) at
    /// its bin. Every pick first takes its own lot, across all the picks, so a pick short of
    /// its lot never takes a lot another pick names. Where its lot has since left the bin (a
    /// transfer or a count since the pick list was made), the rest comes from what the bin
    /// still has, oldest lot first, then its unlotted units: the units the picker took
    /// there. A pick of more than its bin holds is refused as [`LotsToShip::Short`]: a count
    /// must record the loss first. Changes nothing; [`Engine::ship`] then ships the lots.
    pub fn lots_to_ship(&self, picks: &[(&str, &str, i64, Option<&str>)]) -> Result<LotsToShip> {
        // What each bin the picks name has left, lots oldest first, then its unlotted units.
        let mut bins: Vec<(SkuId, LocId, BinUnits)> = Vec::new();
        // Per pick: its bin, its quantity and its own lot (`None`: a lot never received
        // here, which has no units).
        let mut wanted = Vec::with_capacity(picks.len());
        for (i, &(sku, location, quantity, lot)) in picks.iter().enumerate() {
            self.check_quantity(&format!("picks[{i}].quantity"), quantity)?;
            let (sku, location) = self.resolve(sku, location)?;
            let own = match lot {
                None => Some(None),
                Some(code) => self.lots.id(sku, code).map(Some),
            };
            let bin = match bins.iter().position(|b| b.0 == sku && b.1 == location) {
                Some(bin) => bin,
                None => {
                    bins.push((sku, location, self.bin_units(sku, location)));
                    bins.len() - 1
                }
            };
            wanted.push((bin, quantity, own));
        }
        let mut shipped: Vec<PickedLots> = Vec::with_capacity(picks.len());
        for &(bin, quantity, own) in &wanted {
            let mut lots = PickedLots::new();
            if let Some(own) = own {
                let units = &mut bins[bin].2;
                if let Some(entry) = units.iter_mut().find(|(lot, _)| *lot == own) {
                    let take = quantity.min(entry.1);
                    if take > 0 {
                        entry.1 -= take;
                        lots.push((own, take));
                    }
                }
            }
            shipped.push(lots);
        }
        for (pick, (&(bin, quantity, _), lots)) in wanted.iter().zip(&mut shipped).enumerate() {
            let mut left = quantity - lots.iter().map(|l| l.1).sum::<i64>();
            for (lot, units) in bins[bin].2.iter_mut() {
                let take = left.min(*units);
                if take > 0 {
                    lots.push((*lot, take));
                    *units -= take;
                    left -= take;
                }
            }
            if left > 0 {
                return Ok(LotsToShip::Short {
                    pick,
                    available: quantity - left,
                });
            }
        }
        Ok(LotsToShip::Ship(shipped))
    }

    /// The units at a bin, lots oldest first, then its unlotted units (if any).
    fn bin_units(&self, sku: SkuId, location: LocId) -> BinUnits {
        let mut units: BinUnits = self
            .lots
            .at(sku, location)
            .iter()
            .map(|&(lot, n)| (Some(lot), n))
            .collect();
        let unlotted = self.lot_units(sku, location, None);
        if unlotted > 0 {
            units.push((None, unlotted));
        }
        units
    }
}
