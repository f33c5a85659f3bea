//! Reservation ids, statuses and the fixed words of the log as Python strings.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;
use reservoir_engine as core;
use reservoir_engine::{
    parse_reservation_id, write_reservation_id, ReservationSeq, Status, RESERVATION_ID_BYTES_MAX,
};

use crate::errors;

/// A Python `str` held by Rust; cloning one is a reference count.
pub(crate) type Str = Py<PyString>;

/// A reservation id as a Python string, without `format!` or a Rust `String`.
pub(crate) fn id_str(py: Python<'_>, seq: ReservationSeq) -> Str {
    let mut buf = [0; RESERVATION_ID_BYTES_MAX];
    PyString::new(py, write_reservation_id(seq, &mut buf)).unbind()
}

/// Interned Python strings for the few fixed words the log and states use.
pub(crate) fn word(py: Python<'_>, word: &'static str) -> Str {
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

pub(crate) fn seq_of(id: &str) -> PyResult<ReservationSeq> {
    parse_reservation_id(id).ok_or_else(|| errors::not_found(id))
}

pub(crate) fn status_of(s: &str) -> PyResult<Status> {
    Status::parse(s).ok_or_else(|| {
        errors::to_py_detached(core::EngineError::InvalidInput {
            field: "status".into(),
            reason: format!("unknown status {s:?}"),
        })
    })
}

/// The numeric sequence inside a reservation id.
#[pyfunction]
pub(crate) fn reservation_seq(reservation_id: &str) -> PyResult<u64> {
    seq_of(reservation_id)
}
