//! Replay: applying a logged change without logging it.

use crate::log::{Change, LogEntry};
use crate::reservation::{move_line, take_shipped, Hold, Lines, Status};

use super::{Engine, HoldFor};

impl Engine {
    /// Applies a logged change without logging it: replaying a drained log into an engine
    /// with the same catalogue rebuilds the state that produced it.
    pub fn apply(&mut self, entry: &LogEntry) {
        if let Change::Receipt {
            lot: Some(id),
            new_lot: Some(lot),
            ..
        } = &entry.change
        {
            let defined = self.lots.define((**lot).clone());
            debug_assert_eq!(defined, *id, "replayed lots are defined in the same order");
        }
        self.apply_effects(&entry.change);
        match &entry.change {
            Change::Receipt { .. }
            | Change::Adjustment { .. }
            | Change::Return { .. }
            | Change::Transfer { .. }
            | Change::Transit { .. }
            | Change::Arrive { .. }
            | Change::Lose { .. }
            | Change::WriteOff { .. } => {}
            Change::Reserve {
                seq,
                expires_at_ms,
                lines,
                parties,
            } => {
                let timer_slot = self.timers.insert(*seq, *expires_at_ms);
                let who = parties.as_deref().map_or(HoldFor::default(), |p| HoldFor {
                    channel: p.channel.as_deref(),
                    buyer: p.buyer.as_deref(),
                });
                if let Some(entry) = parties.as_deref().and_then(|p| p.entry) {
                    self.waitlists
                        .remove(entry)
                        .expect("replayed offer to a waiting entry");
                }
                self.count_taken(*seq, who, lines, entry.at_ms);
                let hold = Hold {
                    status: Status::Held,
                    expires_at_ms: *expires_at_ms,
                    timer_slot,
                    lines: Lines::from_slice(lines),
                };
                self.holds.insert(*seq, hold);
                self.next_seq = self.next_seq.max(seq + 1);
            }
            Change::Commit { seq, .. } => {
                let hold = self
                    .holds
                    .get_mut(seq)
                    .expect("replayed commit of an open hold");
                hold.status = Status::Committed;
                let (expires_at_ms, slot) = (hold.expires_at_ms, hold.timer_slot);
                self.remove_timer(expires_at_ms, slot);
            }
            Change::Release { seq, .. }
            | Change::Cancel { seq, .. }
            | Change::Expire { seq, .. } => {
                let hold = self
                    .holds
                    .remove(seq)
                    .expect("replayed end of an open reservation");
                if hold.status == Status::Held {
                    self.remove_timer(hold.expires_at_ms, hold.timer_slot);
                }
                self.give_back(*seq, &hold.lines);
            }
            Change::Ship {
                seq,
                lines,
                fulfilled,
                ..
            } => {
                let hold = self
                    .holds
                    .get_mut(seq)
                    .expect("replayed ship of an open order");
                take_shipped(&mut hold.lines, lines);
                if *fulfilled {
                    self.holds.remove(seq);
                    self.forget_fulfilled(*seq);
                }
            }
            Change::Reallocate {
                seq,
                sku,
                from,
                to,
                quantity,
            } => {
                let hold = self
                    .holds
                    .get_mut(seq)
                    .expect("replayed move of an open order");
                move_line(&mut hold.lines, *sku, *from, *to, *quantity as u32);
            }
            Change::Join(entry) => self.waitlists.push((**entry).clone()),
            Change::Leave { entry, .. } => {
                self.waitlists
                    .remove(*entry)
                    .expect("replayed leave of a waiting entry");
            }
            Change::Extend { seq, expires_at_ms } => {
                let hold = &self.holds[seq];
                let (old, slot) = (hold.expires_at_ms, hold.timer_slot);
                self.remove_timer(old, slot);
                let timer_slot = self.timers.insert(*seq, *expires_at_ms);
                let hold = self
                    .holds
                    .get_mut(seq)
                    .expect("replayed extend of an open hold");
                hold.expires_at_ms = *expires_at_ms;
                hold.timer_slot = timer_slot;
            }
        }
    }
}
