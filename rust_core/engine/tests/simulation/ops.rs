//! The simulation's operations: each draws a random request, runs it on the engine and the
//! model, and compares the answers.

use rand::Rng;
use reservoir_engine::{
    EngineError, HoldFor, LineRequest, ReceiptLine, ShipLine, Shortage, Status, TransitLine,
};

use crate::model::{ModelEntry, ModelHold};
use crate::{
    Sim, BUYERS, CAPPED_SKU, CHANNEL, CHANNEL_BUFFER, CHANNEL_LOCATIONS, DROP, DROP_SKU,
    DROP_SPILLS, DROP_STARTS, LOCATIONS, LOTS, PER_BUYER_MAX, POOL, QUARANTINE, SKUS,
};

impl Sim {
    /// No lot, or one of `LOTS` (its expiry day on the side).
    pub(super) fn some_lot(&mut self) -> (Option<&'static str>, Option<i32>) {
        match self.rng.random_range(0..=LOTS.len()) {
            0 => (None, None),
            i => (Some(LOTS[i - 1].0), LOTS[i - 1].1),
        }
    }

    /// Whether `lot` of `sku` was ever received (only receipts bring lots in).
    pub(super) fn known(&self, sku: &str, lot: Option<&'static str>) -> bool {
        lot.is_none_or(|lot| self.model.lot_order.contains_key(&(sku.into(), lot)))
    }

    pub(super) fn receive(&mut self) {
        let sku = SKUS[self.rng.random_range(0..SKUS.len())];
        let loc = LOCATIONS[self.rng.random_range(0..LOCATIONS.len())].0;
        let q = self.rng.random_range(1..=5);
        let (lot, mut expires) = self.some_lot();
        let known = lot.is_some() && self.known(sku, lot);
        // Now and then a receipt of a known lot names another expiry date: refused.
        let wrong_date = known && self.rng.random_bool(0.05);
        if wrong_date {
            expires = Some(7);
        } else if known && self.rng.random_bool(0.5) {
            expires = None; // a later receipt of a lot may leave its date out
        }
        let result = self.engine.receive(sku, loc, q, lot, expires, self.now);
        if wrong_date {
            if !matches!(result, Err(EngineError::InvalidInput { .. })) {
                self.fail(format!(
                    "receipt of lot {lot:?} with another date: {result:?}"
                ));
            }
            return;
        }
        result.unwrap_or_else(|e| self.fail(e));
        *self
            .model
            .on_hand
            .entry((sku.into(), loc.into()))
            .or_default() += q;
        if let Some(lot) = lot {
            let next = self.model.lot_order.len() as u64;
            self.model
                .lot_order
                .entry((sku.into(), lot))
                .or_insert(next);
        }
        self.model.move_lot(sku, loc, lot, q);
    }

    pub(super) fn adjust(&mut self) {
        let sku = SKUS[self.rng.random_range(0..SKUS.len())];
        let loc = LOCATIONS[self.rng.random_range(0..LOCATIONS.len())].0;
        let delta = self.rng.random_range(-3..=3);
        let on_hand = *self
            .model
            .on_hand
            .get(&(sku.into(), loc.into()))
            .unwrap_or(&0);
        let (lot, _) = self.some_lot();
        let result = self.engine.adjust(sku, loc, delta, lot, self.now);
        let short_of_lot = delta < 0 && self.model.lot_units(sku, loc, lot) < -delta;
        if delta == 0 || on_hand + delta < 0 || !self.known(sku, lot) || short_of_lot {
            if !matches!(result, Err(EngineError::InvalidInput { .. })) {
                self.fail(format!(
                    "adjust {delta} of {on_hand} should be refused: {result:?}"
                ));
            }
            return;
        }
        result.unwrap_or_else(|e| self.fail(e));
        self.adjusted(sku, loc, lot, delta);
    }

    fn adjusted(&mut self, sku: &str, loc: &str, lot: Option<&'static str>, delta: i64) {
        *self
            .model
            .on_hand
            .entry((sku.into(), loc.into()))
            .or_default() += delta;
        self.model.move_lot(sku, loc, lot, delta);
        let (o, r, c) = self.model.counters(sku, loc);
        if delta < 0 && r + c > o {
            self.model.shrunk.insert((sku.into(), loc.into()));
        }
    }

    /// A stock count finds a SKU almost gone: its units nobody holds, at every sellable
    /// location, are written off (lot by lot) down to a couple. Receipts outpace sales in
    /// the simulation, so without this stock piles up and nobody ever needs to wait.
    pub(super) fn sell_out(&mut self) {
        let sku = SKUS[self.rng.random_range(0..SKUS.len())];
        let available: i64 = LOCATIONS
            .iter()
            .map(|(loc, _)| self.model.available(sku, loc))
            .sum();
        let mut surplus = available - self.rng.random_range(0..=2);
        let lots = std::iter::once(None).chain(LOTS.iter().map(|&(lot, _)| Some(lot)));
        for (loc, lot) in LOCATIONS
            .iter()
            .filter(|(_, sellable)| *sellable)
            .flat_map(|&(loc, _)| lots.clone().map(move |lot| (loc, lot)))
        {
            let there = self.model.available(sku, loc);
            let take = surplus.min(there).min(self.model.lot_units(sku, loc, lot));
            if take <= 0 {
                continue;
            }
            let result = self.engine.adjust(sku, loc, -take, lot, self.now);
            result.unwrap_or_else(|e| self.fail(format!("write-off of {take} {sku}@{loc}: {e}")));
            self.adjusted(sku, loc, lot, -take);
            surplus -= take;
        }
    }

    pub(super) fn reserve(&mut self) {
        let n = self.rng.random_range(1..=3);
        let lines: Vec<(usize, i64, Option<usize>)> = (0..n)
            .map(|_| {
                let loc = if self.rng.random_bool(0.3) {
                    Some(self.rng.random_range(0..LOCATIONS.len()))
                } else {
                    None
                };
                (
                    self.rng.random_range(0..SKUS.len()),
                    self.rng.random_range(1..=3),
                    loc,
                )
            })
            .collect();
        let ttl = self.rng.random_range(1..=3_000);
        let requests: Vec<_> = lines
            .iter()
            .map(|&(s, q, l)| LineRequest {
                sku: SKUS[s],
                quantity: q,
                location: l.map(|l| LOCATIONS[l].0),
            })
            .collect();
        let channel = self.rng.random_bool(0.3).then_some(CHANNEL);
        let within = channel.map(|_| &CHANNEL_LOCATIONS[..]);
        // the drop: no holds of its SKU before the start; while fenced, the pool is the
        // channel's alone and replaces the channel's buffer for the SKU
        let now = self.now;
        let asked_drop: i64 = lines
            .iter()
            .filter(|l| SKUS[l.0] == DROP_SKU)
            .map(|l| l.1)
            .sum();
        let not_started = asked_drop > 0 && now < DROP_STARTS;
        let fenced = (DROP_STARTS..DROP_SPILLS).contains(&now);
        let fenced_from_others = match channel {
            Some(_) => 0,
            None => (POOL - self.model.pool_taken).max(0),
        };
        let drop_available: i64 = LOCATIONS
            .iter()
            .map(|(loc, _)| self.model.available(DROP_SKU, loc))
            .sum();
        let drop_short =
            fenced && asked_drop > 0 && asked_drop > (drop_available - fenced_from_others).max(0);
        let buffer_of = |sku: &str| match channel {
            Some(_) if !(fenced && sku == DROP_SKU) => CHANNEL_BUFFER,
            _ => 0,
        };
        let fits = self.model.fits(&lines, within, buffer_of);
        // Waiting entries come first: a fresh hold may take only the units free beyond
        // what the entries waiting for its SKU ask for.
        let wait_short = SKUS.iter().any(|&sku| {
            let asked: i64 = lines.iter().filter(|l| SKUS[l.0] == sku).map(|l| l.1).sum();
            let waiting = self.model.waiting_units(sku);
            asked > 0
                && waiting > 0
                && asked > (self.model.free_for(sku, channel, now) - waiting).max(0)
        });
        let outside = within.is_some_and(|places| {
            lines.iter().any(|l| {
                l.2.is_some_and(|i| LOCATIONS[i].1 && !places.contains(&LOCATIONS[i].0))
            })
        });
        let buyer = match self.rng.random_range(0..=BUYERS.len() + 1) {
            i if i < BUYERS.len() => Some(BUYERS[i]),
            _ => None,
        };
        let asked_capped: i64 = lines
            .iter()
            .filter(|l| SKUS[l.0] == CAPPED_SKU)
            .map(|l| l.1)
            .sum();
        let over_cap = buyer.is_some_and(|b| {
            asked_capped > 0
                && self.model.units_of(b, CAPPED_SKU) + asked_capped as u64 > PER_BUYER_MAX
        });
        // One line without a location: the model says where its units come from.
        let expected: Option<Vec<(String, String, i64)>> = match lines[..] {
            [(s, q, None)] => {
                let mut left = q;
                let mut planned = Vec::new();
                for (loc, available) in self.model.allocation_order(SKUS[s], within) {
                    let take = left.min(available);
                    if take > 0 {
                        planned.push((SKUS[s].to_owned(), loc.to_owned(), take));
                        left -= take;
                    }
                }
                Some(planned)
            }
            _ => None,
        };
        let refused_first = not_started || drop_short;
        let over_cap = over_cap && !refused_first;
        let outside = outside && !refused_first && !over_cap;
        match self
            .engine
            .reserve_for(&requests, ttl, HoldFor { buyer, channel }, self.now)
        {
            Ok(view) => {
                if refused_first {
                    self.fail(format!("reserved {lines:?} the drop refuses ({now})"));
                }
                if over_cap || outside {
                    self.fail(format!(
                        "reserved {lines:?} past {buyer:?}'s cap or outside {channel:?}"
                    ));
                }
                if !fits || wait_short {
                    self.fail(format!(
                        "reserved {lines:?} the model says does not fit (fits: {fits}, \
                         short of what waiting entries leave: {wait_short})"
                    ));
                }
                let c = self.engine.catalogue();
                let got: Vec<_> = view
                    .lines
                    .iter()
                    .map(|l| {
                        (
                            c.sku(l.sku).to_owned(),
                            c.location(l.location).to_owned(),
                            i64::from(l.quantity),
                        )
                    })
                    .collect();
                if let Some(want) = expected.filter(|want| want != &got) {
                    self.fail(format!(
                        "reserve {lines:?}: held {got:?}, the model takes {want:?}"
                    ));
                }
                for (s, _, _) in &got {
                    let asked: i64 = lines.iter().filter(|l| SKUS[l.0] == s).map(|l| l.1).sum();
                    let held: i64 = got.iter().filter(|g| &g.0 == s).map(|g| g.2).sum();
                    if asked != held {
                        self.fail(format!("{s}: asked {asked}, held {held}"));
                    }
                }
                let pooled = channel.is_some() && fenced && asked_drop > 0;
                self.model.hold(
                    view.seq,
                    ModelHold {
                        status: Status::Held,
                        expires_at_ms: self.now + ttl,
                        lines: got,
                        buyer,
                        pooled,
                    },
                );
            }
            Err(EngineError::DropNotStarted { .. }) if not_started => {}
            Err(EngineError::InsufficientStock(_)) if drop_short && !not_started => {}
            Err(EngineError::BuyerLimit { .. }) if over_cap => {}
            Err(EngineError::InvalidInput { .. }) if outside => {}
            Err(EngineError::InsufficientStock(_))
                if (!fits || wait_short) && !refused_first && !over_cap && !outside => {}
            Err(e) => self.fail(format!(
                "reserve {lines:?}: {e} (model fits: {fits}, short of what waiting entries \
                 leave: {wait_short})"
            )),
        }
    }

    pub(super) fn commit(&mut self) {
        let seq = self.some_seq();
        let result = self.engine.commit(seq, self.now);
        let expected = match self
            .model
            .holds
            .get(&seq)
            .map(|h| (h.status, h.expires_at_ms))
        {
            Some((Status::Held, exp)) if exp <= self.now => {
                self.model.finish(seq, Status::Expired);
                Err(EngineError::InvalidState {
                    seq,
                    status: Status::Expired,
                })
            }
            Some((Status::Held, _)) => {
                self.model.holds.get_mut(&seq).unwrap().status = Status::Committed;
                Ok((Status::Committed, true))
            }
            Some((status, _)) => Ok((status, false)),
            None => Err(self.finished_error(seq)),
        };
        self.compare(
            "commit",
            result.map(|o| (o.view.status, o.changed)),
            expected,
        );
    }

    pub(super) fn release(&mut self) {
        let seq = self.some_seq();
        let result = self.engine.release(seq, self.now);
        let expected = match self
            .model
            .holds
            .get(&seq)
            .map(|h| (h.status, h.expires_at_ms))
        {
            Some((Status::Held, exp)) if exp <= self.now => {
                self.model.finish(seq, Status::Expired);
                Ok((Status::Expired, false))
            }
            Some(_) => {
                self.model.finish(seq, Status::Released);
                Ok((Status::Released, true))
            }
            None => match self.model.finished.get(&seq) {
                Some(&Status::Fulfilled) => Err(EngineError::InvalidState {
                    seq,
                    status: Status::Fulfilled,
                }),
                Some(&status) => Ok((status, false)),
                None => Err(EngineError::ReservationNotFound(seq)),
            },
        };
        self.compare(
            "release",
            result.map(|o| (o.view.status, o.changed)),
            expected,
        );
    }

    pub(super) fn extend(&mut self) {
        let seq = self.some_seq();
        let ttl = self.rng.random_range(1..=3_000);
        let result = self.engine.extend(seq, ttl, self.now);
        let expected = match self
            .model
            .holds
            .get(&seq)
            .map(|h| (h.status, h.expires_at_ms))
        {
            Some((Status::Held, exp)) if exp <= self.now => {
                self.model.finish(seq, Status::Expired);
                Err(EngineError::InvalidState {
                    seq,
                    status: Status::Expired,
                })
            }
            Some((Status::Held, _)) => {
                self.model.holds.get_mut(&seq).unwrap().expires_at_ms = self.now + ttl;
                Ok((Status::Held, true))
            }
            Some((status, _)) => Err(EngineError::InvalidState { seq, status }),
            None => Err(self.finished_error(seq)),
        };
        self.compare(
            "extend",
            result.map(|o| (o.view.status, o.changed)),
            expected,
        );
    }

    pub(super) fn reallocate(&mut self) {
        let committed: Vec<_> = self
            .model
            .holds
            .iter()
            .filter(|(_, h)| h.status == Status::Committed)
            .map(|(&s, _)| s)
            .collect();
        if committed.is_empty() {
            return;
        }
        let seq = committed[self.rng.random_range(0..committed.len())];
        let (sku, from, q) = {
            let lines = &self.model.holds[&seq].lines;
            lines[self.rng.random_range(0..lines.len())].clone()
        };
        let take = self.rng.random_range(1..=q);
        let to = LOCATIONS[self.rng.random_range(0..LOCATIONS.len())].0;
        let spare = if to == from {
            0
        } else {
            self.model.available(&sku, to)
        };
        let result = self
            .engine
            .reallocate(seq, &sku, &from, Some(to), take, self.now);
        if to == from || take > spare {
            if result.is_ok() {
                self.fail(format!(
                    "reallocate {take} {from}->{to} with {spare} spare should be refused"
                ));
            }
            return;
        }
        result.unwrap_or_else(|e| self.fail(format!("reallocate: {e}")));
        let lines = &mut self.model.holds.get_mut(&seq).unwrap().lines;
        let mut left = take;
        for line in lines.iter_mut().filter(|l| l.0 == sku && l.1 == from) {
            let t = left.min(line.2);
            line.2 -= t;
            left -= t;
        }
        lines.retain(|l| l.2 > 0);
        match lines.iter_mut().find(|l| l.0 == sku && l.1 == to) {
            Some(line) => line.2 += take,
            None => lines.push((sku.clone(), to.to_owned(), take)),
        }
    }

    pub(super) fn transfer(&mut self) {
        let sku = SKUS[self.rng.random_range(0..SKUS.len())];
        let from = LOCATIONS[self.rng.random_range(0..LOCATIONS.len())].0;
        let to = LOCATIONS[self.rng.random_range(0..LOCATIONS.len())].0;
        let q = self.rng.random_range(1..=4);
        let (lot, _) = self.some_lot();
        self.transfer_units(sku, from, to, q, lot);
    }

    /// A one-step transfer: the model says whether the engine refuses it.
    fn transfer_units(
        &mut self,
        sku: &str,
        from: &str,
        to: &str,
        q: i64,
        lot: Option<&'static str>,
    ) -> bool {
        let movable = self.model.movable(sku, from);
        let of_lot = self.model.lot_units(sku, from, lot);
        let result = self.engine.transfer(sku, from, to, q, lot, self.now);
        if from == to || q > movable || !self.known(sku, lot) || q > of_lot {
            if result.is_ok() {
                self.fail(format!(
                    "transfer {q} {from}->{to} of {movable} movable should be refused"
                ));
            }
            return false;
        }
        result.unwrap_or_else(|e| self.fail(format!("transfer: {e}")));
        *self
            .model
            .on_hand
            .entry((sku.into(), from.into()))
            .or_default() -= q;
        *self
            .model
            .on_hand
            .entry((sku.into(), to.into()))
            .or_default() += q;
        self.model.move_lot(sku, from, lot, -q);
        self.model.move_lot(sku, to, lot, q);
        true
    }

    pub(super) fn ship(&mut self) {
        let committed: Vec<_> = self
            .model
            .holds
            .iter()
            .filter(|(_, h)| h.status == Status::Committed)
            .map(|(&s, _)| s)
            .collect();
        if committed.is_empty() {
            return;
        }
        let seq = committed[self.rng.random_range(0..committed.len())];
        let hold = self.model.holds[&seq].clone();
        let (sku, loc, q) = hold.lines[self.rng.random_range(0..hold.lines.len())].clone();
        let take = self.rng.random_range(1..=q);
        let on_hand = *self
            .model
            .on_hand
            .get(&(sku.clone(), loc.clone()))
            .unwrap_or(&0);
        let (lot, _) = self.some_lot();
        let of_lot = self.model.lot_units(&sku, &loc, lot);
        let result = self
            .engine
            .ship(seq, &[(sku.as_str(), loc.as_str(), take, lot)], self.now);
        if take > on_hand || !self.known(&sku, lot) || take > of_lot {
            if !matches!(result, Err(EngineError::InvalidInput { .. })) {
                self.fail(format!(
                    "ship {take} with {on_hand} on hand should be refused: {result:?}"
                ));
            }
            return;
        }
        let out = result.unwrap_or_else(|e| self.fail(format!("ship: {e}")));
        *self
            .model
            .on_hand
            .get_mut(&(sku.clone(), loc.clone()))
            .unwrap() -= take;
        self.model.move_lot(&sku, &loc, lot, -take);
        let mut left = take;
        let lines = &mut self.model.holds.get_mut(&seq).unwrap().lines;
        for line in lines.iter_mut().filter(|l| l.0 == sku && l.1 == loc) {
            let t = left.min(line.2);
            line.2 -= t;
            left -= t;
        }
        lines.retain(|l| l.2 > 0);
        let expected = if lines.is_empty() {
            Status::Fulfilled
        } else {
            Status::Committed
        };
        if expected == Status::Fulfilled {
            self.model.finish(seq, Status::Fulfilled);
        }
        if out.view.status != expected {
            self.fail(format!(
                "ship: engine says {:?}, model {expected:?}",
                out.view.status
            ));
        }
    }

    /// A random buyer joins a SKU's waitlist for a few units (sometimes for the channel, now
    /// and then naming no buyer): the model says whether the engine takes the entry or why
    /// it refuses it.
    pub(super) fn join(&mut self) {
        let sku = SKUS[self.rng.random_range(0..SKUS.len())];
        let buyer = BUYERS[self.rng.random_range(0..BUYERS.len())];
        let mut quantity = self.rng.random_range(1..=3);
        // Often, for the capped SKU, all the buyer may still take: any unit the buyer holds
        // meanwhile will get the entry passed over when its turn comes.
        let room = PER_BUYER_MAX.saturating_sub(self.model.units_of(buyer, CAPPED_SKU));
        if sku == CAPPED_SKU && room > 0 && self.rng.random_bool(0.5) {
            quantity = room as i64;
        }
        let channel = self.rng.random_bool(0.3).then_some(CHANNEL);
        let named = !self.rng.random_bool(0.02);
        let who = HoldFor {
            channel,
            buyer: named.then_some(buyer),
        };
        let result = self.engine.join_waitlist(sku, quantity, who, self.now);
        if !named {
            if !matches!(&result, Err(EngineError::InvalidInput { field, .. }) if field == "buyer")
            {
                self.fail(format!("join without a buyer: {result:?}"));
            }
            return;
        }
        let already = self
            .model
            .queue(sku)
            .find(|(_, e)| e.buyer == buyer)
            .map(|(id, _)| id);
        let current = self.model.units_of(buyer, CAPPED_SKU);
        // the engine's figure (which, for the channel while the drop's pool is fenced,
        // counts units its holds cannot take: see `Sim::check_waitlists`)
        let free = self.model.free_for(sku, channel, self.now);
        let expected = if let Some(entry) = already {
            Err(EngineError::AlreadyWaiting {
                sku: sku.into(),
                buyer: buyer.into(),
                entry,
            })
        } else if sku == DROP_SKU && self.now < DROP_STARTS {
            Err(EngineError::DropNotStarted {
                drop: DROP.into(),
                sku: sku.into(),
                starts_at_ms: DROP_STARTS,
            })
        } else if sku == CAPPED_SKU && current + quantity as u64 > PER_BUYER_MAX {
            Err(EngineError::BuyerLimit {
                sku: sku.into(),
                buyer: buyer.into(),
                current,
                requested: quantity as u64,
                max: PER_BUYER_MAX,
            })
        } else if self.model.head(sku).is_none() && free >= quantity {
            Err(EngineError::UnitsAvailable {
                sku: sku.into(),
                available: free,
            })
        } else {
            Ok((self.model.joined + 1, self.model.queue(sku).count() + 1))
        };
        let got = result.map(|j| (j.entry, j.position));
        if got != expected {
            self.fail(format!(
                "join {buyer} {channel:?} for {quantity} of {sku}: engine {got:?}, model {expected:?}"
            ));
        }
        if let Ok((entry, _)) = got {
            self.model.joined = entry;
            let waiting = ModelEntry {
                sku,
                quantity,
                buyer,
                channel,
            };
            self.model.waiting.insert(entry, waiting);
            self.wait.expect_join = Some(entry);
            self.wait.stats.joined += 1;
        }
    }

    /// Takes an entry off its waitlist: mostly one still waiting, sometimes one offered or
    /// gone already, or one never made (`WaitlistEntryNotFound`).
    pub(super) fn leave(&mut self) {
        let next = self.model.joined + 1;
        let entry = match self.rng.random_range(0..10) {
            0 => next + self.rng.random_range(0..3),
            1 if next > 1 => self.rng.random_range(1..next),
            _ if !self.model.waiting.is_empty() => {
                let i = self.rng.random_range(0..self.model.waiting.len());
                *self.model.waiting.keys().nth(i).unwrap()
            }
            _ => next,
        };
        let result = self.engine.leave_waitlist(entry, self.now);
        if self.model.waiting.contains_key(&entry) {
            if let Err(e) = result {
                self.fail(format!("leave of waiting entry {entry}: {e}"));
            }
            self.wait.expect_leave = Some(entry);
        } else if result != Err(EngineError::WaitlistEntryNotFound(entry)) {
            self.fail(format!("leave of entry {entry}, not waiting: {result:?}"));
        }
    }

    /// The timer's pass over every waitlist: with nothing due to time, it finds no head it
    /// can serve (it may pass over a head whose buyer reached the cap, and serve the next).
    pub(super) fn serve(&mut self) {
        let offers = self.engine.serve_waitlists(self.now);
        self.wait.serve_offers = Some(offers);
    }
}

/// A location and a SKU nobody defined: lines naming them are refused.
const NOWHERE: &str = "NOWHERE";
const NO_SKU: &str = "NOPE";

/// What the model says a refused operation of several lines answers.
#[derive(Debug)]
enum Refusal {
    /// `InvalidInput` naming this field (the reason is the engine's own prose).
    Field(String),
    /// Exactly this error.
    Error(EngineError),
}

impl Refusal {
    fn matches(&self, got: &EngineError) -> bool {
        match self {
            Refusal::Field(want) => {
                matches!(got, EngineError::InvalidInput { field, .. } if field == want)
            }
            Refusal::Error(want) => got == want,
        }
    }
}

/// Inbound stock: receipts of several lines, the quarantine, transfers in transit, returns.
impl Sim {
    /// A refused operation of several lines answers what the model says and logs nothing
    /// (`lsn`: the engine's last LSN before it): all lines or none.
    fn refused<T: std::fmt::Debug>(
        &self,
        what: &str,
        got: Result<T, EngineError>,
        want: &Refusal,
        lsn: u64,
    ) {
        if !got.as_ref().is_err_and(|e| want.matches(e)) {
            self.fail(format!(
                "{what}: engine {got:?}, the model refuses it: {want:?}"
            ));
        }
        if self.engine.last_lsn() != lsn {
            self.fail(format!("{what} was refused, yet logged changes"));
        }
    }

    /// A receipt of several lines (a purchase order's), all or none. Now and then one line
    /// is bad (no units, an unknown location or SKU, another expiry date for a known lot)
    /// and the whole receipt is refused; often damaged units of its first line go to the
    /// quarantine.
    pub(super) fn receive_lines(&mut self) {
        let n = self.rng.random_range(1..=3);
        let mut lines: Vec<ReceiptLine<'static>> = Vec::with_capacity(n + 2);
        // lots named so far: the first receipt line of a lot brings it in with its date
        let mut named: Vec<(&str, &str)> = Vec::new();
        for _ in 0..n {
            let sku = SKUS[self.rng.random_range(0..SKUS.len())];
            let loc = LOCATIONS[self.rng.random_range(0..LOCATIONS.len())].0;
            let q = self.rng.random_range(1..=5);
            let (lot, mut expires) = self.some_lot();
            if let Some(code) = lot {
                let seen = self.known(sku, lot) || named.contains(&(sku, code));
                if seen && self.rng.random_bool(0.5) {
                    expires = None; // a later line of a lot may leave its date out
                }
                named.push((sku, code));
            }
            lines.push((sku, loc, q, lot, expires));
        }
        if self.rng.random_bool(0.3) {
            let (sku, _, _, lot, _) = lines[0];
            let q = self.rng.random_range(1..=2);
            lines.push((sku, QUARANTINE, q, lot, None));
        }
        let bad = if self.rng.random_bool(0.1) {
            let i = self.rng.random_range(0..=lines.len());
            let sku = SKUS[self.rng.random_range(0..SKUS.len())];
            let known: Vec<&'static str> = LOTS
                .iter()
                .map(|&(lot, _)| lot)
                .filter(|&lot| self.known(sku, Some(lot)))
                .collect();
            let (line, refusal) = match self.rng.random_range(0..4) {
                1 => (
                    (sku, NOWHERE, 1, None, None),
                    Refusal::Error(EngineError::UnknownLocation(NOWHERE.into())),
                ),
                2 => (
                    (NO_SKU, "L0", 1, None, None),
                    Refusal::Error(EngineError::UnknownSku(NO_SKU.into())),
                ),
                3 if !known.is_empty() => {
                    let lot = known[self.rng.random_range(0..known.len())];
                    (
                        (sku, "L1", 1, Some(lot), Some(7)),
                        Refusal::Field(format!("lines[{i}].expires_on")),
                    )
                }
                _ => (
                    (sku, "L2", self.rng.random_range(-1..=0), None, None),
                    Refusal::Field(format!("lines[{i}].quantity")),
                ),
            };
            lines.insert(i, line);
            Some(refusal)
        } else {
            None
        };
        let lsn = self.engine.last_lsn();
        let result = self.engine.receive_lines(&lines, self.now);
        if let Some(want) = bad {
            self.refused(&format!("receipt {lines:?}"), result, &want, lsn);
            self.inbound.receipts_refused += 1;
            return;
        }
        let got = result.unwrap_or_else(|e| self.fail(format!("receipt {lines:?}: {e}")));
        if got.len() != lines.len() {
            self.fail(format!("receipt {lines:?}: {} lines received", got.len()));
        }
        let mut last = lsn;
        for (&(sku, loc, q, lot, _), &(line_lsn, level)) in lines.iter().zip(&got) {
            *self.model.on_hand_mut(sku, loc) += q;
            if let Some(lot) = lot {
                let next = self.model.lot_order.len() as u64;
                self.model
                    .lot_order
                    .entry((sku.into(), lot))
                    .or_insert(next);
            }
            self.model.move_lot(sku, loc, lot, q);
            let want = self.model.counters(sku, loc).0;
            if level.on_hand != want || line_lsn <= last {
                self.fail(format!(
                    "receipt {lines:?}: line {sku}@{loc} logged at {line_lsn} (after {last}), \
                     {} on hand after it, model {want}",
                    level.on_hand
                ));
            }
            last = line_lsn;
            if loc == QUARANTINE {
                self.inbound.quarantined += q as u64;
            }
        }
        self.inbound.receipts += 1;
    }

    /// Moves quarantined units (of one lot there) to a sellable location: now and then one
    /// more than the quarantine has of the lot, refused.
    pub(super) fn release_quarantine(&mut self) {
        let sku = SKUS[self.rng.random_range(0..SKUS.len())];
        let sellable: Vec<&str> = LOCATIONS
            .iter()
            .filter(|(_, sellable)| *sellable)
            .map(|&(loc, _)| loc)
            .collect();
        let to = sellable[self.rng.random_range(0..sellable.len())];
        let lots = self.model.lots_at(sku, QUARANTINE);
        if lots.is_empty() {
            return;
        }
        let (lot, units) = lots[self.rng.random_range(0..lots.len())];
        let q = if self.rng.random_bool(0.1) {
            units + 1
        } else {
            self.rng.random_range(1..=units)
        };
        if self.transfer_units(sku, QUARANTINE, to, q, lot) {
            self.inbound.released += q as u64;
        }
    }

    /// A SKU and a location with units nobody holds (any, when there are none).
    fn stocked_place(&mut self) -> (&'static str, &'static str) {
        let places: Vec<(&'static str, &'static str)> = SKUS
            .iter()
            .flat_map(|&sku| LOCATIONS.iter().map(move |&(loc, _)| (sku, loc)))
            .filter(|&(sku, loc)| self.model.movable(sku, loc) > 0)
            .collect();
        if places.is_empty() {
            let sku = SKUS[self.rng.random_range(0..SKUS.len())];
            (sku, LOCATIONS[self.rng.random_range(0..LOCATIONS.len())].0)
        } else {
            places[self.rng.random_range(0..places.len())]
        }
    }

    /// Ships a transfer of one or two lines (often of one level: they are summed) in transit:
    /// mostly units nobody holds of a lot there, sometimes more (refused for the shortage),
    /// now and then to where it comes from, or to an unknown location.
    pub(super) fn ship_transit(&mut self) {
        let n = self.rng.random_range(1..=2);
        let mut lines: Vec<ShipLine<'static>> = Vec::with_capacity(n);
        for _ in 0..n {
            let (sku, from) = match lines.first() {
                Some(&(sku, from, ..)) if self.rng.random_bool(0.7) => (sku, from),
                _ => self.stocked_place(),
            };
            let to = match self.rng.random_range(0..100) {
                0..=2 => from,
                3..=4 => NOWHERE,
                _ => {
                    let others: Vec<&'static str> = LOCATIONS
                        .iter()
                        .map(|&(loc, _)| loc)
                        .filter(|&loc| loc != from)
                        .collect();
                    others[self.rng.random_range(0..others.len())]
                }
            };
            let lots = self.model.lots_at(sku, from);
            let (lot, of_lot) = if lots.is_empty() || self.rng.random_bool(0.05) {
                (self.some_lot().0, 0)
            } else {
                lots[self.rng.random_range(0..lots.len())]
            };
            let movable = self.model.movable(sku, from);
            // more than nobody holds, mostly no more than the lot has (else the lot's
            // shortage is what the engine answers)
            let q = if self.rng.random_bool(0.15) {
                movable + self.rng.random_range(1..=(of_lot - movable).max(1))
            } else {
                self.rng.random_range(1..=movable.min(of_lot).max(1))
            };
            lines.push((sku, from, to, q, lot));
        }
        let want = self.ship_refusal(&lines);
        let lsn = self.engine.last_lsn();
        let result = self.engine.ship_transit(&lines, self.now);
        if let Some(want) = want {
            match want {
                Refusal::Error(EngineError::InsufficientStock(_)) => self.inbound.ships_short += 1,
                _ => self.inbound.ships_refused += 1,
            }
            self.refused(&format!("ship in transit {lines:?}"), result, &want, lsn);
            return;
        }
        let got = result.unwrap_or_else(|e| self.fail(format!("ship in transit {lines:?}: {e}")));
        if got.len() != lines.len() {
            self.fail(format!("ship in transit {lines:?}: {got:?} logged"));
        }
        for &(sku, from, to, q, lot) in &lines {
            *self.model.on_hand_mut(sku, from) -= q;
            self.model.move_lot(sku, from, lot, -q);
            self.model.move_transit(sku, to, lot, q);
            self.inbound.shipped += q as u64;
        }
    }

    /// Why the engine refuses to ship `lines` in transit, if it does: a line to where it
    /// comes from or to an unknown location, or of a lot never received; then (lines of one
    /// level and lot summed) more of a lot than the level has; then more units than nobody
    /// holds at a level, every such level's shortage.
    fn ship_refusal(&self, lines: &[ShipLine<'static>]) -> Option<Refusal> {
        for (i, &(sku, from, to, _, lot)) in lines.iter().enumerate() {
            if from == to {
                return Some(Refusal::Field(format!("lines[{i}].to")));
            }
            if to == NOWHERE {
                return Some(Refusal::Error(EngineError::UnknownLocation(to.into())));
            }
            if !self.known(sku, lot) {
                return Some(Refusal::Field(format!("lines[{i}].lot")));
            }
        }
        let mut short = Vec::new();
        for (i, &(sku, from, _, _, lot)) in lines.iter().enumerate() {
            let same = |l: &&ShipLine<'static>| l.0 == sku && l.1 == from;
            if !lines[..i].iter().any(|l| same(&l)) {
                let asked: i64 = lines.iter().filter(same).map(|l| l.3).sum();
                let movable = self.model.movable(sku, from);
                if asked > movable {
                    short.push(Shortage {
                        sku: sku.to_owned(),
                        requested: asked,
                        available: movable,
                    });
                }
            }
            let of_lot: i64 = lines
                .iter()
                .filter(|l| same(l) && l.4 == lot)
                .map(|l| l.3)
                .sum();
            if of_lot > self.model.lot_units(sku, from, lot) {
                let field = if lot.is_some() { "quantity" } else { "lot" };
                return Some(Refusal::Field(format!("lines[{i}].{field}")));
            }
        }
        (!short.is_empty()).then_some(Refusal::Error(EngineError::InsufficientStock(short)))
    }

    /// Part of what is in transit arrives (one or two lots' worth, as the lots they left
    /// as); now and then more than is in transit to a place, or a lot never received: refused.
    pub(super) fn arrive_transit(&mut self) {
        let keys: Vec<_> = self
            .model
            .in_transit
            .iter()
            .map(|(&key, &units)| (key, units))
            .collect();
        let mut lines: Vec<TransitLine<'static>> = Vec::new();
        if keys.is_empty() {
            let sku = SKUS[self.rng.random_range(0..SKUS.len())];
            lines.push((
                sku,
                LOCATIONS[self.rng.random_range(0..LOCATIONS.len())].0,
                1,
                None,
            ));
        } else {
            for _ in 0..self.rng.random_range(1..=2) {
                let ((sku, to, lot), units) = keys[self.rng.random_range(0..keys.len())];
                if !lines.iter().any(|l| l.0 == sku && l.1 == to && l.3 == lot) {
                    lines.push((sku, to, self.rng.random_range(1..=units), lot));
                }
            }
        }
        let i = self.rng.random_range(0..lines.len());
        match self.rng.random_range(0..100) {
            0..=9 => {
                let (sku, to, _, _) = lines[i];
                let before: i64 = lines[..i]
                    .iter()
                    .filter(|l| l.0 == sku && l.1 == to)
                    .map(|l| l.2)
                    .sum();
                lines[i].2 =
                    self.model.in_transit_to(sku, to) - before + self.rng.random_range(1..=2);
            }
            10..=12 => {
                let sku = lines[i].0;
                lines[i].3 = LOTS
                    .iter()
                    .map(|&(lot, _)| Some(lot))
                    .find(|&lot| !self.known(sku, lot))
                    .unwrap_or(lines[i].3);
            }
            _ => {}
        }
        self.end_transit(&lines, false);
    }

    /// What is left in transit to a place is lost (every lot's); now and then one unit more
    /// than is left: refused.
    pub(super) fn lose_transit(&mut self) {
        let places: Vec<(&'static str, &'static str)> = self
            .model
            .in_transit
            .keys()
            .map(|&(sku, to, _)| (sku, to))
            .collect();
        let mut lines: Vec<TransitLine<'static>> = if places.is_empty() {
            let sku = SKUS[self.rng.random_range(0..SKUS.len())];
            vec![(sku, QUARANTINE, 1, None)]
        } else {
            let (sku, to) = places[self.rng.random_range(0..places.len())];
            self.model
                .in_transit
                .iter()
                .filter(|(&(s, t, _), _)| s == sku && t == to)
                .map(|(&(_, _, lot), &units)| (sku, to, units, lot))
                .collect()
        };
        if self.rng.random_bool(0.1) {
            let i = self.rng.random_range(0..lines.len());
            lines[i].2 += 1;
        }
        self.end_transit(&lines, true);
    }

    /// Units in transit arrive (into `on_hand` and their lot at the destination) or are lost
    /// (gone): every line or none, refused (`lines[i].lot`) for a lot never received and
    /// (`lines[i].quantity`) for more than is in transit to the place, lines of one summed.
    fn end_transit(&mut self, lines: &[TransitLine<'static>], lost: bool) {
        let mut want = None;
        for (i, &(sku, to, q, lot)) in lines.iter().enumerate() {
            if !self.known(sku, lot) {
                want = Some(Refusal::Field(format!("lines[{i}].lot")));
                break;
            }
            let before: i64 = lines[..i]
                .iter()
                .filter(|l| l.0 == sku && l.1 == to)
                .map(|l| l.2)
                .sum();
            if before + q > self.model.in_transit_to(sku, to) {
                want = Some(Refusal::Field(format!("lines[{i}].quantity")));
                break;
            }
        }
        let lsn = self.engine.last_lsn();
        let (what, result) = if lost {
            ("loss", self.engine.lose_transit(lines, self.now))
        } else {
            ("arrival", self.engine.arrive_transit(lines, self.now))
        };
        if let Some(want) = want {
            self.refused(&format!("{what} {lines:?}"), result, &want, lsn);
            self.inbound.arrivals_refused += 1;
            return;
        }
        let got = result.unwrap_or_else(|e| self.fail(format!("{what} {lines:?}: {e}")));
        if got.len() != lines.len() {
            self.fail(format!("{what} {lines:?}: {got:?} logged"));
        }
        for &(sku, to, q, lot) in lines {
            self.model.move_transit(sku, to, lot, -q);
            if lost {
                self.inbound.lost += q as u64;
            } else {
                *self.model.on_hand_mut(sku, to) += q;
                self.model.move_lot(sku, to, lot, q);
                self.inbound.arrived += q as u64;
            }
        }
    }

    /// A customer sends units back: into stock (often the quarantine's), or written off
    /// (recorded; the units never come into stock). A lot never received is refused.
    pub(super) fn customer_return(&mut self) {
        let sku = SKUS[self.rng.random_range(0..SKUS.len())];
        let loc = if self.rng.random_bool(0.4) {
            QUARANTINE
        } else {
            LOCATIONS[self.rng.random_range(0..LOCATIONS.len())].0
        };
        let q = self.rng.random_range(1..=3);
        let (lot, _) = self.some_lot();
        let write_off = self.rng.random_bool(0.5);
        let result = if write_off {
            self.engine.write_off(sku, loc, q, lot, self.now)
        } else {
            self.engine.return_units(sku, loc, q, lot, self.now)
        };
        let what = if write_off { "write-off" } else { "return" };
        if !self.known(sku, lot) {
            if !matches!(&result, Err(EngineError::InvalidInput { field, .. }) if field == "lot") {
                self.fail(format!(
                    "{what} of unknown lot {lot:?} of {sku}: {result:?}"
                ));
            }
            return;
        }
        let (_, level) = result.unwrap_or_else(|e| self.fail(format!("{what}: {e}")));
        if write_off {
            self.inbound.written_off += q as u64;
        } else {
            *self.model.on_hand_mut(sku, loc) += q;
            self.model.move_lot(sku, loc, lot, q);
            self.inbound.returned += q as u64;
        }
        let want = self.model.counters(sku, loc).0;
        if level.on_hand != want {
            self.fail(format!(
                "{what} of {q} {sku}@{loc}: {} on hand after, model {want}",
                level.on_hand
            ));
        }
    }
}
