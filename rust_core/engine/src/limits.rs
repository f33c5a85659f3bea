//! Limits on everything the engine holds or accepts. Units last in every name.

/// Bounds the engine enforces; each is checked before anything changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Lines in one reservation request.
    pub lines_per_reservation_max: usize,
    /// Units on one line (and in one receipt).
    pub quantity_per_line_max: u64,
    /// Longest hold, in milliseconds.
    pub ttl_ms_max: i64,
    /// Open reservations (held or committed) at once.
    pub holds_max: usize,
    /// Log entries not yet drained by the writer; past this the engine refuses writes.
    pub log_entries_max: usize,
    /// Distinct SKUs and distinct locations each.
    pub catalogue_entries_max: usize,
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
        }
    }
}
