//! Lots as a user of the engine sees them: receipts bring them in, holds without a location
//! take the oldest lot first, stock leaves from a named lot, and the log replays them.

use reservoir_engine::{Engine, EngineError, LineRequest, Status};

mod common;

use common::{committed, engine, JAN, MAR, T0};

fn hold(engine: &mut Engine, quantity: i64) -> Vec<(String, u32)> {
    let line = LineRequest {
        sku: "MILK",
        quantity,
        location: None,
    };
    let view = engine.reserve(&[line], 60_000, T0).unwrap();
    let c = engine.catalogue();
    view.lines
        .iter()
        .map(|l| (c.location(l.location).to_owned(), l.quantity))
        .collect()
}

/// A committed order of `quantity` (held at `location`, or where the engine allocates).
fn lots_at(engine: &Engine, location: &str) -> Vec<(String, i64)> {
    let sku = engine.catalogue().sku_id("MILK").unwrap();
    let location = engine.catalogue().location_id(location).unwrap();
    let lots = engine.lots();
    lots.at(sku, location)
        .iter()
        .map(|&(lot, units)| (lots.lot(lot).code.to_string(), units))
        .collect()
}

fn field_of(error: EngineError) -> String {
    match error {
        EngineError::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[test]
fn a_hold_without_a_location_takes_the_oldest_lot_first_not_the_fullest_bin() {
    let mut engine = engine();
    engine
        .receive("MILK", "A", 100, Some("L-MAR"), MAR, T0)
        .unwrap();
    engine
        .receive("MILK", "B", 4, Some("L-JAN"), JAN, T0)
        .unwrap();
    assert_eq!(hold(&mut engine, 3), [("B".to_owned(), 3)]);
    // One January unit is left at B: it goes first, the rest comes from A.
    assert_eq!(
        hold(&mut engine, 5),
        [("B".to_owned(), 1), ("A".to_owned(), 4)]
    );
    // Only March units are free now: the fullest bin again.
    assert_eq!(hold(&mut engine, 2), [("A".to_owned(), 2)]);
}

#[test]
fn without_lots_the_fullest_bin_gives_fewest_stops() {
    let mut engine = engine();
    engine.receive("MILK", "A", 3, None, None, T0).unwrap();
    engine.receive("MILK", "B", 9, None, None, T0).unwrap();
    assert_eq!(hold(&mut engine, 5), [("B".to_owned(), 5)]);
    let order = engine.allocation_order("MILK").unwrap();
    let codes: Vec<_> = order
        .iter()
        .map(|&(available, l)| (engine.catalogue().location(l), available))
        .collect();
    assert_eq!(codes, [("B", 4), ("A", 3)]);
}

#[test]
fn lots_without_a_date_go_after_dated_ones_and_unlotted_units_last() {
    let mut engine = engine();
    engine.receive("MILK", "A", 5, None, None, T0).unwrap();
    engine
        .receive("MILK", "B", 5, Some("NODATE"), None, T0)
        .unwrap();
    engine
        .receive("MILK", "C", 5, Some("DATED"), MAR, T0)
        .unwrap();
    let order: Vec<_> = engine
        .allocation_order("MILK")
        .unwrap()
        .iter()
        .map(|&(_, l)| engine.catalogue().location(l).to_owned())
        .collect();
    assert_eq!(order, ["C", "B", "A"]);
}

#[test]
fn a_lot_keeps_the_expiry_date_it_was_first_received_with() {
    let mut engine = engine();
    engine.receive("MILK", "A", 5, Some("L1"), JAN, T0).unwrap();
    engine
        .receive("MILK", "B", 5, Some("L1"), None, T0)
        .unwrap();
    engine.receive("MILK", "B", 5, Some("L1"), JAN, T0).unwrap();
    let err = engine
        .receive("MILK", "A", 5, Some("L1"), MAR, T0)
        .unwrap_err();
    assert_eq!(field_of(err), "expires_on");
    assert_eq!(lots_at(&engine, "A"), [("L1".to_owned(), 5)]);
    assert_eq!(lots_at(&engine, "B"), [("L1".to_owned(), 10)]);
    let bad = engine
        .receive("MILK", "A", 1, Some(" L1"), None, T0)
        .unwrap_err();
    assert_eq!(field_of(bad), "lot");
}

#[test]
fn units_leave_from_the_lot_named_and_a_count_must_say_which_lot_is_short() {
    let mut engine = engine();
    engine.receive("MILK", "A", 3, Some("L1"), JAN, T0).unwrap();
    engine.receive("MILK", "A", 2, None, None, T0).unwrap();
    // Two unlotted units can go without naming a lot; a third cannot.
    engine.adjust("MILK", "A", -2, None, T0).unwrap();
    let err = engine.adjust("MILK", "A", -1, None, T0).unwrap_err();
    assert_eq!(field_of(err), "lot");
    engine.adjust("MILK", "A", -1, Some("L1"), T0).unwrap();
    let unknown = engine.adjust("MILK", "A", 1, Some("L9"), T0).unwrap_err();
    assert_eq!(field_of(unknown), "lot");
    // A transfer moves a named lot; a return can bring units back into it.
    engine
        .transfer("MILK", "A", "QC", 2, Some("L1"), T0)
        .unwrap();
    assert_eq!(lots_at(&engine, "A"), []);
    assert_eq!(lots_at(&engine, "QC"), [("L1".to_owned(), 2)]);
    engine.return_units("MILK", "A", 1, Some("L1"), T0).unwrap();
    assert_eq!(lots_at(&engine, "A"), [("L1".to_owned(), 1)]);
}

#[test]
fn a_pick_ships_units_of_its_lot_and_no_more_than_the_lot_has() {
    let mut engine = engine();
    engine
        .receive("MILK", "A", 2, Some("OLD"), JAN, T0)
        .unwrap();
    engine
        .receive("MILK", "A", 5, Some("NEW"), MAR, T0)
        .unwrap();
    let order = committed(&mut engine, 4, None);
    let err = engine
        .ship(order, &[("MILK", "A", 3, Some("OLD"))], T0)
        .unwrap_err();
    assert_eq!(field_of(err), "picks[0].quantity");
    let picks = [("MILK", "A", 2, Some("OLD")), ("MILK", "A", 2, Some("NEW"))];
    let out = engine.ship(order, &picks, T0).unwrap();
    assert_eq!(out.view.status, Status::Fulfilled);
    assert_eq!(lots_at(&engine, "A"), [("NEW".to_owned(), 3)]);
    assert_eq!(engine.audit(|_, _| false), Vec::<String>::new());
}

#[test]
fn the_log_replays_lots_into_an_engine_that_never_saw_them() {
    let mut source = engine();
    let mut replica = engine();
    source.receive("MILK", "A", 5, Some("L1"), JAN, T0).unwrap();
    source
        .receive("MILK", "B", 5, Some("L2"), None, T0)
        .unwrap();
    source
        .transfer("MILK", "B", "C", 2, Some("L2"), T0)
        .unwrap();
    source.adjust("MILK", "A", -1, Some("L1"), T0).unwrap();
    for entry in source.drain(usize::MAX) {
        replica.apply(&entry);
    }
    assert_eq!(replica.snapshot(), source.snapshot());
    assert_eq!(replica.snapshot().lots.len(), 3);
}

#[test]
fn lots_load_from_the_ledger_with_their_ages() {
    let mut engine = engine();
    engine.load_level("MILK", "A", 10, 0, 0).unwrap();
    engine.load_level("MILK", "B", 10, 0, 0).unwrap();
    engine.load_lot("MILK", "LATE", MAR, 1).unwrap();
    engine.load_lot("MILK", "EARLY", JAN, 2).unwrap();
    engine.load_lot_units("MILK", "A", "LATE", 10).unwrap();
    engine.load_lot_units("MILK", "B", "EARLY", 4).unwrap();
    assert_eq!(
        field_of(engine.load_lot("MILK", "LATE", MAR, 1).unwrap_err()),
        "lot"
    );
    assert_eq!(hold(&mut engine, 5), [("B".to_owned(), 5)]);
    assert_eq!(engine.audit(|_, _| false), Vec::<String>::new());
}

#[test]
fn a_moved_order_goes_to_the_oldest_lot_bin_that_has_enough() {
    let mut engine = engine();
    engine.receive("MILK", "A", 5, None, None, T0).unwrap();
    engine
        .receive("MILK", "B", 1, Some("OLD"), JAN, T0)
        .unwrap();
    engine
        .receive("MILK", "C", 10, Some("NEW"), MAR, T0)
        .unwrap();
    let order = committed(&mut engine, 5, Some("A"));
    // B has the oldest lot but only one unit: the five go to C.
    let moved = engine.reallocate(order, "MILK", "A", None, 5, T0).unwrap();
    let c = engine.catalogue().location_id("C").unwrap();
    assert_eq!(moved.view.lines[0].location, c);
}

#[test]
fn a_lot_never_received_is_named_before_any_shortage() {
    let mut engine = engine();
    engine.receive("MILK", "A", 2, None, None, T0).unwrap();
    let err = engine
        .transfer("MILK", "A", "B", 5, Some("L9"), T0)
        .unwrap_err();
    assert_eq!(field_of(err), "lot");
}

#[test]
fn an_unlotted_pick_short_of_unlotted_units_names_the_pick() {
    let mut engine = engine();
    engine.receive("MILK", "A", 3, Some("L1"), JAN, T0).unwrap();
    let order = committed(&mut engine, 3, None);
    let err = engine
        .ship(order, &[("MILK", "A", 1, None)], T0)
        .unwrap_err();
    assert_eq!(field_of(err), "picks[0].quantity");
}

#[test]
fn a_batch_sums_the_units_each_lot_gains_and_loses_per_bin() {
    let mut engine = engine();
    engine.receive("MILK", "A", 5, Some("L1"), JAN, T0).unwrap();
    engine.receive("MILK", "A", 2, None, None, T0).unwrap();
    engine
        .transfer("MILK", "A", "B", 2, Some("L1"), T0)
        .unwrap();
    engine.adjust("MILK", "B", -2, Some("L1"), T0).unwrap();
    let summary = reservoir_engine::summarize(&engine.drain(usize::MAX));
    let (sku, lot) = (0, engine.lots().id(0, "L1").unwrap());
    let a = engine.catalogue().location_id("A").unwrap();
    // B gained two and lost them: no net change, no row; unlotted units are no lot's.
    assert_eq!(summary.lot_deltas, [(sku, a, lot, 3)]);
}
