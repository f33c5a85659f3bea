//! Lots: units of a SKU received under one lot code (with an optional expiry date), counted
//! per location.
//!
//! A level's `on_hand` units are either in lots or unlotted (`on_hand − Σ lots`). Holds and
//! orders promise units of a level, not of a lot: which lot leaves is decided when units
//! leave (a pick ships a named lot), oldest first. "Oldest" is the lot that expires first
//! (lots without an expiry date after those with one), then the one received first.

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::error::{EngineError, Result};
use crate::ids::{LocId, SkuId};

/// A lot, interned per engine (ids are dense, in the order lots were first received).
pub type LotId = u32;

/// Longest lot code, in characters.
pub const LOT_CODE_CHARS_MAX: usize = 255;

/// A lot of one SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub sku: SkuId,
    pub code: Box<str>,
    /// Best-before date, in days since 1970-01-01.
    pub expires_on: Option<i32>,
    /// The LSN of the receipt that first brought the lot in.
    pub first_lsn: u64,
}

/// The order in which lots leave: smaller first.
pub type Age = (i32, u64);

/// Where no lot applies (unlotted units, a SKU without lots): after every lot.
pub const AGE_NONE: Age = (i32::MAX, u64::MAX);

impl Lot {
    pub fn age(&self) -> Age {
        (self.expires_on.unwrap_or(i32::MAX - 1), self.first_lsn)
    }
}

/// Checks a lot code: 1..=255 characters, no control characters, no spaces at either end.
pub fn validate_lot_code(code: &str) -> Result<()> {
    if code.is_empty() || code.chars().count() > LOT_CODE_CHARS_MAX {
        return Err(EngineError::invalid("lot", "must be 1 to 255 characters"));
    }
    if code.chars().any(char::is_control) || code.trim() != code {
        return Err(EngineError::invalid(
            "lot",
            "must have no control characters and no spaces at either end",
        ));
    }
    Ok(())
}

/// A day number (days since 1970-01-01) as an ISO date, for messages.
pub fn format_day(days: i32) -> String {
    // Howard Hinnant's civil_from_days.
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Units per lot at one level, oldest lot first; lots with no units are dropped.
pub type LotUnits = SmallVec<[(LotId, i64); 2]>;

/// Every lot and its units at each location.
#[derive(Debug, Clone, Default)]
pub struct LotTable {
    lots: Vec<Lot>,
    ids: FxHashMap<(SkuId, Box<str>), LotId>,
    at: FxHashMap<(SkuId, LocId), LotUnits>,
    /// SKUs that have (or had) a lot: only their allocations look at lot ages.
    lotted_skus: Vec<bool>,
}

impl LotTable {
    pub fn len(&self) -> usize {
        self.lots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lots.is_empty()
    }

    pub fn id(&self, sku: SkuId, code: &str) -> Option<LotId> {
        self.ids.get(&(sku, Box::from(code))).copied()
    }

    pub fn lot(&self, id: LotId) -> &Lot {
        &self.lots[id as usize]
    }

    pub fn has_lots(&self, sku: SkuId) -> bool {
        self.lotted_skus.get(sku as usize).copied().unwrap_or(false)
    }

    /// Adds a new lot; the caller has checked that it is new and within the limit.
    pub fn define(&mut self, lot: Lot) -> LotId {
        let id = LotId::try_from(self.lots.len()).expect("lot ids fit u32");
        let sku = lot.sku as usize;
        if self.lotted_skus.len() <= sku {
            self.lotted_skus.resize(sku + 1, false);
        }
        self.lotted_skus[sku] = true;
        self.ids.insert((lot.sku, lot.code.clone()), id);
        self.lots.push(lot);
        id
    }

    /// The units of each lot at a level, oldest first.
    pub fn at(&self, sku: SkuId, location: LocId) -> &[(LotId, i64)] {
        self.at
            .get(&(sku, location))
            .map_or(&[], |units| units.as_slice())
    }

    pub fn units(&self, sku: SkuId, location: LocId, lot: LotId) -> i64 {
        self.at(sku, location)
            .iter()
            .find(|(id, _)| *id == lot)
            .map_or(0, |(_, units)| *units)
    }

    /// Units of the level that are in some lot.
    pub fn lotted(&self, sku: SkuId, location: LocId) -> i64 {
        self.at(sku, location).iter().map(|(_, units)| units).sum()
    }

    /// Adds `delta` units of `lot` at a level (negative: they leave).
    pub fn apply(&mut self, sku: SkuId, location: LocId, lot: LotId, delta: i64) {
        if delta == 0 {
            return;
        }
        let age = self.lot(lot).age();
        let lots = &self.lots;
        let units = self.at.entry((sku, location)).or_default();
        match units.iter().position(|(id, _)| *id == lot) {
            Some(i) => {
                units[i].1 += delta;
                if units[i].1 == 0 {
                    units.remove(i);
                }
            }
            None => {
                let i = units.partition_point(|(id, _)| lots[*id as usize].age() < age);
                units.insert(i, (lot, delta));
            }
        }
        if units.is_empty() {
            self.at.remove(&(sku, location));
        }
    }

    /// The age of the oldest lot with units left at a level once `promised` units are taken
    /// oldest first ([`AGE_NONE`] when only unlotted units, or none, are left).
    pub fn oldest_free(&self, sku: SkuId, location: LocId, promised: i64) -> Age {
        let mut skip = promised;
        for &(lot, units) in self.at(sku, location) {
            if units > skip {
                return self.lot(lot).age();
            }
            skip -= units;
        }
        AGE_NONE
    }

    /// Every level's lots: (sku, location, lot, units).
    pub fn iter(&self) -> impl Iterator<Item = (SkuId, LocId, LotId, i64)> + '_ {
        self.at.iter().flat_map(|(&(sku, location), units)| {
            units
                .iter()
                .map(move |&(lot, units)| (sku, location, lot, units))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lot(sku: SkuId, code: &str, expires_on: Option<i32>, first_lsn: u64) -> Lot {
        Lot {
            sku,
            code: code.into(),
            expires_on,
            first_lsn,
        }
    }

    #[test]
    fn lots_at_a_level_stay_oldest_first_and_empty_ones_go() {
        let mut table = LotTable::default();
        let late = table.define(lot(0, "LATE", Some(200), 1));
        let none = table.define(lot(0, "NONE", None, 2));
        let early = table.define(lot(0, "EARLY", Some(100), 3));
        for id in [none, late, early] {
            table.apply(0, 7, id, 5);
        }
        assert_eq!(table.at(0, 7), &[(early, 5), (late, 5), (none, 5)]);
        table.apply(0, 7, late, -5);
        assert_eq!(table.at(0, 7), &[(early, 5), (none, 5)]);
        assert_eq!(table.lotted(0, 7), 10);
        assert_eq!(table.units(0, 7, late), 0);
    }

    #[test]
    fn oldest_free_skips_promised_units_oldest_first() {
        let mut table = LotTable::default();
        let a = table.define(lot(0, "A", Some(10), 1));
        let b = table.define(lot(0, "B", Some(20), 2));
        table.apply(0, 1, a, 3);
        table.apply(0, 1, b, 4);
        assert_eq!(table.oldest_free(0, 1, 0), (10, 1));
        assert_eq!(table.oldest_free(0, 1, 3), (20, 2));
        assert_eq!(table.oldest_free(0, 1, 7), AGE_NONE);
        assert_eq!(table.oldest_free(1, 1, 0), AGE_NONE);
        assert!(table.has_lots(0) && !table.has_lots(1));
    }

    #[test]
    fn days_format_as_dates() {
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_day(20_819), "2027-01-01");
        assert_eq!(format_day(-1), "1969-12-31");
        assert_eq!(format_day(11_016), "2000-02-29");
    }

    #[test]
    fn lot_codes_are_checked() {
        assert!(validate_lot_code("L-2026/11 A").is_ok());
        assert!(validate_lot_code("Charge é").is_ok());
        assert!(validate_lot_code("").is_err());
        assert!(validate_lot_code(" A").is_err());
        assert!(validate_lot_code("A\tB").is_err());
        assert!(validate_lot_code(&"é".repeat(255)).is_ok());
        assert!(validate_lot_code(&"x".repeat(256)).is_err());
    }
}
