//! The engine's one error type. The binding maps it to one Python exception tree.

use std::fmt;

use crate::ids::{reservation_id, ReservationSeq};
use crate::reservation::Status;

/// Units asked for and units available of one SKU, when a reservation cannot be held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub sku: String,
    pub requested: i64,
    pub available: i64,
}

/// Why an operation was refused. A refused operation changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// A field is malformed or out of range; `field` names it (`lines[2].quantity`).
    InvalidInput {
        field: String,
        reason: String,
    },
    /// A configured limit would be exceeded.
    LimitExceeded {
        field: String,
        limit: u64,
    },
    UnknownSku(String),
    UnknownLocation(String),
    /// A hold names a channel that is not defined (while some are).
    UnknownChannel(String),
    InsufficientStock(Vec<Shortage>),
    ReservationNotFound(ReservationSeq),
    /// The reservation exists but its state does not allow the operation.
    InvalidState {
        seq: ReservationSeq,
        status: Status,
    },
    /// The undrained log is full: the writer is behind.
    Backpressure {
        pending: usize,
    },
    /// The SKU is in a drop that has not started.
    DropNotStarted {
        drop: String,
        sku: String,
        starts_at_ms: i64,
    },
    /// The hold would take the buyer past the SKU's per-buyer cap: the buyer has taken
    /// `current` units (held, committed or shipped) and asked for `requested` more.
    BuyerLimit {
        sku: String,
        buyer: String,
        current: u64,
        requested: u64,
        max: u64,
    },
    /// No waiting waitlist entry with this number.
    WaitlistEntryNotFound(u64),
    /// The buyer already waits for this SKU (entry `entry`).
    AlreadyWaiting {
        sku: String,
        buyer: String,
        entry: u64,
    },
    /// Nobody waits for the SKU and its units are there to hold: reserve them instead.
    UnitsAvailable {
        sku: String,
        available: i64,
    },
}

impl EngineError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A stable kebab-case name, used as the Python `code` and the problem type.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "invalid-input",
            Self::LimitExceeded { .. } => "limit-exceeded",
            Self::UnknownSku(_) => "unknown-sku",
            Self::UnknownLocation(_) => "unknown-location",
            Self::UnknownChannel(_) => "unknown-channel",
            Self::InsufficientStock(_) => "insufficient-stock",
            Self::ReservationNotFound(_) => "reservation-not-found",
            Self::InvalidState { .. } => "invalid-state",
            Self::Backpressure { .. } => "backpressure",
            Self::BuyerLimit { .. } => "buyer-limit",
            Self::DropNotStarted { .. } => "drop-not-started",
            Self::WaitlistEntryNotFound(_) => "waitlist-entry-not-found",
            Self::AlreadyWaiting { .. } => "already-waiting",
            Self::UnitsAvailable { .. } => "units-available",
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidInput { field, reason } => write!(f, "{field}: {reason}"),
            Self::LimitExceeded { field, limit } => {
                write!(f, "{field}: exceeds the limit of {limit}")
            }
            Self::UnknownSku(sku) => write!(f, "unknown SKU {sku:?}"),
            Self::UnknownLocation(code) => write!(f, "unknown location {code:?}"),
            Self::UnknownChannel(code) => write!(f, "unknown channel {code:?}"),
            Self::InsufficientStock(shortages) => {
                write!(f, "insufficient stock:")?;
                for s in shortages {
                    write!(
                        f,
                        " {} (requested {}, available {})",
                        s.sku, s.requested, s.available
                    )?;
                }
                Ok(())
            }
            Self::ReservationNotFound(seq) => {
                write!(f, "reservation {} not found", reservation_id(*seq))
            }
            Self::InvalidState { seq, status } => {
                write!(
                    f,
                    "reservation {} is {}",
                    reservation_id(*seq),
                    status.as_str()
                )
            }
            Self::Backpressure { pending } => {
                write!(
                    f,
                    "{pending} changes await the ledger writer; retry shortly"
                )
            }
            Self::DropNotStarted { drop, sku, .. } => {
                write!(f, "{sku:?} is in drop {drop:?}, which has not started")
            }
            Self::BuyerLimit {
                sku,
                current,
                requested,
                max,
                ..
            } => write!(
                f,
                "at most {max} units of {sku:?} per buyer: this buyer has {current} and asked for {requested}"
            ),
            Self::WaitlistEntryNotFound(entry) => {
                write!(f, "no waiting waitlist entry wl_{entry}")
            }
            Self::AlreadyWaiting { sku, entry, .. } => {
                write!(f, "this buyer already waits for {sku:?} (wl_{entry})")
            }
            Self::UnitsAvailable { sku, available } => write!(
                f,
                "{available} units of {sku:?} are available and nobody waits: reserve them"
            ),
        }
    }
}

impl std::error::Error for EngineError {}

pub type Result<T> = std::result::Result<T, EngineError>;
