//! Buyers: the units of each SKU a buyer has taken (held, committed or shipped, over all of
//! their reservations and channels), and the per-buyer caps on them.
//!
//! A buyer is an opaque id the storefront supplies (a hashed customer or device id). Its
//! count per SKU rises by a hold's units and falls only when units come back unsold (release,
//! expiry, cancel): a shipped unit stays counted, so a cap cannot be bypassed by buying in
//! several orders. Buyers are interned to small ids; an id with nothing counted is freed.

use std::num::NonZeroU32;

use rustc_hash::FxHashMap;

use crate::error::{EngineError, Result};
use crate::ids::SkuId;

/// A buyer's interned id (`Option<BuyerId>` is 4 bytes, so a hold stays small).
pub type BuyerId = NonZeroU32;

/// Longest buyer id, in bytes.
pub const BUYER_BYTES_MAX: usize = 128;

/// Checks a buyer id: 1..=128 bytes, no control characters.
pub fn validate_buyer(buyer: &str) -> Result<()> {
    if buyer.is_empty() || buyer.len() > BUYER_BYTES_MAX {
        return Err(EngineError::invalid("buyer", "must be 1 to 128 bytes"));
    }
    if buyer.chars().any(char::is_control) {
        return Err(EngineError::invalid(
            "buyer",
            "must not contain control characters",
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct Buyers {
    ids: FxHashMap<Box<str>, BuyerId>,
    /// Per id (index `id - 1`): its code and how many SKUs it has units of.
    entries: Vec<(Box<str>, u32)>,
    free: Vec<BuyerId>,
    units: FxHashMap<(BuyerId, SkuId), u64>,
    caps: FxHashMap<SkuId, u64>,
}

impl Buyers {
    pub fn id(&self, buyer: &str) -> Option<BuyerId> {
        self.ids.get(buyer).copied()
    }

    pub fn code(&self, id: BuyerId) -> &str {
        &self.entries[index(id)].0
    }

    /// Units of `sku` the buyer has taken (0 for an unknown buyer).
    pub fn units(&self, id: Option<BuyerId>, sku: SkuId) -> u64 {
        id.and_then(|id| self.units.get(&(id, sku)).copied())
            .unwrap_or(0)
    }

    pub fn cap(&self, sku: SkuId) -> Option<u64> {
        self.caps.get(&sku).copied()
    }

    /// Sets (or with `None` lifts) the most units of `sku` one buyer may take.
    pub fn set_cap(&mut self, sku: SkuId, cap: Option<u64>) {
        match cap {
            Some(cap) => self.caps.insert(sku, cap),
            None => self.caps.remove(&sku),
        };
    }

    pub fn has_caps(&self) -> bool {
        !self.caps.is_empty()
    }

    /// The buyer's id, interning it when new.
    pub fn intern(&mut self, buyer: &str) -> BuyerId {
        if let Some(id) = self.id(buyer) {
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.entries[index(id)] = (buyer.into(), 0);
                id
            }
            None => {
                self.entries.push((buyer.into(), 0));
                let n = u32::try_from(self.entries.len()).expect("fewer than 2^32 buyers");
                BuyerId::new(n).expect("ids start at 1")
            }
        };
        self.ids.insert(buyer.into(), id);
        id
    }

    /// Counts `units` more of `sku` for the buyer.
    pub fn add(&mut self, id: BuyerId, sku: SkuId, units: u64) {
        let count = self.units.entry((id, sku)).or_insert_with(|| {
            self.entries[index(id)].1 += 1;
            0
        });
        *count += units;
    }

    /// Counts `units` of `sku` back (they were released, expired or cancelled); a buyer left
    /// with nothing counted is forgotten.
    pub fn remove(&mut self, id: BuyerId, sku: SkuId, units: u64) {
        let Some(count) = self.units.get_mut(&(id, sku)) else {
            debug_assert!(false, "units given back that were never counted");
            return;
        };
        debug_assert!(*count >= units, "more units given back than counted");
        *count = count.saturating_sub(units);
        if *count > 0 {
            return;
        }
        self.units.remove(&(id, sku));
        let entry = &mut self.entries[index(id)];
        entry.1 -= 1;
        if entry.1 == 0 {
            let code = std::mem::take(&mut entry.0);
            self.ids.remove(&code);
            self.free.push(id);
        }
    }

    /// Every (buyer, SKU, units) counted, in no order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, SkuId, u64)> {
        self.units
            .iter()
            .map(|(&(id, sku), &units)| (self.code(id), sku, units))
    }

    /// Buyers with anything counted.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

fn index(id: BuyerId) -> usize {
    id.get() as usize - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rise_and_fall_and_a_buyer_with_nothing_is_forgotten() {
        let mut buyers = Buyers::default();
        let a = buyers.intern("buyer-a");
        buyers.add(a, 0, 2);
        buyers.add(a, 1, 1);
        assert_eq!(buyers.units(Some(a), 0), 2);
        buyers.remove(a, 0, 2);
        assert_eq!(buyers.units(Some(a), 0), 0);
        assert_eq!(buyers.id("buyer-a"), Some(a), "still has units of SKU 1");
        buyers.remove(a, 1, 1);
        assert_eq!(buyers.id("buyer-a"), None);
        assert!(buyers.is_empty());
        let b = buyers.intern("buyer-b");
        assert_eq!(b, a, "a freed id is used again");
        assert_eq!(buyers.code(b), "buyer-b");
    }

    #[test]
    fn caps_are_set_and_lifted() {
        let mut buyers = Buyers::default();
        assert_eq!(buyers.cap(3), None);
        buyers.set_cap(3, Some(2));
        assert_eq!(buyers.cap(3), Some(2));
        assert!(buyers.has_caps());
        buyers.set_cap(3, None);
        assert_eq!(buyers.cap(3), None);
    }

    #[test]
    fn buyer_ids_are_checked() {
        assert!(validate_buyer("cust-42").is_ok());
        assert!(validate_buyer("").is_err());
        assert!(validate_buyer(&"x".repeat(129)).is_err());
        assert!(validate_buyer("a\nb").is_err());
    }
}
