//! The routing strategies: each maps located picks to a visiting order.

mod combined;
mod largest_gap;
mod location_order;
mod optimal;
mod picks_by_block;
mod s_shape;

pub(crate) use combined::combined;
pub(crate) use largest_gap::largest_gap;
pub(crate) use location_order::location_order;
pub(crate) use optimal::optimal;
pub(crate) use s_shape::s_shape;
