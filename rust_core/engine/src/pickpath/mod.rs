//! Pick-path routing (being written).
