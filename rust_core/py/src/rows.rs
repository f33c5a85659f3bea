//! What crosses from the engine to Python: reservations, outcomes, drained batches, levels
//! and lots as rows, and the conversions that make them.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyString;
use reservoir_engine as core;

use crate::engine::Engine;
use crate::errors;
use crate::ids::{id_str, word, Str};

pub(crate) type LineRow = (Str, Str, i64);
pub(crate) type LevelDeltaRow = (Str, Str, i64, i64, i64);
/// (lot or None for unlotted units, expiry day, units)
pub(crate) type LotRow = (Option<String>, Option<i32>, i64);
/// (sku, location, lot, units)
pub(crate) type LotLevelRow = (Str, Str, String, i64);

/// The lots one pick or stop takes: [(lot or None for unlotted units, units)].
pub(crate) type PickedRow = Vec<(Option<String>, i64)>;
/// Which lots a confirmation's picks ship: per pick its lots, and None; or [] and (pick
/// index, units its bin has for it) for a short pick.
pub(crate) type ShipLotsRow = (Vec<PickedRow>, Option<(usize, i64)>);

/// A pick to ship: (sku, location, quantity) of unlotted units, or with the lot at the end.
#[derive(FromPyObject)]
pub(crate) enum Pick {
    Lotted(PyBackedStr, PyBackedStr, i64, Option<PyBackedStr>),
    Plain(PyBackedStr, PyBackedStr, i64),
}

impl Pick {
    pub(crate) fn as_tuple(&self) -> (&str, &str, i64, Option<&str>) {
        match self {
            Pick::Lotted(s, l, q, lot) => (s, l, *q, lot.as_deref()),
            Pick::Plain(s, l, q) => (s, l, *q, None),
        }
    }
}

/// A reservation as the engine holds it.
#[pyclass(module = "reservoir._core", frozen, get_all)]
pub(crate) struct Reservation {
    id: Str,
    status: &'static str,
    expires_at_ms: i64,
    lines: Vec<LineRow>,
    lsn: u64,
}

/// The result of commit / release / extend.
#[pyclass(module = "reservoir._core", frozen, get_all)]
pub(crate) struct Outcome {
    id: Str,
    status: &'static str,
    changed: bool,
    expires_at_ms: i64,
    lines: Vec<LineRow>,
    lsn: u64,
}

/// A level as the engine holds it, by name: its counters, the units a reservation may take
/// there (`available`: none at a location that is not sellable) and whether it is sellable.
#[pyclass(module = "reservoir._core", frozen, get_all)]
pub(crate) struct LevelRow {
    sku: String,
    location: String,
    on_hand: i64,
    reserved: i64,
    committed: i64,
    available: i64,
    sellable: bool,
}

/// One ledger line of a drained change, by name. `expires_at_ms` is set on the `reserve`
/// rows of a new hold; `lot` and `lot_expires_on` (the lot's expiry day) on the rows of
/// units in a lot.
#[pyclass(module = "reservoir._core", frozen, get_all)]
pub(crate) struct LogRow {
    lsn: u64,
    at_ms: i64,
    kind: Str,
    reservation_id: Option<Str>,
    sku: Str,
    location: Str,
    quantity: i64,
    expires_at_ms: Option<i64>,
    lot: Option<String>,
    lot_expires_on: Option<i32>,
}

/// Everything drained from the log, ready for one ledger transaction.
#[pyclass(module = "reservoir._core", frozen, get_all)]
pub(crate) struct Batch {
    first_lsn: u64,
    last_lsn: u64,
    rows: Vec<Py<LogRow>>,
    level_deltas: Vec<LevelDeltaRow>,
    reservations: Vec<(Str, Str, Option<i64>)>,
    /// net change of every lot the batch touched: (sku, location, lot, units)
    lot_deltas: Vec<LotLevelRow>,
    /// waitlist entries joined: (entry, lsn, at_ms, sku, quantity, buyer, channel)
    joins: Vec<JoinRow>,
    /// holds offered to waitlist entries: (entry, reservation id, at_ms)
    offers: Vec<(u64, Str, i64)>,
    /// entries that left their waitlist without an offer: (entry, at_ms, reason)
    leaves: Vec<(u64, i64, &'static str)>,
}

/// A waitlist entry joined: (entry, lsn, at_ms, sku, quantity, buyer, channel).
pub(crate) type JoinRow = (u64, u64, i64, Str, i64, String, Option<String>);

#[pymethods]
impl Batch {
    fn __len__(&self) -> usize {
        self.rows.len() + self.reservations.len() + self.joins.len() + self.leaves.len()
    }
}

impl Engine {
    pub(crate) fn sku_code(&self, py: Python<'_>, sku: core::SkuId) -> Str {
        match self.sku_codes.get(sku as usize) {
            Some(code) => code.clone_ref(py),
            None => PyString::new(py, self.inner.catalogue().sku(sku)).unbind(),
        }
    }

    pub(crate) fn location_code(&self, py: Python<'_>, location: core::LocId) -> Str {
        match self.location_codes.get(location as usize) {
            Some(code) => code.clone_ref(py),
            None => PyString::new(py, self.inner.catalogue().location(location)).unbind(),
        }
    }

    pub(crate) fn lines(&self, py: Python<'_>, lines: &core::Lines) -> Vec<LineRow> {
        lines
            .iter()
            .map(|l| {
                (
                    self.sku_code(py, l.sku),
                    self.location_code(py, l.location),
                    i64::from(l.quantity),
                )
            })
            .collect()
    }

    /// The answer to a stock movement: its LSN and the level after.
    pub(crate) fn movement(
        &self,
        py: Python<'_>,
        sku: &str,
        moved: core::Result<(u64, core::Level)>,
    ) -> PyResult<(u64, LevelRow)> {
        let (lsn, level) = moved.map_err(|e| errors::to_py(py, e))?;
        let sku = self
            .inner
            .catalogue()
            .sku_id(sku)
            .expect("moved SKU exists");
        Ok((lsn, self.level_row(sku, &level)))
    }

    pub(crate) fn level_row(&self, sku: core::SkuId, level: &core::Level) -> LevelRow {
        let c = self.inner.catalogue();
        LevelRow {
            sku: c.sku(sku).to_owned(),
            location: c.location(level.location).to_owned(),
            on_hand: level.on_hand,
            reserved: level.reserved,
            committed: level.committed,
            available: self.inner.reservable(level),
            sellable: c.is_sellable(level.location),
        }
    }

    pub(crate) fn reservation(&self, py: Python<'_>, view: core::ReservationView) -> Reservation {
        Reservation {
            id: id_str(py, view.seq),
            status: view.status.as_str(),
            expires_at_ms: view.expires_at_ms,
            lines: self.lines(py, &view.lines),
            lsn: view.lsn,
        }
    }

    pub(crate) fn outcome(&self, py: Python<'_>, out: core::Outcome) -> Outcome {
        let v = out.view;
        Outcome {
            id: id_str(py, v.seq),
            status: v.status.as_str(),
            changed: out.changed,
            expires_at_ms: v.expires_at_ms,
            lines: self.lines(py, &v.lines),
            lsn: v.lsn,
        }
    }

    pub(crate) fn level_delta_rows(
        &self,
        py: Python<'_>,
        summary: &core::BatchSummary,
    ) -> Vec<LevelDeltaRow> {
        summary
            .level_deltas
            .iter()
            .map(|(sku, loc, d)| {
                let (sku, loc) = (self.sku_code(py, *sku), self.location_code(py, *loc));
                (sku, loc, d.on_hand, d.reserved, d.committed)
            })
            .collect()
    }

    pub(crate) fn lot_code(&self, lot: core::LotId) -> String {
        self.inner.lots().lot(lot).code.to_string()
    }

    pub(crate) fn picked_rows(&self, per_pick: &[core::PickedLots]) -> Vec<PickedRow> {
        per_pick
            .iter()
            .map(|lots| {
                lots.iter()
                    .map(|&(lot, units)| (lot.map(|id| self.lot_code(id)), units))
                    .collect()
            })
            .collect()
    }

    pub(crate) fn lot_delta_rows(
        &self,
        py: Python<'_>,
        summary: &core::BatchSummary,
    ) -> Vec<LotLevelRow> {
        summary
            .lot_deltas
            .iter()
            .map(|&(sku, location, lot, units)| {
                let (sku, loc) = (self.sku_code(py, sku), self.location_code(py, location));
                (sku, loc, self.lot_code(lot), units)
            })
            .collect()
    }

    pub(crate) fn batch(&self, py: Python<'_>, entries: Vec<core::LogEntry>) -> PyResult<Batch> {
        let summary = core::summarize(&entries);
        let mut rows = Vec::with_capacity(entries.len());
        let (mut joins, mut offers, mut leaves) = (Vec::new(), Vec::new(), Vec::new());
        for entry in &entries {
            match &entry.change {
                core::Change::Join(e) => joins.push((
                    e.id,
                    entry.lsn,
                    entry.at_ms,
                    self.sku_code(py, e.sku),
                    e.quantity,
                    e.buyer.to_string(),
                    e.channel.as_deref().map(str::to_owned),
                )),
                core::Change::Leave {
                    entry: id, reason, ..
                } => leaves.push((*id, entry.at_ms, reason.as_str())),
                core::Change::Reserve {
                    seq,
                    parties: Some(parties),
                    ..
                } => {
                    if let Some(id) = parties.entry {
                        offers.push((id, id_str(py, *seq), entry.at_ms));
                    }
                }
                _ => {}
            }
            let id = entry.change.reservation().map(|seq| id_str(py, seq));
            let expires = match entry.change {
                core::Change::Reserve { expires_at_ms, .. } => Some(expires_at_ms),
                _ => None,
            };
            entry
                .change
                .for_each_ledger_line(|kind, sku, location, quantity, lot| {
                    let lot = lot.map(|id| self.inner.lots().lot(id));
                    rows.push(LogRow {
                        lsn: entry.lsn,
                        at_ms: entry.at_ms,
                        kind: word(py, kind.as_str()),
                        reservation_id: id.as_ref().map(|id| id.clone_ref(py)),
                        sku: self.sku_code(py, sku),
                        location: self.location_code(py, location),
                        quantity,
                        expires_at_ms: expires,
                        lot: lot.map(|l| l.code.to_string()),
                        lot_expires_on: lot.and_then(|l| l.expires_on),
                    });
                });
        }
        let rows = rows
            .into_iter()
            .map(|row| Py::new(py, row))
            .collect::<PyResult<_>>()?;
        Ok(Batch {
            first_lsn: entries.first().map_or(0, |e| e.lsn),
            last_lsn: entries.last().map_or(0, |e| e.lsn),
            rows,
            level_deltas: self.level_delta_rows(py, &summary),
            lot_deltas: self.lot_delta_rows(py, &summary),
            joins,
            offers,
            leaves,
            reservations: summary
                .reservations
                .iter()
                .map(|r| {
                    (
                        id_str(py, r.seq),
                        word(py, r.status.as_str()),
                        r.expires_at_ms,
                    )
                })
                .collect(),
        })
    }
}
