//! Reservations as the engine holds them, and their states.

use smallvec::SmallVec;

use crate::ids::{LocId, SkuId};

/// A reservation's state. `Held` and `Committed` are open (kept in memory); the others are
/// final and kept only until the writer has made them durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Held,
    Committed,
    Released,
    Expired,
    /// Every unit shipped.
    Fulfilled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Held => "held",
            Status::Committed => "committed",
            Status::Released => "released",
            Status::Expired => "expired",
            Status::Fulfilled => "fulfilled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "held" => Status::Held,
            "committed" => Status::Committed,
            "released" => Status::Released,
            "expired" => Status::Expired,
            "fulfilled" => Status::Fulfilled,
            _ => return None,
        })
    }
}

/// Units of one SKU held at one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub sku: SkuId,
    pub location: LocId,
    pub quantity: u32,
}

/// A reservation's lines; one line is stored inline (the common flash-drop cart).
pub type Lines = SmallVec<[Line; 1]>;

/// An open reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub status: Status,
    pub expires_at_ms: i64,
    /// Position in its expiry bucket (meaningful while `Held`).
    pub timer_slot: u32,
    pub lines: Lines,
}

/// A reservation that reached a final state, remembered until its entry is durable, so a
/// repeated call is answered from memory instead of a ledger that may not have it yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub status: Status,
    pub lsn: u64,
    pub expires_at_ms: i64,
    pub lines: Lines,
}

/// Takes `shipped` units off `lines` (each shipped line off the lines at its SKU and
/// location, in order) and drops emptied lines. Returns true when nothing is left.
/// The caller has checked that every shipped quantity is there.
pub fn take_shipped(lines: &mut Lines, shipped: &[Line]) -> bool {
    for s in shipped {
        let mut left = s.quantity;
        for line in lines
            .iter_mut()
            .filter(|l| l.sku == s.sku && l.location == s.location)
        {
            let take = left.min(line.quantity);
            line.quantity -= take;
            left -= take;
        }
        debug_assert_eq!(left, 0, "shipped more than the reservation holds");
    }
    lines.retain(|l| l.quantity > 0);
    lines.is_empty()
}

/// Moves `quantity` of `lines` at (`sku`, `from`) to `to`, merging with a line already there.
/// The caller has checked that the quantity is there.
pub fn move_line(lines: &mut Lines, sku: SkuId, from: LocId, to: LocId, quantity: u32) {
    take_shipped(
        lines,
        &[Line {
            sku,
            location: from,
            quantity,
        }],
    );
    match lines.iter_mut().find(|l| l.sku == sku && l.location == to) {
        Some(line) => line.quantity += quantity,
        None => lines.push(Line {
            sku,
            location: to,
            quantity,
        }),
    }
}
