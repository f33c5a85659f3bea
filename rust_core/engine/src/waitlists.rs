//! Waitlists: per SKU, the buyers waiting for units, in arrival order.
//!
//! An entry asks for a quantity of one SKU for one buyer (and, optionally, a channel). When
//! units come back the engine offers them to the oldest entries first, each its whole
//! quantity, as a hold with a short TTL (see `Engine::serve_waitlist`). An entry is never
//! overtaken: while the oldest entry waits for more units than are free, the entries behind
//! it wait too, and a fresh hold may take only the units the waiting entries do not ask for.
//! Entry ids grow with arrival, so a queue is always in id order.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::ids::SkuId;

/// A waitlist entry's number; its public id is `wl_<n>`.
pub type EntryId = u64;

/// One buyer waiting for units of one SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: EntryId,
    pub sku: SkuId,
    pub quantity: i64,
    pub buyer: Box<str>,
    pub channel: Option<Box<str>>,
}

/// Why an entry left its waitlist without an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    /// Its buyer (or the key that made it) cancelled it.
    Cancelled,
    /// Its turn came but the rules refused its hold (say, the buyer reached the SKU's cap
    /// meanwhile): it is passed over, never retried.
    Refused,
}

impl LeaveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::Cancelled => "cancelled",
            LeaveReason::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Waitlists {
    queues: FxHashMap<SkuId, VecDeque<Entry>>,
    /// The SKU of each waiting entry.
    sku_of: FxHashMap<EntryId, SkuId>,
    /// The waiting entry of each buyer, per SKU: a buyer waits once per SKU (nested, so a
    /// lookup by `&str` needs no key built).
    by_buyer: FxHashMap<SkuId, FxHashMap<Box<str>, EntryId>>,
    /// Units the waiting entries of each SKU ask for.
    units: FxHashMap<SkuId, i64>,
    next_id: EntryId,
}

impl Default for Waitlists {
    fn default() -> Self {
        Self {
            queues: FxHashMap::default(),
            sku_of: FxHashMap::default(),
            by_buyer: FxHashMap::default(),
            units: FxHashMap::default(),
            next_id: 1,
        }
    }
}

impl Waitlists {
    pub fn is_empty(&self) -> bool {
        self.sku_of.is_empty()
    }

    /// Entries waiting, over all SKUs.
    pub fn len(&self) -> usize {
        self.sku_of.len()
    }

    /// The id the next entry gets.
    pub fn next_id(&self) -> EntryId {
        self.next_id
    }

    /// Continues numbering at `id` (recovery); never goes back.
    pub fn set_next_id(&mut self, id: EntryId) {
        self.next_id = self.next_id.max(id);
    }

    /// The entry `buyer` is waiting with for `sku`, if any.
    pub fn waiting(&self, sku: SkuId, buyer: &str) -> Option<EntryId> {
        self.by_buyer.get(&sku)?.get(buyer).copied()
    }

    /// Adds an entry at the back of its SKU's queue. Its id must be above every id before.
    pub fn push(&mut self, entry: Entry) {
        assert!(
            entry.id >= self.next_id,
            "waitlist entries arrive in id order"
        );
        self.next_id = entry.id + 1;
        self.sku_of.insert(entry.id, entry.sku);
        self.by_buyer
            .entry(entry.sku)
            .or_default()
            .insert(entry.buyer.clone(), entry.id);
        *self.units.entry(entry.sku).or_default() += entry.quantity;
        self.queues.entry(entry.sku).or_default().push_back(entry);
    }

    /// The oldest waiting entry of `sku`.
    pub fn head(&self, sku: SkuId) -> Option<&Entry> {
        self.queues.get(&sku).and_then(VecDeque::front)
    }

    /// Takes a waiting entry out of its queue (O(1) for the head).
    pub fn remove(&mut self, id: EntryId) -> Option<Entry> {
        let sku = self.sku_of.remove(&id)?;
        let queue = self.queues.get_mut(&sku).expect("queue of a waiting entry");
        let at = if queue.front().is_some_and(|e| e.id == id) {
            0
        } else {
            queue
                .binary_search_by_key(&id, |e| e.id)
                .expect("a waiting entry is in its queue")
        };
        let entry = queue.remove(at).expect("index found above");
        if queue.is_empty() {
            self.queues.remove(&sku);
        }
        if let Some(buyers) = self.by_buyer.get_mut(&sku) {
            buyers.remove(&entry.buyer);
            if buyers.is_empty() {
                self.by_buyer.remove(&sku);
            }
        }
        let units = self.units.get_mut(&sku).expect("units of a waiting SKU");
        *units -= entry.quantity;
        if *units == 0 {
            self.units.remove(&sku);
        }
        Some(entry)
    }

    /// Units the waiting entries of `sku` ask for.
    pub fn waiting_units(&self, sku: SkuId) -> i64 {
        self.units.get(&sku).copied().unwrap_or(0)
    }

    /// A waiting entry and its place in its queue (1: next to be offered).
    pub fn position(&self, id: EntryId) -> Option<(&Entry, usize)> {
        let sku = self.sku_of.get(&id)?;
        let queue = &self.queues[sku];
        let at = queue.binary_search_by_key(&id, |e| e.id).ok()?;
        Some((&queue[at], at + 1))
    }

    /// Entries waiting for `sku`, oldest first.
    pub fn queue(&self, sku: SkuId) -> impl Iterator<Item = &Entry> {
        self.queues.get(&sku).into_iter().flatten()
    }

    /// The SKUs with waiting entries.
    pub fn skus(&self) -> impl Iterator<Item = SkuId> + '_ {
        self.queues.keys().copied()
    }

    /// Every waiting entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.queues.values().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: EntryId, sku: SkuId, quantity: i64, buyer: &str) -> Entry {
        Entry {
            id,
            sku,
            quantity,
            buyer: buyer.into(),
            channel: None,
        }
    }

    #[test]
    fn queues_keep_arrival_order_and_count_units() {
        let mut w = Waitlists::default();
        w.push(entry(1, 0, 2, "a"));
        w.push(entry(2, 1, 1, "a"));
        w.push(entry(3, 0, 3, "b"));
        assert_eq!(w.head(0).map(|e| e.id), Some(1));
        assert_eq!(w.waiting_units(0), 5);
        assert_eq!(w.waiting(0, "b"), Some(3));
        assert_eq!(w.position(3).map(|(_, p)| p), Some(2));
        assert_eq!(w.remove(1).map(|e| e.quantity), Some(2));
        assert_eq!(w.position(3).map(|(_, p)| p), Some(1));
        assert_eq!(w.waiting_units(0), 3);
        assert_eq!(w.waiting(0, "a"), None);
        assert_eq!(w.waiting(1, "a"), Some(2));
        assert_eq!(w.remove(1), None);
        assert_eq!(w.len(), 2);
        assert_eq!(w.next_id(), 4);
    }

    #[test]
    fn removing_from_the_middle_keeps_the_rest_in_order() {
        let mut w = Waitlists::default();
        for id in 1..=5 {
            w.push(entry(id, 7, 1, &format!("b{id}")));
        }
        w.remove(3);
        let ids: Vec<_> = w.queue(7).map(|e| e.id).collect();
        assert_eq!(ids, [1, 2, 4, 5]);
        for id in [1, 2, 4, 5] {
            w.remove(id);
        }
        assert!(w.is_empty());
        assert_eq!(w.waiting_units(7), 0);
        assert_eq!(w.skus().count(), 0);
    }
}
