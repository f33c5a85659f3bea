//! Drops: a SKU sold in a window, with units ring-fenced per channel (pools).
//!
//! Before `starts_at` the SKU cannot be held. From `starts_at` until `spill_at` (or the end)
//! each pool's unsold units are fenced: only its channel's holds may take them, and every
//! other hold sees the SKU's available units less the fenced ones. A channel's holds take
//! from its pool first and then from general stock; its units count against the pool while
//! held, committed or shipped, and come back to it when released, expired or cancelled. At
//! `spill_at` the fences lift and the pools' unsold units are general stock again. A drop's
//! `per_buyer_max` caps each buyer from `starts_at` to the end (with the item's own cap, the
//! lower one applies). Time comes in as `now_ms`.

use rustc_hash::FxHashMap;

use crate::catalogue::validate_code;
use crate::error::{EngineError, Result};
use crate::ids::SkuId;

/// Units ring-fenced for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub channel: Box<str>,
    pub units: u64,
    /// Units the channel's holds made while fenced have of the SKU (held, committed, shipped).
    pub taken: u64,
}

impl Pool {
    /// Units of the pool nobody has taken.
    pub fn free(&self) -> u64 {
        self.units.saturating_sub(self.taken)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drop {
    pub code: Box<str>,
    pub sku: SkuId,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    /// When the fences lift (at most `ends_at_ms`).
    pub spill_at_ms: i64,
    pub per_buyer_max: Option<u64>,
    pub pools: Vec<Pool>,
}

/// Where a drop is at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before `starts_at`: no holds.
    NotStarted,
    /// From `starts_at` until `spill_at`: pools fenced.
    Fenced,
    /// From `spill_at` until `ends_at`: one stock, the drop's buyer cap still on.
    Spilled,
    /// From `ends_at`: the SKU sells as any other.
    Ended,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::NotStarted => "not_started",
            Phase::Fenced => "fenced",
            Phase::Spilled => "spilled",
            Phase::Ended => "ended",
        }
    }
}

impl Drop {
    pub fn phase(&self, now_ms: i64) -> Phase {
        if now_ms < self.starts_at_ms {
            Phase::NotStarted
        } else if now_ms < self.spill_at_ms {
            Phase::Fenced
        } else if now_ms < self.ends_at_ms {
            Phase::Spilled
        } else {
            Phase::Ended
        }
    }

    /// A pool's units still set aside for its channel at `now_ms`: its free units until the
    /// spill (before the start too: they will be fenced), none after.
    pub fn unsold(&self, pool: &Pool, now_ms: i64) -> u64 {
        match self.phase(now_ms) {
            Phase::NotStarted | Phase::Fenced => pool.free(),
            Phase::Spilled | Phase::Ended => 0,
        }
    }

    /// Units fenced from holds that are not `channel`'s at `now_ms`.
    pub fn fenced_from(&self, channel: Option<&str>, now_ms: i64) -> u64 {
        if self.phase(now_ms) != Phase::Fenced {
            return 0;
        }
        self.pools
            .iter()
            .filter(|p| Some(&*p.channel) != channel)
            .map(Pool::free)
            .sum()
    }

    /// The index of `channel`'s pool.
    pub fn pool_of(&self, channel: Option<&str>) -> Option<usize> {
        let channel = channel?;
        self.pools.iter().position(|p| &*p.channel == channel)
    }

    /// The buyer cap the drop sets at `now_ms`.
    pub fn buyer_cap(&self, now_ms: i64) -> Option<u64> {
        match self.phase(now_ms) {
            Phase::Fenced | Phase::Spilled => self.per_buyer_max,
            Phase::NotStarted | Phase::Ended => None,
        }
    }
}

/// A drop as defined, before it is checked against the catalogue.
#[derive(Debug, Clone)]
pub struct DropSpec<'a> {
    pub code: &'a str,
    pub sku: &'a str,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub spill_at_ms: Option<i64>,
    pub per_buyer_max: Option<u64>,
    /// (channel, units)
    pub pools: &'a [(&'a str, u64)],
}

/// Every drop, by code, and the one of each SKU.
#[derive(Debug, Clone, Default)]
pub struct Drops {
    by_code: FxHashMap<Box<str>, Drop>,
    by_sku: FxHashMap<SkuId, Box<str>>,
}

impl Drops {
    /// Checks `spec` for SKU `sku` (a SKU has one drop at a time); returns the drop, with the
    /// units each channel already took when it replaces one of the same code.
    pub fn build(&self, spec: &DropSpec<'_>, sku: SkuId) -> Result<Drop> {
        validate_code("code", spec.code)?;
        if spec.ends_at_ms <= spec.starts_at_ms {
            return Err(EngineError::invalid("ends_at", "must be after starts_at"));
        }
        let spill = spec.spill_at_ms.unwrap_or(spec.ends_at_ms);
        if spill < spec.starts_at_ms || spill > spec.ends_at_ms {
            return Err(EngineError::invalid(
                "spill_at",
                "must be between starts_at and ends_at",
            ));
        }
        if spec.per_buyer_max == Some(0) {
            return Err(EngineError::invalid("per_buyer_max", "must be at least 1"));
        }
        if let Some(other) = self.by_sku.get(&sku).filter(|c| &***c != spec.code) {
            return Err(EngineError::invalid(
                "sku",
                format!("the SKU is already in drop {other:?}"),
            ));
        }
        let before = self.by_code.get(spec.code);
        if before.is_some_and(|d| d.sku != sku) {
            return Err(EngineError::invalid("sku", "a drop keeps its SKU"));
        }
        let mut pools: Vec<Pool> = Vec::with_capacity(spec.pools.len());
        for (i, &(channel, units)) in spec.pools.iter().enumerate() {
            if pools.iter().any(|p| &*p.channel == channel) {
                return Err(EngineError::invalid(
                    format!("pools[{i}].channel"),
                    "one pool per channel",
                ));
            }
            let taken = before
                .and_then(|d| d.pools.iter().find(|p| &*p.channel == channel))
                .map_or(0, |p| p.taken);
            pools.push(Pool {
                channel: channel.into(),
                units,
                taken,
            });
        }
        Ok(Drop {
            code: spec.code.into(),
            sku,
            starts_at_ms: spec.starts_at_ms,
            ends_at_ms: spec.ends_at_ms,
            spill_at_ms: spill,
            per_buyer_max: spec.per_buyer_max,
            pools,
        })
    }

    pub fn insert(&mut self, drop: Drop) {
        self.by_sku.insert(drop.sku, drop.code.clone());
        self.by_code.insert(drop.code.clone(), drop);
    }

    pub fn get(&self, code: &str) -> Option<&Drop> {
        self.by_code.get(code)
    }

    pub fn of_sku(&self, sku: SkuId) -> Option<&Drop> {
        if self.by_sku.is_empty() {
            return None;
        }
        self.by_sku
            .get(&sku)
            .and_then(|code| self.by_code.get(code))
    }

    pub fn of_sku_mut(&mut self, sku: SkuId) -> Option<&mut Drop> {
        let code = self.by_sku.get(&sku)?;
        self.by_code.get_mut(code)
    }

    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Drop> {
        self.by_code.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(pools: &'a [(&'a str, u64)]) -> DropSpec<'a> {
        DropSpec {
            code: "D1",
            sku: "S",
            starts_at_ms: 100,
            ends_at_ms: 300,
            spill_at_ms: Some(200),
            per_buyer_max: Some(2),
            pools,
        }
    }

    #[test]
    fn phases_follow_the_clock() {
        let drop = Drops::default().build(&spec(&[("web", 5)]), 0).unwrap();
        assert_eq!(drop.phase(99), Phase::NotStarted);
        assert_eq!(drop.phase(100), Phase::Fenced);
        assert_eq!(drop.phase(200), Phase::Spilled);
        assert_eq!(drop.phase(300), Phase::Ended);
        assert_eq!(drop.fenced_from(None, 150), 5);
        assert_eq!(drop.fenced_from(Some("web"), 150), 0);
        assert_eq!(drop.fenced_from(None, 250), 0);
        assert_eq!(drop.buyer_cap(250), Some(2));
        assert_eq!(drop.buyer_cap(300), None);
    }

    #[test]
    fn bad_drops_are_refused_by_field() {
        let drops = Drops::default();
        let field = |s: &DropSpec<'_>| match drops.build(s, 0) {
            Err(EngineError::InvalidInput { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        let pools = [("web", 1), ("web", 2)];
        assert_eq!(field(&spec(&pools)), "pools[1].channel");
        let mut s = spec(&[]);
        s.ends_at_ms = 100;
        assert_eq!(field(&s), "ends_at");
        let mut s = spec(&[]);
        s.spill_at_ms = Some(301);
        assert_eq!(field(&s), "spill_at");
        let mut s = spec(&[]);
        s.per_buyer_max = Some(0);
        assert_eq!(field(&s), "per_buyer_max");
    }
}
