//! Walking distances in metres: shortest paths along aisles and cross aisles.
//!
//! Coordinates: `x` across the aisles (aisle `a` at `(a - 1) * aisle_width_m`), `y` from the
//! front cross aisle's centre line (`y = 0`) towards the back. Cross aisle `k` (0 = front,
//! `blocks` = back) has its centre line at `k * cross_aisle_width_m + s_k * bin_pitch_m`,
//! where `s_k` is the number of positions in front of it. A bin at position `p` of block `k`
//! sits at `y = k * w + w / 2 + (p - 0.5) * pitch`. Every aisle spans every block and every
//! cross aisle spans every aisle, so the shortest walk between two points leaves each one's
//! aisle segment by one of its two cross aisles and is rectilinear in between.

use super::error::PickPathError;
use super::layout::{Layout, PickPoint};

/// Largest number of stops a distance matrix is built for (the matrix holds
/// `(stops + 1)^2` entries).
pub const MATRIX_STOPS_MAX: usize = 2_000;

/// A point of the walking graph: the depot or a bin.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Point {
    /// The depot, on the front cross aisle at `Layout::depot_aisle`.
    Depot,
    /// A bin on the pick grid.
    Bin(PickPoint),
}

/// Walking distances between the depot (index 0) and stops `1..size` (stop `i + 1` is
/// `picks[i]`), metres, row-major and symmetric.
#[derive(Clone, Debug, PartialEq)]
pub struct DistanceMatrix {
    /// Number of rows and of columns: stops + 1.
    pub size: usize,
    /// `size * size` distances in metres; entry `i * size + j` is from point `i` to point `j`.
    pub metres: Vec<f64>,
}

impl DistanceMatrix {
    /// Distance in metres from point `i` to point `j` (0 is the depot).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.metres[i * self.size + j]
    }

    /// Length in metres of the closed walk depot -> stops in `order` -> depot, where `order`
    /// holds pick indices (stop `i` is matrix point `i + 1`).
    pub fn tour_length_m(&self, order: &[usize]) -> f64 {
        let mut total = 0.0;
        let mut at = 0;
        for &i in order {
            total += self.get(at, i + 1);
            at = i + 1;
        }
        total + self.get(at, 0)
    }
}

/// Walking distance in metres between two points of a layout.
pub fn walking_distance_m(layout: &Layout, a: &Point, b: &Point) -> Result<f64, PickPathError> {
    layout.validate()?;
    let grid = Grid::new(layout);
    let spot = |p: &Point| -> Result<Spot, PickPathError> {
        match p {
            Point::Depot => Ok(grid.depot()),
            Point::Bin(bin) => {
                layout.check_points(std::slice::from_ref(bin))?;
                Ok(grid.spot(bin))
            }
        }
    };
    Ok(grid.distance_m(&spot(a)?, &spot(b)?))
}

/// The distance matrix of the depot and `picks` (index 0 = depot, `i + 1` = `picks[i]`).
pub fn distance_matrix(
    layout: &Layout,
    picks: &[PickPoint],
) -> Result<DistanceMatrix, PickPathError> {
    layout.validate()?;
    if picks.len() > MATRIX_STOPS_MAX {
        return Err(PickPathError::TooManyStops {
            stops: picks.len(),
            stops_max: MATRIX_STOPS_MAX,
        });
    }
    layout.check_points(picks)?;
    let grid = Grid::new(layout);
    let spots: Vec<Spot> = picks.iter().map(|p| grid.spot(p)).collect();
    Ok(grid.matrix(&spots))
}

/// A located point: coordinates plus the segment it lies in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Spot {
    /// Metres across.
    pub x: f64,
    /// Metres from the front cross aisle's centre line.
    pub y: f64,
    /// Aisle number (0 for the depot).
    pub aisle: u32,
    /// Block index, 0 = front block (`u32::MAX` for the depot).
    pub block: u32,
}

impl Spot {
    fn is_depot(&self) -> bool {
        self.block == u32::MAX
    }
}

/// The derived geometry of a validated layout.
#[derive(Clone, Debug)]
pub(crate) struct Grid {
    /// Number of blocks.
    pub blocks: usize,
    /// Centre-line `y` of each cross aisle, front (0) to back (`blocks`), metres.
    pub cross_y: Vec<f64>,
    /// Middle cross aisle positions (copied from the layout).
    pub middle: Vec<u32>,
    pub aisle_width_m: f64,
    pub cross_aisle_width_m: f64,
    pub bin_pitch_m: f64,
    /// Depot aisle coordinate.
    pub depot_aisle: f64,
}

impl Grid {
    /// Geometry of `layout`, which must be valid.
    pub fn new(layout: &Layout) -> Grid {
        let blocks = layout.blocks();
        let w = layout.cross_aisle_width_m;
        let pitch = layout.bin_pitch_m;
        let mut cross_y = Vec::with_capacity(blocks + 1);
        cross_y.push(0.0);
        for k in 1..=blocks {
            let positions_before = if k < blocks {
                layout.middle_cross_aisles[k - 1]
            } else {
                layout.positions_per_aisle
            };
            cross_y.push(k as f64 * w + f64::from(positions_before) * pitch);
        }
        Grid {
            blocks,
            cross_y,
            middle: layout.middle_cross_aisles.clone(),
            aisle_width_m: layout.aisle_width_m,
            cross_aisle_width_m: w,
            bin_pitch_m: pitch,
            depot_aisle: layout.depot_aisle,
        }
    }

    /// `x` in metres of an aisle coordinate (aisle 1 at 0).
    pub fn x_of(&self, aisle_coordinate: f64) -> f64 {
        (aisle_coordinate - 1.0) * self.aisle_width_m
    }

    /// The block (0 = front) holding `position`.
    pub fn block_of(&self, position: u32) -> usize {
        self.middle.partition_point(|&m| m < position)
    }

    /// Locates a bin that is on the grid.
    pub fn spot(&self, p: &PickPoint) -> Spot {
        let k = self.block_of(p.position);
        let y = k as f64 * self.cross_aisle_width_m
            + self.cross_aisle_width_m / 2.0
            + (f64::from(p.position) - 0.5) * self.bin_pitch_m;
        Spot {
            x: self.x_of(f64::from(p.aisle)),
            y,
            aisle: p.aisle,
            block: k as u32,
        }
    }

    /// The depot's spot.
    pub fn depot(&self) -> Spot {
        Spot {
            x: self.x_of(self.depot_aisle),
            y: 0.0,
            aisle: 0,
            block: u32::MAX,
        }
    }

    /// Cross aisles a spot can leave its segment by.
    fn exits(&self, s: &Spot) -> [usize; 2] {
        if s.is_depot() {
            [0, 0]
        } else {
            [s.block as usize, s.block as usize + 1]
        }
    }

    /// Shortest walking distance between two spots, metres.
    pub fn distance_m(&self, a: &Spot, b: &Spot) -> f64 {
        if !a.is_depot() && !b.is_depot() && a.aisle == b.aisle && a.block == b.block {
            return (a.y - b.y).abs();
        }
        let mut vertical = f64::INFINITY;
        for ca in self.exits(a) {
            let ya = self.cross_y[ca];
            for cb in self.exits(b) {
                let yb = self.cross_y[cb];
                vertical = vertical.min((a.y - ya).abs() + (ya - yb).abs() + (yb - b.y).abs());
            }
        }
        vertical + (a.x - b.x).abs()
    }

    /// Length of depot -> `order` -> depot, walked by shortest paths, metres.
    pub fn tour_length_m(&self, spots: &[Spot], order: &[usize]) -> f64 {
        let depot = self.depot();
        let mut at = depot;
        let mut total = 0.0;
        for &i in order {
            total += self.distance_m(&at, &spots[i]);
            at = spots[i];
        }
        total + self.distance_m(&at, &depot)
    }

    /// The distance matrix of depot + spots.
    pub fn matrix(&self, spots: &[Spot]) -> DistanceMatrix {
        let size = spots.len() + 1;
        let mut all = Vec::with_capacity(size);
        all.push(self.depot());
        all.extend_from_slice(spots);
        let mut metres = vec![0.0; size * size];
        for i in 0..size {
            for j in (i + 1)..size {
                let d = self.distance_m(&all[i], &all[j]);
                metres[i * size + j] = d;
                metres[j * size + i] = d;
            }
        }
        DistanceMatrix { size, metres }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(middle: Vec<u32>) -> Layout {
        Layout {
            aisles: 5,
            positions_per_aisle: 10,
            aisle_width_m: 3.0,
            cross_aisle_width_m: 2.0,
            bin_pitch_m: 1.0,
            middle_cross_aisles: middle,
            depot_aisle: 1.0,
        }
    }

    fn d(l: &Layout, a: Point, b: Point) -> f64 {
        walking_distance_m(l, &a, &b).unwrap()
    }

    fn bin(a: u32, p: u32) -> Point {
        Point::Bin(PickPoint::new(a, p))
    }

    #[test]
    fn single_block_distances() {
        let l = layout(vec![]);
        // Bin 1 of aisle 1 is 1 m (half cross aisle) + 0.5 m from the depot.
        assert_eq!(d(&l, Point::Depot, bin(1, 1)), 1.5);
        // Same aisle: straight along it.
        assert_eq!(d(&l, bin(1, 2), bin(1, 9)), 7.0);
        // Different aisles: via the front (2+2 + 1.5*2 ... ) or back cross aisle, whichever shorter.
        // bin(1,2): y = 2.5; bin(2,3): y = 3.5. Front: 2.5 + 3 + 3.5 = 9.
        assert_eq!(d(&l, bin(1, 2), bin(2, 3)), 9.0);
        // Near the back: cross aisle 1 at y = 2 + 10 = 12. bin(1,10) y = 10.5, bin(3,9) y = 9.5.
        // Back: 1.5 + 6 + 2.5 = 10.
        assert_eq!(d(&l, bin(1, 10), bin(3, 9)), 10.0);
        // Depot to itself and symmetry.
        assert_eq!(d(&l, Point::Depot, Point::Depot), 0.0);
        assert_eq!(d(&l, bin(3, 9), bin(1, 10)), 10.0);
    }

    #[test]
    fn multi_block_distances() {
        // Middle cross aisle after position 5: block 0 = 1..=5, block 1 = 6..=10.
        let l = layout(vec![5]);
        let g = Grid::new(&l);
        assert_eq!(g.cross_y, vec![0.0, 7.0, 14.0]);
        // bin(1,6) y = 2 + 1 + 5.5 = 8.5; bin(1,5) y = 1 + 4.5 = 5.5: same aisle across the middle.
        assert_eq!(d(&l, bin(1, 5), bin(1, 6)), 3.0);
        // bin(1,6) to bin(2,6): via the middle cross aisle at y = 7: 1.5 + 3 + 1.5.
        assert_eq!(d(&l, bin(1, 6), bin(2, 6)), 6.0);
        // Depot to bin(2,10): y = 12.5, 3 m across.
        assert_eq!(d(&l, Point::Depot, bin(2, 10)), 15.5);
    }

    #[test]
    fn fractional_depot() {
        let mut l = layout(vec![]);
        l.depot_aisle = 2.5;
        assert_eq!(d(&l, Point::Depot, bin(2, 1)), 1.5 + 1.5);
        assert_eq!(d(&l, Point::Depot, bin(3, 1)), 1.5 + 1.5);
    }

    #[test]
    fn matrix_and_tour_length() {
        let l = layout(vec![5]);
        let picks = [
            PickPoint::new(1, 3),
            PickPoint::new(4, 8),
            PickPoint::new(2, 2),
        ];
        let m = distance_matrix(&l, &picks).unwrap();
        assert_eq!(m.size, 4);
        for i in 0..4 {
            assert_eq!(m.get(i, i), 0.0);
            for j in 0..4 {
                assert_eq!(m.get(i, j), m.get(j, i));
                for k in 0..4 {
                    assert!(m.get(i, k) <= m.get(i, j) + m.get(j, k) + 1e-12);
                }
            }
        }
        let g = Grid::new(&l);
        let spots: Vec<Spot> = picks.iter().map(|p| g.spot(p)).collect();
        let order = [2, 0, 1];
        assert!((m.tour_length_m(&order) - g.tour_length_m(&spots, &order)).abs() < 1e-12);
        assert!(distance_matrix(&l, &[PickPoint::new(6, 1)]).is_err());
    }
}
