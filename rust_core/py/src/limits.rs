//! Engine limits for Python.

use pyo3::prelude::*;
use reservoir_engine as core;

use crate::errors;

/// Engine limits; see the engine crate's `Limits`.
#[pyclass(module = "reservoir._core", frozen, get_all)]
#[derive(Clone)]
pub(crate) struct Limits {
    lines_per_reservation_max: usize,
    quantity_per_line_max: u64,
    ttl_ms_max: i64,
    holds_max: usize,
    log_entries_max: usize,
    offer_ttl_ms: i64,
    waitlist_entries_max: usize,
}

#[pymethods]
impl Limits {
    #[new]
    #[pyo3(signature = (*, lines_per_reservation_max=100, quantity_per_line_max=1_000_000,
        ttl_ms_max=86_400_000, holds_max=10_000_000, log_entries_max=1_000_000,
        offer_ttl_ms=300_000, waitlist_entries_max=1_000_000))]
    fn new(
        lines_per_reservation_max: usize,
        quantity_per_line_max: u64,
        ttl_ms_max: i64,
        holds_max: usize,
        log_entries_max: usize,
        offer_ttl_ms: i64,
        waitlist_entries_max: usize,
    ) -> PyResult<Self> {
        let limits = Self {
            lines_per_reservation_max,
            quantity_per_line_max,
            ttl_ms_max,
            holds_max,
            log_entries_max,
            offer_ttl_ms,
            waitlist_entries_max,
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
            offer_ttl_ms: l.offer_ttl_ms,
            waitlist_entries_max: l.waitlist_entries_max,
            ..core::Limits::default()
        }
    }
}
