//! Waitlists: when units come back (release, expiry, cancel, return, receipt), the engine
//! offers them to the oldest waiting entries as holds with the offer TTL; an offer left alone
//! expires and passes to the next; nobody is overtaken, not even by a fresh hold.

use reservoir_engine::{
    Change, DropSpec, Engine, EngineError, HoldFor, LeaveReason, Limits, LineRequest, SafetyBuffer,
    Status,
};

const T0: i64 = 1_700_000_000_000;
const TTL: i64 = 60_000;
const OFFER_TTL: i64 = 5_000;

fn engine(stock: i64) -> Engine {
    let limits = Limits {
        offer_ttl_ms: OFFER_TTL,
        ..Limits::default()
    };
    let mut engine = Engine::new(limits);
    engine.define_location("A", true).unwrap();
    engine.define_sku("SNEAKER").unwrap();
    engine.define_sku("OTHER").unwrap();
    if stock > 0 {
        engine
            .receive("SNEAKER", "A", stock, None, None, T0)
            .unwrap();
    }
    engine.drain(usize::MAX);
    engine
}

fn one(quantity: i64) -> Vec<LineRequest<'static>> {
    vec![LineRequest {
        sku: "SNEAKER",
        quantity,
        location: None,
    }]
}

fn join(e: &mut Engine, buyer: &str, quantity: i64) -> u64 {
    e.join_waitlist("SNEAKER", quantity, HoldFor::buyer(buyer), T0)
        .unwrap()
        .entry
}

/// The offers logged since the last drain: (entry, reservation seq, expires_at_ms).
fn offers(e: &mut Engine) -> Vec<(u64, u64, i64)> {
    e.drain(usize::MAX)
        .into_iter()
        .filter_map(|entry| match entry.change {
            Change::Reserve {
                seq,
                expires_at_ms,
                parties,
                ..
            } => parties
                .and_then(|p| p.entry)
                .map(|id| (id, seq, expires_at_ms)),
            _ => None,
        })
        .collect()
}

#[test]
fn released_units_go_to_the_oldest_entries_in_order() {
    let mut e = engine(2);
    let a = e.reserve(&one(1), TTL, T0).unwrap();
    let b = e.reserve(&one(1), TTL, T0).unwrap();
    let first = join(&mut e, "w1", 1);
    let second = join(&mut e, "w2", 1);
    assert_eq!(e.waitlist_entry(second).map(|(_, _, p)| p), Some(2));
    e.drain(usize::MAX);

    e.release(a.seq, T0 + 10).unwrap();
    let made = offers(&mut e);
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].0, first);
    assert_eq!(
        made[0].2,
        T0 + 10 + OFFER_TTL,
        "an offer lasts the offer TTL"
    );
    assert_eq!(e.waitlist_entry(second).map(|(_, _, p)| p), Some(1));
    // the offer is a hold for the entry's buyer
    assert_eq!(e.buyer_units("w1", "SNEAKER").unwrap(), 1);

    e.release(b.seq, T0 + 20).unwrap();
    assert_eq!(
        offers(&mut e).iter().map(|o| o.0).collect::<Vec<_>>(),
        [second]
    );
    assert_eq!(e.waiting_count(), 0);
}

#[test]
fn an_offer_left_alone_expires_and_passes_to_the_next() {
    let mut e = engine(1);
    let cart = e.reserve(&one(1), TTL, T0).unwrap();
    let first = join(&mut e, "w1", 1);
    let second = join(&mut e, "w2", 1);
    e.drain(usize::MAX);
    // the cart is abandoned: its expiry offers the unit to w1
    e.expire_due(cart.expires_at_ms, usize::MAX);
    let made = offers(&mut e);
    assert_eq!(made.iter().map(|o| o.0).collect::<Vec<_>>(), [first]);
    // w1 does nothing: the offer expires and the unit goes to w2 at that moment
    let offer_expiry = made[0].2;
    e.expire_due(offer_expiry - 1, usize::MAX);
    assert!(offers(&mut e).is_empty());
    e.expire_due(offer_expiry, usize::MAX);
    let next = offers(&mut e);
    assert_eq!(next.iter().map(|o| o.0).collect::<Vec<_>>(), [second]);
    assert_eq!(e.get(made[0].1).unwrap().status, Status::Expired);
    // w2 commits: the order stands, nobody is left waiting
    e.commit(next[0].1, offer_expiry + 1).unwrap();
    assert_eq!(e.waiting_count(), 0);
    assert!(e.audit(|_, _| false).is_empty());
}

#[test]
fn receipts_returns_and_cancels_serve_the_waitlist_too() {
    let mut e = engine(1);
    let order = e.reserve(&one(1), TTL, T0).unwrap();
    e.commit(order.seq, T0).unwrap();
    let entries: Vec<u64> = (1..=3).map(|i| join(&mut e, &format!("w{i}"), 1)).collect();
    e.drain(usize::MAX);
    e.receive("SNEAKER", "A", 1, None, None, T0 + 1).unwrap();
    e.return_units("SNEAKER", "A", 1, None, T0 + 2).unwrap();
    e.release(order.seq, T0 + 3).unwrap(); // a cancelled order
    let made: Vec<u64> = offers(&mut e).iter().map(|o| o.0).collect();
    assert_eq!(made, entries);
}

#[test]
fn nobody_overtakes_a_waiting_entry() {
    let mut e = engine(3);
    let cart = e.reserve(&one(3), TTL, T0).unwrap();
    let big = join(&mut e, "big", 2);
    let small = join(&mut e, "small", 1);
    e.drain(usize::MAX);
    // one unit comes back: not enough for the first entry, which keeps its place, and
    // neither the entry behind it nor a fresh hold may take it
    e.adjust("SNEAKER", "A", -2, None, T0).unwrap();
    e.release(cart.seq, T0 + 1).unwrap();
    assert!(offers(&mut e).is_empty());
    let err = e.reserve(&one(1), TTL, T0 + 2).unwrap_err();
    match err {
        EngineError::InsufficientStock(short) => assert_eq!(short[0].available, 0),
        other => panic!("expected a shortage, got {other:?}"),
    }
    // a second unit: the first entry gets both; the third unit goes to the next
    e.receive("SNEAKER", "A", 1, None, None, T0 + 3).unwrap();
    assert_eq!(
        offers(&mut e).iter().map(|o| o.0).collect::<Vec<_>>(),
        [big]
    );
    e.receive("SNEAKER", "A", 2, None, None, T0 + 4).unwrap();
    assert_eq!(
        offers(&mut e).iter().map(|o| o.0).collect::<Vec<_>>(),
        [small]
    );
    // with nobody waiting, fresh holds take what is left
    e.reserve(&one(1), TTL, T0 + 5).unwrap();
}

#[test]
fn joining_is_refused_where_it_makes_no_sense() {
    let mut e = engine(2);
    // units there and nobody waiting: reserve instead
    let err = e
        .join_waitlist("SNEAKER", 1, HoldFor::buyer("w1"), T0)
        .unwrap_err();
    assert_eq!(
        err,
        EngineError::UnitsAvailable {
            sku: "SNEAKER".into(),
            available: 2
        }
    );
    e.reserve(&one(2), TTL, T0).unwrap();
    let first = join(&mut e, "w1", 1);
    let err = e
        .join_waitlist("SNEAKER", 1, HoldFor::buyer("w1"), T0)
        .unwrap_err();
    assert_eq!(err.code(), "already-waiting");
    assert!(matches!(err, EngineError::AlreadyWaiting { entry, .. } if entry == first));
    let no_buyer = e.join_waitlist("SNEAKER", 1, HoldFor::default(), T0);
    assert_eq!(no_buyer.unwrap_err().code(), "invalid-input");
    let zero = e.join_waitlist("SNEAKER", 0, HoldFor::buyer("w2"), T0);
    assert!(matches!(zero, Err(EngineError::InvalidInput { field, .. }) if field == "quantity"));
    let unknown = e.join_waitlist("NOPE", 1, HoldFor::buyer("w2"), T0);
    assert_eq!(unknown.unwrap_err().code(), "unknown-sku");
    e.set_per_buyer_max("SNEAKER", Some(1)).unwrap();
    let capped = e.join_waitlist("SNEAKER", 2, HoldFor::buyer("w2"), T0);
    assert_eq!(capped.unwrap_err().code(), "buyer-limit");
    // none of it logged anything: only the first join and the hold are there
    assert_eq!(e.pending(), 2);
    assert_eq!(e.waiting_count(), 1);
}

#[test]
fn an_entry_whose_buyer_reached_the_cap_is_passed_over() {
    let mut e = engine(2);
    e.set_per_buyer_max("SNEAKER", Some(2)).unwrap();
    e.reserve_for(&one(1), TTL, HoldFor::buyer("w1"), T0)
        .unwrap();
    let cart = e.reserve(&one(1), TTL, T0).unwrap();
    let capped = join(&mut e, "w1", 1); // 1 held + 1 waited for: within the cap of 2
    let next = join(&mut e, "w2", 1);
    e.drain(usize::MAX);
    // the cap is lowered while w1 waits: its turn comes, its hold is refused, and the unit
    // goes to the next entry; w1 leaves the list (logged, so a replay agrees)
    e.set_per_buyer_max("SNEAKER", Some(1)).unwrap();
    e.release(cart.seq, T0 + 1).unwrap();
    let log = e.drain(usize::MAX);
    assert!(log.iter().any(|entry| matches!(
        entry.change,
        Change::Leave { entry: id, reason: LeaveReason::Refused, .. } if id == capped
    )));
    let offered: Vec<u64> = log
        .iter()
        .filter_map(|entry| match &entry.change {
            Change::Reserve { parties, .. } => parties.as_ref().and_then(|p| p.entry),
            _ => None,
        })
        .collect();
    assert_eq!(offered, [next]);
    assert_eq!(e.waiting_count(), 0);
}

#[test]
fn leaving_the_list_lets_the_next_entry_be_served() {
    let mut e = engine(2);
    let cart = e.reserve(&one(2), TTL, T0).unwrap();
    let big = join(&mut e, "big", 2);
    let small = join(&mut e, "small", 1);
    e.adjust("SNEAKER", "A", -1, None, T0).unwrap();
    e.release(cart.seq, T0 + 1).unwrap(); // one unit free: `big` blocks the queue
    e.drain(usize::MAX);
    e.leave_waitlist(big, T0 + 2).unwrap();
    assert_eq!(
        offers(&mut e).iter().map(|o| o.0).collect::<Vec<_>>(),
        [small]
    );
    assert_eq!(
        e.leave_waitlist(big, T0 + 3).unwrap_err(),
        EngineError::WaitlistEntryNotFound(big)
    );
}

#[test]
fn a_drop_waitlist_waits_for_the_start_and_serves_by_channel_pool() {
    let mut e = engine(0);
    e.define_channel("web", SafetyBuffer::NONE, None).unwrap();
    e.define_channel("app", SafetyBuffer::NONE, None).unwrap();
    e.receive("SNEAKER", "A", 2, None, None, T0).unwrap();
    let start = T0 + 1_000;
    e.define_drop(&DropSpec {
        code: "LAUNCH",
        sku: "SNEAKER",
        starts_at_ms: start,
        ends_at_ms: start + 100_000,
        spill_at_ms: Some(start + 50_000),
        per_buyer_max: None,
        pools: &[("web", 1), ("app", 1)],
    })
    .unwrap();
    let web = |b| HoldFor {
        channel: Some("web"),
        buyer: Some(b),
    };
    let early = e.join_waitlist("SNEAKER", 1, web("w0"), T0);
    assert_eq!(early.unwrap_err().code(), "drop-not-started");
    let cart = e.reserve_for(&one(1), TTL, web("c1"), start).unwrap();
    // the web pool is sold; the app pool is not, so a web buyer waits
    let waiting = e
        .join_waitlist("SNEAKER", 1, web("w1"), start)
        .unwrap()
        .entry;
    e.drain(usize::MAX);
    // at the spill the app pool's unit is everyone's: the tick offers it
    assert_eq!(e.serve_waitlists(start + 49_999), 0);
    assert_eq!(e.serve_waitlists(start + 50_000), 1);
    assert_eq!(
        offers(&mut e).iter().map(|o| o.0).collect::<Vec<_>>(),
        [waiting]
    );
    e.release(cart.seq, start + 50_001).unwrap();
    assert!(offers(&mut e).is_empty());
}

#[test]
fn replaying_the_log_rebuilds_the_waitlists() {
    let mut e = engine(2);
    let mut replayed = Engine::new(*e.limits());
    replayed.define_location("A", true).unwrap();
    replayed.define_sku("SNEAKER").unwrap();
    replayed.define_sku("OTHER").unwrap();
    replayed.receive("SNEAKER", "A", 2, None, None, T0).unwrap();
    replayed.drain(usize::MAX);
    let carts: Vec<_> = (0..2)
        .map(|_| e.reserve(&one(1), TTL, T0).unwrap())
        .collect();
    for i in 0..5 {
        join(&mut e, &format!("w{i}"), 1);
    }
    e.leave_waitlist(2, T0 + 1).unwrap();
    e.release(carts[0].seq, T0 + 2).unwrap();
    // the second cart and the first offer expire: entries 3 and 4 get their units
    e.expire_due(carts[1].expires_at_ms, usize::MAX);
    for entry in e.drain(usize::MAX) {
        replayed.apply(&entry);
    }
    assert_eq!(replayed.snapshot(), e.snapshot());
    assert_eq!(e.snapshot().waitlists.len(), 1);
}
