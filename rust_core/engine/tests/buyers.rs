//! Per-buyer caps: a buyer's units of a SKU (held, committed and shipped, over every
//! reservation) never pass the SKU's cap; units come back to the count only when unsold.

use reservoir_engine::{Engine, EngineError, HoldFor, Limits, LineRequest, OpenLines, Status};

const T0: i64 = 1_700_000_000_000;
const TTL: i64 = 60_000;

fn engine() -> Engine {
    let mut engine = Engine::new(Limits::default());
    engine.define_location("A", true).unwrap();
    engine.define_location("B", true).unwrap();
    for sku in ["DROP-1", "OTHER"] {
        engine.define_sku(sku).unwrap();
        engine.receive(sku, "A", 50, None, None, T0).unwrap();
        engine.receive(sku, "B", 50, None, None, T0).unwrap();
    }
    engine.set_per_buyer_max("DROP-1", Some(2)).unwrap();
    engine.drain(usize::MAX); // the receipts are the ledger's now
    engine
}

fn one(sku: &str, quantity: i64) -> Vec<LineRequest<'_>> {
    vec![LineRequest {
        sku,
        quantity,
        location: None,
    }]
}

fn limit(err: EngineError) -> (u64, u64, u64) {
    match err {
        EngineError::BuyerLimit {
            current,
            requested,
            max,
            ..
        } => (current, requested, max),
        other => panic!("expected a buyer limit, got {other:?}"),
    }
}

#[test]
fn a_buyer_cannot_pass_the_cap_over_several_carts() {
    let mut e = engine();
    e.reserve_for(&one("DROP-1", 1), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap();
    e.reserve_for(&one("DROP-1", 1), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap();
    let err = e
        .reserve_for(&one("DROP-1", 1), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap_err();
    assert_eq!(err.code(), "buyer-limit");
    assert_eq!(limit(err), (2, 1, 2));
    assert_eq!(e.buyer_units("cust-1", "DROP-1").unwrap(), 2);
    // other buyers, anonymous holds and other SKUs are not limited by it
    e.reserve_for(&one("DROP-1", 2), TTL, HoldFor::buyer("cust-2"), T0)
        .unwrap();
    e.reserve(&one("DROP-1", 5), TTL, T0).unwrap();
    e.reserve_for(&one("OTHER", 9), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap();
}

#[test]
fn lines_of_one_sku_are_summed_and_a_refusal_changes_nothing() {
    let mut e = engine();
    let before = e.snapshot();
    let two_sites = [
        LineRequest {
            sku: "DROP-1",
            quantity: 2,
            location: Some("A"),
        },
        LineRequest {
            sku: "DROP-1",
            quantity: 1,
            location: Some("B"),
        },
    ];
    let err = e
        .reserve_for(&two_sites, TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap_err();
    assert_eq!(limit(err), (0, 3, 2));
    assert_eq!(e.snapshot(), before);
    assert_eq!(e.pending(), 0);
}

#[test]
fn released_and_expired_units_come_back_shipped_ones_do_not() {
    let mut e = engine();
    let a = e
        .reserve_for(&one("DROP-1", 1), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap();
    let b = e
        .reserve_for(&one("DROP-1", 1), 1_000, HoldFor::buyer("cust-1"), T0)
        .unwrap();
    e.release(a.seq, T0).unwrap();
    assert_eq!(e.buyer_units("cust-1", "DROP-1").unwrap(), 1);
    e.expire_due(T0 + 1_000, 100);
    assert_eq!(e.buyer_units("cust-1", "DROP-1").unwrap(), 0);
    assert_eq!(e.get(b.seq).unwrap().status, Status::Expired);

    let order = e
        .reserve_for(&one("DROP-1", 2), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap();
    e.commit(order.seq, T0).unwrap();
    let location = e.catalogue().location(order.lines[0].location).to_owned();
    let shipped = e
        .ship(order.seq, &[("DROP-1", location.as_str(), 2, None)], T0)
        .unwrap();
    assert_eq!(shipped.view.status, Status::Fulfilled);
    assert_eq!(e.buyer_units("cust-1", "DROP-1").unwrap(), 2);
    let err = e
        .reserve_for(&one("DROP-1", 1), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap_err();
    assert_eq!(limit(err), (2, 1, 2));
    assert!(
        e.audit(|_, _| false).is_empty(),
        "{:?}",
        e.audit(|_, _| false)
    );
}

#[test]
fn a_cancelled_order_gives_back_only_what_it_did_not_ship() {
    let mut e = engine();
    e.set_per_buyer_max("DROP-1", Some(3)).unwrap();
    let order = e
        .reserve_for(&one("DROP-1", 3), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap();
    e.commit(order.seq, T0).unwrap();
    let location = e.catalogue().location(order.lines[0].location).to_owned();
    e.ship(order.seq, &[("DROP-1", location.as_str(), 1, None)], T0)
        .unwrap();
    e.release(order.seq, T0).unwrap(); // the rest of the order cancelled
    assert_eq!(e.buyer_units("cust-1", "DROP-1").unwrap(), 1);
}

#[test]
fn a_cap_set_later_counts_what_buyers_already_have_and_can_be_lifted() {
    let mut e = engine();
    e.set_per_buyer_max("DROP-1", None).unwrap();
    e.reserve_for(&one("DROP-1", 4), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap();
    e.set_per_buyer_max("DROP-1", Some(4)).unwrap();
    let err = e
        .reserve_for(&one("DROP-1", 1), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap_err();
    assert_eq!(limit(err), (4, 1, 4));
    e.set_per_buyer_max("DROP-1", None).unwrap();
    e.reserve_for(&one("DROP-1", 1), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap();
}

#[test]
fn bad_caps_and_buyers_are_refused_by_field() {
    let mut e = engine();
    let field = |err: EngineError| match err {
        EngineError::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other:?}"),
    };
    assert_eq!(
        field(e.set_per_buyer_max("DROP-1", Some(0)).unwrap_err()),
        "per_buyer_max"
    );
    assert_eq!(
        field(
            e.reserve_for(&one("DROP-1", 1), TTL, HoldFor::buyer(""), T0)
                .unwrap_err()
        ),
        "buyer"
    );
    assert!(matches!(
        e.set_per_buyer_max("NOPE", Some(1)),
        Err(EngineError::UnknownSku(_))
    ));
}

#[test]
fn replaying_the_log_rebuilds_the_buyer_counts() {
    let mut e = engine();
    let base = e.clone();
    let a = e
        .reserve_for(&one("DROP-1", 1), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap();
    e.reserve_for(&one("DROP-1", 2), TTL, HoldFor::buyer("cust-2"), T0)
        .unwrap();
    e.commit(a.seq, T0).unwrap();
    e.release(a.seq, T0).unwrap();
    e.reserve_for(&one("DROP-1", 1), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap();
    let mut replayed = base;
    for entry in e.drain(usize::MAX) {
        replayed.apply(&entry);
    }
    assert_eq!(replayed.snapshot(), e.snapshot());
    assert_eq!(replayed.buyer_units("cust-2", "DROP-1").unwrap(), 2);
    let err = replayed
        .reserve_for(&one("DROP-1", 1), TTL, HoldFor::buyer("cust-2"), T0)
        .unwrap_err();
    assert_eq!(err.code(), "buyer-limit");
}

#[test]
fn recovery_loads_counts_and_attaches_buyers_to_open_holds() {
    let mut e = engine();
    e.load_buyer_units("cust-1", "DROP-1", 2).unwrap();
    let mut open = OpenLines::default();
    open.push(
        7,
        1,
        Status::Held,
        T0 + TTL,
        "DROP-1",
        "A",
        1,
        Some("cust-1"),
    );
    open.push(8, 1, Status::Held, T0 + TTL, "DROP-1", "A", 1, None);
    // levels first, as recovery loads them
    e.load_level("DROP-1", "A", 50, 2, 0).unwrap();
    assert_eq!(e.load_open_lines(open).unwrap(), 2);
    let err = e
        .reserve_for(&one("DROP-1", 1), TTL, HoldFor::buyer("cust-1"), T0)
        .unwrap_err();
    assert_eq!(limit(err), (2, 1, 2));
    e.release(7, T0).unwrap();
    assert_eq!(e.buyer_units("cust-1", "DROP-1").unwrap(), 1);

    let mut orphan = OpenLines::default();
    orphan.push(
        9,
        1,
        Status::Held,
        T0 + TTL,
        "DROP-1",
        "A",
        1,
        Some("nobody"),
    );
    assert!(matches!(
        e.load_open_lines(orphan),
        Err(EngineError::InvalidInput { field, .. }) if field == "buyer"
    ));
    assert!(e.get(9).is_none(), "a refused load loads nothing");
}
