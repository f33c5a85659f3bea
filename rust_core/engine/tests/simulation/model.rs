//! The simulation's model: on-hand counts from movements, reservations as plain records,
//! waitlists as the entries still waiting (in id order, which is arrival order), units in
//! transit per destination (and the lot they were shipped from).

use std::collections::{BTreeMap, BTreeSet};

use reservoir_engine::{ReservationSeq, Status};

use crate::{
    CHANNEL_BUFFER, CHANNEL_LOCATIONS, DROP_SKU, DROP_SPILLS, DROP_STARTS, LOCATIONS, LOTS, POOL,
    SKUS,
};

#[derive(Debug, Clone)]
pub struct ModelHold {
    pub status: Status,
    pub expires_at_ms: i64,
    pub lines: Vec<(String, String, i64)>,
    pub buyer: Option<&'static str>,
    /// Made by the channel while the drop's pool was fenced: its drop-SKU units count
    /// against the pool until they come back unsold.
    pub pooled: bool,
}

/// A buyer waiting for units of a SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelEntry {
    pub sku: &'static str,
    pub quantity: i64,
    pub buyer: &'static str,
    pub channel: Option<&'static str>,
}

/// The simple model: on-hand counts from movements, reservations as plain records.
#[derive(Default)]
pub struct Model {
    pub on_hand: BTreeMap<(String, String), i64>,
    pub holds: BTreeMap<ReservationSeq, ModelHold>,
    pub finished: BTreeMap<ReservationSeq, Status>,
    pub shrunk: BTreeSet<(String, String)>,
    /// Units per (sku, location, lot).
    pub lots: BTreeMap<(String, String, &'static str), i64>,
    /// When each (sku, lot) was first received (a counter): its age after its expiry day.
    pub lot_order: BTreeMap<(String, &'static str), u64>,
    /// Units each buyer has taken per SKU: held, committed and shipped (unsold units come
    /// back when a hold is released, expires or is cancelled).
    pub buyer_units: BTreeMap<(String, String), u64>,
    /// Units of the drop SKU the channel's pooled holds have (held, committed, shipped).
    pub pool_taken: i64,
    /// Waitlist entries still waiting, by id: a SKU's queue is its entries in id order.
    pub waiting: BTreeMap<u64, ModelEntry>,
    /// Entries that ever joined (ids run from 1).
    pub joined: u64,
    /// Units shipped on transfers and still in transit, per (sku, destination, lot): on no
    /// shelf, so in no level and never available. The engine keeps them per (sku,
    /// destination); the lot only lets the simulation arrive them as the lot they left as.
    pub in_transit: BTreeMap<(&'static str, &'static str, Option<&'static str>), i64>,
}

impl Model {
    pub fn counters(&self, sku: &str, loc: &str) -> (i64, i64, i64) {
        let on_hand = *self.on_hand.get(&(sku.into(), loc.into())).unwrap_or(&0);
        let (mut reserved, mut committed) = (0, 0);
        for h in self.holds.values() {
            for (s, l, q) in &h.lines {
                if s == sku && l == loc {
                    match h.status {
                        Status::Held => reserved += q,
                        _ => committed += q,
                    }
                }
            }
        }
        (on_hand, reserved, committed)
    }

    /// Units of `sku` a hold (or an offer) for `channel` (or none) may take at `now`: while
    /// the drop's pool is fenced, the SKU's available units everywhere less (for others than
    /// the channel) the pool's unsold units, and for the channel at most what its locations
    /// have available; else, for the channel, what its locations have available less its
    /// buffer, and for no channel what every location has available.
    pub fn free_for(&self, sku: &str, channel: Option<&str>, now: i64) -> i64 {
        let fenced = sku == DROP_SKU && (DROP_STARTS..DROP_SPILLS).contains(&now);
        let there: i64 = CHANNEL_LOCATIONS
            .iter()
            .map(|loc| self.available(sku, loc))
            .sum();
        match channel {
            Some(_) if !fenced => (there - CHANNEL_BUFFER).max(0),
            _ => {
                let everywhere: i64 = LOCATIONS
                    .iter()
                    .map(|(loc, _)| self.available(sku, loc))
                    .sum();
                let fenced_off = match channel {
                    None if fenced => (POOL - self.pool_taken).max(0),
                    _ => 0,
                };
                let free = (everywhere - fenced_off).max(0);
                // a channel's holds take units only at its places, fenced or not
                if channel.is_some() {
                    free.min(there)
                } else {
                    free
                }
            }
        }
    }

    /// The next entry to be offered units of `sku`.
    pub fn head<'a>(&'a self, sku: &'a str) -> Option<(u64, &'a ModelEntry)> {
        self.queue(sku).next()
    }

    /// The entries waiting for `sku`, oldest first.
    pub fn queue<'a>(&'a self, sku: &'a str) -> impl Iterator<Item = (u64, &'a ModelEntry)> + 'a {
        self.waiting
            .iter()
            .filter(move |(_, e)| e.sku == sku)
            .map(|(&id, e)| (id, e))
    }

    /// Units the entries waiting for `sku` ask for: fresh holds may take only what is free
    /// beyond them.
    pub fn waiting_units(&self, sku: &str) -> i64 {
        self.queue(sku).map(|(_, e)| e.quantity).sum()
    }

    /// Units in transit of `sku` to `to`, whatever their lot.
    pub fn in_transit_to(&self, sku: &str, to: &str) -> i64 {
        self.in_transit
            .iter()
            .filter(|((s, t, _), _)| *s == sku && *t == to)
            .map(|(_, &units)| units)
            .sum()
    }

    /// Units in transit of `sku`, per destination (none where nothing is).
    pub fn in_transit_of(&self, sku: &str) -> BTreeMap<&'static str, i64> {
        let mut out: BTreeMap<&'static str, i64> = BTreeMap::new();
        for (&(s, to, _), &units) in &self.in_transit {
            if s == sku {
                *out.entry(to).or_default() += units;
            }
        }
        out.retain(|_, units| *units != 0);
        out
    }

    /// Moves `units` into (or, negative, out of) transit to `to`.
    pub fn move_transit(
        &mut self,
        sku: &'static str,
        to: &'static str,
        lot: Option<&'static str>,
        units: i64,
    ) {
        let key = (sku, to, lot);
        let left = {
            let there = self.in_transit.entry(key).or_default();
            *there += units;
            *there
        };
        assert!(
            left >= 0,
            "model: more of {key:?} out of transit than went in"
        );
        if left == 0 {
            self.in_transit.remove(&key);
        }
    }

    /// Units nobody holds at a location, sellable or not: what may move away from it.
    pub fn movable(&self, sku: &str, loc: &str) -> i64 {
        let (o, r, c) = self.counters(sku, loc);
        (o - r - c).max(0)
    }

    /// Units of `sku` on hand at a location, by lot (`None`: unlotted), those with some.
    pub fn lots_at(&self, sku: &str, loc: &str) -> Vec<(Option<&'static str>, i64)> {
        std::iter::once(None)
            .chain(LOTS.iter().map(|&(lot, _)| Some(lot)))
            .map(|lot| (lot, self.lot_units(sku, loc, lot)))
            .filter(|&(_, units)| units > 0)
            .collect()
    }

    pub fn on_hand_mut(&mut self, sku: &str, loc: &str) -> &mut i64 {
        self.on_hand.entry((sku.into(), loc.into())).or_default()
    }

    pub fn available(&self, sku: &str, loc: &str) -> i64 {
        let sellable = LOCATIONS.iter().any(|&(l, s)| l == loc && s);
        let (o, r, c) = self.counters(sku, loc);
        if sellable {
            (o - r - c).max(0)
        } else {
            0
        }
    }

    /// Whether the request fits: named lines at their location, pooled lines over the SKU's
    /// remaining sellable stock (greedy allocation succeeds exactly then); for a channel,
    /// only `within` its locations and leaving its `buffer` of each SKU there.
    pub fn fits(
        &self,
        lines: &[(usize, i64, Option<usize>)],
        within: Option<&[&str]>,
        buffer_of: impl Fn(&str) -> i64,
    ) -> bool {
        let sells = |loc: &str| within.is_none_or(|places| places.contains(&loc));
        for (s, sku) in SKUS.iter().enumerate() {
            let buffer = buffer_of(sku);
            let asked: i64 = lines.iter().filter(|l| l.0 == s).map(|l| l.1).sum();
            let there: i64 = LOCATIONS
                .iter()
                .filter(|(loc, _)| sells(loc))
                .map(|(loc, _)| self.available(sku, loc))
                .sum();
            if asked > 0 && asked > there - buffer {
                return false;
            }
            let mut named: BTreeMap<usize, i64> = BTreeMap::new();
            let mut pooled = 0;
            for &(_, q, loc) in lines.iter().filter(|l| l.0 == s) {
                match loc {
                    Some(l) => *named.entry(l).or_default() += q,
                    None => pooled += q,
                }
            }
            let mut spare = 0;
            for (l, (loc, _)) in LOCATIONS.iter().enumerate() {
                let available = if sells(loc) {
                    self.available(sku, loc)
                } else {
                    0
                };
                let want = named.get(&l).copied().unwrap_or(0);
                if want > available {
                    return false;
                }
                spare += available - want;
            }
            if pooled > spare {
                return false;
            }
        }
        true
    }

    pub fn lot_units(&self, sku: &str, loc: &str, lot: Option<&'static str>) -> i64 {
        match lot {
            Some(lot) => *self.lots.get(&(sku.into(), loc.into(), lot)).unwrap_or(&0),
            None => {
                let lotted: i64 = LOTS
                    .iter()
                    .map(|(l, _)| self.lot_units(sku, loc, Some(l)))
                    .sum();
                self.counters(sku, loc).0 - lotted
            }
        }
    }

    pub fn move_lot(&mut self, sku: &str, loc: &str, lot: Option<&'static str>, units: i64) {
        if let Some(lot) = lot {
            *self.lots.entry((sku.into(), loc.into(), lot)).or_default() += units;
        }
    }

    /// The age of a location's oldest lot not already promised (promised units take the
    /// oldest lots first); None sorts after every lot.
    pub fn oldest_free(&self, sku: &str, loc: &str) -> (i32, u64) {
        let (_, r, c) = self.counters(sku, loc);
        let mut lots: Vec<((i32, u64), i64)> = LOTS
            .iter()
            .filter_map(|&(lot, expires)| {
                let order = *self.lot_order.get(&(sku.into(), lot))?;
                let age = (expires.unwrap_or(i32::MAX - 1), order);
                Some((age, self.lot_units(sku, loc, Some(lot))))
            })
            .collect();
        lots.sort();
        let mut skip = r + c;
        for (age, units) in lots {
            if units > skip {
                return age;
            }
            skip -= units.min(skip);
        }
        (i32::MAX, u64::MAX)
    }

    /// Where a line without a location takes units from, in order (only `within` a
    /// channel's locations).
    pub fn allocation_order(&self, sku: &str, within: Option<&[&str]>) -> Vec<(&'static str, i64)> {
        let lotted = self.lot_order.keys().any(|(s, _)| s == sku);
        let mut order: Vec<_> = LOCATIONS
            .iter()
            .filter(|(loc, _)| within.is_none_or(|places| places.contains(loc)))
            .map(|&(loc, _)| (loc, self.available(sku, loc)))
            .filter(|&(_, available)| available > 0)
            .map(|(loc, available)| {
                let age = if lotted {
                    self.oldest_free(sku, loc)
                } else {
                    (i32::MAX, u64::MAX)
                };
                (age, -available, loc)
            })
            .collect();
        order.sort();
        order.into_iter().map(|(_, a, loc)| (loc, -a)).collect()
    }

    /// Records a new hold: its units count toward its buyer and, when `pooled`, its drop-SKU
    /// units against the channel's pool.
    pub fn hold(&mut self, seq: ReservationSeq, hold: ModelHold) {
        if let Some(b) = hold.buyer {
            for (s, _, q) in &hold.lines {
                *self
                    .buyer_units
                    .entry((b.to_owned(), s.clone()))
                    .or_default() += *q as u64;
            }
        }
        if hold.pooled {
            self.pool_taken += hold
                .lines
                .iter()
                .filter(|l| l.0 == DROP_SKU)
                .map(|l| l.2)
                .sum::<i64>();
        }
        self.holds.insert(seq, hold);
    }

    /// Records that an open reservation reached a final state.
    pub fn finish(&mut self, seq: ReservationSeq, status: Status) {
        let hold = self.holds.remove(&seq);
        if let Some(h) = hold
            .as_ref()
            .filter(|h| h.pooled && status != Status::Fulfilled)
        {
            let back: i64 = h
                .lines
                .iter()
                .filter(|l| l.0 == DROP_SKU)
                .map(|l| l.2)
                .sum();
            self.pool_taken -= back;
        }
        if let Some(ModelHold {
            buyer: Some(buyer),
            lines,
            ..
        }) = hold.filter(|_| status != Status::Fulfilled)
        {
            for (sku, _, q) in lines {
                let key = (buyer.to_owned(), sku);
                let units = self.buyer_units.get_mut(&key).expect("counted units");
                *units -= q as u64;
                if *units == 0 {
                    self.buyer_units.remove(&key);
                }
            }
        }
        self.finished.insert(seq, status);
    }

    /// Units the buyer has of `sku`.
    pub fn units_of(&self, buyer: &str, sku: &str) -> u64 {
        *self
            .buyer_units
            .get(&(buyer.to_owned(), sku.to_owned()))
            .unwrap_or(&0)
    }

    pub fn expire_due(&mut self, now: i64) {
        let due: Vec<_> = self
            .holds
            .iter()
            .filter(|(_, h)| h.status == Status::Held && h.expires_at_ms <= now)
            .map(|(&s, _)| s)
            .collect();
        for seq in due {
            self.finish(seq, Status::Expired);
        }
    }
}
