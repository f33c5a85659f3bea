//! Drops in the engine: defining one, the checks a hold of a drop's SKU passes, and the
//! reads (see [`crate::drops`]).

use crate::drops::{Drop, DropSpec, Phase};
use crate::error::{EngineError, Result};
use crate::ids::{ReservationSeq, SkuId};
use crate::stock::Level;

use super::{asked_per_sku, refused_if_short, Engine, ResolvedLine};

impl Engine {
    /// Defines or replaces a drop. Its pools' channels must be defined (once any channel
    /// is), and together they may not fence more units than the SKU has on hand where it
    /// sells. Replacing a drop keeps what each channel already took of its pool.
    pub fn define_drop(&mut self, spec: &DropSpec<'_>) -> Result<()> {
        let drop = self.check_drop(spec)?;
        self.drops.insert(drop);
        Ok(())
    }

    /// What [`Engine::define_drop`] would define, checked, without defining it.
    pub fn check_drop(&self, spec: &DropSpec<'_>) -> Result<Drop> {
        let drop = self.build_drop(spec)?;
        let fenced: u64 = spec.pools.iter().map(|p| p.1).sum();
        let on_hand = self.sellable_on_hand(drop.sku);
        if fenced > on_hand {
            return Err(EngineError::invalid(
                "pools",
                format!("{fenced} units in pools, but the SKU has {on_hand} on hand"),
            ));
        }
        Ok(drop)
    }

    /// Recovery: a drop as the catalogue has it (its pools are not checked against what is
    /// on hand now: units sold since may have been the pools').
    pub fn load_drop(&mut self, spec: &DropSpec<'_>) -> Result<()> {
        let drop = self.build_drop(spec)?;
        self.drops.insert(drop);
        Ok(())
    }

    fn build_drop(&self, spec: &DropSpec<'_>) -> Result<Drop> {
        let sku = self.catalogue.sku_id(spec.sku)?;
        for (i, &(channel, units)) in spec.pools.iter().enumerate() {
            self.channels.for_hold(Some(channel))?;
            self.check_quantity(&format!("pools[{i}].units"), units as i64)?;
        }
        self.drops.build(spec, sku)
    }

    pub fn drop(&self, code: &str) -> Option<&Drop> {
        self.drops.get(code)
    }

    /// Units `channel` has taken of its pool in drop `code`.
    pub fn drop_pool_taken(&self, code: &str, channel: &str) -> Option<u64> {
        let drop = self.drops.get(code)?;
        drop.pools
            .iter()
            .find(|p| &*p.channel == channel)
            .map(|p| p.taken)
    }

    fn sellable_on_hand(&self, sku: SkuId) -> u64 {
        let on_hand: i64 = self
            .levels_selling(sku, None)
            .map(|l| l.on_hand.max(0))
            .sum();
        on_hand as u64
    }

    /// What the SKU's sellable locations have available, in all.
    fn sellable_available(&self, sku: SkuId) -> i64 {
        self.levels_selling(sku, None).map(Level::available).sum()
    }

    /// Whether a channel's buffer gives way to the SKU's drop pools at `now_ms`.
    pub(super) fn fenced_by_drop(&self, sku: SkuId, now_ms: i64) -> bool {
        self.drops
            .of_sku(sku)
            .is_some_and(|d| d.phase(now_ms) == Phase::Fenced)
    }

    /// The cap on a buyer's units of `sku` at `now_ms`: the item's, or its drop's while the
    /// drop runs, the lower one.
    pub(super) fn buyer_cap(&self, sku: SkuId, now_ms: i64) -> Option<u64> {
        let item = self.buyers.cap(sku);
        let drop = self.drops.of_sku(sku).and_then(|d| d.buyer_cap(now_ms));
        match (item, drop) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Refuses a hold of a drop's SKU before the drop starts, and one that would take units
    /// fenced for other channels' pools.
    pub(super) fn check_drops(
        &self,
        channel: Option<&str>,
        lines: &[ResolvedLine],
        now_ms: i64,
    ) -> Result<()> {
        if self.drops.is_empty() {
            return Ok(());
        }
        let mut short = Vec::new();
        for (sku, requested) in asked_per_sku(lines) {
            let Some(drop) = self.drops.of_sku(sku) else {
                continue;
            };
            match drop.phase(now_ms) {
                Phase::NotStarted => {
                    return Err(EngineError::DropNotStarted {
                        drop: drop.code.to_string(),
                        sku: self.catalogue.sku(sku).to_owned(),
                        starts_at_ms: drop.starts_at_ms,
                    })
                }
                Phase::Fenced => {}
                Phase::Spilled | Phase::Ended => continue,
            }
            let available = self.hold_available(sku, channel, now_ms);
            short.extend(self.shortage(sku, requested, available));
        }
        refused_if_short(short)
    }

    /// Units of `sku` a hold for `channel` (or none) may take now, drop pools counted.
    pub fn available_to_hold(&self, sku: &str, channel: Option<&str>, now_ms: i64) -> Result<i64> {
        Ok(self.hold_available(self.catalogue.sku_id(sku)?, channel, now_ms))
    }

    /// The SKU's available units at its sellable locations less what its drop fences for
    /// other channels than `channel` at `now_ms`.
    pub(super) fn hold_available(&self, sku: SkuId, channel: Option<&str>, now_ms: i64) -> i64 {
        let fenced = self
            .drops
            .of_sku(sku)
            .map_or(0, |d| d.fenced_from(channel, now_ms));
        let fenced = i64::try_from(fenced).unwrap_or(i64::MAX);
        (self.sellable_available(sku) - fenced).max(0)
    }

    /// Recovery: what a pool's channel has taken (from the ledger).
    pub fn load_pool_taken(&mut self, drop: &str, channel: &str, taken: u64) -> Result<()> {
        let pool = self
            .drops
            .get(drop)
            .map(|d| d.sku)
            .and_then(|sku| self.drops.of_sku_mut(sku))
            .and_then(|d| d.pools.iter_mut().find(|p| &*p.channel == channel))
            .ok_or_else(|| EngineError::invalid("pools", "no such drop pool"))?;
        pool.taken = taken;
        Ok(())
    }

    /// Recovery: an open hold took from `sku`'s drop pool of `channel` (its units come
    /// back there when it ends unsold).
    pub fn load_hold_pool(&mut self, seq: ReservationSeq, sku: &str, channel: &str) -> Result<()> {
        let sku = self.catalogue.sku_id(sku)?;
        if !self.holds.contains_key(&seq) {
            return Err(EngineError::ReservationNotFound(seq));
        }
        self.hold_pools
            .entry(seq)
            .or_default()
            .push((sku, channel.into()));
        Ok(())
    }
}
