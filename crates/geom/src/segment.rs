//! One piece of a reference line: line, arc, clothoid spiral or paramPoly3.

use crate::{CurvePoint, GeomError, Pose2, check_finite};
use serde::{Deserialize, Serialize};

/// How a paramPoly3 maps `s` to its parameter `p` (OpenDRIVE `pRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PRange {
    /// `p` runs over `[0, length]`: `p = ds`.
    ArcLength,
    /// `p` runs over `[0, 1]`: `p = ds / length`.
    Normalized,
}

/// The shape of a segment, in its local frame (start at the origin, heading along +x).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum SegmentKind {
    /// A straight line.
    Line,
    /// A circular arc of constant signed curvature (positive: turning left).
    Arc { curvature_per_m: f64 },
    /// A clothoid (Euler spiral): curvature changes linearly with `s`.
    Spiral {
        curv_start_per_m: f64,
        curv_end_per_m: f64,
    },
    /// Parametric cubic: `u(p) = au + bu p + cu p^2 + du p^3`, likewise `v(p)`.
    ParamPoly3 {
        u: [f64; 4],
        v: [f64; 4],
        p_range: PRange,
    },
}

/// A segment of a reference line starting at `s_m` from pose `start`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Start of the segment along the reference line.
    pub s_m: f64,
    /// Pose at the start.
    pub start: Pose2,
    /// Length along the reference line.
    pub length_m: f64,
    /// Shape.
    pub kind: SegmentKind,
}

/// Gauss-Legendre nodes and weights on [-1, 1] (5 points: exact to degree 9).
const GL_X: [f64; 5] = [
    -0.906_179_845_938_664,
    -0.538_469_310_105_683,
    0.0,
    0.538_469_310_105_683,
    0.906_179_845_938_664,
];
const GL_W: [f64; 5] = [
    0.236_926_885_056_189,
    0.478_628_670_499_366,
    0.568_888_888_888_889,
    0.478_628_670_499_366,
    0.236_926_885_056_189,
];

/// `(x, y)` of a clothoid that starts at the origin heading along +x with curvature `k0`
/// and curvature rate `dk` (1/m^2), after `u` metres. Composite Gauss-Legendre quadrature of
/// `(cos theta, sin theta)` with panels small enough that theta changes by <= 0.1 rad each:
/// relative error far below 1e-12.
pub(crate) fn clothoid_xy(k0: f64, dk: f64, u: f64) -> (f64, f64) {
    if u <= 0.0 {
        return (0.0, 0.0);
    }
    let theta_span = (k0 * u).abs() + 0.5 * (dk * u * u).abs();
    let panels = ((theta_span / 0.1).ceil() as usize).clamp(1, 100_000);
    let h = u / panels as f64;
    let (mut x, mut y) = (0.0, 0.0);
    for i in 0..panels {
        let mid = (i as f64 + 0.5) * h;
        for (xi, wi) in GL_X.iter().zip(GL_W) {
            let s = mid + 0.5 * h * xi;
            let th = s * (k0 + 0.5 * dk * s);
            let (sn, cs) = th.sin_cos();
            x += wi * cs;
            y += wi * sn;
        }
    }
    (x * 0.5 * h, y * 0.5 * h)
}

fn poly(c: &[f64; 4], p: f64) -> f64 {
    c[0] + p * (c[1] + p * (c[2] + p * c[3]))
}
fn dpoly(c: &[f64; 4], p: f64) -> f64 {
    c[1] + p * (2.0 * c[2] + p * 3.0 * c[3])
}
fn ddpoly(c: &[f64; 4], p: f64) -> f64 {
    2.0 * c[2] + p * 6.0 * c[3]
}

impl Segment {
    /// A validated segment.
    pub fn new(
        s_m: f64,
        start: Pose2,
        length_m: f64,
        kind: SegmentKind,
    ) -> Result<Self, GeomError> {
        check_finite("segment s", s_m)?;
        check_finite("segment x", start.x_m)?;
        check_finite("segment y", start.y_m)?;
        check_finite("segment heading", start.heading_rad)?;
        check_finite("segment length", length_m)?;
        if length_m <= 0.0 {
            return Err(GeomError::NonPositiveLength(length_m));
        }
        match kind {
            SegmentKind::Line => {}
            SegmentKind::Arc { curvature_per_m } => {
                check_finite("arc curvature", curvature_per_m)?;
            }
            SegmentKind::Spiral {
                curv_start_per_m,
                curv_end_per_m,
            } => {
                check_finite("spiral curvStart", curv_start_per_m)?;
                check_finite("spiral curvEnd", curv_end_per_m)?;
            }
            SegmentKind::ParamPoly3 { u, v, .. } => {
                for c in u.iter().chain(v.iter()) {
                    check_finite("paramPoly3 coefficient", *c)?;
                }
            }
        }
        Ok(Self {
            s_m,
            start,
            length_m,
            kind,
        })
    }

    /// End of the segment along the reference line.
    pub fn s_end_m(&self) -> f64 {
        self.s_m + self.length_m
    }

    /// Position, heading and curvature `ds` metres after the segment start, in the segment's
    /// local frame. `ds` is clamped to `[0, length]`.
    pub fn eval_local(&self, ds_m: f64) -> CurvePoint {
        let u = ds_m.clamp(0.0, self.length_m);
        match self.kind {
            SegmentKind::Line => CurvePoint {
                pose: Pose2::new(u, 0.0, 0.0),
                curvature_per_m: 0.0,
            },
            SegmentKind::Arc { curvature_per_m: k } => {
                let th = k * u;
                let (x, y) = if (k * u).abs() < 1e-9 {
                    (u, 0.5 * k * u * u)
                } else {
                    (th.sin() / k, (1.0 - th.cos()) / k)
                };
                CurvePoint {
                    pose: Pose2::new(x, y, th),
                    curvature_per_m: k,
                }
            }
            SegmentKind::Spiral {
                curv_start_per_m: k0,
                curv_end_per_m: k1,
            } => {
                let dk = (k1 - k0) / self.length_m;
                let (x, y) = clothoid_xy(k0, dk, u);
                CurvePoint {
                    pose: Pose2::new(x, y, u * (k0 + 0.5 * dk * u)),
                    curvature_per_m: k0 + dk * u,
                }
            }
            SegmentKind::ParamPoly3 {
                u: cu,
                v: cv,
                p_range,
            } => {
                let p = match p_range {
                    PRange::ArcLength => u,
                    PRange::Normalized => u / self.length_m,
                };
                let (du, dv) = (dpoly(&cu, p), dpoly(&cv, p));
                let (ddu, ddv) = (ddpoly(&cu, p), ddpoly(&cv, p));
                let speed2 = du * du + dv * dv;
                let curvature = if speed2 > 0.0 {
                    (du * ddv - dv * ddu) / speed2.powf(1.5)
                } else {
                    0.0
                };
                CurvePoint {
                    pose: Pose2::new(poly(&cu, p), poly(&cv, p), dv.atan2(du)),
                    curvature_per_m: curvature,
                }
            }
        }
    }

    /// Position, heading and curvature at `s` (reference-line frame), clamped to the segment.
    pub fn eval(&self, s_m: f64) -> CurvePoint {
        let local = self.eval_local(s_m - self.s_m);
        let p = self.start.parent_from_local(local.pose.point());
        CurvePoint {
            pose: Pose2::new(
                p.x,
                p.y,
                crate::normalize_angle(self.start.heading_rad + local.pose.heading_rad),
            ),
            curvature_per_m: local.curvature_per_m,
        }
    }

    /// Pose at the end of the segment.
    pub fn end_pose(&self) -> Pose2 {
        self.eval(self.s_end_m()).pose
    }

    /// The same segment mirrored about the x axis (y -> -y).
    pub fn mirrored(&self) -> Self {
        let kind = match self.kind {
            SegmentKind::Line => SegmentKind::Line,
            SegmentKind::Arc { curvature_per_m } => SegmentKind::Arc {
                curvature_per_m: -curvature_per_m,
            },
            SegmentKind::Spiral {
                curv_start_per_m,
                curv_end_per_m,
            } => SegmentKind::Spiral {
                curv_start_per_m: -curv_start_per_m,
                curv_end_per_m: -curv_end_per_m,
            },
            SegmentKind::ParamPoly3 { u, v, p_range } => SegmentKind::ParamPoly3 {
                u,
                v: [-v[0], -v[1], -v[2], -v[3]],
                p_range,
            },
        };
        Self {
            s_m: self.s_m,
            start: Pose2::new(self.start.x_m, -self.start.y_m, -self.start.heading_rad),
            length_m: self.length_m,
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn seg(kind: SegmentKind, len: f64) -> Segment {
        Segment::new(0.0, Pose2::new(1.0, 2.0, 0.3), len, kind).unwrap()
    }

    #[test]
    fn quarter_circle_ends_where_geometry_says() {
        let r = 25.0;
        let s = seg(
            SegmentKind::Arc {
                curvature_per_m: 1.0 / r,
            },
            std::f64::consts::FRAC_PI_2 * r,
        );
        let end = s.eval_local(s.length_m);
        assert_relative_eq!(end.pose.x_m, r, epsilon = 1e-9);
        assert_relative_eq!(end.pose.y_m, r, epsilon = 1e-9);
        assert_relative_eq!(
            end.pose.heading_rad,
            std::f64::consts::FRAC_PI_2,
            epsilon = 1e-12
        );
    }

    #[test]
    fn spiral_matches_fresnel_reference_values() {
        // Clothoid with curvature 0 -> 1/A^2 * L; with dk = pi (so theta = pi/2 s^2),
        // x(1) = C(1) and y(1) = S(1), the Fresnel integrals.
        let (x, y) = clothoid_xy(0.0, std::f64::consts::PI, 1.0);
        assert_relative_eq!(x, 0.779_893_400_376_822_8, epsilon = 1e-13);
        assert_relative_eq!(y, 0.438_259_147_390_354_8, epsilon = 1e-13);
    }

    #[test]
    fn constant_curvature_spiral_is_an_arc() {
        let k = 0.02;
        let a = seg(SegmentKind::Arc { curvature_per_m: k }, 80.0);
        let s = seg(
            SegmentKind::Spiral {
                curv_start_per_m: k,
                curv_end_per_m: k,
            },
            80.0,
        );
        for ds in [0.0, 13.0, 40.0, 80.0] {
            assert_relative_eq!(
                a.eval(ds).pose.point(),
                s.eval(ds).pose.point(),
                epsilon = 1e-10
            );
        }
    }

    #[test]
    fn param_poly3_line_is_a_line() {
        let s = seg(
            SegmentKind::ParamPoly3 {
                u: [0.0, 1.0, 0.0, 0.0],
                v: [0.0; 4],
                p_range: PRange::ArcLength,
            },
            10.0,
        );
        let l = seg(SegmentKind::Line, 10.0);
        assert_relative_eq!(s.end_pose().point(), l.end_pose().point(), epsilon = 1e-12);
        assert!(Segment::new(0.0, Pose2::new(0.0, 0.0, 0.0), -1.0, SegmentKind::Line).is_err());
        assert!(Segment::new(0.0, Pose2::new(f64::NAN, 0.0, 0.0), 1.0, SegmentKind::Line).is_err());
    }
}
