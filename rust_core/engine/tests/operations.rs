//! Each engine operation, as a user of the engine sees it.

use reservoir_engine::{
    Change, Engine, EngineError, Limits, LineRequest, OpenLines, Shortage, Status,
};

const T0: i64 = 1_700_000_000_000;

fn engine_with(stock: &[(&str, &str, i64)]) -> Engine {
    let mut engine = Engine::new(Limits::default());
    engine.define_location("A", true).unwrap();
    engine.define_location("B", true).unwrap();
    engine.define_location("QC", false).unwrap();
    for sku in ["SKU-1", "SKU-2"] {
        engine.define_sku(sku).unwrap();
    }
    for &(sku, location, quantity) in stock {
        engine
            .receive(sku, location, quantity, None, None, T0)
            .unwrap();
    }
    engine
}

/// The kinds of the ledger lines the undrained log writes, in order.
fn ledger_kinds(engine: &mut Engine) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    for entry in engine.drain(usize::MAX) {
        entry
            .change
            .for_each_ledger_line(|kind, _, _, _, _| kinds.push(kind.as_str()));
    }
    kinds
}

fn line(sku: &str, quantity: i64) -> LineRequest<'_> {
    LineRequest {
        sku,
        quantity,
        location: None,
    }
}

fn at<'a>(sku: &'a str, quantity: i64, location: &'a str) -> LineRequest<'a> {
    LineRequest {
        sku,
        quantity,
        location: Some(location),
    }
}

fn level(engine: &Engine, sku: &str, location: &str) -> (i64, i64, i64, i64) {
    let id = engine.catalogue().location_id(location).unwrap();
    let l = engine
        .levels(sku)
        .unwrap()
        .iter()
        .find(|l| l.location == id)
        .copied()
        .unwrap_or_default();
    (l.on_hand, l.reserved, l.committed, l.available())
}

#[test]
fn receive_and_adjust_change_on_hand_and_log_it() {
    let mut engine = engine_with(&[]);
    let (lsn, lvl) = engine.receive("SKU-1", "A", 10, None, None, T0).unwrap();
    assert_eq!((lsn, lvl.on_hand), (1, 10));
    let (lsn, lvl) = engine.adjust("SKU-1", "A", -3, None, T0).unwrap();
    assert_eq!((lsn, lvl.on_hand), (2, 7));
    let err = engine.adjust("SKU-1", "A", -8, None, T0).unwrap_err();
    assert!(
        matches!(err, EngineError::InvalidInput { ref field, .. } if field == "delta"),
        "{err}"
    );
    assert_eq!(
        engine.receive("NOPE", "A", 1, None, None, T0).unwrap_err(),
        EngineError::UnknownSku("NOPE".into())
    );
    assert_eq!(
        engine.receive("SKU-1", "Z", 1, None, None, T0).unwrap_err(),
        EngineError::UnknownLocation("Z".into())
    );
    assert!(matches!(
        engine.receive("SKU-1", "A", 0, None, None, T0),
        Err(EngineError::InvalidInput { .. })
    ));
    let log = engine.drain(100);
    assert_eq!(log.len(), 2);
    assert!(matches!(
        log[1].change,
        Change::Adjustment { delta: -3, .. }
    ));
    assert_eq!(level(&engine, "SKU-1", "A"), (7, 0, 0, 7));
}

#[test]
fn reserve_holds_all_lines_or_none() {
    let mut engine = engine_with(&[("SKU-1", "A", 5), ("SKU-2", "A", 1)]);
    let err = engine
        .reserve(&[line("SKU-1", 2), line("SKU-2", 2)], 60_000, T0)
        .unwrap_err();
    assert_eq!(
        err,
        EngineError::InsufficientStock(vec![Shortage {
            sku: "SKU-2".into(),
            requested: 2,
            available: 1
        }])
    );
    assert_eq!(
        level(&engine, "SKU-1", "A"),
        (5, 0, 0, 5),
        "a refused reservation holds nothing"
    );
    let held = engine
        .reserve(&[line("SKU-1", 2), line("SKU-2", 1)], 60_000, T0)
        .unwrap();
    assert_eq!(held.status, Status::Held);
    assert_eq!(held.expires_at_ms, T0 + 60_000);
    assert_eq!(level(&engine, "SKU-1", "A"), (5, 2, 0, 3));
    assert_eq!(level(&engine, "SKU-2", "A"), (1, 1, 0, 0));
}

#[test]
fn unplaced_lines_take_the_fullest_sellable_location_first_and_split() {
    let mut engine = engine_with(&[("SKU-1", "A", 3), ("SKU-1", "B", 5), ("SKU-1", "QC", 100)]);
    let held = engine.reserve(&[line("SKU-1", 7)], 1_000, T0).unwrap();
    let cat = engine.catalogue();
    let lines: Vec<_> = held
        .lines
        .iter()
        .map(|l| (cat.location(l.location), l.quantity))
        .collect();
    assert_eq!(lines, vec![("B", 5), ("A", 2)]);
    let err = engine.reserve(&[line("SKU-1", 2)], 1_000, T0).unwrap_err();
    assert_eq!(
        err,
        EngineError::InsufficientStock(vec![Shortage {
            sku: "SKU-1".into(),
            requested: 2,
            available: 1
        }]),
        "non-sellable QC stock is never held"
    );
    assert!(matches!(
        engine.reserve(&[at("SKU-1", 1, "QC")], 1_000, T0),
        Err(EngineError::InsufficientStock(_))
    ));
}

#[test]
fn named_lines_are_served_before_pooled_ones() {
    let mut engine = engine_with(&[("SKU-1", "A", 2), ("SKU-1", "B", 2)]);
    // The pooled line alone would take from A (tie, defined first); the named line needs A.
    let held = engine
        .reserve(&[line("SKU-1", 2), at("SKU-1", 2, "A")], 1_000, T0)
        .unwrap();
    let cat = engine.catalogue();
    let lines: Vec<_> = held
        .lines
        .iter()
        .map(|l| (cat.location(l.location), l.quantity))
        .collect();
    assert_eq!(
        lines,
        vec![("B", 2), ("A", 2)],
        "lines keep the request's order"
    );
}

#[test]
fn bad_reservations_are_refused_and_change_nothing() {
    let mut engine = engine_with(&[("SKU-1", "A", 5)]);
    let limits = *engine.limits();
    let too_many: Vec<_> = (0..=limits.lines_per_reservation_max)
        .map(|_| line("SKU-1", 1))
        .collect();
    let cases: Vec<(Vec<LineRequest>, i64, &str)> = vec![
        (vec![], 1_000, "lines"),
        (too_many, 1_000, "lines"),
        (vec![line("SKU-1", 0)], 1_000, "lines[0].quantity"),
        (
            vec![line("SKU-1", 1), line("SKU-1", -1)],
            1_000,
            "lines[1].quantity",
        ),
        (vec![line("SKU-1", 1_000_001)], 1_000, "lines[0].quantity"),
        (vec![line("SKU-1", 1)], 0, "ttl_ms"),
        (vec![line("SKU-1", 1)], limits.ttl_ms_max + 1, "ttl_ms"),
    ];
    for (lines, ttl, field) in cases {
        match engine.reserve(&lines, ttl, T0).unwrap_err() {
            EngineError::InvalidInput { field: f, .. }
            | EngineError::LimitExceeded { field: f, .. } => {
                assert_eq!(f, field)
            }
            other => panic!("{field}: {other}"),
        }
    }
    assert_eq!(
        engine.reserve(&[line("GHOST", 1)], 1_000, T0).unwrap_err(),
        EngineError::UnknownSku("GHOST".into())
    );
    assert_eq!(level(&engine, "SKU-1", "A"), (5, 0, 0, 5));
    assert_eq!(engine.pending(), 1, "only the receipt was logged");
}

#[test]
fn commit_moves_units_to_committed_and_stops_the_clock() {
    let mut engine = engine_with(&[("SKU-1", "A", 5)]);
    let held = engine.reserve(&[line("SKU-1", 2)], 1_000, T0).unwrap();
    let done = engine.commit(held.seq, T0 + 10).unwrap();
    assert!(done.changed);
    assert_eq!(done.view.status, Status::Committed);
    assert_eq!(level(&engine, "SKU-1", "A"), (5, 0, 2, 3));
    let again = engine.commit(held.seq, T0 + 20).unwrap();
    assert!(!again.changed, "committing twice changes nothing");
    assert_eq!(
        engine.expire_due(T0 + 10_000, usize::MAX),
        0,
        "committed never expires"
    );
    assert_eq!(level(&engine, "SKU-1", "A"), (5, 0, 2, 3));
}

#[test]
fn commit_of_a_lapsed_hold_expires_it_and_is_refused() {
    let mut engine = engine_with(&[("SKU-1", "A", 5)]);
    let held = engine.reserve(&[line("SKU-1", 2)], 1_000, T0).unwrap();
    let err = engine.commit(held.seq, T0 + 1_000).unwrap_err();
    assert_eq!(
        err,
        EngineError::InvalidState {
            seq: held.seq,
            status: Status::Expired
        }
    );
    assert_eq!(level(&engine, "SKU-1", "A"), (5, 0, 0, 5));
    assert_eq!(engine.get(held.seq).unwrap().status, Status::Expired);
}

#[test]
fn release_gives_back_once_and_cancels_orders() {
    let mut engine = engine_with(&[("SKU-1", "A", 5)]);
    let held = engine.reserve(&[line("SKU-1", 2)], 1_000, T0).unwrap();
    let out = engine.release(held.seq, T0).unwrap();
    assert!(out.changed && out.view.status == Status::Released);
    assert_eq!(level(&engine, "SKU-1", "A"), (5, 0, 0, 5));
    let again = engine.release(held.seq, T0).unwrap();
    assert!(!again.changed && again.view.status == Status::Released);
    assert_eq!(
        again.view.lsn, out.view.lsn,
        "a repeat waits for the same entry"
    );
    assert_eq!(
        engine.commit(held.seq, T0).unwrap_err(),
        EngineError::InvalidState {
            seq: held.seq,
            status: Status::Released
        }
    );

    let order = engine.reserve(&[line("SKU-1", 3)], 1_000, T0).unwrap();
    engine.commit(order.seq, T0).unwrap();
    let cancelled = engine.release(order.seq, T0).unwrap();
    assert_eq!(cancelled.view.status, Status::Released);
    assert_eq!(level(&engine, "SKU-1", "A"), (5, 0, 0, 5));
    assert_eq!(
        ledger_kinds(&mut engine),
        ["receipt", "reserve", "release", "reserve", "commit", "cancel"]
    );
}

#[test]
fn release_of_a_lapsed_hold_reads_expired() {
    let mut engine = engine_with(&[("SKU-1", "A", 5)]);
    let held = engine.reserve(&[line("SKU-1", 2)], 1_000, T0).unwrap();
    let out = engine.release(held.seq, T0 + 5_000).unwrap();
    assert_eq!(out.view.status, Status::Expired);
    assert_eq!(level(&engine, "SKU-1", "A"), (5, 0, 0, 5));
}

#[test]
fn extend_moves_the_expiry() {
    let mut engine = engine_with(&[("SKU-1", "A", 5)]);
    let held = engine.reserve(&[line("SKU-1", 2)], 1_000, T0).unwrap();
    let out = engine.extend(held.seq, 5_000, T0 + 500).unwrap();
    assert_eq!(out.view.expires_at_ms, T0 + 5_500);
    assert_eq!(engine.expire_due(T0 + 5_499, usize::MAX), 0);
    assert_eq!(engine.expire_due(T0 + 5_500, usize::MAX), 1);
    assert_eq!(
        engine.extend(held.seq, 5_000, T0 + 6_000).unwrap_err(),
        EngineError::InvalidState {
            seq: held.seq,
            status: Status::Expired
        }
    );
    let order = engine.reserve(&[line("SKU-1", 1)], 1_000, T0).unwrap();
    engine.commit(order.seq, T0).unwrap();
    assert_eq!(
        engine.extend(order.seq, 5_000, T0).unwrap_err(),
        EngineError::InvalidState {
            seq: order.seq,
            status: Status::Committed
        }
    );
}

#[test]
fn expiry_gives_units_back_exactly_at_expires_at() {
    let mut engine = engine_with(&[("SKU-1", "A", 100)]);
    let seqs: Vec<_> = (0..50)
        .map(|i| {
            engine
                .reserve(&[line("SKU-1", 1)], 1_000 + i * 7, T0)
                .unwrap()
                .seq
        })
        .collect();
    assert_eq!(engine.expire_due(T0 + 999, usize::MAX), 0);
    let due_by = |t: i64| (0..50).filter(|i| 1_000 + i * 7 <= t).count();
    assert_eq!(engine.expire_due(T0 + 1_100, usize::MAX), due_by(1_100));
    assert_eq!(level(&engine, "SKU-1", "A").1, 50 - due_by(1_100) as i64);
    assert_eq!(engine.expire_due(T0 + 10_000, 5), 5, "max bounds one call");
    engine.expire_due(T0 + 10_000, usize::MAX);
    assert_eq!(level(&engine, "SKU-1", "A"), (100, 0, 0, 100));
    assert!(seqs
        .iter()
        .all(|&s| engine.get(s).unwrap().status == Status::Expired));
    assert_eq!(engine.next_expiry_ms(), None);
}

#[test]
fn unknown_reservations_are_not_found_and_finished_ones_are_pruned_once_durable() {
    let mut engine = engine_with(&[("SKU-1", "A", 5)]);
    assert_eq!(
        engine.commit(99, T0).unwrap_err(),
        EngineError::ReservationNotFound(99)
    );
    let held = engine.reserve(&[line("SKU-1", 1)], 1_000, T0).unwrap();
    let out = engine.release(held.seq, T0).unwrap();
    engine.prune_finished(out.view.lsn - 1);
    assert!(engine.get(held.seq).is_some());
    engine.prune_finished(out.view.lsn);
    assert!(engine.get(held.seq).is_none());
    assert_eq!(
        engine.release(held.seq, T0).unwrap_err(),
        EngineError::ReservationNotFound(held.seq)
    );
}

#[test]
fn shrinkage_reads_zero_available_and_is_reported_as_shortfall() {
    let mut engine = engine_with(&[("SKU-1", "A", 5)]);
    engine.reserve(&[line("SKU-1", 4)], 1_000, T0).unwrap();
    engine.adjust("SKU-1", "A", -3, None, T0).unwrap();
    assert_eq!(level(&engine, "SKU-1", "A"), (2, 4, 0, 0));
    let l = engine.levels("SKU-1").unwrap()[0];
    assert_eq!(l.shortfall(), 2);
    assert_eq!(engine.audit(|_, _| true), Vec::<String>::new());
    assert_eq!(
        engine.audit(|_, _| false).len(),
        1,
        "unexplained oversell is reported"
    );
}

#[test]
fn backpressure_when_the_writer_falls_behind() {
    let limits = Limits {
        log_entries_max: 3,
        ..Limits::default()
    };
    let mut engine = Engine::new(limits);
    engine.define_location("A", true).unwrap();
    engine.define_sku("SKU-1").unwrap();
    for _ in 0..3 {
        engine.receive("SKU-1", "A", 1, None, None, T0).unwrap();
    }
    assert_eq!(
        engine.receive("SKU-1", "A", 1, None, None, T0).unwrap_err(),
        EngineError::Backpressure { pending: 3 }
    );
    engine.drain(1);
    engine.receive("SKU-1", "A", 1, None, None, T0).unwrap();
}

#[test]
fn recovery_loads_levels_and_open_reservations() {
    let mut source = engine_with(&[("SKU-1", "A", 10)]);
    let held = source.reserve(&[line("SKU-1", 2)], 1_000, T0).unwrap();
    let order = source.reserve(&[line("SKU-1", 3)], 1_000, T0).unwrap();
    source.commit(order.seq, T0).unwrap();

    let mut loaded = engine_with(&[]);
    loaded.drain(usize::MAX);
    loaded.load_level("SKU-1", "A", 10, 2, 3).unwrap();
    let mut open = OpenLines::default();
    // In any order, as the ledger may list them.
    open.push(
        order.seq,
        1,
        Status::Committed,
        T0 + 1_000,
        "SKU-1",
        "A",
        3,
        None,
    );
    open.push(held.seq, 1, Status::Held, T0 + 1_000, "SKU-1", "A", 2, None);
    assert_eq!(loaded.load_open_lines(open).unwrap(), 2);
    loaded.set_last_lsn(source.last_lsn());
    assert_eq!(loaded.snapshot(), source.snapshot());
    assert_eq!(loaded.next_seq(), source.next_seq());
    assert_eq!(loaded.expire_due(T0 + 1_000, usize::MAX), 1);
    assert_eq!(loaded.audit(|_, _| false), Vec::<String>::new());
    assert_eq!(
        loaded.reserve(&[line("SKU-1", 1)], 1_000, T0).unwrap().lsn,
        source.last_lsn() + 2
    );
}

#[test]
fn a_bulk_load_groups_lines_by_reservation_in_line_order() {
    let mut loaded = engine_with(&[("SKU-1", "A", 10), ("SKU-2", "B", 10)]);
    loaded.drain(usize::MAX);
    let mut open = OpenLines::default();
    open.push(9, 2, Status::Held, T0 + 5, "SKU-2", "B", 4, None);
    open.push(7, 1, Status::Held, T0 + 9, "SKU-1", "A", 1, None);
    open.push(9, 1, Status::Held, T0 + 5, "SKU-1", "A", 3, None);
    assert_eq!(open.len(), 3);
    assert_eq!(loaded.load_open_lines(open).unwrap(), 2);
    let nine = loaded.get(9).unwrap();
    let lines: Vec<_> = nine.lines.iter().map(|l| l.quantity).collect();
    assert_eq!(lines, vec![3, 4]);
    assert_eq!(nine.expires_at_ms, T0 + 5);
    assert_eq!(loaded.next_seq(), 10);
    assert_eq!(loaded.expire_due(T0 + 5, usize::MAX), 1);
}

#[test]
fn a_refused_bulk_load_loads_nothing() {
    type Refusal = (&'static str, fn(&mut OpenLines));
    let refusals: [Refusal; 6] = [
        ("a final status", |o| {
            o.push(3, 1, Status::Released, T0, "SKU-1", "A", 1, None)
        }),
        ("an unknown SKU", |o| {
            o.push(3, 1, Status::Held, T0, "NOPE", "A", 1, None)
        }),
        ("an unknown location", |o| {
            o.push(3, 1, Status::Held, T0, "SKU-1", "NOPE", 1, None)
        }),
        ("a zero quantity", |o| {
            o.push(3, 1, Status::Held, T0, "SKU-1", "A", 0, None)
        }),
        ("a quantity out of range", |o| {
            o.push(
                3,
                1,
                Status::Held,
                T0,
                "SKU-1",
                "A",
                i64::from(u32::MAX) + 1,
                None,
            )
        }),
        ("lines that disagree", |o| {
            o.push(3, 2, Status::Committed, T0, "SKU-1", "A", 1, None)
        }),
    ];
    for (why, refusal) in refusals {
        let mut loaded = engine_with(&[("SKU-1", "A", 10)]);
        loaded.drain(usize::MAX);
        let before = loaded.snapshot();
        let mut open = OpenLines::default();
        open.push(1, 1, Status::Held, T0, "SKU-1", "A", 1, None);
        open.push(3, 1, Status::Held, T0, "SKU-1", "A", 1, None);
        refusal(&mut open);
        assert!(loaded.load_open_lines(open).is_err(), "{why}");
        assert_eq!(loaded.snapshot(), before, "{why}");
        assert!(loaded.get(1).is_none(), "{why}");
    }
}

#[test]
fn a_reservation_already_loaded_is_refused() {
    let mut loaded = engine_with(&[("SKU-1", "A", 10)]);
    let mut open = OpenLines::default();
    open.push(1, 1, Status::Held, T0, "SKU-1", "A", 1, None);
    loaded.load_open_lines(open).unwrap();
    let mut again = OpenLines::default();
    again.push(1, 1, Status::Held, T0, "SKU-1", "A", 1, None);
    assert_eq!(
        loaded.load_open_lines(again).unwrap_err(),
        EngineError::InvalidInput {
            field: "reservation_id".into(),
            reason: "loaded twice".into()
        }
    );
}

#[test]
fn shipping_takes_units_off_on_hand_and_committed_and_fulfils() {
    let mut engine = engine_with(&[("SKU-1", "A", 5)]);
    let order = engine.reserve(&[line("SKU-1", 3)], 1_000, T0).unwrap();
    assert_eq!(
        engine
            .ship(order.seq, &[("SKU-1", "A", 1, None)], T0)
            .unwrap_err(),
        EngineError::InvalidState {
            seq: order.seq,
            status: Status::Held
        },
        "only committed orders ship"
    );
    engine.commit(order.seq, T0).unwrap();
    let short = engine
        .ship(order.seq, &[("SKU-1", "A", 2, None)], T0)
        .unwrap();
    assert_eq!(short.view.status, Status::Committed);
    assert_eq!(
        short.view.lines[0].quantity, 1,
        "the short-picked unit stays committed"
    );
    assert_eq!(level(&engine, "SKU-1", "A"), (3, 0, 1, 2));
    let too_many = engine
        .ship(order.seq, &[("SKU-1", "A", 2, None)], T0)
        .unwrap_err();
    assert!(
        matches!(too_many, EngineError::InvalidInput { ref field, .. } if field == "picks[0].quantity")
    );
    let done = engine
        .ship(order.seq, &[("SKU-1", "A", 1, None)], T0)
        .unwrap();
    assert_eq!(done.view.status, Status::Fulfilled);
    assert_eq!(level(&engine, "SKU-1", "A"), (2, 0, 0, 2));
    assert_eq!(
        engine.release(order.seq, T0).unwrap_err(),
        EngineError::InvalidState {
            seq: order.seq,
            status: Status::Fulfilled
        }
    );
    let kinds = ledger_kinds(&mut engine);
    assert_eq!(kinds[kinds.len() - 2..], ["ship", "ship"]);
}

#[test]
fn returns_add_on_hand_and_transfers_move_only_unpromised_units() {
    let mut engine = engine_with(&[("SKU-1", "A", 5)]);
    let (_, after) = engine.return_units("SKU-1", "QC", 2, None, T0).unwrap();
    assert_eq!(
        (after.on_hand, engine.reservable(&after)),
        (2, 0),
        "QC is not sellable"
    );
    engine.reserve(&[at("SKU-1", 4, "A")], 1_000, T0).unwrap();
    let refused = engine.transfer("SKU-1", "A", "B", 2, None, T0).unwrap_err();
    assert_eq!(
        refused,
        EngineError::InsufficientStock(vec![Shortage {
            sku: "SKU-1".into(),
            requested: 2,
            available: 1
        }]),
        "held units never move"
    );
    let (_, from, to) = engine.transfer("SKU-1", "QC", "B", 2, None, T0).unwrap();
    assert_eq!((from.on_hand, to.on_hand), (0, 2));
    assert_eq!(level(&engine, "SKU-1", "B"), (2, 0, 0, 2));
    assert!(
        matches!(engine.transfer("SKU-1", "B", "B", 1, None, T0), Err(EngineError::InvalidInput { ref field, .. }) if field == "to")
    );
    assert_eq!(
        engine
            .transfer("SKU-1", "B", "NOPE", 1, None, T0)
            .unwrap_err(),
        EngineError::UnknownLocation("NOPE".into())
    );
    assert_eq!(
        ledger_kinds(&mut engine),
        [
            "receipt",
            "return",
            "reserve",
            "transfer_out",
            "transfer_in"
        ]
    );
    assert_eq!(engine.audit(|_, _| false), Vec::<String>::new());
}

#[test]
fn a_short_picked_line_moves_to_the_location_with_the_most_to_spare() {
    let mut engine = engine_with(&[("SKU-1", "A", 4), ("SKU-1", "B", 3)]);
    engine.define_location("C", true).unwrap();
    engine.receive("SKU-1", "C", 3, None, None, T0).unwrap();
    let order = engine.reserve(&[at("SKU-1", 4, "A")], 1_000, T0).unwrap();
    assert_eq!(
        engine
            .reallocate(order.seq, "SKU-1", "A", None, 1, T0)
            .unwrap_err(),
        EngineError::InvalidState {
            seq: order.seq,
            status: Status::Held
        },
        "only orders move"
    );
    engine.commit(order.seq, T0).unwrap();
    engine
        .ship(order.seq, &[("SKU-1", "A", 2, None)], T0)
        .unwrap(); // 2 of 4 found
    let moved = engine
        .reallocate(order.seq, "SKU-1", "A", None, 2, T0)
        .unwrap();
    let cat = engine.catalogue();
    let lines: Vec<_> = moved
        .view
        .lines
        .iter()
        .map(|l| (cat.location(l.location), l.quantity))
        .collect();
    assert_eq!(
        lines,
        vec![("B", 2)],
        "B and C tie at 3: the lower code wins"
    );
    assert_eq!(level(&engine, "SKU-1", "A"), (2, 0, 0, 2));
    assert_eq!(level(&engine, "SKU-1", "B"), (3, 0, 2, 1));
    let none = engine
        .reallocate(order.seq, "SKU-1", "B", Some("C"), 9, T0)
        .unwrap_err();
    assert!(matches!(none, EngineError::InvalidInput { ref field, .. } if field == "quantity"));
    let short = engine.reallocate(order.seq, "SKU-1", "B", Some("A"), 2, T0);
    assert!(short.is_ok(), "A has 2 to spare again");
    assert_eq!(
        ledger_kinds(&mut engine)[5..],
        ["ship", "cancel", "reserve", "commit", "cancel", "reserve", "commit"]
    );
    assert_eq!(engine.audit(|_, _| false), Vec::<String>::new());
}
