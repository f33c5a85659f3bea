//! Dense numeric ids for SKUs and locations, and the stable string form of reservation ids.

/// Index of a SKU in the catalogue (dense, assigned in definition order).
pub type SkuId = u32;
/// Index of a location in the catalogue (dense, assigned in definition order).
pub type LocId = u32;
/// Sequence number of a reservation; its public id is [`reservation_id`].
pub type ReservationSeq = u64;

/// A map keyed by reservation sequence, hashed by [`SeqHasher`].
pub type SeqMap<V> =
    std::collections::HashMap<ReservationSeq, V, std::hash::BuildHasherDefault<SeqHasher>>;

/// Hashes reservation sequences so that runs of 256 consecutive ones (made together, so
/// usually released, committed and expired together) sit in neighbouring buckets and share
/// cache lines, while the runs themselves are spread like any hash. hashbrown takes the
/// bucket from the low bits and a 7-bit tag from the top 7: the low 8 bits are the
/// sequence's own, the rest are the run's mixed bits, and the tag is mixed per sequence so a
/// lookup compares about one key per group, not sixteen.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeqHasher(u64);

impl std::hash::Hasher for SeqHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, seq: u64) {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let run = (seq >> 8).wrapping_mul(K).rotate_left(26);
        let tag = seq.wrapping_mul(K) & 0xFE00_0000_0000_0000;
        self.0 = ((run & !0xFF) | (seq & 0xFF)) ^ tag;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

const RESERVATION_PREFIX: &str = "rsv_";

/// The public, stable string id of a reservation: `rsv_` and the sequence in lowercase hex.
pub fn reservation_id(seq: ReservationSeq) -> String {
    write_reservation_id(seq, &mut [0; RESERVATION_ID_BYTES_MAX]).to_owned()
}

/// Longest reservation id: the prefix and 16 hex digits.
pub const RESERVATION_ID_BYTES_MAX: usize = RESERVATION_PREFIX.len() + 16;

/// Writes [`reservation_id`] into `buf` without allocating (no `format!` machinery).
pub fn write_reservation_id(seq: ReservationSeq, buf: &mut [u8; RESERVATION_ID_BYTES_MAX]) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let prefix = RESERVATION_PREFIX.len();
    let digits = (64 - seq.leading_zeros() as usize).div_ceil(4).max(1);
    buf[..prefix].copy_from_slice(RESERVATION_PREFIX.as_bytes());
    for (i, byte) in buf[prefix..prefix + digits].iter_mut().rev().enumerate() {
        *byte = HEX[((seq >> (4 * i)) & 0xf) as usize];
    }
    std::str::from_utf8(&buf[..prefix + digits]).expect("ASCII")
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
