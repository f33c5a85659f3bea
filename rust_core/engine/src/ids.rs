//! Dense numeric ids for SKUs and locations, and the stable string form of reservation ids.

/// Index of a SKU in the catalogue (dense, assigned in definition order).
pub type SkuId = u32;
/// Index of a location in the catalogue (dense, assigned in definition order).
pub type LocId = u32;
/// Sequence number of a reservation; its public id is [`reservation_id`].
pub type ReservationSeq = u64;

const RESERVATION_PREFIX: &str = "rsv_";

/// The public, stable string id of a reservation: `rsv_` and the sequence in lowercase hex.
pub fn reservation_id(seq: ReservationSeq) -> String {
    format!("{RESERVATION_PREFIX}{seq:x}")
}

/// Parses a public reservation id back into its sequence. Strict: exactly one spelling per
/// sequence (lowercase, no leading zeros), so two strings never name the same reservation.
pub fn parse_reservation_id(id: &str) -> Option<ReservationSeq> {
    let hex = id.strip_prefix(RESERVATION_PREFIX)?;
    if hex.is_empty() || hex.len() > 16 || (hex.len() > 1 && hex.starts_with('0')) {
        return None;
    }
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_spellings() {
        for seq in [0, 1, 255, 4096, u64::MAX] {
            assert_eq!(parse_reservation_id(&reservation_id(seq)), Some(seq));
        }
        for bad in [
            "",
            "rsv_",
            "rsv_01",
            "rsv_FF",
            "xyz_1",
            "rsv_1g",
            "rsv_10000000000000000",
        ] {
            assert_eq!(parse_reservation_id(bad), None, "{bad}");
        }
    }
}
