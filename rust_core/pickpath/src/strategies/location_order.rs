//! Location order: visit the stops sorted by aisle, then position (then level, then input order).

use crate::layout::PickPoint;

/// Pick indices sorted by `(aisle, position, level, index)`.
pub(crate) fn location_order(picks: &[PickPoint]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..picks.len()).collect();
    order.sort_by_key(|&i| (picks[i].aisle, picks[i].position, picks[i].level, i));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_aisle_then_position() {
        let picks = [
            PickPoint::new(3, 1),
            PickPoint::new(1, 9),
            PickPoint::new(1, 2),
            PickPoint::new(3, 1),
        ];
        assert_eq!(location_order(&picks), vec![2, 1, 0, 3]);
    }
}
