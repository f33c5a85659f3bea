//! The warehouse walking layout: parallel pick aisles, cross aisles, bins and the depot.
//!
//! Geometry (all lengths in metres). Pick aisles are numbered `1..=aisles` from left to right;
//! aisle `a` runs along `x = (a - 1) * aisle_width_m`. Positions are numbered
//! `1..=positions_per_aisle` from the front (depot side) to the back; each is `bin_pitch_m`
//! long. Cross aisles run across all aisles: the front one (the depot's), the back one, and
//! optional middle ones, each `cross_aisle_width_m` wide; a middle cross aisle listed as `p`
//! lies between positions `p` and `p + 1`. The aisles between two consecutive cross aisles
//! form a block, so a layout has `middle_cross_aisles.len() + 1` blocks. Pickers walk along
//! centre lines; a bin's `level` (shelf height) does not change walking distance.

use super::error::PickPathError;

/// Largest accepted number of pick aisles.
pub const AISLES_MAX: u32 = 1_000;
/// Largest accepted number of positions along one aisle.
pub const POSITIONS_PER_AISLE_MAX: u32 = 100_000;
/// Largest accepted number of middle cross aisles (so at most 16 blocks).
pub const MIDDLE_CROSS_AISLES_MAX: usize = 15;
/// Largest accepted aisle width, cross-aisle width or bin pitch, in metres.
pub const WIDTH_M_MAX: f64 = 1_000.0;
/// Default centre-to-centre distance between adjacent pick aisles, in metres.
pub const AISLE_WIDTH_M_DEFAULT: f64 = 3.0;
/// Default cross-aisle width, in metres.
pub const CROSS_AISLE_WIDTH_M_DEFAULT: f64 = 2.0;
/// Default length of one position along an aisle, in metres.
pub const BIN_PITCH_M_DEFAULT: f64 = 1.0;

/// A place on the pick grid: a bin (or a stop at it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PickPoint {
    /// Pick aisle, `1..=aisles`, left to right.
    pub aisle: u32,
    /// Position along the aisle, `1..=positions_per_aisle`, front (depot side) to back.
    pub position: u32,
    /// Shelf level; carried along, does not change walking distance.
    pub level: u32,
}

impl PickPoint {
    /// A pick point at `(aisle, position)` on level 0.
    pub fn new(aisle: u32, position: u32) -> Self {
        PickPoint {
            aisle,
            position,
            level: 0,
        }
    }
}

/// A rectangular warehouse's walking layout. Plain data: check it with [`Layout::validate`]
/// (every pickpath entry point does).
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Number of parallel pick aisles, numbered `1..=aisles` left to right.
    pub aisles: u32,
    /// Number of positions along every aisle, numbered `1..=positions_per_aisle` front to back.
    pub positions_per_aisle: u32,
    /// Centre-to-centre distance between adjacent pick aisles, metres.
    pub aisle_width_m: f64,
    /// Width of each cross aisle (front, back and middle), metres.
    pub cross_aisle_width_m: f64,
    /// Length of one position along an aisle, metres.
    pub bin_pitch_m: f64,
    /// Middle cross aisles, each given as the position after which it lies; strictly
    /// increasing, each in `1..positions_per_aisle`. Empty for a single-block warehouse.
    pub middle_cross_aisles: Vec<u32>,
    /// The depot's place on the front cross aisle as an aisle coordinate: `1.0` is in front of
    /// aisle 1, `2.5` halfway between aisles 2 and 3. In `[1, aisles]`.
    pub depot_aisle: f64,
}

/// Overrides for a layout sized from bins (a warehouse's `"layout": {...}`); `None` keeps
/// the default or the size derived from the bins.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayoutOptions {
    /// Number of aisles; default: the largest aisle among the bins.
    pub aisles: Option<u32>,
    /// Positions per aisle; default: the largest position among the bins.
    pub positions_per_aisle: Option<u32>,
    /// Metres; default [`AISLE_WIDTH_M_DEFAULT`].
    pub aisle_width_m: Option<f64>,
    /// Metres; default [`CROSS_AISLE_WIDTH_M_DEFAULT`].
    pub cross_aisle_width_m: Option<f64>,
    /// Metres; default [`BIN_PITCH_M_DEFAULT`].
    pub bin_pitch_m: Option<f64>,
    /// Middle cross aisles (positions after which they lie); default none (one block).
    pub middle_cross_aisles: Vec<u32>,
    /// Depot aisle coordinate; default `1.0` (in front of aisle 1).
    pub depot_aisle: Option<f64>,
}

impl Layout {
    /// A single-block layout of `aisles` x `positions_per_aisle` with default widths and the
    /// depot in front of aisle 1, validated.
    pub fn new(aisles: u32, positions_per_aisle: u32) -> Result<Layout, PickPathError> {
        let layout = Layout {
            aisles,
            positions_per_aisle,
            aisle_width_m: AISLE_WIDTH_M_DEFAULT,
            cross_aisle_width_m: CROSS_AISLE_WIDTH_M_DEFAULT,
            bin_pitch_m: BIN_PITCH_M_DEFAULT,
            middle_cross_aisles: Vec::new(),
            depot_aisle: 1.0,
        };
        layout.validate()?;
        Ok(layout)
    }

    /// The default walking layout of a warehouse: one block (front and back cross aisles)
    /// just large enough for its bins, default widths, depot in front of aisle 1.
    pub fn from_bins(bins: &[PickPoint]) -> Result<Layout, PickPathError> {
        Self::from_bins_with(bins, &LayoutOptions::default())
    }

    /// A layout sized from `bins`, with `options` overriding sizes, widths, middle cross aisles
    /// and depot. Fails if the result is invalid or a bin lies outside it.
    pub fn from_bins_with(
        bins: &[PickPoint],
        options: &LayoutOptions,
    ) -> Result<Layout, PickPathError> {
        for (index, bin) in bins.iter().enumerate() {
            if bin.aisle == 0 || bin.position == 0 {
                return Err(PickPathError::BinOutsideGrid {
                    index,
                    aisle: bin.aisle,
                    position: bin.position,
                    aisles: options.aisles.unwrap_or(AISLES_MAX),
                    positions_per_aisle: options
                        .positions_per_aisle
                        .unwrap_or(POSITIONS_PER_AISLE_MAX),
                });
            }
        }
        let aisles = match options.aisles {
            Some(a) => a,
            None => bins
                .iter()
                .map(|b| b.aisle)
                .max()
                .ok_or(PickPathError::NoBins)?,
        };
        let positions_per_aisle = match options.positions_per_aisle {
            Some(p) => p,
            None => bins
                .iter()
                .map(|b| b.position)
                .max()
                .ok_or(PickPathError::NoBins)?,
        };
        let layout = Layout {
            aisles,
            positions_per_aisle,
            aisle_width_m: options.aisle_width_m.unwrap_or(AISLE_WIDTH_M_DEFAULT),
            cross_aisle_width_m: options
                .cross_aisle_width_m
                .unwrap_or(CROSS_AISLE_WIDTH_M_DEFAULT),
            bin_pitch_m: options.bin_pitch_m.unwrap_or(BIN_PITCH_M_DEFAULT),
            middle_cross_aisles: options.middle_cross_aisles.clone(),
            depot_aisle: options.depot_aisle.unwrap_or(1.0),
        };
        layout.validate()?;
        layout.check_points(bins)?;
        Ok(layout)
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), PickPathError> {
        if self.aisles == 0 {
            return Err(PickPathError::NoAisles);
        }
        if self.aisles > AISLES_MAX {
            return Err(PickPathError::TooManyAisles {
                aisles: self.aisles,
                aisles_max: AISLES_MAX,
            });
        }
        if self.positions_per_aisle == 0 {
            return Err(PickPathError::NoPositions);
        }
        if self.positions_per_aisle > POSITIONS_PER_AISLE_MAX {
            return Err(PickPathError::TooManyPositions {
                positions_per_aisle: self.positions_per_aisle,
                positions_max: POSITIONS_PER_AISLE_MAX,
            });
        }
        for (field, value_m) in [
            ("aisle_width_m", self.aisle_width_m),
            ("cross_aisle_width_m", self.cross_aisle_width_m),
            ("bin_pitch_m", self.bin_pitch_m),
        ] {
            if !(value_m.is_finite() && value_m > 0.0 && value_m <= WIDTH_M_MAX) {
                return Err(PickPathError::BadLength { field, value_m });
            }
        }
        if self.middle_cross_aisles.len() > MIDDLE_CROSS_AISLES_MAX {
            return Err(PickPathError::TooManyMiddleCrossAisles {
                count: self.middle_cross_aisles.len(),
                count_max: MIDDLE_CROSS_AISLES_MAX,
            });
        }
        let mut previous = 0u32;
        for (index, &position) in self.middle_cross_aisles.iter().enumerate() {
            if position == 0 || position >= self.positions_per_aisle {
                return Err(PickPathError::MiddleCrossAisleOutOfRange {
                    index,
                    position,
                    positions_per_aisle: self.positions_per_aisle,
                });
            }
            if index > 0 && position <= previous {
                return Err(PickPathError::MiddleCrossAislesNotIncreasing {
                    index,
                    previous,
                    position,
                });
            }
            previous = position;
        }
        if !(self.depot_aisle.is_finite()
            && self.depot_aisle >= 1.0
            && self.depot_aisle <= f64::from(self.aisles))
        {
            return Err(PickPathError::DepotOutside {
                depot_aisle: self.depot_aisle,
                aisles: self.aisles,
            });
        }
        Ok(())
    }

    /// Checks that every point lies on the grid; the error gives the first bad index.
    pub fn check_points(&self, points: &[PickPoint]) -> Result<(), PickPathError> {
        for (index, p) in points.iter().enumerate() {
            if p.aisle == 0
                || p.aisle > self.aisles
                || p.position == 0
                || p.position > self.positions_per_aisle
            {
                return Err(PickPathError::BinOutsideGrid {
                    index,
                    aisle: p.aisle,
                    position: p.position,
                    aisles: self.aisles,
                    positions_per_aisle: self.positions_per_aisle,
                });
            }
        }
        Ok(())
    }

    /// Number of blocks: middle cross aisles + 1.
    pub fn blocks(&self) -> usize {
        self.middle_cross_aisles.len() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Layout {
        Layout::new(10, 40).unwrap()
    }

    #[test]
    fn new_is_valid_single_block() {
        let l = base();
        assert_eq!(l.blocks(), 1);
        assert_eq!(l.depot_aisle, 1.0);
    }

    #[test]
    fn validate_names_the_field() {
        let mut l = base();
        l.aisles = 0;
        assert_eq!(l.validate(), Err(PickPathError::NoAisles));
        let mut l = base();
        l.aisle_width_m = 0.0;
        let e = l.validate().unwrap_err();
        assert!(e.to_string().contains("aisle_width_m"), "{e}");
        let mut l = base();
        l.cross_aisle_width_m = f64::NAN;
        assert!(l
            .validate()
            .unwrap_err()
            .to_string()
            .contains("cross_aisle_width_m"));
        let mut l = base();
        l.bin_pitch_m = -1.0;
        assert!(l
            .validate()
            .unwrap_err()
            .to_string()
            .contains("bin_pitch_m"));
        let mut l = base();
        l.positions_per_aisle = 0;
        assert_eq!(l.validate(), Err(PickPathError::NoPositions));
    }

    #[test]
    fn middle_cross_aisles_checked() {
        let mut l = base();
        l.middle_cross_aisles = vec![40];
        assert!(matches!(
            l.validate(),
            Err(PickPathError::MiddleCrossAisleOutOfRange { index: 0, .. })
        ));
        l.middle_cross_aisles = vec![0];
        assert!(l.validate().is_err());
        l.middle_cross_aisles = vec![10, 10];
        assert!(matches!(
            l.validate(),
            Err(PickPathError::MiddleCrossAislesNotIncreasing { index: 1, .. })
        ));
        l.middle_cross_aisles = vec![10, 20, 39];
        assert!(l.validate().is_ok());
        assert_eq!(l.blocks(), 4);
        let msg = PickPathError::MiddleCrossAislesNotIncreasing {
            index: 1,
            previous: 10,
            position: 10,
        }
        .to_string();
        assert!(msg.contains("middle_cross_aisles"), "{msg}");
    }

    #[test]
    fn depot_must_be_on_front_cross_aisle() {
        let mut l = base();
        l.depot_aisle = 0.5;
        assert!(l
            .validate()
            .unwrap_err()
            .to_string()
            .contains("depot_aisle"));
        l.depot_aisle = 10.5;
        assert!(l.validate().is_err());
        l.depot_aisle = 5.5;
        assert!(l.validate().is_ok());
    }

    #[test]
    fn points_outside_grid_rejected() {
        let l = base();
        let pts = [PickPoint::new(1, 1), PickPoint::new(11, 3)];
        assert!(matches!(
            l.check_points(&pts),
            Err(PickPathError::BinOutsideGrid { index: 1, .. })
        ));
        assert!(l.check_points(&[PickPoint::new(3, 0)]).is_err());
        assert!(l.check_points(&[PickPoint::new(10, 40)]).is_ok());
    }

    #[test]
    fn from_bins_sizes_a_single_block() {
        let bins = [
            PickPoint::new(2, 7),
            PickPoint {
                aisle: 5,
                position: 3,
                level: 4,
            },
        ];
        let l = Layout::from_bins(&bins).unwrap();
        assert_eq!((l.aisles, l.positions_per_aisle, l.blocks()), (5, 7, 1));
        assert_eq!(Layout::from_bins(&[]), Err(PickPathError::NoBins));
        let opts = LayoutOptions {
            middle_cross_aisles: vec![3],
            aisle_width_m: Some(4.0),
            depot_aisle: Some(3.0),
            ..LayoutOptions::default()
        };
        let l = Layout::from_bins_with(&bins, &opts).unwrap();
        assert_eq!((l.blocks(), l.aisle_width_m, l.depot_aisle), (2, 4.0, 3.0));
        let too_small = LayoutOptions {
            aisles: Some(4),
            ..LayoutOptions::default()
        };
        assert!(matches!(
            Layout::from_bins_with(&bins, &too_small),
            Err(PickPathError::BinOutsideGrid { index: 1, .. })
        ));
        assert!(Layout::from_bins(&[PickPoint::new(0, 1)]).is_err());
    }
}
