//! SKU and location codes interned to dense ids, with each location's sellable flag.

use rustc_hash::FxHashMap;

use crate::error::{EngineError, Result};
use crate::ids::{LocId, SkuId};

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
    entries_max: usize,
}

impl Catalogue {
    pub fn new(entries_max: usize) -> Self {
        Self {
            skus: Interner::new(),
            locations: Interner::new(),
            sellable: Vec::new(),
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

    pub fn sku_count(&self) -> usize {
        self.skus.len()
    }
}
