//! Expiry timers: holds bucketed by due time, so finding what is due costs O(due), and a
//! hold leaves its bucket in O(1) when released, committed or extended.

use std::collections::BTreeMap;

use crate::ids::ReservationSeq;

/// Width of one bucket, in milliseconds. Holds in the bucket that straddles `now` are checked
/// one by one; every earlier bucket is due whole.
pub const BUCKET_MS: i64 = 16;

/// A reservation whose timer moved to another slot of its bucket.
pub type Moved = (ReservationSeq, u32);

#[derive(Debug, Clone, Default)]
pub struct ExpiryTimers {
    buckets: BTreeMap<i64, Vec<ReservationSeq>>,
    len: usize,
}

fn bucket_of(expires_at_ms: i64) -> i64 {
    expires_at_ms.div_euclid(BUCKET_MS)
}

impl ExpiryTimers {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a timer; returns its slot, to be kept by the hold for removal.
    pub fn insert(&mut self, seq: ReservationSeq, expires_at_ms: i64) -> u32 {
        let bucket = self.buckets.entry(bucket_of(expires_at_ms)).or_default();
        bucket.push(seq);
        self.len += 1;
        u32::try_from(bucket.len() - 1).expect("bucket slot fits u32")
    }

    /// Removes the timer at `slot`; returns the timer that took its place, if any.
    pub fn remove(&mut self, expires_at_ms: i64, slot: u32) -> Option<Moved> {
        let key = bucket_of(expires_at_ms);
        let bucket = self.buckets.get_mut(&key).expect("timer bucket exists");
        bucket.swap_remove(slot as usize);
        self.len -= 1;
        // An emptied bucket stays (with its capacity) until `take_due` reaches it: a hold
        // released right after it was made (the flash-drop pattern) then costs no B-tree
        // removal, no free and no re-allocation.
        bucket.get(slot as usize).map(|&seq| (seq, slot))
    }

    /// The earliest bucket's start: no timer is due before it.
    pub fn next_due_ms(&self) -> Option<i64> {
        if self.len == 0 {
            return None;
        }
        self.buckets
            .iter()
            .find(|(_, bucket)| !bucket.is_empty())
            .map(|(b, _)| b * BUCKET_MS)
    }

    /// Takes up to `max` timers due at `now_ms` into `due`. `expires_of` gives a timer's due
    /// time (needed only in the bucket that straddles `now_ms`); timers left in that bucket
    /// that changed slot are reported in `moved`.
    pub fn take_due(
        &mut self,
        now_ms: i64,
        max: usize,
        expires_of: impl Fn(ReservationSeq) -> i64,
        due: &mut Vec<ReservationSeq>,
        moved: &mut Vec<Moved>,
    ) {
        let now_bucket = bucket_of(now_ms);
        while due.len() < max {
            let Some(mut entry) = self.buckets.first_entry() else {
                break;
            };
            let key = *entry.key();
            if key > now_bucket {
                break;
            }
            let room = max - due.len();
            let bucket = entry.get_mut();
            if key < now_bucket {
                // Due whole. Take from the end so the slots of what stays do not change.
                let take = room.min(bucket.len());
                due.extend(bucket.drain(bucket.len() - take..));
                self.len -= take;
            } else {
                // The straddling bucket: keep what is not due yet, in a compacted order.
                let before = due.len();
                let mut kept = Vec::with_capacity(bucket.len());
                for &seq in bucket.iter() {
                    if expires_of(seq) <= now_ms && due.len() < max {
                        due.push(seq);
                    } else {
                        kept.push(seq);
                    }
                }
                self.len -= due.len() - before;
                moved.extend(kept.iter().enumerate().map(|(i, &seq)| (seq, i as u32)));
                *bucket = kept;
                if !bucket.is_empty() {
                    break;
                }
            }
            if entry.get().is_empty() {
                entry.remove();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(timers: &mut ExpiryTimers, now: i64, at: &[i64]) -> Vec<ReservationSeq> {
        let (mut due, mut moved) = (Vec::new(), Vec::new());
        timers.take_due(
            now,
            usize::MAX,
            |seq| at[seq as usize],
            &mut due,
            &mut moved,
        );
        due.sort_unstable();
        due
    }

    #[test]
    fn hands_back_exactly_what_is_due() {
        let at = [100, 5, 17, 16, 31, 1000];
        let mut timers = ExpiryTimers::default();
        for (seq, &t) in at.iter().enumerate() {
            timers.insert(seq as u64, t);
        }
        assert_eq!(take(&mut timers, 4, &at), Vec::<u64>::new());
        assert_eq!(take(&mut timers, 17, &at), vec![1, 2, 3]);
        assert_eq!(timers.len(), 3);
        assert_eq!(take(&mut timers, 999, &at), vec![0, 4]);
        assert_eq!(take(&mut timers, 1000, &at), vec![5]);
        assert!(timers.is_empty());
        assert_eq!(timers.next_due_ms(), None);
    }

    #[test]
    fn remove_reports_the_timer_that_moved() {
        let mut timers = ExpiryTimers::default();
        let a = timers.insert(1, 50);
        let _b = timers.insert(2, 51);
        let c = timers.insert(3, 52);
        assert_eq!(timers.remove(50, a), Some((3, a)));
        assert_eq!(timers.remove(52, a), Some((2, a)));
        assert_eq!(timers.remove(51, a), None);
        assert!(timers.is_empty());
        let _ = c;
    }

    #[test]
    fn respects_max() {
        let mut timers = ExpiryTimers::default();
        for seq in 0..10 {
            timers.insert(seq, 0);
        }
        let (mut due, mut moved) = (Vec::new(), Vec::new());
        timers.take_due(1_000, 4, |_| 0, &mut due, &mut moved);
        assert_eq!(due.len(), 4);
        assert_eq!(timers.len(), 6);
    }
}
