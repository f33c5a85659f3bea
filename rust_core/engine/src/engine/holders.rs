//! What an open hold counts toward besides its levels: its buyer's units of each SKU, and
//! the drop pool its channel took from. Both live beside `holds` (side maps), so a hold with
//! neither costs nothing more; both come back when the hold ends unsold, and stay counted
//! when it ships.

use crate::drops::Phase;
use crate::ids::ReservationSeq;
use crate::reservation::Line;

use super::{Engine, HoldFor, HoldPools};

impl Engine {
    /// Counts a new hold's units for its buyer and, for a channel holding a SKU of a drop in
    /// its fenced phase, against that channel's pool (`at_ms`: when it was made).
    pub(super) fn count_taken(
        &mut self,
        seq: ReservationSeq,
        who: HoldFor<'_>,
        lines: &[Line],
        at_ms: i64,
    ) {
        if let Some(buyer) = who.buyer {
            let id = self.buyers.intern(buyer);
            for line in lines {
                self.buyers.add(id, line.sku, u64::from(line.quantity));
            }
            self.hold_buyers.insert(seq, id);
        }
        let Some(channel) = who.channel.filter(|_| !self.drops.is_empty()) else {
            return;
        };
        let mut pools = HoldPools::new();
        for line in lines {
            let Some(drop) = self.drops.of_sku_mut(line.sku) else {
                continue;
            };
            if drop.phase(at_ms) != Phase::Fenced {
                continue;
            }
            if let Some(i) = drop.pool_of(Some(channel)) {
                drop.pools[i].taken += u64::from(line.quantity);
                if !pools.iter().any(|(sku, _)| *sku == line.sku) {
                    pools.push((line.sku, channel.into()));
                }
            }
        }
        if !pools.is_empty() {
            self.hold_pools.insert(seq, pools);
        }
    }

    /// Counts an ended hold's unsold units (the lines it still had) back off its buyer and
    /// into the drop pools it took from.
    pub(super) fn give_back(&mut self, seq: ReservationSeq, lines: &[Line]) {
        if !self.hold_buyers.is_empty() {
            if let Some(id) = self.hold_buyers.remove(&seq) {
                for line in lines {
                    self.buyers.remove(id, line.sku, u64::from(line.quantity));
                }
            }
        }
        if self.hold_pools.is_empty() {
            return;
        }
        let Some(pools) = self.hold_pools.remove(&seq) else {
            return;
        };
        for (sku, channel) in pools {
            let units: u64 = lines
                .iter()
                .filter(|l| l.sku == sku)
                .map(|l| u64::from(l.quantity))
                .sum();
            let pool = self
                .drops
                .of_sku_mut(sku)
                .and_then(|d| d.pools.iter_mut().find(|p| p.channel == channel));
            if let Some(pool) = pool {
                pool.taken = pool.taken.saturating_sub(units);
            }
        }
    }

    /// Forgets a fulfilled order's buyer and pools: what it shipped stays counted.
    pub(super) fn forget_fulfilled(&mut self, seq: ReservationSeq) {
        if !self.hold_buyers.is_empty() {
            self.hold_buyers.remove(&seq);
        }
        if !self.hold_pools.is_empty() {
            self.hold_pools.remove(&seq);
        }
    }
}
