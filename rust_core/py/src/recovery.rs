//! Bulk recovery: open reservations' lines decoded from a binary COPY of the ledger, in Rust,
//! as the driver receives the stream; no row becomes a Python object.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use reservoir_engine as core;
use reservoir_pgcopy::{CopyError, CopyReader, Stop, Tuple};

use crate::ids::status_of;

/// The columns, in order, of the query whose binary COPY the loader reads:
/// `seq int8, status text, expires_at timestamptz, line_no int8, sku text, location text,
/// quantity int8, buyer text` (see `reservoir/ledger/recovery.py`).
const COLUMNS: usize = 8;

/// Gathers open reservations' lines from a binary COPY stream, chunk by chunk.
#[pyclass(module = "reservoir._core")]
pub(crate) struct OpenLinesLoader {
    reader: CopyReader,
    lines: core::OpenLines,
}

#[pymethods]
impl OpenLinesLoader {
    #[new]
    fn new() -> Self {
        Self {
            reader: CopyReader::new(COLUMNS),
            lines: core::OpenLines::default(),
        }
    }

    /// Decodes the lines `chunk` completes; a chunk may end anywhere. asyncpg hands over
    /// `bytearray`s (copied once here), tests `bytes`.
    fn push(&mut self, chunk: PyBackedBytes) -> PyResult<()> {
        let lines = &mut self.lines;
        self.reader
            .push(&chunk, |tuple| push_line(lines, tuple))
            .map_err(|stop| match stop {
                Stop::Copy(e) => copy_error(e),
                Stop::Callback(e) => e,
            })
    }

    fn __len__(&self) -> usize {
        self.lines.len()
    }
}

impl OpenLinesLoader {
    /// The lines gathered, once the stream has ended with its trailer.
    pub(crate) fn take(&mut self) -> PyResult<core::OpenLines> {
        self.reader.finish().map_err(copy_error)?;
        Ok(std::mem::take(&mut self.lines))
    }
}

fn push_line(lines: &mut core::OpenLines, t: &Tuple<'_>) -> PyResult<()> {
    let field = copy_error;
    let seq = u64::try_from(t.int8(0).map_err(field)?)
        .map_err(|_| PyValueError::new_err("open reservation lines: a negative seq"))?;
    lines.push(
        seq,
        t.int8(3).map_err(field)?,
        status_of(t.text(1).map_err(field)?)?,
        t.timestamptz_ms(2).map_err(field)?,
        t.text(4).map_err(field)?,
        t.text(5).map_err(field)?,
        t.int8(6).map_err(field)?,
        t.text_or_null(7).map_err(field)?,
    );
    Ok(())
}

fn copy_error(e: CopyError) -> PyErr {
    PyValueError::new_err(format!("open reservation lines: {e}"))
}
