//! Stock counters per SKU and location.

use crate::ids::{LocId, SkuId};

/// The counters of one SKU at one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Level {
    pub location: LocId,
    pub on_hand: i64,
    pub reserved: i64,
    pub committed: i64,
}

impl Level {
    /// Units that may still be reserved here: never negative, even after shrinkage.
    pub fn available(&self) -> i64 {
        (self.on_hand - self.reserved - self.committed).max(0)
    }

    /// Units promised beyond what is on hand (only a negative adjustment causes it).
    pub fn shortfall(&self) -> i64 {
        (self.reserved + self.committed - self.on_hand).max(0)
    }
}

/// A change to one level's counters: the unit of the ledger fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LevelDelta {
    pub on_hand: i64,
    pub reserved: i64,
    pub committed: i64,
}

impl LevelDelta {
    pub fn add(&mut self, other: LevelDelta) {
        self.on_hand += other.on_hand;
        self.reserved += other.reserved;
        self.committed += other.committed;
    }

    pub fn is_zero(&self) -> bool {
        *self == LevelDelta::default()
    }
}

/// All levels, indexed by SKU; a SKU has few locations, so each SKU's are a short vector.
#[derive(Debug, Clone, Default)]
pub struct StockTable {
    by_sku: Vec<Vec<Level>>,
}

impl StockTable {
    pub fn ensure_sku(&mut self, sku: SkuId) {
        let needed = sku as usize + 1;
        if self.by_sku.len() < needed {
            self.by_sku.resize_with(needed, Vec::new);
        }
    }

    pub fn levels(&self, sku: SkuId) -> &[Level] {
        self.by_sku.get(sku as usize).map_or(&[], Vec::as_slice)
    }

    pub fn get(&self, sku: SkuId, location: LocId) -> Option<&Level> {
        self.levels(sku).iter().find(|l| l.location == location)
    }

    /// The level of `sku` at `location`, created empty if missing.
    pub fn entry(&mut self, sku: SkuId, location: LocId) -> &mut Level {
        self.ensure_sku(sku);
        let levels = &mut self.by_sku[sku as usize];
        let index = match levels.iter().position(|l| l.location == location) {
            Some(i) => i,
            None => {
                levels.push(Level {
                    location,
                    ..Level::default()
                });
                levels.len() - 1
            }
        };
        &mut levels[index]
    }

    pub fn apply(&mut self, sku: SkuId, location: LocId, delta: LevelDelta) {
        let level = self.entry(sku, location);
        level.on_hand += delta.on_hand;
        level.reserved += delta.reserved;
        level.committed += delta.committed;
    }

    /// Every (sku, level) pair.
    pub fn iter(&self) -> impl Iterator<Item = (SkuId, &Level)> {
        self.by_sku
            .iter()
            .enumerate()
            .flat_map(|(sku, levels)| levels.iter().map(move |l| (sku as SkuId, l)))
    }
}
