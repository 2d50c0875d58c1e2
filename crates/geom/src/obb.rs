//! Oriented boxes in the plane: the footprint of a road user. Overlap (separating axes),
//! clearance, and the first contact of two boxes moving at constant velocity (a ray cast
//! against their Minkowski difference).

use crate::{Point2, Vector2};

/// A rectangle of `length_m` by `width_m` centred at `center`, its length along
/// `heading_rad`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obb {
    pub center: Point2,
    pub heading_rad: f64,
    pub length_m: f64,
    pub width_m: f64,
}

impl Obb {
    pub fn new(x_m: f64, y_m: f64, heading_rad: f64, length_m: f64, width_m: f64) -> Self {
        Self {
            center: Point2::new(x_m, y_m),
            heading_rad,
            length_m,
            width_m,
        }
    }

    /// Corners, counter-clockwise from front left.
    pub fn corners(&self) -> [Point2; 4] {
        self.corners_with(self.heading_rad.sin_cos())
    }

    /// [`Obb::corners`] from the heading's sine and cosine as `heading_rad.sin_cos()` gives
    /// them, for a caller that has them already (the same corners, bit for bit).
    pub fn corners_with(&self, (sin, cos): (f64, f64)) -> [Point2; 4] {
        let (hl, hw) = (0.5 * self.length_m, 0.5 * self.width_m);
        [(hl, hw), (-hl, hw), (-hl, -hw), (hl, -hw)].map(|(u, v)| {
            Point2::new(
                self.center.x + u * cos - v * sin,
                self.center.y + u * sin + v * cos,
            )
        })
    }

    /// Whether the interiors overlap (boxes that only touch do not).
    pub fn overlaps(&self, other: &Obb) -> bool {
        corners_overlap(&self.corners(), &other.corners())
    }

    /// [`Obb::overlaps`] given each heading's sine and cosine (see [`Obb::corners_with`]).
    pub fn overlaps_with(
        &self,
        sin_cos: (f64, f64),
        other: &Obb,
        other_sin_cos: (f64, f64),
    ) -> bool {
        corners_overlap(
            &self.corners_with(sin_cos),
            &other.corners_with(other_sin_cos),
        )
    }

    /// Smallest distance between the two boxes (0 when they overlap or touch).
    pub fn distance(&self, other: &Obb) -> f64 {
        let (a, b) = (self.corners(), other.corners());
        if corners_overlap(&a, &b) {
            return 0.0;
        }
        let mut best = f64::MAX;
        for (p, q) in [(&a, &b), (&b, &a)] {
            for k in 0..4 {
                let (e0, e1) = (q[k], q[(k + 1) % 4]);
                for v in p {
                    best = best.min(point_segment_distance(*v, e0, e1));
                }
            }
        }
        best
    }

    /// When `self`, moving at `velocity` relative to `other` (own velocity minus the other's),
    /// first touches `other`, if within `horizon_s`: 0 when they already overlap.
    pub fn first_contact(&self, other: &Obb, velocity: Vector2, horizon_s: f64) -> Option<f64> {
        self.first_contact_with(
            self.heading_rad.sin_cos(),
            other,
            other.heading_rad.sin_cos(),
            velocity,
            horizon_s,
        )
    }

    /// [`Obb::first_contact`] given each heading's sine and cosine (see
    /// [`Obb::corners_with`]; the same answer, bit for bit).
    pub fn first_contact_with(
        &self,
        sin_cos: (f64, f64),
        other: &Obb,
        other_sin_cos: (f64, f64),
        velocity: Vector2,
        horizon_s: f64,
    ) -> Option<f64> {
        // Contact at t  <=>  t * velocity lies in M = other - self (Minkowski difference).
        let hull = minkowski_difference(
            &other.corners_with(other_sin_cos),
            &self.corners_with(sin_cos),
        );
        let m = hull.points();
        let origin_inside = (0..m.len()).all(|k| {
            let (p, q) = (m[k], m[(k + 1) % m.len()]);
            cross(q - p, Point2::origin() - p) > 0.0
        });
        if origin_inside {
            return Some(0.0);
        }
        // Cyrus-Beck: clip the ray t * velocity, t in [0, horizon], to the convex polygon.
        let (mut t_in, mut t_out) = (0.0_f64, horizon_s);
        for k in 0..m.len() {
            let (p, q) = (m[k], m[(k + 1) % m.len()]);
            let edge = q - p;
            // Inward normal of a counter-clockwise polygon.
            let n = Vector2::new(-edge.y, edge.x);
            let num = n.dot(&(Point2::origin() - p));
            let den = n.dot(&velocity);
            if den.abs() < 1e-12 {
                if num < 0.0 {
                    return None;
                }
                continue;
            }
            let t = -num / den;
            if den > 0.0 {
                t_in = t_in.max(t);
            } else {
                t_out = t_out.min(t);
            }
            if t_in > t_out {
                return None;
            }
        }
        Some(t_in)
    }
}

fn cross(a: Vector2, b: Vector2) -> f64 {
    a.x * b.y - a.y * b.x
}

fn point_segment_distance(p: Point2, a: Point2, b: Point2) -> f64 {
    let ab = b - a;
    let len2 = ab.norm_squared();
    let u = if len2 > 0.0 {
        ((p - a).dot(&ab) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p - (a + ab * u)).norm()
}

/// Separating-axis test of two rectangles given by their corners.
fn corners_overlap(a: &[Point2; 4], b: &[Point2; 4]) -> bool {
    for poly in [a, b] {
        for k in 0..2 {
            let e = poly[k + 1] - poly[k];
            let axis = Vector2::new(e.y, -e.x);
            let proj = |c: &[Point2; 4]| {
                c.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| {
                    let d = v.coords.dot(&axis);
                    (lo.min(d), hi.max(d))
                })
            };
            let (a0, a1) = proj(a);
            let (b0, b1) = proj(b);
            if a1 <= b0 || b1 <= a0 {
                return false;
            }
        }
    }
    true
}

/// A convex polygon of at most [`Hull::CAPACITY`] points, kept on the stack.
struct Hull {
    pts: [Point2; Hull::CAPACITY],
    len: usize,
}

impl Hull {
    /// Andrew's chain over 16 points holds at most 15 after its first pass and 16 more
    /// pushed in its second.
    const CAPACITY: usize = 32;

    fn points(&self) -> &[Point2] {
        &self.pts[..self.len]
    }

    fn push(&mut self, p: Point2) {
        self.pts[self.len] = p;
        self.len += 1;
    }
}

/// The convex polygon `{p - q : p in a, q in b}`, counter-clockwise (Andrew's monotone chain
/// over the 16 corner differences).
fn minkowski_difference(a: &[Point2; 4], b: &[Point2; 4]) -> Hull {
    let mut pts = [Point2::origin(); 16];
    for (i, p) in a.iter().enumerate() {
        for (j, q) in b.iter().enumerate() {
            pts[4 * i + j] = Point2::from(p - q);
        }
    }
    pts.sort_by(|p, q| p.x.total_cmp(&q.x).then(p.y.total_cmp(&q.y)));
    let mut hull = Hull {
        pts: [Point2::origin(); Hull::CAPACITY],
        len: 0,
    };
    for pass in 0..2 {
        let start = hull.len;
        for i in 0..pts.len() {
            let p = if pass == 0 {
                pts[i]
            } else {
                pts[pts.len() - 1 - i]
            };
            while hull.len >= start + 2
                && cross(
                    hull.pts[hull.len - 1] - hull.pts[hull.len - 2],
                    p - hull.pts[hull.len - 2],
                ) <= 0.0
            {
                hull.len -= 1;
            }
            hull.push(p);
        }
        hull.len -= 1;
    }
    hull
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    #[test]
    fn separating_axes_find_overlap_and_clearance() {
        let a = Obb::new(0.0, 0.0, 0.0, 4.0, 2.0);
        assert!(a.overlaps(&Obb::new(3.9, 0.0, 0.0, 4.0, 2.0)));
        assert!(!a.overlaps(&Obb::new(4.1, 0.0, 0.0, 4.0, 2.0)));
        // Rotated 45 degrees: the corner reaches 1.414 m.
        assert!(a.overlaps(&Obb::new(3.3, 0.0, 0.785, 2.0, 2.0)));
        assert!(!a.overlaps(&Obb::new(3.5, 0.0, 0.785, 2.0, 2.0)));
    }

    #[test]
    fn distance_between_boxes() {
        let a = Obb::new(0.0, 0.0, 0.0, 4.0, 2.0);
        assert_relative_eq!(a.distance(&Obb::new(10.0, 0.0, 0.0, 4.0, 2.0)), 6.0);
        assert_relative_eq!(a.distance(&Obb::new(0.0, 5.0, 0.0, 4.0, 2.0)), 3.0);
        // Corner to corner: (1, 1) apart.
        assert_relative_eq!(
            a.distance(&Obb::new(5.0, 3.0, 0.0, 4.0, 2.0)),
            2f64.sqrt(),
            epsilon = 1e-12
        );
        assert_eq!(a.distance(&Obb::new(1.0, 0.0, 0.3, 4.0, 2.0)), 0.0);
    }

    #[test]
    fn first_contact_of_an_approach_and_a_crossing() {
        // 4 m long cars, 50 m between centres, closing at 20 m/s: 46 m gap, 2.3 s.
        let ego = Obb::new(0.0, 0.0, 0.0, 4.0, 2.0);
        let lead = Obb::new(50.0, 0.0, 0.0, 4.0, 2.0);
        let t = ego
            .first_contact(&lead, Vector2::new(20.0, 0.0), 10.0)
            .unwrap();
        assert_relative_eq!(t, 2.3, epsilon = 1e-12);
        assert_eq!(
            ego.first_contact(&lead, Vector2::new(-5.0, 0.0), 10.0),
            None
        );
        assert_eq!(ego.first_contact(&lead, Vector2::new(20.0, 0.0), 2.0), None);
        // Crossing: ego along +x from -50, other along +y from -50, both 10 m/s, 4 m by 2 m:
        // each front (at -48 + 10 t) reaches the other's near side (at -1) at 4.7 s.
        let ego = Obb::new(-50.0, 0.0, 0.0, 4.0, 2.0);
        let other = Obb::new(0.0, -50.0, std::f64::consts::FRAC_PI_2, 4.0, 2.0);
        let t = ego
            .first_contact(&other, Vector2::new(10.0, -10.0), 10.0)
            .unwrap();
        assert_relative_eq!(t, 4.7, epsilon = 1e-9);
        assert_eq!(
            ego.first_contact(&ego, Vector2::new(1.0, 0.0), 1.0),
            Some(0.0)
        );
    }

    proptest! {
        #[test]
        fn overlaps_given_the_sines_and_cosines_is_overlaps(
            x in -8.0..8.0f64, y in -8.0..8.0f64, ha in -3.2..3.2f64, hb in -3.2..3.2f64,
            l in 0.5..12.0f64, w in 0.5..3.0f64,
        ) {
            let a = Obb::new(0.0, 0.0, ha, 4.5, 1.9);
            let b = Obb::new(x, y, hb, l, w);
            prop_assert_eq!(a.corners_with(ha.sin_cos()), a.corners());
            prop_assert_eq!(
                a.overlaps_with(ha.sin_cos(), &b, hb.sin_cos()),
                a.overlaps(&b)
            );
        }

        #[test]
        fn first_contact_agrees_with_stepping(
            x in -30.0..30.0f64, y in -30.0..30.0f64, h in -3.2..3.2f64,
            vx in -15.0..15.0f64, vy in -15.0..15.0f64,
            l in 0.5..12.0f64, w in 0.5..3.0f64,
        ) {
            let a = Obb::new(0.0, 0.0, 0.3, 4.5, 1.9);
            let b = Obb::new(x, y, h, l, w);
            let v = Vector2::new(vx, vy);
            let hit = a.first_contact(&b, v, 5.0);
            // Step finely and compare with the first overlapping step.
            let dt = 1e-3;
            let stepped = (0..=5000).map(|k| k as f64 * dt).find(|&t| {
                let moved = Obb { center: a.center + v * t, ..a };
                moved.overlaps(&b)
            });
            match (hit, stepped) {
                (Some(t), Some(s)) => prop_assert!((t - s).abs() <= 2.0 * dt, "{t} vs {s}"),
                (None, None) => {}
                // Grazing contacts may be missed by one side only.
                (Some(t), None) => {
                    let moved = Obb { center: a.center + v * t, ..a };
                    prop_assert!(moved.distance(&b) < 1e-6);
                }
                (None, Some(s)) => prop_assert!(false, "stepping found contact at {s}"),
            }
        }
    }
}
