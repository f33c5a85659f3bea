//! Pick lists, as the engine decides them: which lots a list's stops pick (oldest first, less
//! what open lists take), which lots each confirmed pick ships (its own lot first, then the
//! bin's other units, oldest lot first) and where a short pick's missing units go (the first
//! bin in the allocation order with enough, never a bin excluded).

use reservoir_engine::{Engine, EngineError, LotsToShip, ReservationSeq};

mod common;

use common::{committed, engine, JAN, MAR, T0};

/// What `lots_to_ship` answers for MILK picks, with lot codes: Ok(per pick, [(lot, units)])
/// or Err((pick, available)).
type Shipped = Result<Vec<Vec<(Option<String>, i64)>>, (usize, i64)>;

fn lots_to_ship(engine: &Engine, picks: &[(&str, i64, Option<&str>)]) -> Shipped {
    let picks: Vec<_> = picks
        .iter()
        .map(|&(location, quantity, lot)| ("MILK", location, quantity, lot))
        .collect();
    match engine.lots_to_ship(&picks).unwrap() {
        LotsToShip::Ship(per_pick) => Ok(per_pick
            .iter()
            .map(|lots| {
                lots.iter()
                    .map(|&(lot, units)| {
                        let code = lot.map(|id| engine.lots().lot(id).code.to_string());
                        (code, units)
                    })
                    .collect()
            })
            .collect()),
        LotsToShip::Short { pick, available } => Err((pick, available)),
    }
}

fn lot(code: &str, units: i64) -> (Option<String>, i64) {
    (Some(code.to_owned()), units)
}

/// Bin A with 5 of lot OLD (January) and 5 of lot NEW (March).
fn two_lots_at_a() -> Engine {
    let mut e = engine();
    e.receive("MILK", "A", 5, Some("OLD"), JAN, T0).unwrap();
    e.receive("MILK", "A", 5, Some("NEW"), MAR, T0).unwrap();
    e
}

#[test]
fn a_pick_ships_its_own_lot_first_even_when_another_is_older() {
    let e = two_lots_at_a();
    assert_eq!(
        lots_to_ship(&e, &[("A", 3, Some("NEW"))]),
        Ok(vec![vec![lot("NEW", 3)]])
    );
}

#[test]
fn where_its_lot_left_the_bin_a_pick_ships_the_oldest_lots_then_unlotted_units() {
    let mut e = two_lots_at_a();
    e.receive("MILK", "A", 2, None, None, T0).unwrap();
    // NEW has moved away but one unit; OLD has been counted down to one.
    e.transfer("MILK", "A", "B", 4, Some("NEW"), T0).unwrap();
    e.adjust("MILK", "A", -4, Some("OLD"), T0).unwrap();
    assert_eq!(
        lots_to_ship(&e, &[("A", 3, Some("NEW"))]),
        Ok(vec![vec![lot("NEW", 1), lot("OLD", 1), (None, 1)]])
    );
    // An unlotted pick falls back to the lots the same way.
    assert_eq!(
        lots_to_ship(&e, &[("A", 3, None)]),
        Ok(vec![vec![(None, 2), lot("OLD", 1)]])
    );
}

#[test]
fn a_pick_short_of_its_lot_never_takes_a_lot_a_later_pick_names() {
    let mut e = two_lots_at_a();
    e.receive("MILK", "A", 3, None, None, T0).unwrap();
    e.transfer("MILK", "A", "B", 4, Some("NEW"), T0).unwrap();
    // The first pick's NEW is short by 2; OLD is older, but the second pick names all of it.
    assert_eq!(
        lots_to_ship(&e, &[("A", 3, Some("NEW")), ("A", 5, Some("OLD"))]),
        Ok(vec![vec![lot("NEW", 1), (None, 2)], vec![lot("OLD", 5)]])
    );
    // Two picks of the same lot share its units in the order given.
    assert_eq!(
        lots_to_ship(&e, &[("A", 4, Some("OLD")), ("A", 2, Some("OLD"))]),
        Ok(vec![
            vec![lot("OLD", 4)],
            vec![lot("OLD", 1), lot("NEW", 1)]
        ])
    );
}

#[test]
fn a_lot_never_received_at_the_bin_ships_the_bins_units() {
    let mut e = two_lots_at_a();
    e.receive("MILK", "B", 1, Some("ELSEWHERE"), None, T0)
        .unwrap();
    assert_eq!(
        lots_to_ship(&e, &[("A", 6, Some("ELSEWHERE")), ("A", 1, Some("NEVER"))]),
        Ok(vec![
            vec![lot("OLD", 5), lot("NEW", 1)],
            vec![lot("NEW", 1)]
        ])
    );
}

#[test]
fn more_than_the_bin_holds_is_refused_and_names_the_pick() {
    let mut e = two_lots_at_a();
    e.receive("MILK", "B", 4, None, None, T0).unwrap();
    let before = e.snapshot();
    assert_eq!(
        lots_to_ship(
            &e,
            &[("B", 4, None), ("A", 4, Some("OLD")), ("A", 7, Some("NEW"))]
        ),
        Err((2, 6))
    );
    assert_eq!(e.snapshot(), before, "asking changes nothing");
    assert_eq!(e.pending(), 2 + 1, "and logs nothing");
}

#[test]
fn bad_picks_are_refused_by_field() {
    let e = two_lots_at_a();
    let field = |picks: &[(&str, &str, i64, Option<&str>)]| match e.lots_to_ship(picks) {
        Err(EngineError::InvalidInput { field, .. }) => field,
        other => panic!("expected invalid input, got {other:?}"),
    };
    assert_eq!(
        field(&[("MILK", "A", 1, None), ("MILK", "A", 0, None)]),
        "picks[1].quantity"
    );
    assert!(matches!(
        e.lots_to_ship(&[("TEA", "A", 1, None)]),
        Err(EngineError::UnknownSku(_))
    ));
    assert!(matches!(
        e.lots_to_ship(&[("MILK", "Z", 1, None)]),
        Err(EngineError::UnknownLocation(_))
    ));
}

/// What `lots_to_pick` answers for MILK stops, with lot codes.
fn lots_to_pick(
    engine: &Engine,
    stops: &[(&str, i64)],
    taken: &[(&str, &str, i64)],
) -> Vec<Vec<(Option<String>, i64)>> {
    let stops: Vec<_> = stops.iter().map(|&(l, q)| ("MILK", l, q)).collect();
    let taken: Vec<_> = taken
        .iter()
        .map(|&(l, lot, n)| ("MILK", l, lot, n))
        .collect();
    engine
        .lots_to_pick(&stops, &taken)
        .unwrap()
        .iter()
        .map(|lots| {
            lots.iter()
                .map(|&(lot, units)| (lot.map(|id| engine.lots().lot(id).code.to_string()), units))
                .collect()
        })
        .collect()
}

#[test]
fn a_stop_picks_the_oldest_lots_first_then_unlotted_units() {
    let mut e = two_lots_at_a();
    e.receive("MILK", "A", 2, None, None, T0).unwrap();
    assert_eq!(
        lots_to_pick(&e, &[("A", 7)], &[]),
        vec![vec![lot("OLD", 5), lot("NEW", 2)]]
    );
    assert_eq!(
        lots_to_pick(&e, &[("A", 11)], &[]),
        vec![vec![lot("OLD", 5), lot("NEW", 5), (None, 1)]]
    );
}

#[test]
fn a_stop_leaves_out_what_open_lists_and_earlier_stops_take() {
    let e = two_lots_at_a();
    // Open lists take 4 of OLD (and some of a lot never received, which changes nothing).
    let taken = [("A", "OLD", 4), ("A", "NEVER", 3)];
    assert_eq!(
        lots_to_pick(&e, &[("A", 2), ("A", 5), ("A", 0)], &taken),
        vec![
            vec![lot("OLD", 1), lot("NEW", 1)],
            vec![lot("NEW", 4), (None, 1)],
            vec![],
        ]
    );
    let before = e.snapshot();
    assert_eq!(lots_to_pick(&e, &[("B", 3)], &[]), vec![vec![(None, 3)]]);
    assert_eq!(e.snapshot(), before, "asking changes nothing");
    assert!(matches!(
        e.lots_to_pick(&[("MILK", "Z", 1)], &[]),
        Err(EngineError::UnknownLocation(_))
    ));
}

/// An order of 4 committed at A; B has 2 to spare, C 10, QC (not sellable) 50.
fn short_at_a() -> (Engine, ReservationSeq) {
    let mut e = engine();
    e.receive("MILK", "A", 4, None, None, T0).unwrap();
    e.receive("MILK", "B", 2, None, None, T0).unwrap();
    e.receive("MILK", "C", 10, None, None, T0).unwrap();
    e.receive("MILK", "QC", 50, None, None, T0).unwrap();
    let seq = committed(&mut e, 4, Some("A"));
    (e, seq)
}

fn lines(e: &Engine, seq: ReservationSeq) -> Vec<(String, u32)> {
    let c = e.catalogue();
    let view = e.get(seq).unwrap();
    view.lines
        .iter()
        .map(|l| (c.location(l.location).to_owned(), l.quantity))
        .collect()
}

#[test]
fn a_shortfall_moves_to_the_first_bin_in_allocation_order_with_enough() {
    let (mut e, seq) = short_at_a();
    let (to, out) = e
        .reallocate_spare(seq, "MILK", "A", &["A"], 3, T0)
        .unwrap()
        .unwrap();
    assert_eq!(e.catalogue().location(to), "C", "the most to spare");
    assert!(out.changed);
    assert_eq!(lines(&e, seq), vec![("A".into(), 1), ("C".into(), 3)]);
}

#[test]
fn excluded_bins_are_skipped_and_from_is_never_chosen() {
    let (mut e, seq) = short_at_a();
    // C is excluded: B has the 2 asked for.
    let (to, _) = e
        .reallocate_spare(seq, "MILK", "A", &["C"], 2, T0)
        .unwrap()
        .unwrap();
    assert_eq!(e.catalogue().location(to), "B");
    assert_eq!(lines(&e, seq), vec![("A".into(), 2), ("B".into(), 2)]);
}

#[test]
fn where_no_bin_has_enough_nothing_moves() {
    let (mut e, seq) = short_at_a();
    let before = (e.snapshot(), e.pending());
    // C is excluded and B has only 2; QC is not sellable.
    assert_eq!(
        e.reallocate_spare(seq, "MILK", "A", &["A", "C"], 3, T0)
            .unwrap(),
        None
    );
    assert_eq!((e.snapshot(), e.pending()), before);
    assert!(matches!(
        e.reallocate_spare(seq, "TEA", "A", &[], 1, T0),
        Err(EngineError::UnknownSku(_))
    ));
}

#[test]
fn a_spare_bin_found_is_checked_as_reallocate_checks() {
    let (mut e, seq) = short_at_a();
    // More than the order has committed at A.
    match e.reallocate_spare(seq, "MILK", "A", &[], 5, T0) {
        Err(EngineError::InvalidInput { field, .. }) => assert_eq!(field, "quantity"),
        other => panic!("expected invalid input, got {other:?}"),
    }
    assert!(matches!(
        e.reallocate_spare(seq + 1, "MILK", "A", &[], 1, T0),
        Err(EngineError::ReservationNotFound(_))
    ));
}
