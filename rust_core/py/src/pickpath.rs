//! Pick-path routing for Python: thin wrappers over `reservoir_pickpath`.
//!
//! A layout crosses as a plain dict (`layout_from_bins` builds one; `aisles` and
//! `positions_per_aisle` are required, every other key has the core's default). Pick points
//! cross as `(aisle, position, level)` tuples. Routing and batching release the GIL.
//! Every `PickPathError` becomes `InvalidInput` (or `LimitExceeded` for a size limit) with
//! `field` naming the offending layout key, pick or order.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use reservoir_engine::EngineError;
use reservoir_pickpath::{
    self as pickpath, CartCapacity, Layout, LayoutOptions, Order, PickPathError, PickPoint,
    Strategy,
};

use crate::errors;

/// `(aisle, position, level)` as Python passes it (checked before it becomes a `PickPoint`).
type PickRow = (i64, i64, i64);
/// `(order_id, units, picks)`.
type OrderRow = (u64, i64, Vec<PickRow>);
/// `(order_ids, units, stops as (order_id, pick index), distance_m)`.
type BatchRow = (Vec<u64>, u32, Vec<(u64, usize)>, f64);

const LAYOUT_KEYS: [&str; 7] = [
    "aisles",
    "positions_per_aisle",
    "aisle_width_m",
    "cross_aisle_width_m",
    "bin_pitch_m",
    "middle_cross_aisles",
    "depot_aisle",
];

/// Registers the pick-path functions on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(layout_from_bins, m)?)?;
    m.add_function(wrap_pyfunction!(route_picks, m)?)?;
    m.add_function(wrap_pyfunction!(batch_orders, m)?)?;
    m.add_function(wrap_pyfunction!(distance_matrix, m)?)?;
    Ok(())
}

/// A warehouse's walking layout sized from its bins, options overriding sizes, widths,
/// middle cross aisles and depot; validated. Errors name `bins[i]` or `layout.<key>`.
#[pyfunction]
#[pyo3(signature = (bins, *, aisles=None, positions_per_aisle=None, aisle_width_m=None,
    cross_aisle_width_m=None, bin_pitch_m=None, middle_cross_aisles=None, depot_aisle=None))]
#[allow(clippy::too_many_arguments)]
fn layout_from_bins<'py>(
    py: Python<'py>,
    bins: Vec<PickRow>,
    aisles: Option<i64>,
    positions_per_aisle: Option<i64>,
    aisle_width_m: Option<f64>,
    cross_aisle_width_m: Option<f64>,
    bin_pitch_m: Option<f64>,
    middle_cross_aisles: Option<Vec<i64>>,
    depot_aisle: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let bins = points(py, &bins, "bins")?;
    let options = LayoutOptions {
        aisles: aisles
            .map(|v| grid_u32(py, v, "layout.aisles"))
            .transpose()?,
        positions_per_aisle: positions_per_aisle
            .map(|v| grid_u32(py, v, "layout.positions_per_aisle"))
            .transpose()?,
        aisle_width_m,
        cross_aisle_width_m,
        bin_pitch_m,
        middle_cross_aisles: cross_aisles(py, middle_cross_aisles.unwrap_or_default())?,
        depot_aisle,
    };
    let layout = Layout::from_bins_with(&bins, &options).map_err(|e| to_py(py, e, "bins"))?;
    layout_dict(py, &layout)
}

/// The route through `picks` by `strategy`: (pick indices in visiting order, metres).
#[pyfunction]
fn route_picks(
    py: Python<'_>,
    layout: &Bound<'_, PyDict>,
    picks: Vec<PickRow>,
    strategy: &str,
) -> PyResult<(Vec<usize>, f64)> {
    let layout = layout_of(py, layout)?;
    let picks = points(py, &picks, "picks")?;
    let strategy = strategy_of(py, strategy)?;
    let route = py
        .detach(|| pickpath::route(&layout, &picks, strategy))
        .map_err(|e| to_py(py, e, "picks"))?;
    Ok((route.order, route.distance_m))
}

/// Groups orders into cart loads by the savings method and routes each load.
/// Returns (batches, total metres, total metres with one route per order).
#[pyfunction]
#[pyo3(signature = (layout, orders, strategy, *, units_max, orders_max))]
fn batch_orders(
    py: Python<'_>,
    layout: &Bound<'_, PyDict>,
    orders: Vec<OrderRow>,
    strategy: &str,
    units_max: u32,
    orders_max: u32,
) -> PyResult<(Vec<BatchRow>, f64, f64)> {
    let layout = layout_of(py, layout)?;
    let strategy = strategy_of(py, strategy)?;
    let mut parsed = Vec::with_capacity(orders.len());
    for (i, (id, units, picks)) in orders.iter().enumerate() {
        let units = u32::try_from(*units)
            .map_err(|_| invalid(py, format!("orders[{i}].units"), "must be 0..=2^32-1"))?;
        let picks = points(py, picks, &format!("orders[{i}].picks"))?;
        parsed.push(Order {
            id: *id,
            units,
            picks,
        });
    }
    let capacity = CartCapacity {
        units_max,
        orders_max,
    };
    let plan = py
        .detach(|| pickpath::batch_orders(&layout, &parsed, capacity, strategy))
        .map_err(|e| to_py(py, e, "orders"))?;
    let batches = plan
        .batches
        .into_iter()
        .map(|b| {
            let stops = b.stops.iter().map(|s| (s.order_id, s.pick)).collect();
            (b.order_ids, b.units, stops, b.distance_m)
        })
        .collect();
    Ok((batches, plan.distance_m, plan.single_order_distance_m))
}

/// Walking distances in metres between the depot (row and column 0) and every pick.
#[pyfunction]
fn distance_matrix(
    py: Python<'_>,
    layout: &Bound<'_, PyDict>,
    picks: Vec<PickRow>,
) -> PyResult<Vec<Vec<f64>>> {
    let layout = layout_of(py, layout)?;
    let picks = points(py, &picks, "picks")?;
    let matrix = py
        .detach(|| pickpath::distance_matrix(&layout, &picks))
        .map_err(|e| to_py(py, e, "picks"))?;
    Ok(matrix
        .metres
        .chunks(matrix.size.max(1))
        .map(<[f64]>::to_vec)
        .collect())
}

// --- conversions ---------------------------------------------------------------------------

fn layout_dict<'py>(py: Python<'py>, layout: &Layout) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("aisles", layout.aisles)?;
    d.set_item("positions_per_aisle", layout.positions_per_aisle)?;
    d.set_item("aisle_width_m", layout.aisle_width_m)?;
    d.set_item("cross_aisle_width_m", layout.cross_aisle_width_m)?;
    d.set_item("bin_pitch_m", layout.bin_pitch_m)?;
    d.set_item("middle_cross_aisles", layout.middle_cross_aisles.clone())?;
    d.set_item("depot_aisle", layout.depot_aisle)?;
    Ok(d)
}

/// A layout from a dict: `aisles` and `positions_per_aisle` required, the rest defaulted;
/// unknown keys refused. Validated.
fn layout_of(py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<Layout> {
    for key in d.keys() {
        let key: String = key.extract()?;
        if !LAYOUT_KEYS.contains(&key.as_str()) {
            return Err(invalid(
                py,
                format!("layout.{key}"),
                "is not a layout key (expected one of aisles, positions_per_aisle, \
                 aisle_width_m, cross_aisle_width_m, bin_pitch_m, middle_cross_aisles, \
                 depot_aisle)",
            ));
        }
    }
    let required = |key: &str| -> PyResult<u32> {
        match d.get_item(key)? {
            Some(v) => grid_u32(py, v.extract()?, &format!("layout.{key}")),
            None => Err(invalid(py, format!("layout.{key}"), "is required")),
        }
    };
    let length = |key: &str, default_m: f64| -> PyResult<f64> {
        d.get_item(key)?.map_or(Ok(default_m), |v| v.extract())
    };
    let middle: Vec<i64> = match d.get_item("middle_cross_aisles")? {
        Some(v) => v.extract()?,
        None => Vec::new(),
    };
    let layout = Layout {
        aisles: required("aisles")?,
        positions_per_aisle: required("positions_per_aisle")?,
        aisle_width_m: length("aisle_width_m", pickpath::AISLE_WIDTH_M_DEFAULT)?,
        cross_aisle_width_m: length("cross_aisle_width_m", pickpath::CROSS_AISLE_WIDTH_M_DEFAULT)?,
        bin_pitch_m: length("bin_pitch_m", pickpath::BIN_PITCH_M_DEFAULT)?,
        middle_cross_aisles: cross_aisles(py, middle)?,
        depot_aisle: length("depot_aisle", 1.0)?,
    };
    layout.validate().map_err(|e| to_py(py, e, "picks"))?;
    Ok(layout)
}

fn points(py: Python<'_>, rows: &[PickRow], field: &str) -> PyResult<Vec<PickPoint>> {
    rows.iter()
        .enumerate()
        .map(|(i, &(aisle, position, level))| {
            Ok(PickPoint {
                aisle: grid_u32(py, aisle, &format!("{field}[{i}].aisle"))?,
                position: grid_u32(py, position, &format!("{field}[{i}].position"))?,
                level: grid_u32(py, level, &format!("{field}[{i}].level"))?,
            })
        })
        .collect()
}

fn cross_aisles(py: Python<'_>, positions: Vec<i64>) -> PyResult<Vec<u32>> {
    positions
        .into_iter()
        .enumerate()
        .map(|(i, p)| grid_u32(py, p, &format!("layout.middle_cross_aisles[{i}]")))
        .collect()
}

fn grid_u32(py: Python<'_>, value: i64, field: &str) -> PyResult<u32> {
    u32::try_from(value).map_err(|_| invalid(py, field, format!("{value} is out of range")))
}

fn strategy_of(py: Python<'_>, strategy: &str) -> PyResult<Strategy> {
    strategy.parse().map_err(|e| to_py(py, e, "picks"))
}

fn invalid(py: Python<'_>, field: impl Into<String>, reason: impl Into<String>) -> PyErr {
    errors::to_py(
        py,
        EngineError::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        },
    )
}

/// The one mapping from `PickPathError` to the core's Python errors. `points` names the
/// list the call took (`picks`, `bins` or `orders`) for errors that point into it.
fn to_py(py: Python<'_>, error: PickPathError, points: &str) -> PyErr {
    use PickPathError::*;
    let field = match &error {
        TooManyStops { stops_max, .. } => {
            return errors::to_py(
                py,
                EngineError::LimitExceeded {
                    field: points.to_owned(),
                    limit: *stops_max as u64,
                },
            );
        }
        TooManyOrders { orders_max, .. } => {
            return errors::to_py(
                py,
                EngineError::LimitExceeded {
                    field: "orders".to_owned(),
                    limit: *orders_max as u64,
                },
            );
        }
        NoAisles | TooManyAisles { .. } => "layout.aisles".to_owned(),
        NoPositions | TooManyPositions { .. } => "layout.positions_per_aisle".to_owned(),
        BadLength { field, .. } => format!("layout.{field}"),
        TooManyMiddleCrossAisles { .. } | MiddleCrossAislesNotIncreasing { .. } => {
            "layout.middle_cross_aisles".to_owned()
        }
        MiddleCrossAisleOutOfRange { index, .. } => format!("layout.middle_cross_aisles[{index}]"),
        DepotOutside { .. } => "layout.depot_aisle".to_owned(),
        BinOutsideGrid { .. } if points == "orders" => "orders".to_owned(),
        BinOutsideGrid { index, .. } => format!("{points}[{index}]"),
        NoBins => "bins".to_owned(),
        UnknownStrategy(_) => "strategy".to_owned(),
        DuplicateOrderId { .. } | OrderExceedsCart { .. } => "orders".to_owned(),
        BadCartCapacity { field } => (*field).to_owned(),
    };
    invalid(py, field, error.to_string())
}
