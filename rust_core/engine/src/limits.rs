//! Limits on everything the engine holds or accepts. Units last in every name.

/// The largest quantity one line can hold (lines store quantities as `u32`).
pub const QUANTITY_MAX: u64 = u32::MAX as u64;

/// Bounds the engine enforces; each is checked before anything changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Lines in one reservation request.
    pub lines_per_reservation_max: usize,
    /// Units on one line (and in one receipt); at most [`QUANTITY_MAX`].
    pub quantity_per_line_max: u64,
    /// Longest hold, in milliseconds.
    pub ttl_ms_max: i64,
    /// Open reservations (held or committed) at once.
    pub holds_max: usize,
    /// Log entries not yet drained by the writer; past this the engine refuses writes.
    pub log_entries_max: usize,
    /// Distinct SKUs and distinct locations each.
    pub catalogue_entries_max: usize,
    /// Distinct lots (over all SKUs).
    pub lots_max: usize,
    /// Entries waiting on waitlists at once (over all SKUs).
    pub waitlist_entries_max: usize,
    /// How long a waitlist offer (a hold made for the next entry) lasts, in milliseconds.
    pub offer_ttl_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            lines_per_reservation_max: 100,
            quantity_per_line_max: 1_000_000,
            ttl_ms_max: 86_400_000,
            holds_max: 10_000_000,
            log_entries_max: 1_000_000,
            catalogue_entries_max: 10_000_000,
            lots_max: 1_000_000,
            waitlist_entries_max: 1_000_000,
            offer_ttl_ms: 300_000,
        }
    }
}

impl Limits {
    /// Checks that every limit is usable: each at least 1, quantities at most [`QUANTITY_MAX`].
    pub fn validate(&self) -> crate::error::Result<()> {
        let bounds: [(&str, u64, u64); 9] = [
            (
                "lines_per_reservation_max",
                self.lines_per_reservation_max as u64,
                u64::MAX,
            ),
            (
                "quantity_per_line_max",
                self.quantity_per_line_max,
                QUANTITY_MAX,
            ),
            ("ttl_ms_max", self.ttl_ms_max.max(0) as u64, i64::MAX as u64),
            ("holds_max", self.holds_max as u64, u64::MAX),
            ("log_entries_max", self.log_entries_max as u64, u64::MAX),
            (
                "catalogue_entries_max",
                self.catalogue_entries_max as u64,
                u32::MAX as u64,
            ),
            ("lots_max", self.lots_max as u64, u32::MAX as u64),
            (
                "waitlist_entries_max",
                self.waitlist_entries_max as u64,
                u64::MAX,
            ),
            (
                "offer_ttl_ms",
                self.offer_ttl_ms.max(0) as u64,
                i64::MAX as u64,
            ),
        ];
        for (field, value, max) in bounds {
            if value < 1 || value > max {
                return Err(crate::error::EngineError::invalid(
                    field,
                    format!("must be between 1 and {max}"),
                ));
            }
        }
        Ok(())
    }
}
