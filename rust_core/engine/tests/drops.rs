//! Drops: no holds before the start, pools fenced per channel until `spill_at`, then one
//! stock; the drop's buyer cap while it runs; all of it rebuilt by a replay of the log.

use reservoir_engine::{DropSpec, Engine, EngineError, HoldFor, Limits, LineRequest, SafetyBuffer};

const START: i64 = 1_700_000_000_000;
const SPILL: i64 = START + 600_000;
const END: i64 = START + 3_600_000;
const TTL: i64 = 60_000;

/// 100 units of DROP-1 in one bin; channels web and app; a drop with pools web 40, app 30.
fn engine() -> Engine {
    let mut engine = Engine::new(Limits::default());
    engine.define_location("BIN", true).unwrap();
    engine.define_sku("DROP-1").unwrap();
    engine
        .receive("DROP-1", "BIN", 100, None, None, START - 1)
        .unwrap();
    for channel in ["web", "app", "pos"] {
        engine
            .define_channel(channel, SafetyBuffer::NONE, None)
            .unwrap();
    }
    engine
        .define_drop(&DropSpec {
            code: "SPRING",
            sku: "DROP-1",
            starts_at_ms: START,
            ends_at_ms: END,
            spill_at_ms: Some(SPILL),
            per_buyer_max: Some(3),
            pools: &[("web", 40), ("app", 30)],
        })
        .unwrap();
    engine.drain(usize::MAX);
    engine
}

fn one(quantity: i64) -> Vec<LineRequest<'static>> {
    vec![LineRequest {
        sku: "DROP-1",
        quantity,
        location: None,
    }]
}

fn for_channel(channel: &'static str) -> HoldFor<'static> {
    HoldFor::channel(channel)
}

fn available(err: EngineError) -> i64 {
    match err {
        EngineError::InsufficientStock(s) => s[0].available,
        other => panic!("expected a shortage, got {other:?}"),
    }
}

#[test]
fn nothing_is_held_before_the_start() {
    let mut e = engine();
    let err = e
        .reserve_for(&one(1), TTL, for_channel("web"), START - 1)
        .unwrap_err();
    assert_eq!(
        err,
        EngineError::DropNotStarted {
            drop: "SPRING".into(),
            sku: "DROP-1".into(),
            starts_at_ms: START
        }
    );
    assert_eq!(err.code(), "drop-not-started");
    assert!(
        e.reserve(&one(1), TTL, START - 1).is_err(),
        "nor without a channel"
    );
}

#[test]
fn pools_are_fenced_for_their_channel_until_the_spill() {
    let mut e = engine();
    // general stock: 100 - 40 - 30 = 30; web may take its 40 and the 30 general
    assert_eq!(e.available_to_hold("DROP-1", None, START).unwrap(), 30);
    assert_eq!(
        e.available_to_hold("DROP-1", Some("web"), START).unwrap(),
        70
    );
    assert_eq!(available(e.reserve(&one(31), TTL, START).unwrap_err()), 30);
    assert_eq!(
        available(
            e.reserve_for(&one(31), TTL, for_channel("pos"), START)
                .unwrap_err()
        ),
        30,
        "a channel without a pool sees general stock only"
    );
    e.reserve_for(&one(40), TTL, for_channel("web"), START)
        .unwrap();
    assert_eq!(e.drop_pool_taken("SPRING", "web"), Some(40));
    // web's pool is gone; it now competes for the general 30 like everyone else
    assert_eq!(
        e.available_to_hold("DROP-1", Some("web"), START).unwrap(),
        30
    );
    e.reserve_for(&one(30), TTL, for_channel("web"), START)
        .unwrap();
    assert_eq!(
        available(e.reserve(&one(1), TTL, START).unwrap_err()),
        0,
        "app's 30 stay fenced"
    );
    e.reserve_for(&one(30), TTL, for_channel("app"), START)
        .unwrap();
    assert!(e.audit(|_, _| false).is_empty());
}

#[test]
fn released_units_go_back_to_the_pool_and_unsold_ones_spill() {
    let mut e = engine();
    let held = e
        .reserve_for(&one(10), TTL, for_channel("app"), START)
        .unwrap();
    assert_eq!(e.available_to_hold("DROP-1", None, START).unwrap(), 30);
    e.release(held.seq, START + 1).unwrap();
    assert_eq!(e.drop_pool_taken("SPRING", "app"), Some(0));
    // at the spill the pools' unsold units are everyone's
    assert_eq!(e.available_to_hold("DROP-1", None, SPILL).unwrap(), 100);
    e.reserve(&one(100), TTL, SPILL).unwrap();
}

#[test]
fn a_pool_counts_what_its_channel_shipped() {
    let mut e = engine();
    let order = e
        .reserve_for(&one(5), TTL, for_channel("web"), START)
        .unwrap();
    e.commit(order.seq, START).unwrap();
    e.ship(order.seq, &[("DROP-1", "BIN", 5, None)], START)
        .unwrap();
    assert_eq!(e.drop_pool_taken("SPRING", "web"), Some(5));
    assert_eq!(
        e.available_to_hold("DROP-1", Some("web"), START).unwrap(),
        65
    );
}

#[test]
fn the_drop_caps_each_buyer_while_it_runs() {
    let mut e = engine();
    let who = HoldFor {
        channel: Some("web"),
        buyer: Some("cust-1"),
    };
    e.reserve_for(&one(3), TTL, who, START).unwrap();
    let err = e.reserve_for(&one(1), TTL, who, START + 1).unwrap_err();
    assert_eq!(err.code(), "buyer-limit");
    e.reserve_for(&one(1), TTL, who, END)
        .expect("after the end the drop's cap is off");
}

#[test]
fn bad_drops_are_refused_and_change_nothing() {
    let mut e = engine();
    let spec = |pools| DropSpec {
        code: "SUMMER",
        sku: "DROP-1",
        starts_at_ms: START,
        ends_at_ms: END,
        spill_at_ms: None,
        per_buyer_max: None,
        pools,
    };
    assert!(matches!(
        e.define_drop(&DropSpec { code: "SPRING", ..spec(&[("web", 101)]) }),
        Err(EngineError::InvalidInput { field, .. }) if field == "pools"
    ));
    assert!(matches!(
        e.define_drop(&spec(&[("web", 1)])),
        Err(EngineError::InvalidInput { field, .. }) if field == "sku"
    ));
    assert!(matches!(
        e.define_drop(&DropSpec {
            code: "SPRING",
            ..spec(&[("nowhere", 1)])
        }),
        Err(EngineError::UnknownChannel(_))
    ));
    assert_eq!(
        e.drop_pool_taken("SPRING", "web"),
        Some(0),
        "the drop is as it was"
    );
    assert!(e.drop("SUMMER").is_none());
}

#[test]
fn replaying_the_log_rebuilds_the_pools() {
    let mut e = engine();
    let base = e.clone();
    let a = e
        .reserve_for(&one(12), TTL, for_channel("web"), START)
        .unwrap();
    e.reserve_for(&one(7), TTL, for_channel("app"), START + 5)
        .unwrap();
    e.release(a.seq, START + 10).unwrap();
    e.reserve_for(&one(4), TTL, for_channel("web"), START + 20)
        .unwrap();
    e.reserve_for(&one(2), TTL, for_channel("web"), SPILL)
        .unwrap(); // after the spill: not the pool's
    let mut replayed = base;
    for entry in e.drain(usize::MAX) {
        replayed.apply(&entry);
    }
    assert_eq!(replayed.snapshot(), e.snapshot());
    assert_eq!(replayed.drop_pool_taken("SPRING", "web"), Some(4));
    assert_eq!(replayed.drop_pool_taken("SPRING", "app"), Some(7));
}
