//! A drained stretch of the log, summarised for one ledger transaction.

use rustc_hash::FxHashMap;

use crate::ids::{LocId, ReservationSeq, SeqMap, SkuId};
use crate::log::{Change, LogEntry};
use crate::lots::LotId;
use crate::reservation::Status;
use crate::stock::LevelDelta;

/// A reservation's state at the end of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationChange {
    pub seq: ReservationSeq,
    pub status: Status,
    /// Set when the batch created the reservation or moved its expiry.
    pub expires_at_ms: Option<i64>,
    /// True when the batch created the reservation.
    pub created: bool,
}

/// What one ledger transaction writes besides the ledger lines themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchSummary {
    /// Net change of each level the batch touched, in first-touched order.
    pub level_deltas: Vec<(SkuId, LocId, LevelDelta)>,
    /// Final state of each reservation the batch touched, in first-touched order.
    pub reservations: Vec<ReservationChange>,
    /// Net change of the units of each lot the batch touched, per level, in first-touched
    /// order (what `lot_levels` adds up).
    pub lot_deltas: Vec<(SkuId, LocId, LotId, i64)>,
}

/// Folds a batch of entries into level deltas and final reservation states.
pub fn summarize<'a>(entries: impl IntoIterator<Item = &'a LogEntry>) -> BatchSummary {
    let entries = entries.into_iter();
    let expected = entries.size_hint().0;
    let mut level_index: FxHashMap<(SkuId, LocId), usize> = FxHashMap::default();
    let mut lot_index: FxHashMap<(SkuId, LocId, LotId), usize> = FxHashMap::default();
    let mut summary = BatchSummary {
        lot_deltas: Vec::new(),
        level_deltas: Vec::new(),
        reservations: Vec::with_capacity(expected),
    };
    let mut reservation_index: SeqMap<usize> =
        SeqMap::with_capacity_and_hasher(expected, Default::default());
    for entry in entries {
        entry.change.for_each_effect(|sku, location, delta| {
            let i = *level_index.entry((sku, location)).or_insert_with(|| {
                summary
                    .level_deltas
                    .push((sku, location, LevelDelta::default()));
                summary.level_deltas.len() - 1
            });
            summary.level_deltas[i].2.add(delta);
        });
        entry
            .change
            .for_each_lot_effect(|sku, location, lot, units| {
                let i = *lot_index.entry((sku, location, lot)).or_insert_with(|| {
                    summary.lot_deltas.push((sku, location, lot, 0));
                    summary.lot_deltas.len() - 1
                });
                summary.lot_deltas[i].3 += units;
            });
        let Some(seq) = entry.change.reservation() else {
            continue;
        };
        let i = *reservation_index.entry(seq).or_insert_with(|| {
            summary.reservations.push(ReservationChange {
                seq,
                status: Status::Held,
                expires_at_ms: None,
                created: false,
            });
            summary.reservations.len() - 1
        });
        let change = &mut summary.reservations[i];
        match &entry.change {
            Change::Reserve { expires_at_ms, .. } => {
                change.created = true;
                change.status = Status::Held;
                change.expires_at_ms = Some(*expires_at_ms);
            }
            Change::Extend { expires_at_ms, .. } => change.expires_at_ms = Some(*expires_at_ms),
            Change::Commit { .. } => change.status = Status::Committed,
            Change::Release { .. } | Change::Cancel { .. } => change.status = Status::Released,
            Change::Expire { .. } => change.status = Status::Expired,
            Change::Reallocate { .. } => change.status = Status::Committed,
            Change::Ship { fulfilled, .. } => {
                change.status = if *fulfilled {
                    Status::Fulfilled
                } else {
                    Status::Committed
                };
            }
            Change::Receipt { .. }
            | Change::Adjustment { .. }
            | Change::Return { .. }
            | Change::Transfer { .. }
            | Change::Transit { .. }
            | Change::Arrive { .. }
            | Change::Lose { .. }
            | Change::WriteOff { .. }
            | Change::Join(_)
            | Change::Leave { .. } => {}
        }
    }
    summary
        .level_deltas
        .retain(|(_, _, delta)| !delta.is_zero());
    summary.lot_deltas.retain(|&(_, _, _, units)| units != 0);
    summary
}
