//! The engine binding: each method converts its arguments, calls the engine and converts
//! the answer (see `rows`).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyString;
use reservoir_engine as core;
use reservoir_engine::parse_reservation_id;

use crate::errors;
use crate::ids::{seq_of, Str};
use crate::limits::Limits;
use crate::recovery::OpenLinesLoader;
use crate::rows::{
    Batch, LevelDeltaRow, LevelRow, LotLevelRow, LotRow, Outcome, Pick, PickedRow, Reservation,
    ShipLotsRow,
};

/// A waiting waitlist entry: (sku, quantity, buyer, channel, position).
type WaitingRow = (String, i64, String, Option<String>, usize);
/// A queued waitlist entry: (entry, quantity, buyer, channel).
type QueuedRow = (u64, i64, String, Option<String>);
/// A receipt line: (sku, location, quantity, lot, expires_on as a day number).
type ReceiptRow = (
    PyBackedStr,
    PyBackedStr,
    i64,
    Option<PyBackedStr>,
    Option<i32>,
);
/// A transfer line at its destination: (sku, to, quantity, lot).
type TransitRow = (PyBackedStr, PyBackedStr, i64, Option<PyBackedStr>);

fn transit_lines(lines: &[TransitRow]) -> Vec<core::TransitLine<'_>> {
    lines
        .iter()
        .map(|(sku, to, quantity, lot)| (&**sku, &**to, *quantity, lot.as_deref()))
        .collect()
}

#[pyclass(module = "reservoir._core")]
pub(crate) struct Engine {
    pub(crate) inner: core::Engine,
    /// The catalogue's codes as Python strings, by id, made once when defined: a line or a
    /// log row then costs a reference count, not an allocation, a copy and a decode.
    pub(crate) sku_codes: Vec<Str>,
    pub(crate) location_codes: Vec<Str>,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (limits=None))]
    fn new(limits: Option<PyRef<'_, Limits>>) -> Self {
        let limits = limits.map_or_else(core::Limits::default, |l| core::Limits::from(&*l));
        Self {
            inner: core::Engine::new(limits),
            sku_codes: Vec::new(),
            location_codes: Vec::new(),
        }
    }

    fn define_sku(&mut self, py: Python<'_>, sku: &str) -> PyResult<()> {
        let id = self
            .inner
            .define_sku(sku)
            .map_err(|e| errors::to_py(py, e))?;
        if id as usize == self.sku_codes.len() {
            self.sku_codes.push(PyString::new(py, sku).unbind());
        }
        Ok(())
    }

    #[pyo3(signature = (code, sellable=true))]
    fn define_location(&mut self, py: Python<'_>, code: &str, sellable: bool) -> PyResult<()> {
        let id = self
            .inner
            .define_location(code, sellable)
            .map_err(|e| errors::to_py(py, e))?;
        if id as usize == self.location_codes.len() {
            self.location_codes.push(PyString::new(py, code).unbind());
        }
        Ok(())
    }

    fn has_sku(&self, sku: &str) -> bool {
        self.inner.catalogue().has_sku(sku)
    }

    fn has_location(&self, code: &str) -> bool {
        self.inner.catalogue().has_location(code)
    }

    // The Python signature is the engine call's; a struct here would only hide that.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (sku, location, quantity, now_ms, *, lot=None, expires_on=None))]
    fn receive(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        quantity: i64,
        now_ms: i64,
        lot: Option<&str>,
        expires_on: Option<i32>,
    ) -> PyResult<(u64, LevelRow)> {
        let moved = self
            .inner
            .receive(sku, location, quantity, lot, expires_on, now_ms);
        self.movement(py, sku, moved)
    }

    #[pyo3(signature = (sku, location, delta, now_ms, *, lot=None))]
    fn adjust(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        delta: i64,
        now_ms: i64,
        lot: Option<&str>,
    ) -> PyResult<(u64, LevelRow)> {
        let moved = self.inner.adjust(sku, location, delta, lot, now_ms);
        self.movement(py, sku, moved)
    }

    #[pyo3(signature = (sku, location, quantity, now_ms, *, lot=None))]
    fn return_units(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        quantity: i64,
        now_ms: i64,
        lot: Option<&str>,
    ) -> PyResult<(u64, LevelRow)> {
        let moved = self
            .inner
            .return_units(sku, location, quantity, lot, now_ms);
        self.movement(py, sku, moved)
    }

    // The Python signature is the engine call's; a struct here would only hide that.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(name = "transfer", signature = (sku, from_location, to_location, quantity, now_ms, *, lot=None))]
    fn transfer_units(
        &mut self,
        py: Python<'_>,
        sku: &str,
        from_location: &str,
        to_location: &str,
        quantity: i64,
        now_ms: i64,
        lot: Option<&str>,
    ) -> PyResult<(u64, LevelRow, LevelRow)> {
        let (lsn, from, to) = self
            .inner
            .transfer(sku, from_location, to_location, quantity, lot, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        let sku = self
            .inner
            .catalogue()
            .sku_id(sku)
            .expect("moved SKU exists");
        Ok((lsn, self.level_row(sku, &from), self.level_row(sku, &to)))
    }

    // The Python signature is the engine call's, its `HoldFor` as keywords.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (lines, ttl_ms, now_ms, *, channel=None, buyer=None))]
    fn reserve(
        &mut self,
        py: Python<'_>,
        lines: Vec<(PyBackedStr, i64, Option<PyBackedStr>)>,
        ttl_ms: i64,
        now_ms: i64,
        channel: Option<&str>,
        buyer: Option<&str>,
    ) -> PyResult<Reservation> {
        let requests: Vec<core::LineRequest<'_>> = lines
            .iter()
            .map(|(sku, quantity, location)| core::LineRequest {
                sku,
                quantity: *quantity,
                location: location.as_deref(),
            })
            .collect();
        let view = self
            .inner
            .reserve_for(&requests, ttl_ms, core::HoldFor { channel, buyer }, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.reservation(py, view))
    }

    fn commit(&mut self, py: Python<'_>, reservation_id: &str, now_ms: i64) -> PyResult<Outcome> {
        let out = self
            .inner
            .commit(seq_of(reservation_id)?, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(py, out))
    }

    fn release(&mut self, py: Python<'_>, reservation_id: &str, now_ms: i64) -> PyResult<Outcome> {
        let out = self
            .inner
            .release(seq_of(reservation_id)?, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(py, out))
    }

    fn extend(
        &mut self,
        py: Python<'_>,
        reservation_id: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> PyResult<Outcome> {
        let out = self
            .inner
            .extend(seq_of(reservation_id)?, ttl_ms, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(py, out))
    }

    fn ship(
        &mut self,
        py: Python<'_>,
        reservation_id: &str,
        picks: Vec<Pick>,
        now_ms: i64,
    ) -> PyResult<Outcome> {
        let picks: Vec<_> = picks.iter().map(Pick::as_tuple).collect();
        let out = self
            .inner
            .ship(seq_of(reservation_id)?, &picks, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(py, out))
    }

    /// Which lots a confirmation's picks ship, before anything ships (the engine's
    /// `lots_to_ship`): per pick its [(lot, units)], own lot first, and None; or [] and
    /// (pick index, units its bin has for it) when a pick asks for more than its bin holds.
    fn lots_to_ship(&self, py: Python<'_>, picks: Vec<Pick>) -> PyResult<ShipLotsRow> {
        let picks: Vec<_> = picks.iter().map(Pick::as_tuple).collect();
        let planned = self
            .inner
            .lots_to_ship(&picks)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(match planned {
            core::LotsToShip::Ship(per_pick) => (self.picked_rows(&per_pick), None),
            core::LotsToShip::Short { pick, available } => (Vec::new(), Some((pick, available))),
        })
    }

    /// Which lots pick-list stops (sku, location, quantity), in route order, take, given
    /// what open lists already take of each lot, (sku, location, lot, units) (the engine's
    /// `lots_to_pick`): per stop [(lot, units)], oldest lot first, None for the rest.
    fn lots_to_pick(
        &self,
        py: Python<'_>,
        stops: Vec<(PyBackedStr, PyBackedStr, i64)>,
        taken: Vec<(PyBackedStr, PyBackedStr, PyBackedStr, i64)>,
    ) -> PyResult<Vec<PickedRow>> {
        let stops: Vec<(&str, &str, i64)> =
            stops.iter().map(|(s, l, q)| (&**s, &**l, *q)).collect();
        let taken: Vec<(&str, &str, &str, i64)> = taken
            .iter()
            .map(|(s, l, lot, n)| (&**s, &**l, &**lot, *n))
            .collect();
        let picked = self
            .inner
            .lots_to_pick(&stops, &taken)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.picked_rows(&picked))
    }

    /// Moves a short pick's missing units to the first bin in the allocation order with
    /// enough to spare, never `from_location` nor one of `exclude` (the engine's
    /// `reallocate_spare`): (that bin, outcome), or None when no bin has enough.
    // The Python signature is the engine call's; a struct here would only hide that.
    #[allow(clippy::too_many_arguments)]
    fn reallocate_spare(
        &mut self,
        py: Python<'_>,
        reservation_id: &str,
        sku: &str,
        from_location: &str,
        exclude: Vec<PyBackedStr>,
        quantity: i64,
        now_ms: i64,
    ) -> PyResult<Option<(Str, Outcome)>> {
        let exclude: Vec<&str> = exclude.iter().map(|code| &**code).collect();
        let moved = self
            .inner
            .reallocate_spare(
                seq_of(reservation_id)?,
                sku,
                from_location,
                &exclude,
                quantity,
                now_ms,
            )
            .map_err(|e| errors::to_py(py, e))?;
        Ok(moved.map(|(to, out)| (self.location_code(py, to), self.outcome(py, out))))
    }

    // The Python signature is the engine call's; a struct here would only hide that.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (reservation_id, sku, from_location, to_location, quantity, now_ms))]
    fn reallocate(
        &mut self,
        py: Python<'_>,
        reservation_id: &str,
        sku: &str,
        from_location: &str,
        to_location: Option<&str>,
        quantity: i64,
        now_ms: i64,
    ) -> PyResult<Outcome> {
        let out = self
            .inner
            .reallocate(
                seq_of(reservation_id)?,
                sku,
                from_location,
                to_location,
                quantity,
                now_ms,
            )
            .map_err(|e| errors::to_py(py, e))?;
        Ok(self.outcome(py, out))
    }

    #[pyo3(signature = (now_ms, max_count=100_000))]
    fn expire_due(&mut self, py: Python<'_>, now_ms: i64, max_count: usize) -> usize {
        let inner = &mut self.inner;
        py.detach(|| inner.expire_due(now_ms, max_count))
    }

    fn get(&self, py: Python<'_>, reservation_id: &str) -> Option<Reservation> {
        let seq = parse_reservation_id(reservation_id)?;
        self.inner.get(seq).map(|view| self.reservation(py, view))
    }

    fn levels(&self, py: Python<'_>, sku: &str) -> PyResult<Vec<LevelRow>> {
        let id = self
            .inner
            .catalogue()
            .sku_id(sku)
            .map_err(|e| errors::to_py(py, e))?;
        let levels = self.inner.levels(sku).map_err(|e| errors::to_py(py, e))?;
        Ok(levels.iter().map(|l| self.level_row(id, l)).collect())
    }

    /// The lots of `sku` at `location`, oldest first, then its unlotted units (lot None)
    /// if it has any.
    fn lots(&self, py: Python<'_>, sku: &str, location: &str) -> PyResult<Vec<LotRow>> {
        let c = self.inner.catalogue();
        let (sku, location) = c
            .sku_id(sku)
            .and_then(|s| Ok((s, c.location_id(location)?)))
            .map_err(|e| errors::to_py(py, e))?;
        let lots = self.inner.lots();
        let mut rows: Vec<LotRow> = lots
            .at(sku, location)
            .iter()
            .map(|&(id, units)| {
                let lot = lots.lot(id);
                (Some(lot.code.to_string()), lot.expires_on, units)
            })
            .collect();
        let unlotted = self.inner.unlotted(sku, location);
        if unlotted > 0 {
            rows.push((None, None, unlotted));
        }
        Ok(rows)
    }

    /// Every lot's units at every location: (sku, location, lot, units).
    fn all_lots(&self, py: Python<'_>) -> Vec<LotLevelRow> {
        let lots = self.inner.lots();
        lots.iter()
            .map(|(sku, location, lot, units)| {
                let (sku, loc) = (self.sku_code(py, sku), self.location_code(py, location));
                (sku, loc, self.lot_code(lot), units)
            })
            .collect()
    }

    /// Where a line without a location takes units of `sku`, in order: (location,
    /// available). Oldest lot first where the SKU has lots, else the fullest bin.
    fn allocation_order(&self, py: Python<'_>, sku: &str) -> PyResult<Vec<(Str, i64)>> {
        let order = self
            .inner
            .allocation_order(sku)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(order
            .into_iter()
            .map(|(available, location)| (self.location_code(py, location), available))
            .collect())
    }

    fn all_levels(&self) -> Vec<LevelRow> {
        self.inner
            .all_levels()
            .map(|(sku, l)| self.level_row(sku, l))
            .collect()
    }

    fn open_holds(&self) -> usize {
        self.inner.held_count()
    }

    fn next_expiry_ms(&self) -> Option<i64> {
        self.inner.next_expiry_ms()
    }

    #[getter]
    fn last_lsn(&self) -> u64 {
        self.inner.last_lsn()
    }

    fn pending(&self) -> usize {
        self.inner.pending()
    }

    fn drain(&mut self, py: Python<'_>, rows_max: usize) -> PyResult<Batch> {
        let entries = self.inner.drain(rows_max);
        self.batch(py, entries)
    }

    fn pending_level_deltas(&self, py: Python<'_>) -> Vec<LevelDeltaRow> {
        self.level_delta_rows(py, &self.inner.pending_summary())
    }

    /// What the undrained log will add to each lot: (sku, location, lot, units).
    fn pending_lot_deltas(&self, py: Python<'_>) -> Vec<LotLevelRow> {
        self.lot_delta_rows(py, &self.inner.pending_summary())
    }

    fn prune_finished(&mut self, upto_lsn: u64) {
        self.inner.prune_finished(upto_lsn);
    }

    #[pyo3(signature = (code, *, safety_buffer_units=None, safety_buffer_percent=None, locations=None))]
    fn define_channel(
        &mut self,
        py: Python<'_>,
        code: &str,
        safety_buffer_units: Option<u64>,
        safety_buffer_percent: Option<u8>,
        locations: Option<Vec<PyBackedStr>>,
    ) -> PyResult<()> {
        let buffer = match (safety_buffer_units, safety_buffer_percent) {
            (Some(_), Some(_)) => {
                return Err(errors::to_py(
                    py,
                    core::EngineError::InvalidInput {
                        field: "safety_buffer_percent".into(),
                        reason: "give units or a percent, not both".into(),
                    },
                ))
            }
            (_, Some(percent)) => core::SafetyBuffer::Percent(percent),
            (units, None) => core::SafetyBuffer::Units(units.unwrap_or(0)),
        };
        let codes: Option<Vec<&str>> = locations
            .as_ref()
            .map(|codes| codes.iter().map(|c| &**c).collect());
        self.inner
            .define_channel(code, buffer, codes.as_deref())
            .map_err(|e| errors::to_py(py, e))
    }

    fn available_to_channel(
        &self,
        py: Python<'_>,
        sku: &str,
        channel: &str,
        now_ms: i64,
    ) -> PyResult<i64> {
        self.inner
            .available_to_channel(sku, channel, now_ms)
            .map_err(|e| errors::to_py(py, e))
    }

    #[pyo3(signature = (code, parent))]
    fn set_location_parent(
        &mut self,
        py: Python<'_>,
        code: &str,
        parent: Option<&str>,
    ) -> PyResult<()> {
        self.inner
            .set_location_parent(code, parent)
            .map_err(|e| errors::to_py(py, e))
    }

    /// `mode`: "define" (checked, pools within the stock), "check" (the same, defining
    /// nothing) or "load" (recovery: pools not checked against the stock now).
    // The Python signature is the drop's fields, as keywords past the window.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (code, sku, starts_at_ms, ends_at_ms, *, spill_at_ms=None, per_buyer_max=None, pools=Vec::new(), mode="define"))]
    fn define_drop(
        &mut self,
        py: Python<'_>,
        code: &str,
        sku: &str,
        starts_at_ms: i64,
        ends_at_ms: i64,
        spill_at_ms: Option<i64>,
        per_buyer_max: Option<u64>,
        pools: Vec<(PyBackedStr, u64)>,
        mode: &str,
    ) -> PyResult<()> {
        let pools: Vec<(&str, u64)> = pools.iter().map(|(c, u)| (&**c, *u)).collect();
        let spec = core::DropSpec {
            code,
            sku,
            starts_at_ms,
            ends_at_ms,
            spill_at_ms,
            per_buyer_max,
            pools: &pools,
        };
        let result = match mode {
            "define" => self.inner.define_drop(&spec),
            "check" => self.inner.check_drop(&spec).map(|_| ()),
            "load" => self.inner.load_drop(&spec),
            _ => return Err(PyValueError::new_err("mode: define, check or load")),
        };
        result.map_err(|e| errors::to_py(py, e))
    }

    /// A drop at `now_ms`: its phase and its pools as (channel, units, taken, unsold), or
    /// None for an unknown drop.
    #[allow(clippy::type_complexity)]
    fn drop_state(
        &self,
        code: &str,
        now_ms: i64,
    ) -> Option<(&'static str, Vec<(String, u64, u64, u64)>)> {
        self.inner.drop(code).map(|d| {
            let pools = d
                .pools
                .iter()
                .map(|p| (p.channel.to_string(), p.units, p.taken, d.unsold(p, now_ms)))
                .collect();
            (d.phase(now_ms).as_str(), pools)
        })
    }

    #[pyo3(signature = (sku, channel, now_ms))]
    fn available_to_hold(
        &self,
        py: Python<'_>,
        sku: &str,
        channel: Option<&str>,
        now_ms: i64,
    ) -> PyResult<i64> {
        self.inner
            .available_to_hold(sku, channel, now_ms)
            .map_err(|e| errors::to_py(py, e))
    }

    fn load_pool_taken(
        &mut self,
        py: Python<'_>,
        drop: &str,
        channel: &str,
        taken: u64,
    ) -> PyResult<()> {
        self.inner
            .load_pool_taken(drop, channel, taken)
            .map_err(|e| errors::to_py(py, e))
    }

    fn load_hold_pool(
        &mut self,
        py: Python<'_>,
        reservation_id: &str,
        sku: &str,
        channel: &str,
    ) -> PyResult<()> {
        self.inner
            .load_hold_pool(seq_of(reservation_id)?, sku, channel)
            .map_err(|e| errors::to_py(py, e))
    }

    /// Receives every line or none: [(sku, location, quantity, lot, expires_on)]; each
    /// line's (lsn, level after).
    fn receive_lines(
        &mut self,
        py: Python<'_>,
        lines: Vec<ReceiptRow>,
        now_ms: i64,
    ) -> PyResult<Vec<(u64, LevelRow)>> {
        let requests: Vec<core::ReceiptLine<'_>> = lines
            .iter()
            .map(|(sku, location, quantity, lot, expires_on)| {
                (&**sku, &**location, *quantity, lot.as_deref(), *expires_on)
            })
            .collect();
        let moved = self
            .inner
            .receive_lines(&requests, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok(moved
            .into_iter()
            .zip(&requests)
            .map(|((lsn, level), line)| {
                let sku = self.inner.catalogue().sku_id(line.0).expect("received SKU");
                (lsn, self.level_row(sku, &level))
            })
            .collect())
    }

    /// Ships a transfer, every line or none: [(sku, from, to, quantity, lot)]; the LSNs.
    fn ship_transit(
        &mut self,
        py: Python<'_>,
        lines: Vec<(
            PyBackedStr,
            PyBackedStr,
            PyBackedStr,
            i64,
            Option<PyBackedStr>,
        )>,
        now_ms: i64,
    ) -> PyResult<Vec<u64>> {
        let requests: Vec<core::ShipLine<'_>> = lines
            .iter()
            .map(|(sku, from, to, quantity, lot)| {
                (&**sku, &**from, &**to, *quantity, lot.as_deref())
            })
            .collect();
        self.inner
            .ship_transit(&requests, now_ms)
            .map_err(|e| errors::to_py(py, e))
    }

    /// Units of a transfer that arrived: [(sku, to, quantity, lot)]; the LSNs.
    fn arrive_transit(
        &mut self,
        py: Python<'_>,
        lines: Vec<TransitRow>,
        now_ms: i64,
    ) -> PyResult<Vec<u64>> {
        let requests = transit_lines(&lines);
        self.inner
            .arrive_transit(&requests, now_ms)
            .map_err(|e| errors::to_py(py, e))
    }

    /// Units of a transfer that never arrived: [(sku, to, quantity, lot)]; the LSNs.
    fn lose_transit(
        &mut self,
        py: Python<'_>,
        lines: Vec<TransitRow>,
        now_ms: i64,
    ) -> PyResult<Vec<u64>> {
        let requests = transit_lines(&lines);
        self.inner
            .lose_transit(&requests, now_ms)
            .map_err(|e| errors::to_py(py, e))
    }

    #[pyo3(signature = (sku, location, quantity, now_ms, *, lot=None))]
    fn write_off(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        quantity: i64,
        now_ms: i64,
        lot: Option<&str>,
    ) -> PyResult<(u64, LevelRow)> {
        let moved = self.inner.write_off(sku, location, quantity, lot, now_ms);
        self.movement(py, sku, moved)
    }

    fn set_incoming(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        units: i64,
    ) -> PyResult<()> {
        self.inner
            .set_incoming(sku, location, units)
            .map_err(|e| errors::to_py(py, e))
    }

    fn clear_incoming(&mut self, py: Python<'_>, sku: &str) -> PyResult<()> {
        self.inner
            .clear_incoming(sku)
            .map_err(|e| errors::to_py(py, e))
    }

    fn load_in_transit(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        units: i64,
    ) -> PyResult<()> {
        self.inner
            .load_in_transit(sku, location, units)
            .map_err(|e| errors::to_py(py, e))
    }

    /// Units on their way to each location of `sku`: [(location, sellable, incoming,
    /// in_transit)], by location.
    fn inbound(&self, py: Python<'_>, sku: &str) -> PyResult<Vec<(String, bool, i64, i64)>> {
        let rows = self.inner.inbound(sku).map_err(|e| errors::to_py(py, e))?;
        let c = self.inner.catalogue();
        let mut out: Vec<(String, bool, i64, i64)> = rows
            .into_iter()
            .map(|(location, i)| {
                let code = c.location(location).to_owned();
                (code, c.is_sellable(location), i.incoming, i.in_transit)
            })
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Puts `buyer` on `sku`'s waitlist: (entry, lsn, position).
    #[pyo3(signature = (sku, quantity, now_ms, *, buyer, channel=None))]
    fn join_waitlist(
        &mut self,
        py: Python<'_>,
        sku: &str,
        quantity: i64,
        now_ms: i64,
        buyer: &str,
        channel: Option<&str>,
    ) -> PyResult<(u64, u64, usize)> {
        let who = core::HoldFor {
            channel,
            buyer: Some(buyer),
        };
        let joined = self
            .inner
            .join_waitlist(sku, quantity, who, now_ms)
            .map_err(|e| errors::to_py(py, e))?;
        Ok((joined.entry, joined.lsn, joined.position))
    }

    fn leave_waitlist(&mut self, py: Python<'_>, entry: u64, now_ms: i64) -> PyResult<u64> {
        self.inner
            .leave_waitlist(entry, now_ms)
            .map_err(|e| errors::to_py(py, e))
    }

    fn serve_waitlists(&mut self, now_ms: i64) -> usize {
        self.inner.serve_waitlists(now_ms)
    }

    /// A waiting entry: (sku, quantity, buyer, channel, position), or None.
    fn waitlist_entry(&self, entry: u64) -> Option<WaitingRow> {
        self.inner.waitlist_entry(entry).map(|(sku, e, position)| {
            (
                sku.to_owned(),
                e.quantity,
                e.buyer.to_string(),
                e.channel.as_deref().map(str::to_owned),
                position,
            )
        })
    }

    /// Up to `limit` entries waiting for `sku`, oldest first: (entry, quantity, buyer, channel).
    #[pyo3(signature = (sku, limit=100))]
    fn waitlist(&self, py: Python<'_>, sku: &str, limit: usize) -> PyResult<Vec<QueuedRow>> {
        let queue = self.inner.waitlist(sku).map_err(|e| errors::to_py(py, e))?;
        Ok(queue
            .take(limit)
            .map(|e| {
                let channel = e.channel.as_deref().map(str::to_owned);
                (e.id, e.quantity, e.buyer.to_string(), channel)
            })
            .collect())
    }

    /// Units the entries waiting for `sku` ask for.
    fn waitlisted_units(&self, py: Python<'_>, sku: &str) -> PyResult<i64> {
        self.inner
            .waitlisted_units(sku)
            .map_err(|e| errors::to_py(py, e))
    }

    fn waiting_count(&self) -> usize {
        self.inner.waiting_count()
    }

    #[pyo3(signature = (entry, sku, quantity, buyer, channel=None))]
    fn load_waitlist_entry(
        &mut self,
        py: Python<'_>,
        entry: u64,
        sku: &str,
        quantity: i64,
        buyer: &str,
        channel: Option<&str>,
    ) -> PyResult<()> {
        self.inner
            .load_waitlist_entry(entry, sku, quantity, buyer, channel)
            .map_err(|e| errors::to_py(py, e))
    }

    fn set_next_waitlist_entry(&mut self, entry: u64) {
        self.inner.set_next_waitlist_entry(entry);
    }

    #[pyo3(signature = (sku, per_buyer_max))]
    fn set_per_buyer_max(
        &mut self,
        py: Python<'_>,
        sku: &str,
        per_buyer_max: Option<u64>,
    ) -> PyResult<()> {
        self.inner
            .set_per_buyer_max(sku, per_buyer_max)
            .map_err(|e| errors::to_py(py, e))
    }

    fn buyer_units(&self, py: Python<'_>, buyer: &str, sku: &str) -> PyResult<u64> {
        self.inner
            .buyer_units(buyer, sku)
            .map_err(|e| errors::to_py(py, e))
    }

    fn load_buyer_units(
        &mut self,
        py: Python<'_>,
        buyer: &str,
        sku: &str,
        units: u64,
    ) -> PyResult<()> {
        self.inner
            .load_buyer_units(buyer, sku, units)
            .map_err(|e| errors::to_py(py, e))
    }

    fn load_level(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        on_hand: i64,
        reserved: i64,
        committed: i64,
    ) -> PyResult<()> {
        self.inner
            .load_level(sku, location, on_hand, reserved, committed)
            .map_err(|e| errors::to_py(py, e))
    }

    fn load_lot(
        &mut self,
        py: Python<'_>,
        sku: &str,
        lot: &str,
        expires_on: Option<i32>,
        first_lsn: u64,
    ) -> PyResult<()> {
        self.inner
            .load_lot(sku, lot, expires_on, first_lsn)
            .map(drop)
            .map_err(|e| errors::to_py(py, e))
    }

    fn load_lot_units(
        &mut self,
        py: Python<'_>,
        sku: &str,
        location: &str,
        lot: &str,
        units: i64,
    ) -> PyResult<()> {
        self.inner
            .load_lot_units(sku, location, lot, units)
            .map_err(|e| errors::to_py(py, e))
    }

    /// Loads the open reservations a loader gathered (see `recovery`); returns how many.
    fn load_open_lines(
        &mut self,
        py: Python<'_>,
        mut loader: PyRefMut<'_, OpenLinesLoader>,
    ) -> PyResult<usize> {
        let lines = loader.take()?;
        self.inner
            .load_open_lines(lines)
            .map_err(|e| errors::to_py(py, e))
    }

    fn set_lsn(&mut self, lsn: u64) {
        self.inner.set_last_lsn(lsn);
    }

    fn set_next_reservation_seq(&mut self, seq: u64) {
        self.inner.set_next_seq(seq);
    }
}
