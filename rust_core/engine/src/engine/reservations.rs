//! Reservations: reserve, commit, release, extend, expire, and reading one back.

use crate::error::{EngineError, Result};
use crate::ids::ReservationSeq;
use crate::log::Change;
use crate::reservation::{Hold, Lines, Status};

use super::{Engine, LineRequest, Outcome, ReservationView};

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
        if self.holds.len() >= self.limits.holds_max {
            return Err(EngineError::LimitExceeded {
                field: "holds".into(),
                limit: self.limits.holds_max as u64,
            });
        }
        let resolved = self.resolve_lines(lines)?;
        let allocated = self.allocate(&resolved)?;

        for line in &allocated {
            self.stock.entry(line.sku, line.location).reserved += i64::from(line.quantity);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
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
                let change = Change::Release {
                    seq,
                    lines: Lines::from_slice(&hold.lines),
                };
                Ok(self.finish(seq, hold, Status::Released, change, now_ms))
            }
            Status::Committed => {
                let hold = self.holds.remove(&seq).expect("committed reservation");
                for line in &hold.lines {
                    self.stock.entry(line.sku, line.location).committed -= i64::from(line.quantity);
                }
                let change = Change::Cancel {
                    seq,
                    lines: Lines::from_slice(&hold.lines),
                };
                Ok(self.finish(seq, hold, Status::Released, change, now_ms))
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
        let change = Change::Expire {
            seq,
            lines: Lines::from_slice(&hold.lines),
        };
        self.finish(seq, hold, Status::Expired, change, now_ms);
    }
}
