//! SKU and location codes interned to dense ids, with each location's sellable flag and the
//! location it is inside (its parent: a bin in an aisle in a warehouse).

use rustc_hash::FxHashMap;

use crate::error::{EngineError, Result};
use crate::ids::{LocId, SkuId};

/// Most levels a location may sit below its warehouse (a walk up stops there: a cycle, which
/// the catalogue refuses upstream, cannot loop).
const DEPTH_MAX: usize = 64;

/// Longest SKU or location code, in bytes.
pub const CODE_BYTES_MAX: usize = 64;

/// Checks a SKU or location code: 1..=64 characters of `[A-Za-z0-9._:/-]`.
pub fn validate_code(field: &str, code: &str) -> Result<()> {
    if code.is_empty() || code.len() > CODE_BYTES_MAX {
        return Err(EngineError::invalid(field, "must be 1 to 64 characters"));
    }
    if !code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b))
    {
        return Err(EngineError::invalid(
            field,
            "may only contain A-Z a-z 0-9 . _ : / -",
        ));
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct Interner<Id> {
    codes: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, Id>,
}

impl<Id: Copy + TryFrom<usize> + Into<u64>> Interner<Id> {
    fn new() -> Self {
        Self {
            codes: Vec::new(),
            ids: FxHashMap::default(),
        }
    }

    fn get(&self, code: &str) -> Option<Id> {
        self.ids.get(code).copied()
    }

    /// Returns the id of `code`, adding it if new.
    fn intern(&mut self, code: &str, max: usize) -> Result<(Id, bool)> {
        if let Some(id) = self.get(code) {
            return Ok((id, false));
        }
        if self.codes.len() >= max {
            return Err(EngineError::LimitExceeded {
                field: "catalogue".into(),
                limit: max as u64,
            });
        }
        let id = Id::try_from(self.codes.len())
            .ok()
            .expect("catalogue ids fit their type");
        self.codes.push(code.into());
        self.ids.insert(code.into(), id);
        Ok((id, true))
    }

    fn code(&self, id: Id) -> &str {
        &self.codes[id.into() as usize]
    }

    fn len(&self) -> usize {
        self.codes.len()
    }
}

/// Every SKU and location the engine knows.
#[derive(Debug, Clone)]
pub struct Catalogue {
    skus: Interner<SkuId>,
    locations: Interner<LocId>,
    sellable: Vec<bool>,
    parents: Vec<Option<LocId>>,
    entries_max: usize,
}

impl Catalogue {
    pub fn new(entries_max: usize) -> Self {
        Self {
            skus: Interner::new(),
            locations: Interner::new(),
            sellable: Vec::new(),
            parents: Vec::new(),
            entries_max,
        }
    }

    /// Defines a SKU (idempotent). Returns its id and whether it is new.
    pub fn define_sku(&mut self, sku: &str) -> Result<(SkuId, bool)> {
        validate_code("sku", sku)?;
        self.skus.intern(sku, self.entries_max)
    }

    /// Defines a location or changes its sellable flag.
    pub fn define_location(&mut self, code: &str, sellable: bool) -> Result<LocId> {
        validate_code("location", code)?;
        let (id, new) = self.locations.intern(code, self.entries_max)?;
        if new {
            self.sellable.push(sellable);
            self.parents.push(None);
        } else {
            self.sellable[id as usize] = sellable;
        }
        Ok(id)
    }

    pub fn sku_id(&self, sku: &str) -> Result<SkuId> {
        self.skus
            .get(sku)
            .ok_or_else(|| EngineError::UnknownSku(sku.to_owned()))
    }

    pub fn location_id(&self, code: &str) -> Result<LocId> {
        self.locations
            .get(code)
            .ok_or_else(|| EngineError::UnknownLocation(code.to_owned()))
    }

    pub fn has_sku(&self, sku: &str) -> bool {
        self.skus.get(sku).is_some()
    }

    pub fn has_location(&self, code: &str) -> bool {
        self.locations.get(code).is_some()
    }

    pub fn sku(&self, id: SkuId) -> &str {
        self.skus.code(id)
    }

    pub fn location(&self, id: LocId) -> &str {
        self.locations.code(id)
    }

    pub fn is_sellable(&self, id: LocId) -> bool {
        self.sellable[id as usize]
    }

    /// Sets (or clears) the location a location is inside. The catalogue upstream refuses
    /// cycles; one here is refused too.
    pub fn set_parent(&mut self, code: &str, parent: Option<&str>) -> Result<()> {
        let id = self.location_id(code)?;
        let parent = parent.map(|p| self.location_id(p)).transpose()?;
        if let Some(p) = parent {
            if p == id || self.is_within(p, &[id]) {
                return Err(EngineError::invalid(
                    "parent",
                    "would make the location its own ancestor",
                ));
            }
        }
        self.parents[id as usize] = parent;
        Ok(())
    }

    /// Whether `location` is one of `places` or inside one of them.
    pub fn is_within(&self, location: LocId, places: &[LocId]) -> bool {
        let mut at = Some(location);
        for _ in 0..DEPTH_MAX {
            match at {
                Some(id) if places.contains(&id) => return true,
                Some(id) => at = self.parents[id as usize],
                None => return false,
            }
        }
        false
    }

    pub fn sku_count(&self) -> usize {
        self.skus.len()
    }
}
