//! Reservations: reserve, commit, release, extend, expire, and reading one back.

use crate::buyers::validate_buyer;
use crate::channels::{Channel, SafetyBuffer};
use crate::error::{EngineError, Result};
use crate::ids::ReservationSeq;
use crate::ids::SkuId;
use crate::log::Change;
use crate::log::Parties;
use crate::reservation::{Hold, Lines, Status};
use crate::waitlists::EntryId;

use super::{
    asked_per_sku, refused_if_short, Engine, HoldFor, LineRequest, Outcome, ReservationView,
    ResolvedLine,
};

impl Engine {
    /// Holds every line or none. A line naming a location holds there (it must be sellable);
    /// a line without one is allocated over the SKU's sellable locations in the order of
    /// [`Engine::allocation_order`], splitting the line when one location is not enough.
    /// Lines naming a location are served first.
    pub fn reserve(
        &mut self,
        lines: &[LineRequest<'_>],
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<ReservationView> {
        self.reserve_for(lines, ttl_ms, HoldFor::default(), now_ms)
    }

    /// [`Engine::reserve`] for a channel and a buyer.
    ///
    /// - A defined channel's hold takes units only from its locations, and leaves its safety
    ///   buffer of each SKU there untaken (else `InsufficientStock`, with what is available
    ///   to the channel). Once any channel is defined, an undefined one is `UnknownChannel`.
    /// - A buyer's units count toward their total of each SKU (held, committed and shipped,
    ///   over all their reservations); a hold that would take it past the SKU's per-buyer cap
    ///   is refused (`BuyerLimit`).
    pub fn reserve_for(
        &mut self,
        lines: &[LineRequest<'_>],
        ttl_ms: i64,
        who: HoldFor<'_>,
        now_ms: i64,
    ) -> Result<ReservationView> {
        self.check_log_room()?;
        if lines.is_empty() {
            return Err(EngineError::invalid("lines", "must have at least one line"));
        }
        if lines.len() > self.limits.lines_per_reservation_max {
            return Err(EngineError::LimitExceeded {
                field: "lines".into(),
                limit: self.limits.lines_per_reservation_max as u64,
            });
        }
        self.check_ttl(ttl_ms)?;
        self.check_hold_room()?;
        if let Some(buyer) = who.buyer {
            validate_buyer(buyer)?;
        }
        self.channels.for_hold(who.channel)?;
        let resolved = self.resolve_lines(lines)?;
        self.hold_resolved(&resolved, ttl_ms, who, None, now_ms)
    }

    pub(super) fn check_hold_room(&self) -> Result<()> {
        if self.holds.len() >= self.limits.holds_max {
            return Err(EngineError::LimitExceeded {
                field: "holds".into(),
                limit: self.limits.holds_max as u64,
            });
        }
        Ok(())
    }

    /// Holds lines already checked for shape (a known channel, known SKUs and locations):
    /// the rules of drops, buyer caps, the channel and (for a hold that is not an offer to
    /// waitlist entry `entry`) the SKU's waitlist, then allocation.
    pub(super) fn hold_resolved(
        &mut self,
        resolved: &[ResolvedLine],
        ttl_ms: i64,
        who: HoldFor<'_>,
        entry: Option<EntryId>,
        now_ms: i64,
    ) -> Result<ReservationView> {
        let buyer = who.buyer;
        let channel = self.channels.for_hold(who.channel)?;
        self.check_drops(who.channel, resolved, now_ms)?;
        if let Some(buyer) = buyer {
            self.check_buyer_caps(buyer, resolved, now_ms)?;
        }
        if let Some(channel) = channel {
            self.check_channel(channel, resolved, now_ms)?;
        }
        if entry.is_none() {
            self.check_waitlists(who.channel, resolved, now_ms)?;
        }
        let within = channel.and_then(|c| c.locations.as_deref());
        let allocated = self.allocate(resolved, within)?;

        for line in &allocated {
            self.stock.entry(line.sku, line.location).reserved += i64::from(line.quantity);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.count_taken(seq, who, &allocated, now_ms);
        let expires_at_ms = now_ms.saturating_add(ttl_ms);
        let timer_slot = self.timers.insert(seq, expires_at_ms);
        self.holds.insert(
            seq,
            Hold {
                status: Status::Held,
                expires_at_ms,
                timer_slot,
                lines: Lines::from_slice(&allocated),
            },
        );
        let lsn = self.log.append(
            now_ms,
            Change::Reserve {
                seq,
                expires_at_ms,
                lines: Lines::from_slice(&allocated),
                parties: (who.channel.is_some() || buyer.is_some() || entry.is_some()).then(|| {
                    Box::new(Parties {
                        channel: who.channel.map(Into::into),
                        buyer: buyer.map(Into::into),
                        entry,
                    })
                }),
            },
        );
        Ok(ReservationView {
            seq,
            status: Status::Held,
            expires_at_ms,
            lines: allocated,
            lsn,
        })
    }

    /// Sets (or with `None` lifts) the most units of `sku` one buyer may take (held,
    /// committed and shipped). Counts are kept for every buyer whether or not a cap is set,
    /// so a cap set later applies to what buyers already have.
    pub fn set_per_buyer_max(&mut self, sku: &str, max: Option<u64>) -> Result<()> {
        let sku = self.catalogue.sku_id(sku)?;
        if max == Some(0) {
            return Err(EngineError::invalid("per_buyer_max", "must be at least 1"));
        }
        self.buyers.set_cap(sku, max);
        Ok(())
    }

    /// Units of `sku` the buyer has taken: held, committed and shipped.
    pub fn buyer_units(&self, buyer: &str, sku: &str) -> Result<u64> {
        let sku = self.catalogue.sku_id(sku)?;
        Ok(self.buyers.units(self.buyers.id(buyer), sku))
    }

    /// Units of `sku` a hold for `channel` may take at `now_ms`: what is available at the
    /// channel's sellable locations, less its safety buffer; while the SKU's drop fences
    /// pools, the SKU's available units less the other channels' unsold pools instead.
    pub fn available_to_channel(&self, sku: &str, channel: &str, now_ms: i64) -> Result<i64> {
        let id = self.catalogue.sku_id(sku)?;
        let rules = self
            .channels
            .get(channel)
            .ok_or_else(|| EngineError::UnknownChannel(channel.to_owned()))?;
        Ok(self.free_for(id, Some(channel), Some(rules), now_ms))
    }

    /// Units of `sku` a hold for `channel` (its `rules`, when defined) may take at `now_ms`:
    /// while the SKU's drop fences pools, the SKU's available units less the other channels'
    /// unsold pools, and at most what the channel's places have available (where its holds
    /// take units from); otherwise what the channel's places have available less its buffer.
    pub(super) fn free_for(
        &self,
        sku: SkuId,
        channel: Option<&str>,
        rules: Option<&Channel>,
        now_ms: i64,
    ) -> i64 {
        match rules {
            Some(rules) if !self.fenced_by_drop(sku, now_ms) => self.channel_available(sku, rules),
            Some(Channel {
                locations: Some(places),
                ..
            }) => {
                let there: i64 = self
                    .levels_selling(sku, Some(places))
                    .map(|level| level.available())
                    .sum();
                self.hold_available(sku, channel, now_ms).min(there)
            }
            _ => self.hold_available(sku, channel, now_ms),
        }
    }

    fn channel_available(&self, sku: SkuId, channel: &Channel) -> i64 {
        let (mut available, mut on_hand) = (0, 0);
        for level in self.levels_selling(sku, channel.locations.as_deref()) {
            available += level.available();
            on_hand += level.on_hand;
        }
        (available - channel.buffer.units(on_hand)).max(0)
    }

    /// Refuses lines at a location the channel does not sell from, and SKUs whose units
    /// asked for would dip into the channel's safety buffer.
    fn check_channel(&self, channel: &Channel, lines: &[ResolvedLine], now_ms: i64) -> Result<()> {
        let within = channel.locations.as_deref();
        for (i, &(_, _, location)) in lines.iter().enumerate() {
            if let Some(location) = location {
                if !self.sells_from(within, location) && self.catalogue.is_sellable(location) {
                    return Err(EngineError::invalid(
                        format!("lines[{i}].location"),
                        "the channel does not sell from this location",
                    ));
                }
            }
        }
        if channel.buffer == SafetyBuffer::NONE {
            return Ok(());
        }
        let mut short = Vec::new();
        for (sku, requested) in asked_per_sku(lines) {
            if self.fenced_by_drop(sku, now_ms) {
                continue; // a drop's pools replace the channel's buffer while fenced
            }
            short.extend(self.shortage(sku, requested, self.channel_available(sku, channel)));
        }
        refused_if_short(short)
    }

    /// Refuses lines that would take `buyer` past a SKU's cap (lines of one SKU summed).
    pub(super) fn check_buyer_caps(
        &self,
        buyer: &str,
        lines: &[ResolvedLine],
        now_ms: i64,
    ) -> Result<()> {
        if !self.buyers.has_caps() && self.drops.is_empty() {
            return Ok(());
        }
        let id = self.buyers.id(buyer);
        for (sku, requested) in asked_per_sku(lines) {
            let Some(max) = self.buyer_cap(sku, now_ms) else {
                continue;
            };
            let requested = requested as u64; // each line is at least 1
            let current = self.buyers.units(id, sku);
            if current + requested > max {
                return Err(EngineError::BuyerLimit {
                    sku: self.catalogue.sku(sku).to_owned(),
                    buyer: buyer.to_owned(),
                    current,
                    requested,
                    max,
                });
            }
        }
        Ok(())
    }

    /// Turns a hold into an order: its units move from `reserved` to `committed` and it no
    /// longer expires. Committing a committed reservation changes nothing.
    pub fn commit(&mut self, seq: ReservationSeq, now_ms: i64) -> Result<Outcome> {
        self.check_log_room()?;
        let (status, expires_at_ms) = self.state(seq)?;
        match status {
            Status::Committed => Ok(self.unchanged(seq)),
            Status::Held if expires_at_ms <= now_ms => {
                self.expire_held(seq, now_ms);
                Err(EngineError::InvalidState {
                    seq,
                    status: Status::Expired,
                })
            }
            Status::Held => {
                let hold = self.holds.get_mut(&seq).expect("held reservation");
                hold.status = Status::Committed;
                let (expires_at_ms, slot, lines) = (
                    hold.expires_at_ms,
                    hold.timer_slot,
                    Lines::from_slice(&hold.lines),
                );
                self.remove_timer(expires_at_ms, slot);
                for line in &lines {
                    let level = self.stock.entry(line.sku, line.location);
                    level.reserved -= i64::from(line.quantity);
                    level.committed += i64::from(line.quantity);
                }
                let change = Change::Commit {
                    seq,
                    lines: Lines::from_slice(&lines),
                };
                Ok(self.logged(seq, Status::Committed, expires_at_ms, lines, change, now_ms))
            }
            status => Err(EngineError::InvalidState { seq, status }),
        }
    }

    /// Gives a reservation's units back: a hold is released, a committed one cancelled.
    /// Releasing a released reservation changes nothing; a hold past its expiry is expired
    /// instead (and reads `expired`).
    pub fn release(&mut self, seq: ReservationSeq, now_ms: i64) -> Result<Outcome> {
        self.check_log_room()?;
        let (status, expires_at_ms) = self.state(seq)?;
        match status {
            Status::Released | Status::Expired => Ok(self.unchanged(seq)),
            Status::Fulfilled => Err(EngineError::InvalidState { seq, status }),
            Status::Held if expires_at_ms <= now_ms => {
                self.expire_held(seq, now_ms);
                Ok(self.unchanged(seq))
            }
            Status::Held => {
                let hold = self.holds.remove(&seq).expect("held reservation");
                self.remove_timer(hold.expires_at_ms, hold.timer_slot);
                for line in &hold.lines {
                    self.stock.entry(line.sku, line.location).reserved -= i64::from(line.quantity);
                }
                self.give_back(seq, &hold.lines);
                let change = Change::Release {
                    seq,
                    lines: Lines::from_slice(&hold.lines),
                };
                let waiting = self.waiting_skus(&hold.lines);
                let outcome = self.finish(seq, hold, Status::Released, change, now_ms);
                self.serve_waitlists_of(&waiting, now_ms);
                Ok(outcome)
            }
            Status::Committed => {
                let hold = self.holds.remove(&seq).expect("committed reservation");
                for line in &hold.lines {
                    self.stock.entry(line.sku, line.location).committed -= i64::from(line.quantity);
                }
                self.give_back(seq, &hold.lines);
                let change = Change::Cancel {
                    seq,
                    lines: Lines::from_slice(&hold.lines),
                };
                let waiting = self.waiting_skus(&hold.lines);
                let outcome = self.finish(seq, hold, Status::Released, change, now_ms);
                self.serve_waitlists_of(&waiting, now_ms);
                Ok(outcome)
            }
        }
    }

    /// Moves a hold's expiry to `now_ms + ttl_ms`.
    pub fn extend(&mut self, seq: ReservationSeq, ttl_ms: i64, now_ms: i64) -> Result<Outcome> {
        self.check_log_room()?;
        self.check_ttl(ttl_ms)?;
        let (status, expires_at_ms) = self.state(seq)?;
        match status {
            Status::Held if expires_at_ms <= now_ms => {
                self.expire_held(seq, now_ms);
                Err(EngineError::InvalidState {
                    seq,
                    status: Status::Expired,
                })
            }
            Status::Held => {
                let slot = self.holds[&seq].timer_slot;
                self.remove_timer(expires_at_ms, slot);
                let expires_at_ms = now_ms.saturating_add(ttl_ms);
                let timer_slot = self.timers.insert(seq, expires_at_ms);
                let hold = self.holds.get_mut(&seq).expect("held reservation");
                hold.expires_at_ms = expires_at_ms;
                hold.timer_slot = timer_slot;
                let lines = Lines::from_slice(&hold.lines);
                let change = Change::Extend { seq, expires_at_ms };
                Ok(self.logged(seq, Status::Held, expires_at_ms, lines, change, now_ms))
            }
            status => Err(EngineError::InvalidState { seq, status }),
        }
    }

    /// Expires up to `max` holds due at `now_ms`, in O(due). Returns how many.
    pub fn expire_due(&mut self, now_ms: i64, max: usize) -> usize {
        let (mut due, mut moved) = (Vec::new(), Vec::new());
        let holds = &self.holds;
        self.timers.take_due(
            now_ms,
            max,
            |seq| holds[&seq].expires_at_ms,
            &mut due,
            &mut moved,
        );
        for (seq, slot) in moved {
            self.holds
                .get_mut(&seq)
                .expect("timer of an open hold")
                .timer_slot = slot;
        }
        // Room for everything at once, not a dozen rehashes and copies of growing tables.
        self.finished.reserve(due.len());
        self.finished_order.reserve(due.len());
        self.log.reserve(due.len());
        for &seq in &due {
            let hold = self.holds.remove(&seq).expect("timer of an open hold");
            self.expire_removed(seq, hold, now_ms);
        }
        due.len()
    }

    /// An open reservation, or a finished one whose final entry may not be durable yet.
    pub fn get(&self, seq: ReservationSeq) -> Option<ReservationView> {
        if let Some(hold) = self.holds.get(&seq) {
            return Some(ReservationView {
                seq,
                status: hold.status,
                expires_at_ms: hold.expires_at_ms,
                lines: Lines::from_slice(&hold.lines),
                lsn: self.log.last_lsn(),
            });
        }
        self.finished.get(&seq).map(|f| ReservationView {
            seq,
            status: f.status,
            expires_at_ms: f.expires_at_ms,
            lines: Lines::from_slice(&f.lines),
            lsn: f.lsn,
        })
    }

    /// Forgets finished reservations whose final entry is at or below `upto_lsn` (durable).
    pub fn prune_finished(&mut self, upto_lsn: u64) {
        while let Some(&(lsn, seq)) = self.finished_order.front() {
            if lsn > upto_lsn {
                break;
            }
            self.finished_order.pop_front();
            self.finished.remove(&seq);
        }
    }

    pub(super) fn open_or_finished(&self, seq: ReservationSeq) -> Result<ReservationView> {
        self.get(seq).ok_or(EngineError::ReservationNotFound(seq))
    }

    /// Status and expiry of an open or not yet pruned finished reservation: what the state
    /// checks need, without building a view (and copying its lines).
    pub(super) fn state(&self, seq: ReservationSeq) -> Result<(Status, i64)> {
        if let Some(hold) = self.holds.get(&seq) {
            return Ok((hold.status, hold.expires_at_ms));
        }
        self.finished
            .get(&seq)
            .map(|f| (f.status, f.expires_at_ms))
            .ok_or(EngineError::ReservationNotFound(seq))
    }

    fn unchanged(&self, seq: ReservationSeq) -> Outcome {
        Outcome {
            view: self.get(seq).expect("known reservation"),
            changed: false,
        }
    }

    fn expire_held(&mut self, seq: ReservationSeq, now_ms: i64) {
        let hold = self.holds.remove(&seq).expect("held reservation");
        self.remove_timer(hold.expires_at_ms, hold.timer_slot);
        self.expire_removed(seq, hold, now_ms);
    }

    /// Gives back the units of a hold already taken out of `holds` and its timer.
    fn expire_removed(&mut self, seq: ReservationSeq, hold: Hold, now_ms: i64) {
        for line in &hold.lines {
            self.stock.entry(line.sku, line.location).reserved -= i64::from(line.quantity);
        }
        self.give_back(seq, &hold.lines);
        let change = Change::Expire {
            seq,
            lines: Lines::from_slice(&hold.lines),
        };
        let waiting = self.waiting_skus(&hold.lines);
        self.finish(seq, hold, Status::Expired, change, now_ms);
        self.serve_waitlists_of(&waiting, now_ms);
    }
}
