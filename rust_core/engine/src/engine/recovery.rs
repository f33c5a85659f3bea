//! Recovery: state loaded from the ledger, not logged.

use rustc_hash::FxHashMap;

use crate::buyers::{validate_buyer, BuyerId};
use crate::error::{EngineError, Result};
use crate::ids::ReservationSeq;
use crate::lots::{validate_lot_code, Lot, LotId};
use crate::reservation::{Hold, Line, Lines, Status};
use crate::stock::Level;

use super::Engine;

/// Open reservations' lines as the ledger lists them, in any order, gathered for one
/// [`Engine::load_open_lines`]. SKU and location codes are kept once each, however many
/// lines name them.
#[derive(Debug, Default)]
pub struct OpenLines {
    names: Vec<Box<str>>,
    name_ids: FxHashMap<Box<str>, u32>,
    lines: Vec<OpenLine>,
}

#[derive(Debug, Clone, Copy)]
struct OpenLine {
    seq: ReservationSeq,
    line_no: i64,
    status: Status,
    expires_at_ms: i64,
    /// Indexes into `OpenLines::names`.
    sku: u32,
    location: u32,
    quantity: i64,
    /// Index into `OpenLines::names` of the buyer, or `NO_BUYER`.
    buyer: u32,
}

const NO_BUYER: u32 = u32::MAX;

impl OpenLines {
    /// Adds one line of an open reservation (checked when loaded).
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        seq: ReservationSeq,
        line_no: i64,
        status: Status,
        expires_at_ms: i64,
        sku: &str,
        location: &str,
        quantity: i64,
        buyer: Option<&str>,
    ) {
        let sku = self.name_id(sku);
        let location = self.name_id(location);
        let buyer = buyer.map_or(NO_BUYER, |b| self.name_id(b));
        self.lines.push(OpenLine {
            seq,
            line_no,
            status,
            expires_at_ms,
            sku,
            location,
            quantity,
            buyer,
        });
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn name_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 codes");
        self.names.push(name.into());
        self.name_ids.insert(name.into(), id);
        id
    }
}

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

    /// Loads what a buyer has taken of a SKU (held, committed and shipped units: the
    /// ledger's reserve less release, expire and cancel of the buyer's reservations), before
    /// their open reservations.
    pub fn load_buyer_units(&mut self, buyer: &str, sku: &str, units: u64) -> Result<()> {
        validate_buyer(buyer)?;
        let sku = self.catalogue.sku_id(sku)?;
        if self.buyers.units(self.buyers.id(buyer), sku) != 0 {
            return Err(EngineError::invalid("buyer", "units loaded twice"));
        }
        if units > 0 {
            let id = self.buyers.intern(buyer);
            self.buyers.add(id, sku, units);
        }
        Ok(())
    }

    /// Loads open reservations in bulk, as the ledger listed their lines. Their units are
    /// already counted in the loaded levels, and their buyers' in [`Engine::load_buyer_units`]. Everything is checked before anything is
    /// loaded: a refused load changes nothing. Returns how many reservations were loaded.
    pub fn load_open_lines(&mut self, mut open: OpenLines) -> Result<usize> {
        let skus = open
            .names
            .iter()
            .map(|name| self.catalogue.sku_id(name).ok())
            .collect::<Vec<_>>();
        let locations = open
            .names
            .iter()
            .map(|name| self.catalogue.location_id(name).ok())
            .collect::<Vec<_>>();
        open.lines
            .sort_unstable_by_key(|line| (line.seq, line.line_no));
        let mut loads: Vec<(ReservationSeq, Hold, Option<BuyerId>)> = Vec::new();
        for group in open.lines.chunk_by(|a, b| a.seq == b.seq) {
            let first = &group[0];
            self.check_loadable(first.seq, first.status)?;
            let buyer = match first.buyer {
                NO_BUYER => None,
                name => Some(self.buyers.id(&open.names[name as usize]).ok_or_else(|| {
                    EngineError::invalid("buyer", "an open hold of a buyer with no units loaded")
                })?),
            };
            let mut lines = Lines::new();
            for line in group {
                if (line.status, line.expires_at_ms, line.buyer)
                    != (first.status, first.expires_at_ms, first.buyer)
                {
                    return Err(EngineError::invalid(
                        "status",
                        "lines of one reservation disagree on its status, expiry or buyer",
                    ));
                }
                let name = |i: u32| &*open.names[i as usize];
                lines.push(Line {
                    sku: skus[line.sku as usize]
                        .ok_or_else(|| EngineError::UnknownSku(name(line.sku).into()))?,
                    location: locations[line.location as usize]
                        .ok_or_else(|| EngineError::UnknownLocation(name(line.location).into()))?,
                    quantity: u32::try_from(line.quantity)
                        .ok()
                        .filter(|&q| q > 0)
                        .ok_or_else(|| EngineError::invalid("quantity", "out of range"))?,
                });
            }
            loads.push((
                first.seq,
                Hold {
                    status: first.status,
                    expires_at_ms: first.expires_at_ms,
                    timer_slot: 0,
                    lines,
                },
                buyer,
            ));
        }
        let loaded = loads.len();
        self.holds.reserve(loaded);
        for (seq, mut hold, buyer) in loads {
            if let Some(buyer) = buyer {
                self.hold_buyers.insert(seq, buyer);
            }
            if hold.status == Status::Held {
                hold.timer_slot = self.timers.insert(seq, hold.expires_at_ms);
            }
            self.holds.insert(seq, hold);
            self.next_seq = self.next_seq.max(seq + 1);
        }
        Ok(loaded)
    }

    fn check_loadable(&self, seq: ReservationSeq, status: Status) -> Result<()> {
        if !matches!(status, Status::Held | Status::Committed) {
            return Err(EngineError::invalid(
                "status",
                "only held or committed reservations are open",
            ));
        }
        if self.holds.contains_key(&seq) {
            return Err(EngineError::invalid("reservation_id", "loaded twice"));
        }
        Ok(())
    }

    pub fn set_last_lsn(&mut self, lsn: u64) {
        self.log.set_last_lsn(lsn);
    }

    pub fn set_next_seq(&mut self, seq: ReservationSeq) {
        self.next_seq = self.next_seq.max(seq);
    }
}
