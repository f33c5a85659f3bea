//! The pick-path error enum: what is wrong with a layout, a pick list or a batch request.

use std::fmt;

/// Everything `pickpath` can refuse. Messages name the offending field, as the API user sees
/// it. Field names repeat the layout's or the request's own names; `*_max` fields are the
/// limit that was exceeded.
#[derive(Clone, Debug, PartialEq)]
pub enum PickPathError {
    /// `aisles` is 0.
    NoAisles,
    /// `aisles` is above [`crate::AISLES_MAX`].
    TooManyAisles {
        /// Requested aisles.
        aisles: u32,
        /// The limit.
        aisles_max: u32,
    },
    /// `positions_per_aisle` is 0.
    NoPositions,
    /// `positions_per_aisle` is above [`crate::POSITIONS_PER_AISLE_MAX`].
    TooManyPositions {
        /// Requested positions per aisle.
        positions_per_aisle: u32,
        /// The limit.
        positions_max: u32,
    },
    /// A width or pitch is not a finite number in `(0, WIDTH_M_MAX]`.
    BadLength {
        /// The layout field (`aisle_width_m`, `cross_aisle_width_m` or `bin_pitch_m`).
        field: &'static str,
        /// The value given, metres.
        value_m: f64,
    },
    /// More middle cross aisles than [`crate::MIDDLE_CROSS_AISLES_MAX`].
    TooManyMiddleCrossAisles {
        /// Entries given.
        count: usize,
        /// The limit.
        count_max: usize,
    },
    /// A middle cross aisle must lie strictly inside the aisle: `1 <= position < positions_per_aisle`.
    MiddleCrossAisleOutOfRange {
        /// Index into `middle_cross_aisles`.
        index: usize,
        /// The entry's value.
        position: u32,
        /// The layout's positions per aisle.
        positions_per_aisle: u32,
    },
    /// Middle cross aisle positions must be strictly increasing.
    MiddleCrossAislesNotIncreasing {
        /// Index of the first entry not above its predecessor.
        index: usize,
        /// The predecessor's value.
        previous: u32,
        /// The entry's value.
        position: u32,
    },
    /// The depot must be on the front cross aisle, between aisle 1 and the last aisle.
    DepotOutside {
        /// The value given.
        depot_aisle: f64,
        /// The layout's aisles.
        aisles: u32,
    },
    /// A bin or pick is not on the grid (aisle `1..=aisles`, position `1..=positions_per_aisle`).
    BinOutsideGrid {
        /// Index of the bin or pick in the list given.
        index: usize,
        /// Its aisle.
        aisle: u32,
        /// Its position.
        position: u32,
        /// The layout's aisles.
        aisles: u32,
        /// The layout's positions per aisle.
        positions_per_aisle: u32,
    },
    /// `Layout::from_bins` was given no bins and no explicit size.
    NoBins,
    /// Too many stops for the operation.
    TooManyStops {
        /// Stops given.
        stops: usize,
        /// The limit.
        stops_max: usize,
    },
    /// A strategy name that is not one of the five.
    UnknownStrategy(String),
    /// Batching: too many orders in one call.
    TooManyOrders {
        /// Orders given.
        orders: usize,
        /// The limit.
        orders_max: usize,
    },
    /// Batching: two orders share an id.
    DuplicateOrderId {
        /// The repeated id.
        order_id: u64,
    },
    /// Batching: one order alone exceeds the cart.
    OrderExceedsCart {
        /// The order.
        order_id: u64,
        /// Its units.
        units: u32,
        /// The cart's limit.
        units_max: u32,
    },
    /// Batching: a cart capacity of zero units or zero orders.
    BadCartCapacity {
        /// `units_max` or `orders_max`.
        field: &'static str,
    },
}

impl fmt::Display for PickPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PickPathError::*;
        match self {
            NoAisles => write!(f, "layout.aisles must be at least 1"),
            TooManyAisles { aisles, aisles_max } => {
                write!(f, "layout.aisles is {aisles}, above the limit {aisles_max}")
            }
            NoPositions => write!(f, "layout.positions_per_aisle must be at least 1"),
            TooManyPositions {
                positions_per_aisle,
                positions_max,
            } => write!(
                f,
                "layout.positions_per_aisle is {positions_per_aisle}, above the limit {positions_max}"
            ),
            BadLength { field, value_m } => write!(
                f,
                "layout.{field} must be a positive finite length in metres (at most {} m), got {value_m}",
                super::layout::WIDTH_M_MAX
            ),
            TooManyMiddleCrossAisles { count, count_max } => write!(
                f,
                "layout.middle_cross_aisles has {count} entries, above the limit {count_max}"
            ),
            MiddleCrossAisleOutOfRange {
                index,
                position,
                positions_per_aisle,
            } => write!(
                f,
                "layout.middle_cross_aisles[{index}] = {position} must be between 1 and {} \
                 (a middle cross aisle lies after that position, inside the aisle)",
                positions_per_aisle.saturating_sub(1)
            ),
            MiddleCrossAislesNotIncreasing {
                index,
                previous,
                position,
            } => write!(
                f,
                "layout.middle_cross_aisles must be strictly increasing: entry {index} is {position} \
                 after {previous}"
            ),
            DepotOutside {
                depot_aisle,
                aisles,
            } => write!(
                f,
                "layout.depot_aisle = {depot_aisle} must be a finite aisle coordinate between 1 and {aisles}"
            ),
            BinOutsideGrid {
                index,
                aisle,
                position,
                aisles,
                positions_per_aisle,
            } => write!(
                f,
                "bin {index} at aisle {aisle}, position {position} is outside the layout \
                 (aisles 1..={aisles}, positions 1..={positions_per_aisle})"
            ),
            NoBins => write!(
                f,
                "layout cannot be sized from bins: the warehouse has no bins with aisle and position"
            ),
            TooManyStops { stops, stops_max } => {
                write!(f, "{stops} stops is above the limit stops_max = {stops_max}")
            }
            UnknownStrategy(s) => write!(
                f,
                "strategy {s:?} is not one of \"optimal\", \"largest-gap\", \"s-shape\", \
                 \"location-order\", \"combined\""
            ),
            TooManyOrders { orders, orders_max } => {
                write!(f, "{orders} orders is above the limit orders_max = {orders_max}")
            }
            DuplicateOrderId { order_id } => write!(f, "order id {order_id} appears twice"),
            OrderExceedsCart {
                order_id,
                units,
                units_max,
            } => write!(
                f,
                "order {order_id} has {units} units, more than the cart's units_max = {units_max}"
            ),
            BadCartCapacity { field } => write!(f, "cart.{field} must be at least 1"),
        }
    }
}

impl std::error::Error for PickPathError {}
