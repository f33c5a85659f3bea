//! Stock movements: receipts, count corrections, returns, transfers and shipping, and the
//! lot checks they share.

use crate::error::{EngineError, Result, Shortage};
use crate::ids::{LocId, ReservationSeq, SkuId};
use crate::log::{Change, LotTags};
use crate::lots::{format_day, validate_lot_code, Lot, LotId};
use crate::reservation::{take_shipped, Line, Lines, Status};
use crate::stock::Level;

use super::{Engine, Outcome};

impl Engine {
    /// Adds received units to `on_hand`, into `lot` when one is named (a new lot is defined
    /// by its first receipt, with `expires_on` in days since 1970-01-01; later receipts of
    /// it may not name another date). Returns the LSN and the level after.
    pub fn receive(
        &mut self,
        sku: &str,
        location: &str,
        quantity: i64,
        lot: Option<&str>,
        expires_on: Option<i32>,
        now_ms: i64,
    ) -> Result<(u64, Level)> {
        self.check_log_room()?;
        self.check_quantity("quantity", quantity)?;
        let (sku, location) = self.resolve(sku, location)?;
        let (lot, new_lot) = match lot {
            Some(code) => self.receipt_lot(sku, code, expires_on)?,
            None => (None, None),
        };
        let lot = lot.or_else(|| new_lot.as_deref().map(|new| self.lots.define(new.clone())));
        let change = Change::Receipt {
            sku,
            location,
            quantity,
            lot,
            new_lot,
        };
        Ok(self.record_movement(sku, location, change, now_ms))
    }

    /// A receipt's lot: a known one (whose expiry date it may repeat, not change), or a new
    /// one to define (not yet defined: the receipt may still be refused).
    pub(super) fn receipt_lot(
        &self,
        sku: SkuId,
        code: &str,
        expires_on: Option<i32>,
    ) -> Result<(Option<LotId>, Option<Box<Lot>>)> {
        validate_lot_code(code)?;
        if let Some(id) = self.lots.id(sku, code) {
            let known = self.lots.lot(id).expires_on;
            if expires_on.is_some() && expires_on != known {
                let was = known.map_or_else(|| "no expiry date".to_owned(), format_day);
                return Err(EngineError::invalid(
                    "expires_on",
                    format!("lot {code} was received with {was}; a lot has one expiry date"),
                ));
            }
            return Ok((Some(id), None));
        }
        self.check_lot_room()?;
        let lot = Lot {
            sku,
            code: code.into(),
            expires_on,
            first_lsn: self.log.last_lsn() + 1,
        };
        Ok((None, Some(Box::new(lot))))
    }

    /// The id of a lot an operation names; only receipts bring new lots in.
    pub(super) fn known_lot(
        &self,
        sku: SkuId,
        lot: Option<&str>,
        field: &str,
    ) -> Result<Option<LotId>> {
        let Some(code) = lot else { return Ok(None) };
        self.lots.id(sku, code).map(Some).ok_or_else(|| {
            EngineError::invalid(
                field,
                format!(
                    "no lot {code:?} of {} was ever received",
                    self.catalogue.sku(sku)
                ),
            )
        })
    }

    /// Units of `lot` at a level (`None`: its units outside any lot).
    pub(super) fn lot_units(&self, sku: SkuId, location: LocId, lot: Option<LotId>) -> i64 {
        match lot {
            Some(id) => self.lots.units(sku, location, id),
            None => {
                let on_hand = self.stock.get(sku, location).map_or(0, |l| l.on_hand);
                on_hand - self.lots.lotted(sku, location)
            }
        }
    }

    /// Refuses to take `units` of `lot` (`None`: unlotted) from a level that has fewer,
    /// naming `field` (`unlotted_field` when unlotted units are short: where the caller
    /// should have named a lot).
    pub(super) fn check_lot_units(
        &self,
        sku: SkuId,
        location: LocId,
        lot: Option<LotId>,
        units: i64,
        field: &str,
        unlotted_field: &str,
    ) -> Result<()> {
        let there = self.lot_units(sku, location, lot);
        if units <= there {
            return Ok(());
        }
        Err(match lot {
            Some(id) => EngineError::invalid(
                field,
                format!(
                    "only {there} of lot {} on hand at this location",
                    self.lots.lot(id).code
                ),
            ),
            None => {
                let lots: Vec<String> = self
                    .lots
                    .at(sku, location)
                    .iter()
                    .map(|&(id, n)| format!("{} ({n})", self.lots.lot(id).code))
                    .collect();
                EngineError::invalid(
                    unlotted_field,
                    format!(
                        "only {there} units here are outside lots; name the lot: {}",
                        lots.join(", ")
                    ),
                )
            }
        })
    }

    /// Changes `on_hand` by a signed count correction. `on_hand` may not go below zero; it
    /// may go below `reserved + committed` (shrinkage), which then reads as a shortfall.
    /// A count of one lot corrects that lot (`lot`; `None`: the unlotted units).
    pub fn adjust(
        &mut self,
        sku: &str,
        location: &str,
        delta: i64,
        lot: Option<&str>,
        now_ms: i64,
    ) -> Result<(u64, Level)> {
        self.check_log_room()?;
        if delta == 0 {
            return Err(EngineError::invalid("delta", "must not be zero"));
        }
        self.check_quantity("delta", delta.abs())?;
        let (sku, location) = self.resolve(sku, location)?;
        let lot = self.known_lot(sku, lot, "lot")?;
        let on_hand = self.stock.get(sku, location).map_or(0, |l| l.on_hand);
        if on_hand + delta < 0 {
            return Err(EngineError::invalid(
                "delta",
                format!("would make on_hand negative ({on_hand} on hand)"),
            ));
        }
        if delta < 0 {
            self.check_lot_units(sku, location, lot, -delta, "delta", "lot")?;
        }
        let change = Change::Adjustment {
            sku,
            location,
            delta,
            lot,
        };
        Ok(self.record_movement(sku, location, change, now_ms))
    }

    /// Takes back units a customer returned into `on_hand` at a location.
    /// `lot` names a lot received before (`None`: the units come back unlotted).
    pub fn return_units(
        &mut self,
        sku: &str,
        location: &str,
        quantity: i64,
        lot: Option<&str>,
        now_ms: i64,
    ) -> Result<(u64, Level)> {
        self.movement_of(
            sku,
            location,
            quantity,
            lot,
            now_ms,
            |sku, location, lot| Change::Return {
                sku,
                location,
                quantity,
                lot,
            },
        )
    }

    /// A movement of `quantity` units of a known `lot` (or unlotted) at one level, checked,
    /// then logged as the change `make` builds (a return, a write-off).
    pub(super) fn movement_of(
        &mut self,
        sku: &str,
        location: &str,
        quantity: i64,
        lot: Option<&str>,
        now_ms: i64,
        make: impl FnOnce(SkuId, LocId, Option<LotId>) -> Change,
    ) -> Result<(u64, Level)> {
        self.check_log_room()?;
        self.check_quantity("quantity", quantity)?;
        let (sku, location) = self.resolve(sku, location)?;
        let lot = self.known_lot(sku, lot, "lot")?;
        let change = make(sku, location, lot);
        Ok(self.record_movement(sku, location, change, now_ms))
    }

    /// Moves units between two locations of the same SKU. Only units nobody holds move:
    /// at most `on_hand − reserved − committed` at `from` (sellable or not); otherwise the
    /// shortage is reported and nothing moves. The units moved are of `lot` (`None`: the
    /// unlotted ones), which must have them at `from`. Returns the LSN and both levels after.
    pub fn transfer(
        &mut self,
        sku: &str,
        from: &str,
        to: &str,
        quantity: i64,
        lot: Option<&str>,
        now_ms: i64,
    ) -> Result<(u64, Level, Level)> {
        self.check_log_room()?;
        self.check_quantity("quantity", quantity)?;
        if from == to {
            return Err(EngineError::invalid("to", "must differ from `from`"));
        }
        let (sku_id, from_id) = self.resolve(sku, from)?;
        let to_id = self.catalogue.location_id(to)?;
        let lot = self.known_lot(sku_id, lot, "lot")?;
        let movable = self.stock.get(sku_id, from_id).map_or(0, Level::available);
        if quantity > movable {
            let shortage = Shortage {
                sku: sku.to_owned(),
                requested: quantity,
                available: movable,
            };
            return Err(EngineError::InsufficientStock(vec![shortage]));
        }
        self.check_lot_units(sku_id, from_id, lot, quantity, "quantity", "lot")?;
        let change = Change::Transfer {
            sku: sku_id,
            from: from_id,
            to: to_id,
            quantity,
            lot,
        };
        let (lsn, after_from) = self.record_movement(sku_id, from_id, change, now_ms);
        Ok((lsn, after_from, *self.stock.entry(sku_id, to_id)))
    }

    /// Ships picked units of a committed reservation: they leave `on_hand` and `committed`.
    /// `picks` are (sku, location, quantity, lot) at the reservation's own lines, each taken
    /// from the named lot there (`None`: unlotted units); a short pick ships less and leaves
    /// the rest committed. Shipping everything fulfils it.
    pub fn ship(
        &mut self,
        seq: ReservationSeq,
        picks: &[(&str, &str, i64, Option<&str>)],
        now_ms: i64,
    ) -> Result<Outcome> {
        self.check_log_room()?;
        let hold = self.open_or_finished(seq)?;
        if hold.status != Status::Committed {
            return Err(EngineError::InvalidState {
                seq,
                status: hold.status,
            });
        }
        if picks.is_empty() {
            return Err(EngineError::invalid("picks", "must have at least one pick"));
        }
        let mut shipped = Lines::new();
        let mut lots = LotTags::new();
        for (i, &(sku, location, quantity, lot)) in picks.iter().enumerate() {
            self.check_quantity(&format!("picks[{i}].quantity"), quantity)?;
            let (sku, location) = self.resolve(sku, location)?;
            let lot = self.known_lot(sku, lot, &format!("picks[{i}].lot"))?;
            let same = |l: &&Line| l.sku == sku && l.location == location;
            let held: i64 = hold
                .lines
                .iter()
                .filter(same)
                .map(|l| i64::from(l.quantity))
                .sum();
            let earlier: i64 = shipped
                .iter()
                .filter(same)
                .map(|l| i64::from(l.quantity))
                .sum();
            if earlier + quantity > held {
                return Err(EngineError::invalid(
                    format!("picks[{i}].quantity"),
                    format!("only {} committed at this location", held - earlier),
                ));
            }
            let on_hand = self.stock.get(sku, location).map_or(0, |l| l.on_hand);
            if earlier + quantity > on_hand {
                return Err(EngineError::invalid(
                    format!("picks[{i}].quantity"),
                    format!("only {on_hand} on hand at this location"),
                ));
            }
            let earlier_of_lot: i64 = shipped
                .iter()
                .zip(&lots)
                .filter(|(l, t)| same(l) && **t == lot)
                .map(|(l, _)| i64::from(l.quantity))
                .sum();
            let field = format!("picks[{i}].quantity");
            self.check_lot_units(
                sku,
                location,
                lot,
                earlier_of_lot + quantity,
                &field,
                &field,
            )?;
            shipped.push(Line {
                sku,
                location,
                quantity: quantity as u32,
            });
            lots.push(lot);
        }
        let hold = self.holds.get_mut(&seq).expect("committed reservation");
        let fulfilled = take_shipped(&mut hold.lines, &shipped);
        let (expires_at_ms, lines) = (hold.expires_at_ms, hold.lines.clone());
        let lots = lots.iter().any(Option::is_some).then(|| Box::new(lots));
        let change = Change::Ship {
            seq,
            lines: shipped,
            lots,
            fulfilled,
        };
        self.apply_effects(&change);
        if fulfilled {
            let hold = self.holds.remove(&seq).expect("committed reservation");
            self.forget_fulfilled(seq);
            return Ok(self.finish(seq, hold, Status::Fulfilled, change, now_ms));
        }
        Ok(self.logged(seq, Status::Committed, expires_at_ms, lines, change, now_ms))
    }

    /// Applies a stock movement to its level (by the ledger fold) and logs it, then offers
    /// what it freed to the SKU's waitlist; returns the LSN and the level after the movement.
    pub(super) fn record_movement(
        &mut self,
        sku: SkuId,
        location: LocId,
        change: Change,
        now_ms: i64,
    ) -> (u64, Level) {
        self.apply_effects(&change);
        let lsn = self.log.append(now_ms, change);
        let level = *self.stock.entry(sku, location);
        // units that came in (or moved to where a waiting channel sells) go to the waitlist
        self.serve_waitlist(sku, now_ms);
        (lsn, level)
    }
}
