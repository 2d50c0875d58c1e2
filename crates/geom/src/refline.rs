//! Reference lines: chains of segments parameterised by `s`, with evaluation, projection of
//! points to `(s, t)` and a builder that chains segments tangent-continuously.

use crate::{CurvePoint, GeomError, Point2, Pose2, Segment, SegmentKind, Vector2, check_finite};
use serde::{Deserialize, Serialize};

/// A chain of segments from `s = 0` to `s = length`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceLine {
    segments: Vec<Segment>,
}

/// Where a point lies relative to a reference line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// Arc length of the foot point, clamped to `[0, length]`.
    pub s_m: f64,
    /// Signed lateral offset (left positive) of the point from the foot point.
    pub t_m: f64,
    /// Euclidean distance from the point to the foot point.
    pub distance_m: f64,
}

impl ReferenceLine {
    /// A reference line from segments that follow each other in `s` (start at 0, no gaps).
    /// Segment start poses are taken as given (imported maps may have tiny position gaps).
    pub fn new(segments: Vec<Segment>) -> Result<Self, GeomError> {
        if segments.is_empty() {
            return Err(GeomError::Empty);
        }
        let mut expected: f64 = 0.0;
        for (i, seg) in segments.iter().enumerate() {
            let tol = 1e-6 * expected.max(1.0);
            if (seg.s_m - expected).abs() > tol {
                return Err(GeomError::Discontinuous {
                    index: i,
                    s_m: seg.s_m,
                    expected_m: expected,
                });
            }
            expected = seg.s_end_m();
        }
        Ok(Self { segments })
    }

    /// The segments in order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Total length.
    pub fn length_m(&self) -> f64 {
        self.segments.last().map_or(0.0, Segment::s_end_m)
    }

    #[inline]
    fn segment_at(&self, s_m: f64) -> &Segment {
        let i = self.segments.partition_point(|g| g.s_m <= s_m);
        &self.segments[i.saturating_sub(1)]
    }

    /// Pose and curvature at `s` (clamped to the line).
    pub fn eval(&self, s_m: f64) -> CurvePoint {
        let s = s_m.clamp(0.0, self.length_m());
        self.segment_at(s).eval(s)
    }

    /// Pose at `s`.
    pub fn pose(&self, s_m: f64) -> Pose2 {
        self.eval(s_m).pose
    }

    /// The point at `(s, t)`.
    pub fn point_at(&self, s_m: f64, t_m: f64) -> Point2 {
        self.pose(s_m).offset(t_m).point()
    }

    /// Pose at the start.
    pub fn start_pose(&self) -> Pose2 {
        self.segments[0].start
    }

    /// Pose at the end.
    pub fn end_pose(&self) -> Pose2 {
        self.pose(self.length_m())
    }

    /// Sample positions `s` from 0 to the end, at most `step_m` apart, always including both
    /// ends and every segment joint.
    pub fn sample_s(&self, step_m: f64) -> Vec<f64> {
        let mut out = Vec::new();
        for seg in &self.segments {
            let n = ((seg.length_m / step_m).ceil() as usize).max(1);
            for i in 0..n {
                out.push(seg.s_m + seg.length_m * i as f64 / n as f64);
            }
        }
        out.push(self.length_m());
        out
    }

    /// Projects a point onto the line: the nearest foot point, found robustly by sampling
    /// every segment densely enough for its curvature and refining by golden-section search.
    pub fn project(&self, p: Point2) -> Projection {
        let mut best = (f64::INFINITY, 0.0);
        for seg in &self.segments {
            // Every point of a segment lies within length/2 of its midpoint.
            let mid = seg.eval(seg.s_m + 0.5 * seg.length_m).pose.point();
            if (p - mid).norm() - 0.5 * seg.length_m > best.0.sqrt() {
                continue;
            }
            let kmax = max_abs_curvature(seg);
            let step = (0.125 / kmax.max(1e-9)).clamp(0.05, 2.0);
            let n = ((seg.length_m / step).ceil() as usize).max(1);
            let h = seg.length_m / n as f64;
            let mut local = (f64::INFINITY, seg.s_m);
            for i in 0..=n {
                let s = seg.s_m + h * i as f64;
                let d2 = (seg.eval(s).pose.point() - p).norm_squared();
                if d2 < local.0 {
                    local = (d2, s);
                }
            }
            let (lo, hi) = ((local.1 - h).max(seg.s_m), (local.1 + h).min(seg.s_end_m()));
            let s = golden_min(lo, hi, |s| (seg.eval(s).pose.point() - p).norm_squared());
            let d2 = (seg.eval(s).pose.point() - p).norm_squared();
            let (d2, s) = if d2 < local.0 { (d2, s) } else { local };
            if d2 < best.0 {
                best = (d2, s);
            }
        }
        let s = best.1;
        let pose = self.pose(s);
        let d: Vector2 = p - pose.point();
        Projection {
            s_m: s,
            t_m: d.dot(&pose.normal()),
            distance_m: d.norm(),
        }
    }

    /// The line mirrored about the x axis.
    pub fn mirrored(&self) -> Self {
        Self {
            segments: self.segments.iter().map(Segment::mirrored).collect(),
        }
    }

    /// The line traversed from its end to its start (`s' = length - s`). Lines, arcs and
    /// spirals reverse exactly; a paramPoly3 cannot be reversed and gives `None`.
    pub fn reversed(&self) -> Option<Self> {
        let mut b = ReferenceLineBuilder::new(self.end_pose().reversed());
        for seg in self.segments.iter().rev() {
            let kind = match seg.kind {
                SegmentKind::Line => SegmentKind::Line,
                SegmentKind::Arc { curvature_per_m } => SegmentKind::Arc {
                    curvature_per_m: -curvature_per_m,
                },
                SegmentKind::Spiral {
                    curv_start_per_m,
                    curv_end_per_m,
                } => SegmentKind::Spiral {
                    curv_start_per_m: -curv_end_per_m,
                    curv_end_per_m: -curv_start_per_m,
                },
                SegmentKind::ParamPoly3 { .. } => return None,
            };
            b.push(seg.length_m, kind).ok()?;
        }
        b.build().ok()
    }

    /// A builder continuing from this line's end.
    pub fn continue_from_end(&self) -> ReferenceLineBuilder {
        ReferenceLineBuilder::new(self.end_pose())
    }
}

fn max_abs_curvature(seg: &Segment) -> f64 {
    match seg.kind {
        SegmentKind::Line => 0.0,
        SegmentKind::Arc { curvature_per_m } => curvature_per_m.abs(),
        SegmentKind::Spiral {
            curv_start_per_m,
            curv_end_per_m,
        } => curv_start_per_m.abs().max(curv_end_per_m.abs()),
        SegmentKind::ParamPoly3 { .. } => (0..=16)
            .map(|i| {
                seg.eval_local(seg.length_m * i as f64 / 16.0)
                    .curvature_per_m
                    .abs()
            })
            .fold(0.0, f64::max),
    }
}

fn golden_min(mut a: f64, mut b: f64, f: impl Fn(f64) -> f64) -> f64 {
    const INV_PHI: f64 = 0.618_033_988_749_894_9;
    let mut c = b - INV_PHI * (b - a);
    let mut d = a + INV_PHI * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    while (b - a).abs() > 1e-9 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - INV_PHI * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + INV_PHI * (b - a);
            fd = f(d);
        }
    }
    0.5 * (a + b)
}

/// Builds a reference line segment by segment, each starting where the last one ended, with
/// the same heading (G1 continuity by construction).
#[derive(Debug, Clone)]
pub struct ReferenceLineBuilder {
    pose: Pose2,
    s_m: f64,
    segments: Vec<Segment>,
}

impl ReferenceLineBuilder {
    /// Starts at `start`.
    pub fn new(start: Pose2) -> Self {
        Self {
            pose: start,
            s_m: 0.0,
            segments: Vec::new(),
        }
    }

    /// The pose where the next segment starts.
    pub fn pose(&self) -> Pose2 {
        self.pose
    }

    /// Length so far.
    pub fn length_m(&self) -> f64 {
        self.s_m
    }

    /// Appends a segment of the given shape.
    pub fn push(&mut self, length_m: f64, kind: SegmentKind) -> Result<&mut Self, GeomError> {
        let seg = Segment::new(self.s_m, self.pose, length_m, kind)?;
        self.pose = seg.end_pose();
        self.s_m = seg.s_end_m();
        self.segments.push(seg);
        Ok(self)
    }

    /// Appends a straight line.
    pub fn line(&mut self, length_m: f64) -> Result<&mut Self, GeomError> {
        self.push(length_m, SegmentKind::Line)
    }

    /// Appends an arc (a line when the curvature is zero).
    pub fn arc(&mut self, length_m: f64, curvature_per_m: f64) -> Result<&mut Self, GeomError> {
        if curvature_per_m == 0.0 {
            return self.line(length_m);
        }
        self.push(length_m, SegmentKind::Arc { curvature_per_m })
    }

    /// Appends a clothoid from one curvature to another.
    pub fn spiral(&mut self, length_m: f64, k0: f64, k1: f64) -> Result<&mut Self, GeomError> {
        self.push(
            length_m,
            SegmentKind::Spiral {
                curv_start_per_m: k0,
                curv_end_per_m: k1,
            },
        )
    }

    /// Appends a turn by `angle_rad` (positive left) on a circle of `radius_m`, entered and
    /// left through clothoids of `spiral_m` each (shortened if the turn is too small for them).
    pub fn turn(
        &mut self,
        angle_rad: f64,
        radius_m: f64,
        spiral_m: f64,
    ) -> Result<&mut Self, GeomError> {
        check_finite("turn angle", angle_rad)?;
        check_finite("turn radius", radius_m)?;
        if angle_rad == 0.0 {
            return Ok(self);
        }
        let k = angle_rad.signum() / radius_m;
        // Each spiral turns k*Ls/2; keep at least a third of the turn on the arc.
        let ls = spiral_m
            .min(angle_rad.abs() * radius_m * 2.0 / 3.0)
            .max(0.0);
        let arc_angle = angle_rad.abs() - ls / radius_m;
        if ls > 1e-6 {
            self.spiral(ls, 0.0, k)?;
        }
        if arc_angle * radius_m > 1e-6 {
            self.arc(arc_angle * radius_m, k)?;
        }
        if ls > 1e-6 {
            self.spiral(ls, k, 0.0)?;
        }
        Ok(self)
    }

    /// Appends a biarc (two tangent arcs, or lines) that ends exactly at `target`, position
    /// and heading. Fails if the target lies behind the current pose.
    pub fn biarc_to(&mut self, target: Pose2) -> Result<&mut Self, GeomError> {
        let p0 = self.pose.point();
        let p1 = target.point();
        let t1 = self.pose.tangent();
        let t2 = target.tangent();
        let v = p1 - p0;
        let c12 = t1.dot(&t2);
        let t = t1 + t2;
        let vt = v.dot(&t);
        let d = if (1.0 - c12).abs() < 1e-9 {
            if vt <= 1e-12 {
                return Err(GeomError::NotFinite {
                    what: "biarc tangent length",
                    value: f64::NAN,
                });
            }
            v.norm_squared() / (2.0 * vt)
        } else {
            (-vt + (vt * vt + 2.0 * (1.0 - c12) * v.norm_squared()).sqrt()) / (2.0 * (1.0 - c12))
        };
        check_finite("biarc tangent length", d)?;
        if d <= 0.0 {
            return Err(GeomError::NonPositiveLength(d));
        }
        let pm = Point2::from((p0.coords + t1 * d + p1.coords - t2 * d) * 0.5);
        self.arc_through_chord(pm)?;
        self.arc_through_chord(p1)?;
        // Land exactly on the target (the arcs do, up to rounding).
        self.pose = target;
        Ok(self)
    }

    /// An arc from the current pose to `p` (a line if `p` lies straight ahead).
    fn arc_through_chord(&mut self, p: Point2) -> Result<(), GeomError> {
        let c = p - self.pose.point();
        let len = c.norm();
        if len < 1e-9 {
            return Ok(());
        }
        let t = self.pose.tangent();
        let alpha = (t.x * c.y - t.y * c.x).atan2(t.dot(&c));
        if alpha.abs() < 1e-10 {
            self.line(len)?;
        } else {
            let k = 2.0 * alpha.sin() / len;
            self.arc(len * alpha / alpha.sin(), k)?;
        }
        Ok(())
    }

    /// The finished line.
    pub fn build(self) -> Result<ReferenceLine, GeomError> {
        ReferenceLine::new(self.segments)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;
    use std::f64::consts::{FRAC_PI_2, PI};

    fn mixed_line() -> ReferenceLine {
        let mut b = ReferenceLineBuilder::new(Pose2::new(100.0, -50.0, 0.4));
        b.line(40.0)
            .unwrap()
            .turn(FRAC_PI_2, 12.0, 8.0)
            .unwrap()
            .line(10.0)
            .unwrap();
        b.turn(-2.5, 30.0, 20.0).unwrap();
        b.build().unwrap()
    }

    #[test]
    fn turn_changes_heading_by_the_angle() {
        let mut b = ReferenceLineBuilder::new(Pose2::new(0.0, 0.0, 0.0));
        b.turn(1.2, 50.0, 30.0).unwrap();
        let line = b.build().unwrap();
        assert_relative_eq!(line.end_pose().heading_rad, 1.2, epsilon = 1e-9);
        assert_relative_eq!(
            line.eval(line.length_m()).curvature_per_m,
            0.0,
            epsilon = 1e-12
        );
    }

    #[test]
    fn reversed_line_retraces_the_original() {
        let line = mixed_line();
        let rev = line.reversed().unwrap();
        assert_relative_eq!(rev.length_m(), line.length_m(), epsilon = 1e-9);
        for s in [0.0, 10.0, 47.3, 80.0, line.length_m()] {
            let a = line.pose(s);
            let b = rev.pose(line.length_m() - s);
            assert!(
                (a.point() - b.point()).norm() < 1e-7,
                "at {s}: {a:?} vs {b:?}"
            );
            assert!(crate::angle_diff_abs(a.heading_rad, b.heading_rad + PI) < 1e-9);
        }
    }

    #[test]
    fn biarc_reaches_target_pose() {
        let mut b = ReferenceLineBuilder::new(Pose2::new(0.0, 0.0, 0.0));
        let target = Pose2::new(20.0, -15.0, -FRAC_PI_2);
        b.biarc_to(target).unwrap();
        let line = b.build().unwrap();
        let end = line.end_pose();
        assert_relative_eq!(end.point(), target.point(), epsilon = 1e-9);
        assert!(crate::angle_diff_abs(end.heading_rad, target.heading_rad) < 1e-9);
        let mut b = ReferenceLineBuilder::new(Pose2::new(0.0, 0.0, 0.0));
        b.biarc_to(Pose2::new(30.0, 0.0, 0.0)).unwrap();
        assert_relative_eq!(b.build().unwrap().length_m(), 30.0, epsilon = 1e-9);
    }

    #[test]
    fn projection_on_tight_hairpin_picks_the_right_branch() {
        // A hairpin of radius 5 m: points on both legs are 10 m apart.
        let mut b = ReferenceLineBuilder::new(Pose2::new(0.0, 0.0, 0.0));
        b.line(50.0)
            .unwrap()
            .arc(5.0 * PI, 0.2)
            .unwrap()
            .line(50.0)
            .unwrap();
        let line = b.build().unwrap();
        let on_return_leg = Point2::new(20.0, 10.0 - 1.0);
        let pr = line.project(on_return_leg);
        assert_relative_eq!(pr.s_m, 50.0 + 5.0 * PI + 30.0, epsilon = 1e-6);
        assert_relative_eq!(pr.t_m, 1.0, epsilon = 1e-6);
        let inside_circle = Point2::new(52.0, 5.0);
        let pr = line.project(inside_circle);
        assert!(pr.distance_m < 3.5, "{pr:?}");
    }

    proptest! {
        #[test]
        fn st_round_trip(s in 0.0f64..1.0, t in -4.0f64..4.0) {
            let line = mixed_line();
            let s = s * line.length_m();
            let p = line.point_at(s, t);
            let pr = line.project(p);
            let back = line.point_at(pr.s_m, pr.t_m);
            prop_assert!((back - p).norm() < 1e-6);
            // Radii are >= 12 m and |t| <= 4 m, so the foot point is unique away from the ends.
            if s > 1.0 && s < line.length_m() - 1.0 {
                prop_assert!((pr.s_m - s).abs() < 1e-5, "s {} got {}", s, pr.s_m);
                prop_assert!((pr.t_m - t).abs() < 1e-5);
            }
        }

        #[test]
        fn joints_are_continuous(a in -3.0f64..3.0, r in 8.0f64..500.0, l in 0.0f64..60.0) {
            let mut b = ReferenceLineBuilder::new(Pose2::new(0.0, 0.0, 0.0));
            b.line(10.0).unwrap().turn(a, r, l).unwrap().line(5.0).unwrap();
            let line = b.build().unwrap();
            for w in line.segments().windows(2) {
                let end = w[0].end_pose();
                prop_assert!((end.point() - w[1].start.point()).norm() < 1e-9);
                prop_assert!(crate::angle_diff_abs(end.heading_rad, w[1].start.heading_rad) < 1e-9);
            }
            prop_assert!((crate::normalize_angle(line.end_pose().heading_rad - a)).abs() < 1e-9);
        }

        #[test]
        fn s_is_arc_length(a in -2.0f64..2.0, r in 10.0f64..300.0) {
            let mut b = ReferenceLineBuilder::new(Pose2::new(0.0, 0.0, 0.3));
            b.turn(a, r, 20.0).unwrap();
            let line = b.build().unwrap();
            let ss = line.sample_s(0.05);
            let chord: f64 = ss.windows(2).map(|w| (line.eval(w[1]).pose.point() - line.eval(w[0]).pose.point()).norm()).sum();
            prop_assert!((chord - line.length_m()).abs() < 1e-4 * line.length_m().max(1.0));
        }
    }
}
