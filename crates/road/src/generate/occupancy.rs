//! Occupancy of the plane by roads, as discs on a uniform grid, for overlap avoidance while
//! growing. Discs carry the height of the road so that a bridge passes over a road below.

use crate::model::Road;
use roadworld_geom::Point2;
use rustc_hash::FxHashMap;

const CELL_M: f64 = 40.0;
/// Roads closer than this vertically are in each other's way.
pub(crate) const VERTICAL_CLEARANCE_M: f64 = 4.5;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Disc {
    pub center: Point2,
    pub radius_m: f64,
    /// Lowest and highest road height over the disc.
    pub z_m: (f64, f64),
    pub piece: u32,
}

/// Vertical gap between two height ranges (negative when they overlap).
fn vertical_gap(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.1).max(b.0 - a.1)
}

/// Discs in insertion order plus a grid for lookups. The grid is a hash map used only for
/// lookups: nothing iterates it, so its order never reaches an output.
#[derive(Debug, Default)]
pub(crate) struct Occupancy {
    discs: Vec<Disc>,
    grid: FxHashMap<(i32, i32), Vec<u32>>,
}

fn cell(p: Point2) -> (i32, i32) {
    ((p.x / CELL_M).floor() as i32, (p.y / CELL_M).floor() as i32)
}

impl Occupancy {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.discs.len()
    }

    fn cells_of(d: &Disc) -> impl Iterator<Item = (i32, i32)> {
        let lo = cell(Point2::new(
            d.center.x - d.radius_m,
            d.center.y - d.radius_m,
        ));
        let hi = cell(Point2::new(
            d.center.x + d.radius_m,
            d.center.y + d.radius_m,
        ));
        (lo.0..=hi.0).flat_map(move |x| (lo.1..=hi.1).map(move |y| (x, y)))
    }

    pub fn push(&mut self, d: Disc) {
        let idx = self.discs.len() as u32;
        for c in Self::cells_of(&d) {
            self.grid.entry(c).or_default().push(idx);
        }
        self.discs.push(d);
    }

    /// Covers a road's surface with discs.
    pub fn add_road(&mut self, road: &Road, piece: u32) {
        let len = road.length_m();
        let (r0, l0) = road.edges_t(0.0);
        let step = (l0 - r0).clamp(3.0, 12.0);
        let n = ((len / step).ceil() as usize).max(1);
        for k in 0..=n {
            let s = len * k as f64 / n as f64;
            let (r, l) = road.edges_t(s);
            let mid = 0.5 * (r + l);
            let half = 0.5 * (l - r);
            let mut z = (f64::MAX, f64::MIN);
            for ds in [-0.5 * step, 0.0, 0.5 * step] {
                let sz = (s + ds).clamp(0.0, len);
                for t in [r, l] {
                    let h = road.z_at(sz, t);
                    z = (z.0.min(h), z.1.max(h));
                }
            }
            self.push(Disc {
                center: road.point_at(s, mid),
                radius_m: (half * half + (0.5 * step) * (0.5 * step)).sqrt(),
                z_m: z,
                piece,
            });
        }
    }

    /// Removes the discs added after the first `n`.
    pub fn truncate(&mut self, n: usize) {
        while self.discs.len() > n {
            let idx = self.discs.len() as u32 - 1;
            let Some(d) = self.discs.pop() else { break };
            for c in Self::cells_of(&d) {
                if let Some(v) = self.grid.get_mut(&c)
                    && v.last() == Some(&idx)
                {
                    v.pop();
                }
            }
        }
    }

    /// Whether a disc of `piece` overlaps a disc of an older piece. Near `attach` (where the
    /// piece joins the one before it) the two may touch.
    pub fn piece_overlaps(&self, piece: u32, attach: Point2) -> bool {
        let first = self.discs.partition_point(|d| d.piece < piece);
        self.discs[first..].iter().any(|d| {
            let from_attach = (d.center - attach).norm();
            self.hits(d, |o| {
                let near = from_attach < 2.0 * (d.radius_m + o.radius_m) + 10.0;
                o.piece < piece && !(near && o.piece + 1 == piece)
            })
        })
    }

    /// Whether a circle is clear of every road.
    pub fn is_free(&self, center: Point2, radius_m: f64) -> bool {
        let probe = Disc {
            center,
            radius_m,
            z_m: (0.0, 0.0),
            piece: u32::MAX,
        };
        !self.hits_any_height(&probe)
    }

    fn hits(&self, d: &Disc, consider: impl Fn(&Disc) -> bool) -> bool {
        Self::cells_of(d).any(|c| {
            self.grid.get(&c).is_some_and(|v| {
                v.iter().any(|&i| {
                    let o = &self.discs[i as usize];
                    consider(o)
                        && vertical_gap(o.z_m, d.z_m) < VERTICAL_CLEARANCE_M
                        && (o.center - d.center).norm() < o.radius_m + d.radius_m
                })
            })
        })
    }

    fn hits_any_height(&self, d: &Disc) -> bool {
        Self::cells_of(d).any(|c| {
            self.grid.get(&c).is_some_and(|v| {
                v.iter().any(|&i| {
                    let o = &self.discs[i as usize];
                    (o.center - d.center).norm() < o.radius_m + d.radius_m
                })
            })
        })
    }
}
