//! The fixture the lot and pick-list tests share: an engine with bins A, B, C (sellable) and
//! QC (not), the SKU MILK, two expiry dates, and a committed order.

#![allow(dead_code)] // each test file uses its own part of it

use reservoir_engine::{Engine, Limits, LineRequest, ReservationSeq};

pub const T0: i64 = 1_700_000_000_000;
pub const JAN: Option<i32> = Some(20_454); // 2026-01-01
pub const MAR: Option<i32> = Some(20_513); // 2026-03-01

pub fn engine() -> Engine {
    let mut engine = Engine::new(Limits::default());
    for (code, sellable) in [("A", true), ("B", true), ("C", true), ("QC", false)] {
        engine.define_location(code, sellable).unwrap();
    }
    engine.define_sku("MILK").unwrap();
    engine
}

/// A committed order of `quantity` of MILK, held at `location` (None: where the engine
/// allocates it).
pub fn committed(engine: &mut Engine, quantity: i64, location: Option<&str>) -> ReservationSeq {
    let line = LineRequest {
        sku: "MILK",
        quantity,
        location,
    };
    let view = engine.reserve(&[line], 60_000, T0).unwrap();
    engine.commit(view.seq, T0).unwrap();
    view.seq
}
