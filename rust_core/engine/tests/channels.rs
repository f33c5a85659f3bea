//! Sales channels: a channel's holds leave its safety buffer untaken and take units only
//! where it sells (a place and everything inside it).

use reservoir_engine::{Engine, EngineError, HoldFor, Limits, LineRequest, SafetyBuffer, Shortage};

const T0: i64 = 1_700_000_000_000;
const TTL: i64 = 60_000;

/// Two warehouses, EAST (bins E1, E2) and WEST (bin W1), 10 units of SKU-1 in each bin.
fn engine() -> Engine {
    let mut engine = Engine::new(Limits::default());
    for (code, parent) in [
        ("EAST", None),
        ("WEST", None),
        ("E1", Some("EAST")),
        ("E2", Some("EAST")),
        ("W1", Some("WEST")),
    ] {
        engine.define_location(code, true).unwrap();
        engine.set_location_parent(code, parent).unwrap();
    }
    engine.define_sku("SKU-1").unwrap();
    for bin in ["E1", "E2", "W1"] {
        engine.receive("SKU-1", bin, 10, None, None, T0).unwrap();
    }
    engine
}

fn one(quantity: i64) -> Vec<LineRequest<'static>> {
    vec![LineRequest {
        sku: "SKU-1",
        quantity,
        location: None,
    }]
}

fn shortage(err: EngineError) -> Shortage {
    match err {
        EngineError::InsufficientStock(mut s) => s.remove(0),
        other => panic!("expected a shortage, got {other:?}"),
    }
}

#[test]
fn a_channel_never_takes_its_safety_buffer() {
    let mut e = engine();
    e.define_channel("marketplace", SafetyBuffer::Units(5), None)
        .unwrap();
    e.define_channel("web", SafetyBuffer::NONE, None).unwrap();
    assert_eq!(
        e.available_to_channel("SKU-1", "marketplace", T0).unwrap(),
        25
    );
    e.reserve_for(&one(25), TTL, HoldFor::channel("marketplace"), T0)
        .unwrap();
    let refused = e
        .reserve_for(&one(1), TTL, HoldFor::channel("marketplace"), T0)
        .unwrap_err();
    assert_eq!(
        shortage(refused),
        Shortage {
            sku: "SKU-1".into(),
            requested: 1,
            available: 0
        }
    );
    // the buffered units are still there for a channel without a buffer
    e.reserve_for(&one(5), TTL, HoldFor::channel("web"), T0)
        .unwrap();
    assert_eq!(e.available_to_channel("SKU-1", "web", T0).unwrap(), 0);
}

#[test]
fn a_percent_buffer_is_of_the_units_on_hand_where_the_channel_sells_rounded_up() {
    let mut e = engine();
    e.define_channel("app", SafetyBuffer::Percent(10), None)
        .unwrap();
    assert_eq!(e.available_to_channel("SKU-1", "app", T0).unwrap(), 27); // 30 - ceil(3.0)
    e.define_channel("east", SafetyBuffer::Percent(5), Some(&["EAST"]))
        .unwrap();
    assert_eq!(e.available_to_channel("SKU-1", "east", T0).unwrap(), 19); // 20 - ceil(1.0)
}

#[test]
fn a_channel_sells_only_from_its_places_and_what_is_inside_them() {
    let mut e = engine();
    e.define_channel("east-web", SafetyBuffer::NONE, Some(&["EAST"]))
        .unwrap();
    let held = e
        .reserve_for(&one(15), TTL, HoldFor::channel("east-web"), T0)
        .unwrap();
    let west = e.catalogue().location_id("W1").unwrap();
    assert!(held.lines.iter().all(|l| l.location != west), "{held:?}");
    let refused = e
        .reserve_for(&one(6), TTL, HoldFor::channel("east-web"), T0)
        .unwrap_err();
    assert_eq!(
        shortage(refused).available,
        5,
        "WEST's 10 are not the channel's"
    );
    let named = [LineRequest {
        sku: "SKU-1",
        quantity: 1,
        location: Some("W1"),
    }];
    match e.reserve_for(&named, TTL, HoldFor::channel("east-web"), T0) {
        Err(EngineError::InvalidInput { field, .. }) => assert_eq!(field, "lines[0].location"),
        other => panic!("expected the named location refused, got {other:?}"),
    }
    // a hold without a channel still takes anywhere
    e.reserve(&named, TTL, T0).unwrap();
}

#[test]
fn labels_are_free_until_a_channel_is_defined_then_unknown_ones_are_refused() {
    let mut e = engine();
    e.reserve_for(&one(1), TTL, HoldFor::channel("pos"), T0)
        .unwrap();
    e.define_channel("web", SafetyBuffer::NONE, None).unwrap();
    let before = e.snapshot();
    assert_eq!(
        e.reserve_for(&one(1), TTL, HoldFor::channel("pos"), T0)
            .unwrap_err(),
        EngineError::UnknownChannel("pos".into())
    );
    assert_eq!(e.snapshot(), before);
    e.reserve(&one(1), TTL, T0).unwrap();
}

#[test]
fn bad_channels_and_parents_are_refused() {
    let mut e = engine();
    assert!(matches!(
        e.define_channel("web", SafetyBuffer::Percent(101), None),
        Err(EngineError::InvalidInput { field, .. }) if field == "safety_buffer_percent"
    ));
    assert!(matches!(
        e.define_channel("web", SafetyBuffer::NONE, Some(&["NOWHERE"])),
        Err(EngineError::UnknownLocation(_))
    ));
    assert!(matches!(
        e.set_location_parent("EAST", Some("E1")),
        Err(EngineError::InvalidInput { field, .. }) if field == "parent"
    ));
    assert!(e.channel("web").is_none(), "nothing was defined");
}
