//! Inbound stock: receipts of several lines (all or none), transfers in transit (shipped,
//! arrived, lost), returned units written off, and units on their way (never available).

use reservoir_engine::{Change, Engine, EngineError, HoldFor, Kind, Limits, LineRequest};

const T0: i64 = 1_700_000_000_000;
const JAN: Option<i32> = Some(20_454);
const MAR: Option<i32> = Some(20_513);

fn engine() -> Engine {
    let mut engine = Engine::new(Limits::default());
    for (code, sellable) in [("WH1-A", true), ("WH2-A", true), ("WH1-Q", false)] {
        engine.define_location(code, sellable).unwrap();
    }
    engine.define_sku("BOOT").unwrap();
    engine.receive("BOOT", "WH1-A", 10, None, None, T0).unwrap();
    engine.drain(usize::MAX);
    engine
}

/// on_hand + in transit of BOOT over every location.
fn units(e: &Engine) -> i64 {
    let on_hand: i64 = e.levels("BOOT").unwrap().iter().map(|l| l.on_hand).sum();
    let in_transit: i64 = e
        .inbound("BOOT")
        .unwrap()
        .iter()
        .map(|(_, i)| i.in_transit)
        .sum();
    on_hand + in_transit
}

fn level(e: &Engine, location: &str) -> (i64, i64, i64) {
    let id = e.catalogue().location_id(location).unwrap();
    let l = e
        .levels("BOOT")
        .unwrap()
        .iter()
        .find(|l| l.location == id)
        .copied();
    l.map_or((0, 0, 0), |l| (l.on_hand, l.reserved, l.committed))
}

fn in_transit(e: &Engine, location: &str) -> i64 {
    let id = e.catalogue().location_id(location).unwrap();
    let rows = e.inbound("BOOT").unwrap();
    rows.iter()
        .find(|(l, _)| *l == id)
        .map_or(0, |(_, i)| i.in_transit)
}

fn kinds(e: &mut Engine) -> Vec<&'static str> {
    let mut out = Vec::new();
    for entry in e.drain(usize::MAX) {
        entry
            .change
            .for_each_ledger_line(|kind, _, _, _, _| out.push(kind.as_str()));
    }
    out
}

#[test]
fn a_transfer_ships_travels_arrives_in_part_and_loses_the_rest() {
    let mut e = engine();
    let lsns = e
        .ship_transit(&[("BOOT", "WH1-A", "WH2-A", 6, None)], T0)
        .unwrap();
    assert_eq!(lsns.len(), 1);
    assert_eq!(kinds(&mut e), ["transit_out", "transit"]);
    assert_eq!(
        (level(&e, "WH1-A"), in_transit(&e, "WH2-A")),
        ((4, 0, 0), 6)
    );
    // units in transit are on no shelf: nobody can hold them
    let hold = [LineRequest {
        sku: "BOOT",
        quantity: 5,
        location: None,
    }];
    assert!(matches!(
        e.reserve(&hold, 1_000, T0),
        Err(EngineError::InsufficientStock(_))
    ));
    assert_eq!(
        units(&e),
        10,
        "shipping moves units, it does not make or lose any"
    );

    e.arrive_transit(&[("BOOT", "WH2-A", 4, None)], T0 + 1)
        .unwrap();
    assert_eq!(
        (level(&e, "WH2-A"), in_transit(&e, "WH2-A")),
        ((4, 0, 0), 2)
    );
    assert_eq!(units(&e), 10);
    let too_many = e.arrive_transit(&[("BOOT", "WH2-A", 3, None)], T0 + 2);
    assert!(
        matches!(too_many, Err(EngineError::InvalidInput { ref field, .. }) if field == "lines[0].quantity")
    );
    e.lose_transit(&[("BOOT", "WH2-A", 2, None)], T0 + 3)
        .unwrap();
    assert_eq!(kinds(&mut e), ["transit_in", "transit_lost"]);
    assert_eq!(
        (level(&e, "WH2-A"), in_transit(&e, "WH2-A")),
        ((4, 0, 0), 0)
    );
    assert_eq!(
        units(&e),
        8,
        "only a loss (or a receipt, a ship, an adjustment) moves it"
    );
    assert!(e.inbound("BOOT").unwrap().is_empty());
}

#[test]
fn only_units_nobody_holds_ship_and_every_line_or_none() {
    let mut e = engine();
    let hold = [LineRequest {
        sku: "BOOT",
        quantity: 7,
        location: Some("WH1-A"),
    }];
    e.reserve_for(&hold, 60_000, HoldFor::default(), T0)
        .unwrap();
    e.drain(usize::MAX);
    // two lines of one level summed: 2 + 2 > 3 unheld
    let err = e
        .ship_transit(
            &[
                ("BOOT", "WH1-A", "WH2-A", 2, None),
                ("BOOT", "WH1-A", "WH1-Q", 2, None),
            ],
            T0,
        )
        .unwrap_err();
    match err {
        EngineError::InsufficientStock(short) => {
            assert_eq!((short[0].requested, short[0].available), (4, 3));
        }
        other => panic!("expected a shortage, got {other:?}"),
    }
    let same = e.ship_transit(&[("BOOT", "WH1-A", "WH1-A", 1, None)], T0);
    assert!(matches!(same, Err(EngineError::InvalidInput { field, .. }) if field == "lines[0].to"));
    let unknown = e.ship_transit(&[("BOOT", "WH1-A", "NOWHERE", 1, None)], T0);
    assert_eq!(unknown.unwrap_err().code(), "unknown-location");
    assert_eq!(e.pending(), 0, "nothing was logged");
    assert_eq!(level(&e, "WH1-A"), (10, 7, 0));
}

#[test]
fn a_receipt_of_several_lines_is_all_or_nothing() {
    let mut e = engine();
    let bad = e.receive_lines(
        &[
            ("BOOT", "WH1-A", 5, Some("L1"), JAN),
            ("BOOT", "WH1-Q", 1, Some("L1"), MAR),
        ],
        T0,
    );
    assert!(
        matches!(bad, Err(EngineError::InvalidInput { ref field, .. }) if field == "lines[1].expires_on"),
        "{bad:?}"
    );
    let zero = e.receive_lines(
        &[
            ("BOOT", "WH1-A", 1, None, None),
            ("BOOT", "WH1-A", 0, None, None),
        ],
        T0,
    );
    assert!(
        matches!(zero, Err(EngineError::InvalidInput { ref field, .. }) if field == "lines[1].quantity")
    );
    assert_eq!(e.pending(), 0);
    assert_eq!(level(&e, "WH1-A"), (10, 0, 0));

    let done = e
        .receive_lines(
            &[
                ("BOOT", "WH1-A", 5, Some("L1"), JAN),
                ("BOOT", "WH1-Q", 1, Some("L1"), None),
            ],
            T0,
        )
        .unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(done[0].1.on_hand, 15);
    assert_eq!(level(&e, "WH1-Q"), (1, 0, 0));
    assert_eq!(e.lots().len(), 1, "one lot, brought in by the first line");
}

#[test]
fn a_written_off_return_is_recorded_and_never_in_stock() {
    let mut e = engine();
    let (_, after) = e.write_off("BOOT", "WH1-Q", 3, None, T0).unwrap();
    assert_eq!(after.on_hand, 0);
    let log = e.drain(usize::MAX);
    assert!(matches!(
        log[0].change,
        Change::WriteOff { quantity: 3, .. }
    ));
    assert_eq!(Kind::WriteOff.effect(3), Default::default());
    assert_eq!(units(&e), 10);
}

#[test]
fn incoming_units_are_read_but_never_available() {
    let mut e = engine();
    e.set_incoming("BOOT", "WH2-A", 40).unwrap();
    let rows = e.inbound("BOOT").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].1.incoming, rows[0].1.in_transit), (40, 0));
    assert_eq!(level(&e, "WH2-A"), (0, 0, 0));
    e.clear_incoming("BOOT").unwrap();
    assert!(e.inbound("BOOT").unwrap().is_empty());
    assert_eq!(
        e.pending(),
        0,
        "incoming is the purchase orders' record, not the log's"
    );
}

#[test]
fn units_that_arrive_go_to_the_waitlist() {
    let mut e = engine();
    e.ship_transit(&[("BOOT", "WH1-A", "WH2-A", 10, None)], T0)
        .unwrap();
    let entry = e
        .join_waitlist("BOOT", 2, HoldFor::buyer("b1"), T0)
        .unwrap()
        .entry;
    e.drain(usize::MAX);
    e.arrive_transit(&[("BOOT", "WH2-A", 3, None)], T0 + 1)
        .unwrap();
    let offered = e.drain(usize::MAX).into_iter().any(|entry_| {
        matches!(&entry_.change, Change::Reserve { parties: Some(p), .. } if p.entry == Some(entry))
    });
    assert!(offered);
}

#[test]
fn replaying_transit_rebuilds_what_is_in_transit() {
    let mut e = engine();
    let mut replayed = engine();
    e.ship_transit(&[("BOOT", "WH1-A", "WH2-A", 6, None)], T0)
        .unwrap();
    e.arrive_transit(&[("BOOT", "WH2-A", 1, None)], T0).unwrap();
    e.lose_transit(&[("BOOT", "WH2-A", 1, None)], T0).unwrap();
    e.write_off("BOOT", "WH1-Q", 1, None, T0).unwrap();
    for entry in e.drain(usize::MAX) {
        replayed.apply(&entry);
    }
    assert_eq!(replayed.snapshot(), e.snapshot());
    assert_eq!(e.snapshot().in_transit.values().sum::<i64>(), 4);
    // and a new engine loading it from the ledger's fold agrees
    let mut loaded = engine();
    loaded.load_in_transit("BOOT", "WH2-A", 4).unwrap();
    assert_eq!(loaded.snapshot().in_transit, e.snapshot().in_transit);
}
