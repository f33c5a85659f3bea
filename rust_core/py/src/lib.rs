//! reservoir._core: thin PyO3 wrappers over reservoir-engine. Converts and forwards; the
//! logic lives in the engine crate. Single operations keep the GIL (they take tens of
//! nanoseconds); bulk ones (expiry, drain) release it while the engine works.

mod errors;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use reservoir_engine as core;
use reservoir_engine::{parse_reservation_id, reservation_id, ReservationSeq, Status};

type LineRow = (String, String, i64);
type LevelRow = (String, String, i64, i64, i64, i64, bool);
type LevelDeltaRow = (String, String, i64, i64, i64);
type LogRow = (
    u64,
    i64,
    &'static str,
    Option<String>,
    String,
    String,
    i64,
    Option<i64>,
);

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
    id: String,
    status: &'static str,
    expires_at_ms: i64,
    lines: Vec<LineRow>,
    lsn: u64,
}

/// The result of commit / release / extend.
#[pyclass(module = "reservoir._core", frozen, get_all)]
struct Outcome {
    id: String,
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
    reservations: Vec<(String, &'static str, Option<i64>)>,
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
    fn lines(&self, lines: &core::Lines) -> Vec<LineRow> {
        let c = self.inner.catalogue();
        lines
            .iter()
            .map(|l| {
                (
                    c.sku(l.sku).to_owned(),
                    c.location(l.location).to_owned(),
                    i64::from(l.quantity),
                )
            })
            .collect()
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

    fn reservation(&self, view: core::ReservationView) -> Reservation {
        Reservation {
            id: reservation_id(view.seq),
            status: view.status.as_str(),
            expires_at_ms: view.expires_at_ms,
            lines: self.lines(&view.lines),
            lsn: view.lsn,
        }
    }

    fn outcome(&self, out: core::Outcome) -> Outcome {
        let v = out.view;
        Outcome {
            id: reservation_id(v.seq),
            status: v.status.as_str(),
            changed: out.changed,
            expires_at_ms: v.expires_at_ms,
            lines: self.lines(&v.lines),
            lsn: v.lsn,
        }
    }

    fn level_delta_rows(&self, summary: &core::BatchSummary) -> Vec<LevelDeltaRow> {
        let c = self.inner.catalogue();
        summary
            .level_deltas
            .iter()
            .map(|(sku, loc, d)| {
                let (sku, loc) = (c.sku(*sku).to_owned(), c.location(*loc).to_owned());
                (sku, loc, d.on_hand, d.reserved, d.committed)
            })
            .collect()
    }

    fn batch(&self, entries: Vec<core::LogEntry>) -> Batch {
        let c = self.inner.catalogue();
        let summary = core::summarize(&entries);
        let mut rows = Vec::with_capacity(entries.len());
        for entry in &entries {
            let (Some(kind), lines) = entry.change.ledger_lines() else {
                continue;
            };
            let id = entry.change.reservation().map(reservation_id);
            let expires = match entry.change {
                core::Change::Reserve { expires_at_ms, .. } => Some(expires_at_ms),
                _ => None,
            };
            for (sku, location, quantity) in lines {
                rows.push((
                    entry.lsn,
                    entry.at_ms,
                    kind.as_str(),
                    id.clone(),
                    c.sku(sku).to_owned(),
                    c.location(location).to_owned(),
                    quantity,
                    expires,
                ));
            }
        }
        Batch {
            first_lsn: entries.first().map_or(0, |e| e.lsn),
            last_lsn: entries.last().map_or(0, |e| e.lsn),
            rows,
            level_deltas: self.level_delta_rows(&summary),
            reservations: summary
                .reservations
                .iter()
                .map(|r| (reservation_id(r.seq), r.status.as_str(), r.expires_at_ms))
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
        }
    }

    fn define_sku(&mut self, py: Python<'_>, sku: &str) -> PyResult<()> {
        self.inner
            .define_sku(sku)
            .map(drop)
            .map_err(|e| errors::to_py(py, e))
    }

    #[pyo3(signature = (code, sellable=true))]
    fn define_location(&mut self, py: Python<'_>, code: &str, sellable: bool) -> PyResult<()> {
        self.inner
            .define_location(code, sellable)
            .map(drop)
            .map_err(|e| errors::to_py(py, e))
    }

    fn has_sku(&self, sku: &str) -> bool {
        self.inner.catalogue().has_sku(sku)
    }

    fn has_location(&self, code: &str) -> bool {
        self.inner.catalogue().has_location(code)
    }

    fn receive(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        quantity: i64,
        now_ms: i64,
    ) -> PyResult<(u64, LevelRow)> {
        let (lsn, level) = self
            .inner
            .receive(sku, location, quantity, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        let sku = self
            .inner
            .catalogue()
            .sku_id(sku)
            .expect("received SKU exists");
        Ok((lsn, self.level_row(sku, &level)))
    }

    fn adjust(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        delta: i64,
        now_ms: i64,
    ) -> PyResult<(u64, LevelRow)> {
        let (lsn, level) = self
            .inner
            .adjust(sku, location, delta, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        let sku = self
            .inner
            .catalogue()
            .sku_id(sku)
            .expect("adjusted SKU exists");
        Ok((lsn, self.level_row(sku, &level)))
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
        Ok(self.reservation(view))
    }

    fn commit(&mut self, py: Python<'_>, reservation_id: &str, now_ms: i64) -> PyResult<Outcome> {
        let out = self
            .inner
            .commit(seq_of(reservation_id)?, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(out))
    }

    fn release(&mut self, py: Python<'_>, reservation_id: &str, now_ms: i64) -> PyResult<Outcome> {
        let out = self
            .inner
            .release(seq_of(reservation_id)?, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(out))
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
        Ok(self.outcome(out))
    }

    fn ship(
        &mut self,
        py: Python<'_>,
        reservation_id: &str,
        picks: Vec<(PyBackedStr, PyBackedStr, i64)>,
        now_ms: i64,
    ) -> PyResult<Outcome> {
        let picks: Vec<(&str, &str, i64)> =
            picks.iter().map(|(s, l, q)| (&**s, &**l, *q)).collect();
        let out = self
            .inner
            .ship(seq_of(reservation_id)?, &picks, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(out))
    }

    #[pyo3(signature = (now_ms, max_count=100_000))]
    fn expire_due(&mut self, py: Python<'_>, now_ms: i64, max_count: usize) -> usize {
        let inner = &mut self.inner;
        py.detach(|| inner.expire_due(now_ms, max_count))
    }

    fn get(&self, reservation_id: &str) -> Option<Reservation> {
        let seq = parse_reservation_id(reservation_id)?;
        self.inner.get(seq).map(|view| self.reservation(view))
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

    fn drain(&mut self, max_rows: usize) -> Batch {
        let entries = self.inner.drain(max_rows);
        self.batch(entries)
    }

    fn pending_level_deltas(&self) -> Vec<LevelDeltaRow> {
        self.level_delta_rows(&self.inner.pending_summary())
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
    Ok(())
}
