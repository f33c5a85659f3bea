//! reservoir._core: thin PyO3 wrappers over reservoir-engine. Converts and forwards; the
//! logic lives in the engine crate. Single operations keep the GIL (they take tens of
//! nanoseconds); bulk ones (expiry, drain) release it while the engine works.

mod errors;
mod pickpath;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyString;
use reservoir_engine as core;
use reservoir_engine::{
    parse_reservation_id, write_reservation_id, ReservationSeq, Status, RESERVATION_ID_BYTES_MAX,
};

/// A Python `str` held by Rust; cloning one is a reference count.
type Str = Py<PyString>;
type LineRow = (Str, Str, i64);
type LevelRow = (String, String, i64, i64, i64, i64, bool);
type LevelDeltaRow = (Str, Str, i64, i64, i64);
/// (lsn, at_ms, kind, reservation, sku, location, quantity, expires_at_ms, lot, lot's
/// expiry day)
type LogRow = (
    u64,
    i64,
    Str,
    Option<Str>,
    Str,
    Str,
    i64,
    Option<i64>,
    Option<String>,
    Option<i32>,
);
/// (lot or None for unlotted units, expiry day, units)
type LotRow = (Option<String>, Option<i32>, i64);
/// (sku, location, lot, units)
type LotLevelRow = (Str, Str, String, i64);

/// A pick to ship: (sku, location, quantity) of unlotted units, or with the lot at the end.
#[derive(FromPyObject)]
enum Pick {
    Lotted(PyBackedStr, PyBackedStr, i64, Option<PyBackedStr>),
    Plain(PyBackedStr, PyBackedStr, i64),
}

impl Pick {
    fn as_tuple(&self) -> (&str, &str, i64, Option<&str>) {
        match self {
            Pick::Lotted(s, l, q, lot) => (s, l, *q, lot.as_deref()),
            Pick::Plain(s, l, q) => (s, l, *q, None),
        }
    }
}

/// Engine limits; see the engine crate's `Limits`.
#[pyclass(module = "reservoir._core", frozen, get_all)]
#[derive(Clone)]
struct Limits {
    lines_per_reservation_max: usize,
    quantity_per_line_max: u64,
    ttl_ms_max: i64,
    holds_max: usize,
    log_entries_max: usize,
}

#[pymethods]
impl Limits {
    #[new]
    #[pyo3(signature = (*, lines_per_reservation_max=100, quantity_per_line_max=1_000_000,
        ttl_ms_max=86_400_000, holds_max=10_000_000, log_entries_max=1_000_000))]
    fn new(
        lines_per_reservation_max: usize,
        quantity_per_line_max: u64,
        ttl_ms_max: i64,
        holds_max: usize,
        log_entries_max: usize,
    ) -> PyResult<Self> {
        let limits = Self {
            lines_per_reservation_max,
            quantity_per_line_max,
            ttl_ms_max,
            holds_max,
            log_entries_max,
        };
        core::Limits::from(&limits)
            .validate()
            .map_err(errors::to_py_detached)?;
        Ok(limits)
    }
}

impl From<&Limits> for core::Limits {
    fn from(l: &Limits) -> Self {
        core::Limits {
            lines_per_reservation_max: l.lines_per_reservation_max,
            quantity_per_line_max: l.quantity_per_line_max,
            ttl_ms_max: l.ttl_ms_max,
            holds_max: l.holds_max,
            log_entries_max: l.log_entries_max,
            ..core::Limits::default()
        }
    }
}

/// A reservation as the engine holds it.
#[pyclass(module = "reservoir._core", frozen, get_all)]
struct Reservation {
    id: Str,
    status: &'static str,
    expires_at_ms: i64,
    lines: Vec<LineRow>,
    lsn: u64,
}

/// The result of commit / release / extend.
#[pyclass(module = "reservoir._core", frozen, get_all)]
struct Outcome {
    id: Str,
    status: &'static str,
    changed: bool,
    expires_at_ms: i64,
    lines: Vec<LineRow>,
    lsn: u64,
}

/// Everything drained from the log, ready for one ledger transaction.
#[pyclass(module = "reservoir._core", frozen, get_all)]
struct Batch {
    first_lsn: u64,
    last_lsn: u64,
    rows: Vec<LogRow>,
    level_deltas: Vec<LevelDeltaRow>,
    reservations: Vec<(Str, Str, Option<i64>)>,
    /// net change of every lot the batch touched: (sku, location, lot, units)
    lot_deltas: Vec<LotLevelRow>,
}

#[pymethods]
impl Batch {
    fn __len__(&self) -> usize {
        self.rows.len() + self.reservations.len()
    }
}

#[pyclass(module = "reservoir._core")]
struct Engine {
    inner: core::Engine,
    /// The catalogue's codes as Python strings, by id, made once when defined: a line or a
    /// log row then costs a reference count, not an allocation, a copy and a decode.
    sku_codes: Vec<Str>,
    location_codes: Vec<Str>,
}

/// A reservation id as a Python string, without `format!` or a Rust `String`.
fn id_str(py: Python<'_>, seq: ReservationSeq) -> Str {
    let mut buf = [0; RESERVATION_ID_BYTES_MAX];
    PyString::new(py, write_reservation_id(seq, &mut buf)).unbind()
}

/// Interned Python strings for the few fixed words the log and states use.
fn word(py: Python<'_>, word: &'static str) -> Str {
    let interned = match word {
        "held" => intern!(py, "held"),
        "committed" => intern!(py, "committed"),
        "released" => intern!(py, "released"),
        "expired" => intern!(py, "expired"),
        "receipt" => intern!(py, "receipt"),
        "adjustment" => intern!(py, "adjustment"),
        "reserve" => intern!(py, "reserve"),
        "commit" => intern!(py, "commit"),
        "release" => intern!(py, "release"),
        "cancel" => intern!(py, "cancel"),
        "expire" => intern!(py, "expire"),
        "ship" => intern!(py, "ship"),
        "fulfilled" => intern!(py, "fulfilled"),
        "return" => intern!(py, "return"),
        "transfer_out" => intern!(py, "transfer_out"),
        "transfer_in" => intern!(py, "transfer_in"),
        other => return PyString::new(py, other).unbind(),
    };
    interned.clone().unbind()
}

fn seq_of(id: &str) -> PyResult<ReservationSeq> {
    parse_reservation_id(id).ok_or_else(|| errors::not_found(id))
}

fn status_of(s: &str) -> PyResult<Status> {
    Status::parse(s).ok_or_else(|| {
        errors::to_py_detached(core::EngineError::InvalidInput {
            field: "status".into(),
            reason: format!("unknown status {s:?}"),
        })
    })
}

impl Engine {
    fn sku_code(&self, py: Python<'_>, sku: core::SkuId) -> Str {
        match self.sku_codes.get(sku as usize) {
            Some(code) => code.clone_ref(py),
            None => PyString::new(py, self.inner.catalogue().sku(sku)).unbind(),
        }
    }

    fn location_code(&self, py: Python<'_>, location: core::LocId) -> Str {
        match self.location_codes.get(location as usize) {
            Some(code) => code.clone_ref(py),
            None => PyString::new(py, self.inner.catalogue().location(location)).unbind(),
        }
    }

    fn lines(&self, py: Python<'_>, lines: &core::Lines) -> Vec<LineRow> {
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
    fn movement(
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

    fn level_row(&self, sku: core::SkuId, level: &core::Level) -> LevelRow {
        let c = self.inner.catalogue();
        (
            c.sku(sku).to_owned(),
            c.location(level.location).to_owned(),
            level.on_hand,
            level.reserved,
            level.committed,
            self.inner.reservable(level),
            c.is_sellable(level.location),
        )
    }

    fn reservation(&self, py: Python<'_>, view: core::ReservationView) -> Reservation {
        Reservation {
            id: id_str(py, view.seq),
            status: view.status.as_str(),
            expires_at_ms: view.expires_at_ms,
            lines: self.lines(py, &view.lines),
            lsn: view.lsn,
        }
    }

    fn outcome(&self, py: Python<'_>, out: core::Outcome) -> Outcome {
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

    fn level_delta_rows(&self, py: Python<'_>, summary: &core::BatchSummary) -> Vec<LevelDeltaRow> {
        summary
            .level_deltas
            .iter()
            .map(|(sku, loc, d)| {
                let (sku, loc) = (self.sku_code(py, *sku), self.location_code(py, *loc));
                (sku, loc, d.on_hand, d.reserved, d.committed)
            })
            .collect()
    }

    fn lot_code(&self, lot: core::LotId) -> String {
        self.inner.lots().lot(lot).code.to_string()
    }

    fn lot_delta_rows(&self, py: Python<'_>, summary: &core::BatchSummary) -> Vec<LotLevelRow> {
        summary
            .lot_deltas
            .iter()
            .map(|&(sku, location, lot, units)| {
                let (sku, loc) = (self.sku_code(py, sku), self.location_code(py, location));
                (sku, loc, self.lot_code(lot), units)
            })
            .collect()
    }

    fn batch(&self, py: Python<'_>, entries: Vec<core::LogEntry>) -> Batch {
        let summary = core::summarize(&entries);
        let mut rows = Vec::with_capacity(entries.len());
        for entry in &entries {
            let id = entry.change.reservation().map(|seq| id_str(py, seq));
            let expires = match entry.change {
                core::Change::Reserve { expires_at_ms, .. } => Some(expires_at_ms),
                _ => None,
            };
            entry
                .change
                .for_each_ledger_line(|kind, sku, location, quantity, lot| {
                    let lot = lot.map(|id| self.inner.lots().lot(id));
                    rows.push((
                        entry.lsn,
                        entry.at_ms,
                        word(py, kind.as_str()),
                        id.as_ref().map(|id| id.clone_ref(py)),
                        self.sku_code(py, sku),
                        self.location_code(py, location),
                        quantity,
                        expires,
                        lot.map(|l| l.code.to_string()),
                        lot.and_then(|l| l.expires_on),
                    ));
                });
        }
        Batch {
            first_lsn: entries.first().map_or(0, |e| e.lsn),
            last_lsn: entries.last().map_or(0, |e| e.lsn),
            rows,
            level_deltas: self.level_delta_rows(py, &summary),
            lot_deltas: self.lot_delta_rows(py, &summary),
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
        }
    }
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (limits=None))]
    fn new(limits: Option<PyRef<'_, Limits>>) -> Self {
        let limits = limits.map_or_else(core::Limits::default, |l| core::Limits::from(&*l));
        Self {
            inner: core::Engine::new(limits),
            sku_codes: Vec::new(),
            location_codes: Vec::new(),
        }
    }

    fn define_sku(&mut self, py: Python<'_>, sku: &str) -> PyResult<()> {
        let id = self
            .inner
            .define_sku(sku)
            .map_err(|e| errors::to_py(py, e))?;
        if id as usize == self.sku_codes.len() {
            self.sku_codes.push(PyString::new(py, sku).unbind());
        }
        Ok(())
    }

    #[pyo3(signature = (code, sellable=true))]
    fn define_location(&mut self, py: Python<'_>, code: &str, sellable: bool) -> PyResult<()> {
        let id = self
            .inner
            .define_location(code, sellable)
            .map_err(|e| errors::to_py(py, e))?;
        if id as usize == self.location_codes.len() {
            self.location_codes.push(PyString::new(py, code).unbind());
        }
        Ok(())
    }

    fn has_sku(&self, sku: &str) -> bool {
        self.inner.catalogue().has_sku(sku)
    }

    fn has_location(&self, code: &str) -> bool {
        self.inner.catalogue().has_location(code)
    }

    // The Python signature is the engine call's; a struct here would only hide that.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (sku, location, quantity, now_ms, *, lot=None, expires_on=None))]
    fn receive(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        quantity: i64,
        now_ms: i64,
        lot: Option<&str>,
        expires_on: Option<i32>,
    ) -> PyResult<(u64, LevelRow)> {
        let moved = self
            .inner
            .receive(sku, location, quantity, lot, expires_on, now_ms);
        self.movement(py, sku, moved)
    }

    #[pyo3(signature = (sku, location, delta, now_ms, *, lot=None))]
    fn adjust(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        delta: i64,
        now_ms: i64,
        lot: Option<&str>,
    ) -> PyResult<(u64, LevelRow)> {
        let moved = self.inner.adjust(sku, location, delta, lot, now_ms);
        self.movement(py, sku, moved)
    }

    #[pyo3(signature = (sku, location, quantity, now_ms, *, lot=None))]
    fn return_units(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        quantity: i64,
        now_ms: i64,
        lot: Option<&str>,
    ) -> PyResult<(u64, LevelRow)> {
        let moved = self
            .inner
            .return_units(sku, location, quantity, lot, now_ms);
        self.movement(py, sku, moved)
    }

    // The Python signature is the engine call's; a struct here would only hide that.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(name = "transfer", signature = (sku, from_location, to_location, quantity, now_ms, *, lot=None))]
    fn transfer_units(
        &mut self,
        py: Python<'_>,
        sku: &str,
        from_location: &str,
        to_location: &str,
        quantity: i64,
        now_ms: i64,
        lot: Option<&str>,
    ) -> PyResult<(u64, LevelRow, LevelRow)> {
        let (lsn, from, to) = self
            .inner
            .transfer(sku, from_location, to_location, quantity, lot, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        let sku = self
            .inner
            .catalogue()
            .sku_id(sku)
            .expect("moved SKU exists");
        Ok((lsn, self.level_row(sku, &from), self.level_row(sku, &to)))
    }

    fn reserve(
        &mut self,
        py: Python<'_>,
        lines: Vec<(PyBackedStr, i64, Option<PyBackedStr>)>,
        ttl_ms: i64,
        now_ms: i64,
    ) -> PyResult<Reservation> {
        let requests: Vec<core::LineRequest<'_>> = lines
            .iter()
            .map(|(sku, quantity, location)| core::LineRequest {
                sku,
                quantity: *quantity,
                location: location.as_deref(),
            })
            .collect();
        let view = self
            .inner
            .reserve(&requests, ttl_ms, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.reservation(py, view))
    }

    fn commit(&mut self, py: Python<'_>, reservation_id: &str, now_ms: i64) -> PyResult<Outcome> {
        let out = self
            .inner
            .commit(seq_of(reservation_id)?, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(py, out))
    }

    fn release(&mut self, py: Python<'_>, reservation_id: &str, now_ms: i64) -> PyResult<Outcome> {
        let out = self
            .inner
            .release(seq_of(reservation_id)?, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(py, out))
    }

    fn extend(
        &mut self,
        py: Python<'_>,
        reservation_id: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> PyResult<Outcome> {
        let out = self
            .inner
            .extend(seq_of(reservation_id)?, ttl_ms, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(py, out))
    }

    fn ship(
        &mut self,
        py: Python<'_>,
        reservation_id: &str,
        picks: Vec<Pick>,
        now_ms: i64,
    ) -> PyResult<Outcome> {
        let picks: Vec<_> = picks.iter().map(Pick::as_tuple).collect();
        let out = self
            .inner
            .ship(seq_of(reservation_id)?, &picks, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(py, out))
    }

    // The Python signature is the engine call's; a struct here would only hide that.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (reservation_id, sku, from_location, to_location, quantity, now_ms))]
    fn reallocate(
        &mut self,
        py: Python<'_>,
        reservation_id: &str,
        sku: &str,
        from_location: &str,
        to_location: Option<&str>,
        quantity: i64,
        now_ms: i64,
    ) -> PyResult<Outcome> {
        let out = self
            .inner
            .reallocate(
                seq_of(reservation_id)?,
                sku,
                from_location,
                to_location,
                quantity,
                now_ms,
            )
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(py, out))
    }

    #[pyo3(signature = (now_ms, max_count=100_000))]
    fn expire_due(&mut self, py: Python<'_>, now_ms: i64, max_count: usize) -> usize {
        let inner = &mut self.inner;
        py.detach(|| inner.expire_due(now_ms, max_count))
    }

    fn get(&self, py: Python<'_>, reservation_id: &str) -> Option<Reservation> {
        let seq = parse_reservation_id(reservation_id)?;
        self.inner.get(seq).map(|view| self.reservation(py, view))
    }

    fn levels(&self, py: Python<'_>, sku: &str) -> PyResult<Vec<LevelRow>> {
        let id = self
            .inner
            .catalogue()
            .sku_id(sku)
            .map_err(|e| errors::to_py(py, e))?;
        let levels = self.inner.levels(sku).map_err(|e| errors::to_py(py, e))?;
        Ok(levels.iter().map(|l| self.level_row(id, l)).collect())
    }

    /// The lots of `sku` at `location`, oldest first, then its unlotted units (lot None)
    /// if it has any.
    fn lots(&self, py: Python<'_>, sku: &str, location: &str) -> PyResult<Vec<LotRow>> {
        let c = self.inner.catalogue();
        let (sku, location) = c
            .sku_id(sku)
            .and_then(|s| Ok((s, c.location_id(location)?)))
            .map_err(|e| errors::to_py(py, e))?;
        let lots = self.inner.lots();
        let mut rows: Vec<LotRow> = lots
            .at(sku, location)
            .iter()
            .map(|&(id, units)| {
                let lot = lots.lot(id);
                (Some(lot.code.to_string()), lot.expires_on, units)
            })
            .collect();
        let unlotted = self.inner.unlotted(sku, location);
        if unlotted > 0 {
            rows.push((None, None, unlotted));
        }
        Ok(rows)
    }

    /// Every lot's units at every location: (sku, location, lot, units).
    fn all_lots(&self, py: Python<'_>) -> Vec<LotLevelRow> {
        let lots = self.inner.lots();
        lots.iter()
            .map(|(sku, location, lot, units)| {
                let (sku, loc) = (self.sku_code(py, sku), self.location_code(py, location));
                (sku, loc, self.lot_code(lot), units)
            })
            .collect()
    }

    /// Where a line without a location takes units of `sku`, in order: (location,
    /// available). Oldest lot first where the SKU has lots, else the fullest bin.
    fn allocation_order(&self, py: Python<'_>, sku: &str) -> PyResult<Vec<(Str, i64)>> {
        let order = self
            .inner
            .allocation_order(sku)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(order
            .into_iter()
            .map(|(available, location)| (self.location_code(py, location), available))
            .collect())
    }

    fn all_levels(&self) -> Vec<LevelRow> {
        self.inner
            .all_levels()
            .map(|(sku, l)| self.level_row(sku, l))
            .collect()
    }

    fn open_holds(&self) -> usize {
        self.inner.held_count()
    }

    fn next_expiry_ms(&self) -> Option<i64> {
        self.inner.next_expiry_ms()
    }

    #[getter]
    fn last_lsn(&self) -> u64 {
        self.inner.last_lsn()
    }

    fn pending(&self) -> usize {
        self.inner.pending()
    }

    fn drain(&mut self, py: Python<'_>, max_rows: usize) -> Batch {
        let entries = self.inner.drain(max_rows);
        self.batch(py, entries)
    }

    fn pending_level_deltas(&self, py: Python<'_>) -> Vec<LevelDeltaRow> {
        self.level_delta_rows(py, &self.inner.pending_summary())
    }

    /// What the undrained log will add to each lot: (sku, location, lot, units).
    fn pending_lot_deltas(&self, py: Python<'_>) -> Vec<LotLevelRow> {
        self.lot_delta_rows(py, &self.inner.pending_summary())
    }

    fn prune_finished(&mut self, upto_lsn: u64) {
        self.inner.prune_finished(upto_lsn);
    }

    fn load_level(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        on_hand: i64,
        reserved: i64,
        committed: i64,
    ) -> PyResult<()> {
        self.inner
            .load_level(sku, location, on_hand, reserved, committed)
            .map_err(|e| errors::to_py(py, e))
    }

    fn load_lot(
        &mut self,
        py: Python<'_>,
        sku: &str,
        lot: &str,
        expires_on: Option<i32>,
        first_lsn: u64,
    ) -> PyResult<()> {
        self.inner
            .load_lot(sku, lot, expires_on, first_lsn)
            .map(drop)
            .map_err(|e| errors::to_py(py, e))
    }

    fn load_lot_units(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        lot: &str,
        units: i64,
    ) -> PyResult<()> {
        self.inner
            .load_lot_units(sku, location, lot, units)
            .map_err(|e| errors::to_py(py, e))
    }

    fn load_reservation(
        &mut self,
        py: Python<'_>,
        reservation_id: &str,
        status: &str,
        expires_at_ms: i64,
        lines: Vec<(PyBackedStr, PyBackedStr, i64)>,
    ) -> PyResult<()> {
        let seq = seq_of(reservation_id)?;
        let lines: Vec<(&str, &str, i64)> =
            lines.iter().map(|(s, l, q)| (&**s, &**l, *q)).collect();
        self.inner
            .load_reservation(seq, status_of(status)?, expires_at_ms, &lines)
            .map_err(|e| errors::to_py(py, e))
    }

    fn set_lsn(&mut self, lsn: u64) {
        self.inner.set_last_lsn(lsn);
    }

    fn set_next_reservation_seq(&mut self, seq: u64) {
        self.inner.set_next_seq(seq);
    }
}

/// The numeric sequence inside a reservation id.
#[pyfunction]
fn reservation_seq(reservation_id: &str) -> PyResult<u64> {
    seq_of(reservation_id)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", core::version())?;
    errors::register(m)?;
    m.add_class::<Limits>()?;
    m.add_class::<Reservation>()?;
    m.add_class::<Outcome>()?;
    m.add_class::<Batch>()?;
    m.add_class::<Engine>()?;
    m.add_function(wrap_pyfunction!(reservation_seq, m)?)?;
    pickpath::register(m)?;
    Ok(())
}
