//! reservoir-engine: the in-memory core of reservoir.
//!
//! Stock counters per SKU and location (with the lots in them), reservations with TTL expiry,
//! and a change log with sequence numbers drained by the ledger writer. Plain Rust: no
//! Python, no clock (time is passed in as `now_ms`), no I/O. Pick paths are their own crate,
//! `reservoir-pickpath`.

pub mod batch;
pub mod buyers;
pub mod catalogue;
pub mod channels;
pub mod drops;
pub mod engine;
pub mod error;
pub mod expiry;
pub mod ids;
pub mod limits;
pub mod log;
pub mod lots;
pub mod reservation;
pub mod stock;
pub mod waitlists;

pub use batch::{summarize, BatchSummary, ReservationChange};
pub use buyers::{validate_buyer, BuyerId, BUYER_BYTES_MAX};
pub use channels::{Channel, SafetyBuffer};
pub use drops::{Drop, DropSpec, Phase, Pool};
pub use engine::{
    Engine, HoldFor, Inbound, LineRequest, LotsToShip, OpenLines, Outcome, PickedLots, ReceiptLine,
    ReservationView, ShipLine, Snapshot, TransitLine, WaitlistJoin,
};
pub use error::{EngineError, Result, Shortage};
pub use ids::{
    parse_reservation_id, reservation_id, write_reservation_id, LocId, ReservationSeq, SkuId,
    RESERVATION_ID_BYTES_MAX,
};
pub use limits::Limits;
pub use log::{Change, Kind, LogEntry, LotTags, Parties, ShipLots};
pub use lots::{Lot, LotId};
pub use reservation::{Line, Lines, Status};
pub use stock::{Level, LevelDelta};
pub use waitlists::{Entry as WaitlistEntry, EntryId, LeaveReason};

/// The crate's version.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
