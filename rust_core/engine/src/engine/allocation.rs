//! The allocation policy: which locations a line without a location takes units from,
//! and moving an order's units to another location (reallocate).

use smallvec::SmallVec;

use crate::error::{EngineError, Result, Shortage};
use crate::ids::{LocId, ReservationSeq, SkuId};
use crate::log::Change;
use crate::lots::AGE_NONE;
use crate::reservation::{move_line, Line, Lines, Status};
use crate::stock::Level;

use super::{Candidate, Engine, Outcome, Ranked, ResolvedLine, Taken};

/// The places a hold may take units from (each and what is inside it); `None`: anywhere.
pub(super) type Within<'a> = Option<&'a [LocId]>;

impl Engine {
    /// Moves `quantity` committed units of an order's line at `from` to another location
    /// that has them to spare (after a short pick found fewer at `from`). `to: None` picks
    /// the first other location in [`Engine::allocation_order`] with enough. No
    /// location with enough: InsufficientStock, and nothing moves.
    pub fn reallocate(
        &mut self,
        seq: ReservationSeq,
        sku: &str,
        from: &str,
        to: Option<&str>,
        quantity: i64,
        now_ms: i64,
    ) -> Result<Outcome> {
        self.check_log_room()?;
        self.check_quantity("quantity", quantity)?;
        let (status, expires_at_ms) = self.state(seq)?;
        if status != Status::Committed {
            return Err(EngineError::InvalidState { seq, status });
        }
        let (sku_id, from_id) = self.resolve(sku, from)?;
        let committed: i64 = self.holds[&seq]
            .lines
            .iter()
            .filter(|l| l.sku == sku_id && l.location == from_id)
            .map(|l| i64::from(l.quantity))
            .sum();
        if quantity > committed {
            return Err(EngineError::invalid(
                "quantity",
                format!("only {committed} committed at {from}"),
            ));
        }
        let to_id = match to {
            Some(code) => {
                let id = self.catalogue.location_id(code)?;
                if id == from_id {
                    return Err(EngineError::invalid("to", "must differ from `from`"));
                }
                id
            }
            None => self
                .best_location(sku_id, quantity, |location| location == from_id)
                .unwrap_or(from_id),
        };
        let available = if to_id == from_id {
            0
        } else {
            self.available(sku_id, to_id, &Taken::new())
        };
        if available < quantity {
            let shortage = Shortage {
                sku: sku.to_owned(),
                requested: quantity,
                available,
            };
            return Err(EngineError::InsufficientStock(vec![shortage]));
        }
        let change = Change::Reallocate {
            seq,
            sku: sku_id,
            from: from_id,
            to: to_id,
            quantity,
        };
        self.apply_effects(&change);
        let hold = self.holds.get_mut(&seq).expect("committed reservation");
        move_line(&mut hold.lines, sku_id, from_id, to_id, quantity as u32);
        let lines = Lines::from_slice(&hold.lines);
        let outcome = self.logged(seq, Status::Committed, expires_at_ms, lines, change, now_ms);
        // the units freed at `from` may be where a waiting entry's channel sells
        self.serve_waitlist(sku_id, now_ms);
        Ok(outcome)
    }

    /// Moves `quantity` committed units of an order's line at `from` to the first location
    /// in [`Engine::allocation_order`] with that many to spare, never `from` nor one of
    /// `exclude`: where a confirmation sends a short pick's missing units, never to a bin
    /// where the same confirmation came up short. Returns that location and the outcome, or
    /// `None` when no location has enough: then nothing moves and nothing else is checked.
    /// Otherwise as [`Engine::reallocate`] to that location.
    pub fn reallocate_spare(
        &mut self,
        seq: ReservationSeq,
        sku: &str,
        from: &str,
        exclude: &[&str],
        quantity: i64,
        now_ms: i64,
    ) -> Result<Option<(LocId, Outcome)>> {
        let sku_id = self.catalogue.sku_id(sku)?;
        let c = &self.catalogue;
        let excluded = |location| {
            let code = c.location(location);
            code == from || exclude.contains(&code)
        };
        let Some(to) = self.best_location(sku_id, quantity, excluded) else {
            return Ok(None);
        };
        let code = self.catalogue.location(to).to_owned();
        let outcome = self.reallocate(seq, sku, from, Some(&code), quantity, now_ms)?;
        Ok(Some((to, outcome)))
    }

    /// The first location in the SKU's allocation order with `quantity` available that is
    /// not `excluded`.
    fn best_location(
        &self,
        sku: SkuId,
        quantity: i64,
        excluded: impl Fn(LocId) -> bool,
    ) -> Option<LocId> {
        self.ranked(sku, &Taken::new(), None)
            .into_iter()
            .find(|&(available, location)| available >= quantity && !excluded(location))
            .map(|(_, location)| location)
    }

    /// The sellable locations of `sku` with units available, in the order a line without a
    /// location takes them: for a SKU with lots, the location whose oldest lot not already
    /// promised is oldest first (oldest lot first; see [`crate::lots`]); then the one with
    /// the most available units (fewest stops); ties by location code, so the rule does not
    /// depend on the order locations were defined or loaded in.
    pub fn allocation_order(&self, sku: &str) -> Result<Ranked> {
        Ok(self.ranked(self.catalogue.sku_id(sku)?, &Taken::new(), None))
    }

    /// The allocation order over the locations `within` (each place and what is inside it;
    /// `None`: every location).
    fn ranked(&self, sku: SkuId, taken: &Taken, within: Within<'_>) -> Ranked {
        let mut ranked: SmallVec<[Candidate; 4]> = self.candidates(sku, taken, within).collect();
        if ranked.len() > 1 {
            ranked.sort_unstable_by(|a, b| self.prefer(a, b));
        }
        ranked.into_iter().map(|(_, n, l)| (n, l)).collect()
    }

    /// The first location of [`Engine::allocation_order`], without sorting the rest.
    fn first_choice(&self, sku: SkuId, within: Within<'_>) -> Option<(i64, LocId)> {
        let first = self
            .candidates(sku, &Taken::new(), within)
            .min_by(|a, b| self.prefer(a, b));
        first.map(|(_, available, location)| (available, location))
    }

    /// The SKU's locations with units available to this request, each with the age of its
    /// oldest lot not yet promised (for a SKU with lots; else every age is the same).
    fn candidates<'a>(
        &'a self,
        sku: SkuId,
        taken: &'a Taken,
        within: Within<'a>,
    ) -> impl Iterator<Item = Candidate> + 'a {
        let lotted = self.lots.has_lots(sku);
        self.levels_selling(sku, within).filter_map(move |l| {
            let planned = taken_at(taken, sku, l.location);
            let available = l.available() - planned;
            if available <= 0 {
                return None;
            }
            let age = if lotted {
                let promised = l.reserved + l.committed + planned;
                self.lots.oldest_free(sku, l.location, promised)
            } else {
                AGE_NONE
            };
            Some((age, available, l.location))
        })
    }

    /// The allocation order: older lot, then more available, then lower location code.
    fn prefer(&self, a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
        let code = |location| self.catalogue.location(location);
        (a.0.cmp(&b.0))
            .then_with(|| b.1.cmp(&a.1))
            .then_with(|| code(a.2).cmp(code(b.2)))
    }

    /// What `sku` at `location` can still give to this request.
    pub(super) fn available(&self, sku: SkuId, location: LocId, taken: &Taken) -> i64 {
        if !self.catalogue.is_sellable(location) {
            return 0;
        }
        let level = self.stock.get(sku, location).map_or(0, Level::available);
        level - taken_at(taken, sku, location)
    }

    /// Whether a hold may take units at `location`: it is sellable, and `within` the
    /// channel's places when it has some.
    pub(super) fn sells_from(&self, within: Within<'_>, location: LocId) -> bool {
        self.catalogue.is_sellable(location)
            && within.is_none_or(|places| self.catalogue.is_within(location, places))
    }

    /// The SKU's levels a hold may take units from (see [`Engine::sells_from`]).
    pub(super) fn levels_selling<'a>(
        &'a self,
        sku: SkuId,
        within: Within<'a>,
    ) -> impl Iterator<Item = &'a Level> + 'a {
        self.stock
            .levels(sku)
            .iter()
            .filter(move |l| self.sells_from(within, l.location))
    }

    /// Plans where every line is held, taking units only `within` those places (a
    /// channel's); all lines fit, or the shortages per SKU.
    pub(super) fn allocate(&self, lines: &[ResolvedLine], within: Within<'_>) -> Result<Lines> {
        // One line that one location covers (the flash-drop cart): the plan below would pick
        // the same location, without the candidate list, the sorts and the collects.
        if let [(sku, quantity, location)] = *lines {
            let best = match location {
                Some(location) => Some((self.available(sku, location, &Taken::new()), location)),
                None => self.first_choice(sku, within),
            };
            if let Some((available, location)) = best {
                if available >= quantity {
                    return Ok(smallvec::smallvec![Line {
                        sku,
                        location,
                        quantity: quantity as u32,
                    }]);
                }
            }
        }
        let mut taken = Taken::new();
        let mut planned: SmallVec<[(usize, Line); 4]> = SmallVec::new();
        let mut short: SmallVec<[SkuId; 2]> = SmallVec::new();
        let named = lines.iter().enumerate().filter(|(_, l)| l.2.is_some());
        let unnamed = lines.iter().enumerate().filter(|(_, l)| l.2.is_none());
        for (index, &(sku, quantity, location)) in named.chain(unnamed) {
            let candidates: Ranked = match location {
                Some(location) => {
                    smallvec::smallvec![(self.available(sku, location, &taken), location)]
                }
                None => self.ranked(sku, &taken, within),
            };
            let mut left = quantity;
            for (available, location) in candidates {
                let take = left.min(available);
                if take <= 0 {
                    continue;
                }
                taken.push((sku, location, take));
                planned.push((
                    index,
                    Line {
                        sku,
                        location,
                        quantity: take as u32,
                    },
                ));
                left -= take;
                if left == 0 {
                    break;
                }
            }
            if left > 0 && !short.contains(&sku) {
                short.push(sku);
            }
        }
        if !short.is_empty() {
            return Err(EngineError::InsufficientStock(
                self.shortages(lines, &short, within),
            ));
        }
        planned.sort_by_key(|(index, _)| *index);
        Ok(planned.into_iter().map(|(_, line)| line).collect())
    }

    /// Requested and available units of each short SKU, over the locations its lines could use.
    fn shortages(
        &self,
        lines: &[ResolvedLine],
        short: &[SkuId],
        within: Within<'_>,
    ) -> Vec<Shortage> {
        let none = Taken::new();
        short
            .iter()
            .map(|&sku| {
                let of_sku = || lines.iter().filter(move |l| l.0 == sku);
                let requested = of_sku().map(|l| l.1).sum();
                let available = if of_sku().any(|l| l.2.is_none()) {
                    self.levels_selling(sku, within).map(Level::available).sum()
                } else {
                    let mut named: SmallVec<[LocId; 4]> = of_sku().filter_map(|l| l.2).collect();
                    named.sort_unstable();
                    named.dedup();
                    named
                        .iter()
                        .map(|&loc| self.available(sku, loc, &none))
                        .sum()
                };
                Shortage {
                    sku: self.catalogue.sku(sku).to_owned(),
                    requested,
                    available,
                }
            })
            .collect()
    }
}

/// Units of (`sku`, `location`) this request already planned to take.
fn taken_at(taken: &Taken, sku: SkuId, location: LocId) -> i64 {
    taken
        .iter()
        .filter(|t| t.0 == sku && t.1 == location)
        .map(|t| t.2)
        .sum()
}
