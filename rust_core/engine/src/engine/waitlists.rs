//! Waitlists in the engine: joining and leaving one, offering units that come back to the
//! oldest entries, keeping fresh holds off the units the waiting entries ask for, and the
//! reads (see [`crate::waitlists`]).

use smallvec::SmallVec;

use crate::buyers::validate_buyer;
use crate::drops::Phase;
use crate::error::{EngineError, Result};
use crate::ids::SkuId;
use crate::log::Change;
use crate::reservation::Line;
use crate::waitlists::{Entry, EntryId, LeaveReason};

use super::{asked_per_sku, refused_if_short, Engine, HoldFor, ResolvedLine};

/// A new waitlist entry: its id, the LSN to answer at, and its place in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitlistJoin {
    pub entry: EntryId,
    pub lsn: u64,
    pub position: usize,
}

impl Engine {
    /// Puts `who.buyer` (required) on `sku`'s waitlist for `quantity` units, behind everyone
    /// already waiting. Refused, changing nothing: a buyer already waiting for the SKU
    /// (`AlreadyWaiting`), a quantity past the buyer's cap (`BuyerLimit`), a drop that has
    /// not started, and a SKU nobody waits for whose units are there to hold for this buyer
    /// and channel (`UnitsAvailable`: reserve instead).
    pub fn join_waitlist(
        &mut self,
        sku: &str,
        quantity: i64,
        who: HoldFor<'_>,
        now_ms: i64,
    ) -> Result<WaitlistJoin> {
        self.check_log_room()?;
        self.check_quantity("quantity", quantity)?;
        let buyer = who
            .buyer
            .ok_or_else(|| EngineError::invalid("buyer", "a waitlist entry names its buyer"))?;
        validate_buyer(buyer)?;
        if self.waitlists.len() >= self.limits.waitlist_entries_max {
            return Err(EngineError::LimitExceeded {
                field: "waitlist".into(),
                limit: self.limits.waitlist_entries_max as u64,
            });
        }
        let rules = self.channels.for_hold(who.channel)?;
        let id = self.catalogue.sku_id(sku)?;
        if let Some(entry) = self.waitlists.waiting(id, buyer) {
            return Err(EngineError::AlreadyWaiting {
                sku: sku.to_owned(),
                buyer: buyer.to_owned(),
                entry,
            });
        }
        if let Some(drop) = self.drops.of_sku(id) {
            if drop.phase(now_ms) == Phase::NotStarted {
                return Err(EngineError::DropNotStarted {
                    drop: drop.code.to_string(),
                    sku: sku.to_owned(),
                    starts_at_ms: drop.starts_at_ms,
                });
            }
        }
        self.check_buyer_caps(buyer, &[(id, quantity, None)], now_ms)?;
        if self.waitlists.head(id).is_none() {
            let available = self.free_for(id, who.channel, rules, now_ms);
            if available >= quantity {
                return Err(EngineError::UnitsAvailable {
                    sku: sku.to_owned(),
                    available,
                });
            }
        }
        let entry = Entry {
            id: self.waitlists.next_id(),
            sku: id,
            quantity,
            buyer: buyer.into(),
            channel: who.channel.map(Into::into),
        };
        let entry_id = entry.id;
        self.waitlists.push(entry.clone());
        let lsn = self.log.append(now_ms, Change::Join(Box::new(entry)));
        let position = self.waitlists.position(entry_id).map_or(0, |(_, p)| p);
        Ok(WaitlistJoin {
            entry: entry_id,
            lsn,
            position,
        })
    }

    /// Takes a waiting entry off its waitlist (an entry already offered is not waiting:
    /// `WaitlistEntryNotFound`; release its reservation instead). The entries behind it may
    /// now be served. Returns the LSN to answer at.
    pub fn leave_waitlist(&mut self, entry: EntryId, now_ms: i64) -> Result<u64> {
        self.check_log_room()?;
        let left = self
            .waitlists
            .remove(entry)
            .ok_or(EngineError::WaitlistEntryNotFound(entry))?;
        let lsn = self.log.append(
            now_ms,
            Change::Leave {
                entry,
                sku: left.sku,
                reason: LeaveReason::Cancelled,
            },
        );
        self.serve_waitlist(left.sku, now_ms);
        Ok(lsn)
    }

    /// Offers units of `sku` to its oldest waiting entries, each its whole quantity as a hold
    /// for its buyer and channel lasting `offer_ttl_ms`, until the oldest one left cannot be
    /// held (too few units, a drop not started, the log or the holds full: it stays first).
    /// An entry whose hold the rules refuse otherwise when units are there for it (its
    /// buyer's cap) leaves the list.
    /// Returns how many offers were made.
    pub(super) fn serve_waitlist(&mut self, sku: SkuId, now_ms: i64) -> usize {
        let mut offers = 0;
        while let Some(head) = self.waitlists.head(sku).cloned() {
            // too few units for it: it keeps its place (a buyer at the cap is judged only
            // when units are there for the turn, as the cap may have room by then)
            let rules = head.channel.as_deref().and_then(|c| self.channels.get(c));
            if self.free_for(sku, head.channel.as_deref(), rules, now_ms) < head.quantity {
                break;
            }
            match self.offer(&head, now_ms) {
                Ok(()) => {
                    self.waitlists.remove(head.id);
                    offers += 1;
                }
                Err(
                    EngineError::InsufficientStock(_)
                    | EngineError::DropNotStarted { .. }
                    | EngineError::Backpressure { .. }
                    | EngineError::LimitExceeded { .. },
                ) => break,
                Err(_) => {
                    self.waitlists.remove(head.id);
                    let change = Change::Leave {
                        entry: head.id,
                        sku,
                        reason: LeaveReason::Refused,
                    };
                    self.log.append(now_ms, change);
                }
            }
        }
        offers
    }

    fn offer(&mut self, entry: &Entry, now_ms: i64) -> Result<()> {
        self.check_log_room()?;
        self.check_hold_room()?;
        let who = HoldFor {
            channel: entry.channel.as_deref(),
            buyer: Some(&entry.buyer),
        };
        let line: [ResolvedLine; 1] = [(entry.sku, entry.quantity, None)];
        let ttl_ms = self.limits.offer_ttl_ms;
        self.hold_resolved(&line, ttl_ms, who, Some(entry.id), now_ms)?;
        Ok(())
    }

    /// Serves every SKU's waitlist: what time alone changes (a drop starting or spilling
    /// its pools) and offers the log had no room for. Returns how many offers were made.
    pub fn serve_waitlists(&mut self, now_ms: i64) -> usize {
        if self.waitlists.is_empty() {
            return 0;
        }
        let skus: SmallVec<[SkuId; 8]> = self.waitlists.skus().collect();
        skus.into_iter()
            .map(|sku| self.serve_waitlist(sku, now_ms))
            .sum()
    }

    /// The SKUs of `lines` that have waiting entries (none, at no cost, when nobody waits).
    pub(super) fn waiting_skus(&self, lines: &[Line]) -> SmallVec<[SkuId; 2]> {
        let mut skus = SmallVec::new();
        if self.waitlists.is_empty() {
            return skus;
        }
        for line in lines {
            if !skus.contains(&line.sku) && self.waitlists.head(line.sku).is_some() {
                skus.push(line.sku);
            }
        }
        skus
    }

    pub(super) fn serve_waitlists_of(&mut self, skus: &[SkuId], now_ms: i64) {
        for &sku in skus {
            self.serve_waitlist(sku, now_ms);
        }
    }

    /// Refuses a fresh hold (not an offer) that would take units the waiting entries of its
    /// SKUs ask for: with anyone waiting, it may take only what is free beyond their units.
    pub(super) fn check_waitlists(
        &self,
        channel: Option<&str>,
        lines: &[ResolvedLine],
        now_ms: i64,
    ) -> Result<()> {
        if self.waitlists.is_empty() {
            return Ok(());
        }
        let rules = channel.and_then(|c| self.channels.get(c));
        let mut short = Vec::new();
        for (sku, requested) in asked_per_sku(lines) {
            let waiting = self.waitlists.waiting_units(sku);
            if waiting == 0 {
                continue;
            }
            let free = (self.free_for(sku, channel, rules, now_ms) - waiting).max(0);
            short.extend(self.shortage(sku, requested, free));
        }
        refused_if_short(short)
    }

    /// A waiting entry: (sku, quantity, buyer, channel, place in its queue).
    pub fn waitlist_entry(&self, entry: EntryId) -> Option<(&str, &Entry, usize)> {
        self.waitlists
            .position(entry)
            .map(|(e, position)| (self.catalogue.sku(e.sku), e, position))
    }

    /// Entries waiting for `sku`, oldest first.
    pub fn waitlist(&self, sku: &str) -> Result<impl Iterator<Item = &Entry>> {
        Ok(self.waitlists.queue(self.catalogue.sku_id(sku)?))
    }

    /// Units the entries waiting for `sku` ask for.
    pub fn waitlisted_units(&self, sku: &str) -> Result<i64> {
        Ok(self.waitlists.waiting_units(self.catalogue.sku_id(sku)?))
    }

    /// Entries waiting, over all SKUs.
    pub fn waiting_count(&self) -> usize {
        self.waitlists.len()
    }

    /// A SKU whose oldest waiting entry could be offered its units now, if any: after every
    /// operation there is none (an offer is made as soon as units are there for it). Checks
    /// the units free for the entry's channel and its buyer's cap.
    pub fn servable_waitlist(&self, now_ms: i64) -> Option<(String, EntryId)> {
        self.waitlists.skus().find_map(|sku| {
            let head = self.waitlists.head(sku)?;
            if self.drops.of_sku(sku).map(|d| d.phase(now_ms)) == Some(Phase::NotStarted) {
                return None;
            }
            let channel = head.channel.as_deref();
            let rules = channel.and_then(|c| self.channels.get(c));
            let free = self.free_for(sku, channel, rules, now_ms);
            let capped = self
                .check_buyer_caps(&head.buyer, &[(sku, head.quantity, None)], now_ms)
                .is_err();
            (free >= head.quantity && !capped)
                .then(|| (self.catalogue.sku(sku).to_owned(), head.id))
        })
    }

    /// Recovery: an entry still waiting, as the ledger has it (entries in id order).
    pub fn load_waitlist_entry(
        &mut self,
        entry: EntryId,
        sku: &str,
        quantity: i64,
        buyer: &str,
        channel: Option<&str>,
    ) -> Result<()> {
        let id = self.catalogue.sku_id(sku)?;
        validate_buyer(buyer)?;
        if entry < self.waitlists.next_id() {
            return Err(EngineError::invalid(
                "entry",
                "waitlist entries load in id order",
            ));
        }
        self.waitlists.push(Entry {
            id: entry,
            sku: id,
            quantity,
            buyer: buyer.into(),
            channel: channel.map(Into::into),
        });
        Ok(())
    }

    /// Recovery: the next entry is numbered at least `entry`.
    pub fn set_next_waitlist_entry(&mut self, entry: EntryId) {
        self.waitlists.set_next_id(entry);
    }
}
