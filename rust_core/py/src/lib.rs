//! reservoir._core: thin PyO3 wrappers over reservoir-engine. Converts and forwards; the
//! logic lives in the engine crate. Single operations keep the GIL (they take tens of
//! nanoseconds); bulk ones (expiry, drain) release it while the engine works.

mod engine;
mod errors;
mod ids;
mod limits;
mod pickpath;
mod recovery;
mod rows;

use pyo3::prelude::*;
use reservoir_engine as core;

use engine::Engine;
use ids::reservation_seq;
use limits::Limits;
use recovery::OpenLinesLoader;
use rows::{Batch, LevelRow, LogRow, Outcome, Reservation};

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", core::version())?;
    errors::register(m)?;
    m.add_class::<Limits>()?;
    m.add_class::<Reservation>()?;
    m.add_class::<Outcome>()?;
    m.add_class::<LevelRow>()?;
    m.add_class::<LogRow>()?;
    m.add_class::<Batch>()?;
    m.add_class::<Engine>()?;
    m.add_class::<OpenLinesLoader>()?;
    m.add_function(wrap_pyfunction!(reservation_seq, m)?)?;
    pickpath::register(m)?;
    Ok(())
}
