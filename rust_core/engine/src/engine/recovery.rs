//! Recovery: state loaded from the ledger, not logged.

use crate::error::{EngineError, Result};
use crate::ids::ReservationSeq;
use crate::lots::{validate_lot_code, Lot, LotId};
use crate::reservation::{Hold, Line, Lines, Status};
use crate::stock::Level;

use super::Engine;

impl Engine {
    pub fn load_level(
        &mut self,
        sku: &str,
        location: &str,
        on_hand: i64,
        reserved: i64,
        committed: i64,
    ) -> Result<()> {
        let (sku, location) = self.resolve(sku, location)?;
        *self.stock.entry(sku, location) = Level {
            location,
            on_hand,
            reserved,
            committed,
        };
        Ok(())
    }

    /// Defines a lot as the ledger knows it (before its units are loaded).
    pub fn load_lot(
        &mut self,
        sku: &str,
        code: &str,
        expires_on: Option<i32>,
        first_lsn: u64,
    ) -> Result<LotId> {
        let sku = self.catalogue.sku_id(sku)?;
        validate_lot_code(code)?;
        if self.lots.id(sku, code).is_some() {
            return Err(EngineError::invalid("lot", "loaded twice"));
        }
        self.check_lot_room()?;
        Ok(self.lots.define(Lot {
            sku,
            code: code.into(),
            expires_on,
            first_lsn,
        }))
    }

    /// Sets the units of a loaded lot at a level (after the level itself is loaded).
    pub fn load_lot_units(
        &mut self,
        sku: &str,
        location: &str,
        code: &str,
        units: i64,
    ) -> Result<()> {
        let (sku, location) = self.resolve(sku, location)?;
        let lot = self.known_lot(sku, Some(code), "lot")?.expect("named lot");
        if units < 0 {
            return Err(EngineError::invalid("units", "must not be negative"));
        }
        let now = self.lots.units(sku, location, lot);
        self.lots.apply(sku, location, lot, units - now);
        Ok(())
    }

    /// Loads an open reservation. Its units are already counted in the loaded levels.
    pub fn load_reservation(
        &mut self,
        seq: ReservationSeq,
        status: Status,
        expires_at_ms: i64,
        lines: &[(&str, &str, i64)],
    ) -> Result<()> {
        if !matches!(status, Status::Held | Status::Committed) {
            return Err(EngineError::invalid(
                "status",
                "only held or committed reservations are open",
            ));
        }
        if self.holds.contains_key(&seq) {
            return Err(EngineError::invalid("reservation_id", "loaded twice"));
        }
        let mut loaded = Lines::new();
        for &(sku, location, quantity) in lines {
            let (sku, location) = self.resolve(sku, location)?;
            let quantity = u32::try_from(quantity)
                .map_err(|_| EngineError::invalid("quantity", "out of range"))?;
            loaded.push(Line {
                sku,
                location,
                quantity,
            });
        }
        let timer_slot = if status == Status::Held {
            self.timers.insert(seq, expires_at_ms)
        } else {
            0
        };
        self.holds.insert(
            seq,
            Hold {
                status,
                expires_at_ms,
                timer_slot,
                lines: loaded,
            },
        );
        self.next_seq = self.next_seq.max(seq + 1);
        Ok(())
    }

    pub fn set_last_lsn(&mut self, lsn: u64) {
        self.log.set_last_lsn(lsn);
    }

    pub fn set_next_seq(&mut self, seq: ReservationSeq) {
        self.next_seq = self.next_seq.max(seq);
    }
}
