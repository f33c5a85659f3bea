//! The one mapping from the engine's error enum to the Python exception tree.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use reservoir_engine::{reservation_id, EngineError};

create_exception!(
    reservoir._core,
    ReservoirError,
    PyException,
    "Base of every error the core raises."
);
create_exception!(
    reservoir._core,
    InvalidInput,
    ReservoirError,
    "A field is out of range or malformed."
);
create_exception!(
    reservoir._core,
    LimitExceeded,
    InvalidInput,
    "A configured limit would be exceeded."
);
create_exception!(
    reservoir._core,
    UnknownSku,
    ReservoirError,
    "The SKU is not in the catalogue."
);
create_exception!(
    reservoir._core,
    UnknownLocation,
    ReservoirError,
    "The location is not in the catalogue."
);
create_exception!(
    reservoir._core,
    UnknownChannel,
    ReservoirError,
    "The hold names a channel that is not defined."
);
create_exception!(
    reservoir._core,
    InsufficientStock,
    ReservoirError,
    "Not enough available stock."
);
create_exception!(
    reservoir._core,
    ReservationNotFound,
    ReservoirError,
    "No such reservation."
);
create_exception!(
    reservoir._core,
    InvalidState,
    ReservoirError,
    "The reservation's state forbids this."
);
create_exception!(
    reservoir._core,
    BuyerLimit,
    ReservoirError,
    "The hold would take the buyer past the SKU's per-buyer cap."
);
create_exception!(
    reservoir._core,
    DropNotStarted,
    ReservoirError,
    "The SKU is in a drop that has not started."
);
create_exception!(
    reservoir._core,
    WaitlistEntryNotFound,
    ReservoirError,
    "No waiting waitlist entry with this id."
);
create_exception!(
    reservoir._core,
    AlreadyWaiting,
    ReservoirError,
    "The buyer already waits for this SKU."
);
create_exception!(
    reservoir._core,
    UnitsAvailable,
    ReservoirError,
    "Nobody waits for the SKU and its units are there to hold."
);
create_exception!(
    reservoir._core,
    Backpressure,
    ReservoirError,
    "The ledger writer is behind."
);

/// Registers the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ReservoirError", py.get_type::<ReservoirError>())?;
    m.add("InvalidInput", py.get_type::<InvalidInput>())?;
    m.add("LimitExceeded", py.get_type::<LimitExceeded>())?;
    m.add("UnknownSku", py.get_type::<UnknownSku>())?;
    m.add("UnknownLocation", py.get_type::<UnknownLocation>())?;
    m.add("UnknownChannel", py.get_type::<UnknownChannel>())?;
    m.add("InsufficientStock", py.get_type::<InsufficientStock>())?;
    m.add("ReservationNotFound", py.get_type::<ReservationNotFound>())?;
    m.add("InvalidState", py.get_type::<InvalidState>())?;
    m.add("Backpressure", py.get_type::<Backpressure>())?;
    m.add("BuyerLimit", py.get_type::<BuyerLimit>())?;
    m.add("DropNotStarted", py.get_type::<DropNotStarted>())?;
    m.add(
        "WaitlistEntryNotFound",
        py.get_type::<WaitlistEntryNotFound>(),
    )?;
    m.add("AlreadyWaiting", py.get_type::<AlreadyWaiting>())?;
    m.add("UnitsAvailable", py.get_type::<UnitsAvailable>())?;
    Ok(())
}

/// Converts an engine error into the matching Python exception, with its fields set.
pub fn to_py(py: Python<'_>, error: EngineError) -> PyErr {
    let message = error.to_string();
    let err = match &error {
        EngineError::InvalidInput { .. } => InvalidInput::new_err(message),
        EngineError::LimitExceeded { .. } => LimitExceeded::new_err(message),
        EngineError::UnknownSku(_) => UnknownSku::new_err(message),
        EngineError::UnknownLocation(_) => UnknownLocation::new_err(message),
        EngineError::UnknownChannel(_) => UnknownChannel::new_err(message),
        EngineError::InsufficientStock(_) => InsufficientStock::new_err(message),
        EngineError::ReservationNotFound(_) => ReservationNotFound::new_err(message),
        EngineError::InvalidState { .. } => InvalidState::new_err(message),
        EngineError::Backpressure { .. } => Backpressure::new_err(message),
        EngineError::BuyerLimit { .. } => BuyerLimit::new_err(message),
        EngineError::DropNotStarted { .. } => DropNotStarted::new_err(message),
        EngineError::WaitlistEntryNotFound(_) => WaitlistEntryNotFound::new_err(message),
        EngineError::AlreadyWaiting { .. } => AlreadyWaiting::new_err(message),
        EngineError::UnitsAvailable { .. } => UnitsAvailable::new_err(message),
    };
    let value = err.value(py);
    let set = || -> PyResult<()> {
        value.setattr("code", error.code())?;
        match &error {
            EngineError::InvalidInput { field, .. } => value.setattr("field", field)?,
            EngineError::LimitExceeded { field, limit } => {
                value.setattr("field", field)?;
                value.setattr("limit", *limit)?;
            }
            EngineError::UnknownSku(sku) => value.setattr("sku", sku)?,
            EngineError::UnknownLocation(code) => value.setattr("location", code)?,
            EngineError::UnknownChannel(code) => value.setattr("channel", code)?,
            EngineError::InsufficientStock(shortages) => {
                let rows: Vec<(&str, i64, i64)> = shortages
                    .iter()
                    .map(|s| (s.sku.as_str(), s.requested, s.available))
                    .collect();
                value.setattr("shortages", rows)?;
            }
            EngineError::ReservationNotFound(seq) => {
                value.setattr("reservation_id", reservation_id(*seq))?
            }
            EngineError::InvalidState { seq, status } => {
                value.setattr("reservation_id", reservation_id(*seq))?;
                value.setattr("status", status.as_str())?;
            }
            EngineError::Backpressure { pending } => value.setattr("pending", *pending)?,
            EngineError::DropNotStarted {
                drop,
                sku,
                starts_at_ms,
            } => {
                value.setattr("drop", drop)?;
                value.setattr("sku", sku)?;
                value.setattr("starts_at_ms", *starts_at_ms)?;
            }
            EngineError::BuyerLimit {
                sku,
                buyer,
                current,
                requested,
                max,
            } => {
                value.setattr("sku", sku)?;
                value.setattr("buyer", buyer)?;
                value.setattr("current", *current)?;
                value.setattr("requested", *requested)?;
                value.setattr("per_buyer_max", *max)?;
            }
            EngineError::WaitlistEntryNotFound(entry) => value.setattr("entry", *entry)?,
            EngineError::AlreadyWaiting { sku, buyer, entry } => {
                value.setattr("sku", sku)?;
                value.setattr("buyer", buyer)?;
                value.setattr("entry", *entry)?;
            }
            EngineError::UnitsAvailable { sku, available } => {
                value.setattr("sku", sku)?;
                value.setattr("available", *available)?;
            }
        }
        Ok(())
    };
    set().expect("setting attributes on a fresh exception");
    err
}

/// [`to_py`] where no GIL token is at hand.
pub fn to_py_detached(error: EngineError) -> PyErr {
    Python::attach(|py| to_py(py, error))
}

/// A reservation id that names no reservation (malformed ids name none).
pub fn not_found(id: &str) -> PyErr {
    let err = ReservationNotFound::new_err(format!("reservation {id:?} not found"));
    Python::attach(|py| {
        let value = err.value(py);
        let _ = value.setattr("code", "reservation-not-found");
        let _ = value.setattr("reservation_id", id);
    });
    err
}
