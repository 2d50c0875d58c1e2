//! Reference-line geometry for roadworld, in `f64` and SI units.
//!
//! Vocabulary (OpenDRIVE's):
//! - a **reference line** is a planar curve made of [`Segment`]s (line, arc, clothoid
//!   spiral, paramPoly3), parameterised by arc length `s` from its start;
//! - a point near a road is given in the road frame as `(s, t)`: `t` is the signed lateral
//!   offset, positive to the left of the direction of increasing `s`;
//! - lane offsets, lane widths, elevation and superelevation are [`CubicProfile`]s:
//!   piecewise cubic polynomials in `s`, each piece starting at its own `s` offset.
//!
//! Everything here is pure and deterministic; constructors validate their input and return
//! [`GeomError`] instead of panicking.

#![forbid(unsafe_code)]

mod obb;
mod poly;
mod refline;
mod segment;

pub use obb::Obb;
pub use poly::{CubicProfile, Poly3};
pub use refline::{Projection, ReferenceLine, ReferenceLineBuilder};
pub use segment::{PRange, Segment, SegmentKind};

use serde::{Deserialize, Serialize};

/// Points in the plane, in metres.
pub type Point2 = nalgebra::Point2<f64>;
/// Vectors in the plane, in metres.
pub type Vector2 = nalgebra::Vector2<f64>;

/// Errors from building geometry.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum GeomError {
    /// A value that must be finite was NaN or infinite.
    #[error("{what} must be finite, got {value}")]
    NotFinite { what: &'static str, value: f64 },
    /// A segment length that must be positive was not.
    #[error("segment length must be > 0, got {0} m")]
    NonPositiveLength(f64),
    /// Segments of a reference line must follow each other in `s`.
    #[error("segment {index} starts at s = {s_m} m, expected {expected_m} m")]
    Discontinuous {
        index: usize,
        s_m: f64,
        expected_m: f64,
    },
    /// A reference line needs at least one segment.
    #[error("a reference line needs at least one segment")]
    Empty,
    /// Profile pieces must be sorted by their start `s`.
    #[error("profile pieces must be sorted by s: piece {index} starts at {s_m} m")]
    UnsortedProfile { index: usize, s_m: f64 },
}

/// A position and heading in the plane.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pose2 {
    /// Position in metres.
    pub x_m: f64,
    /// Position in metres.
    pub y_m: f64,
    /// Heading, counter-clockwise from +x, radians.
    pub heading_rad: f64,
}

impl Pose2 {
    /// A pose at `(x_m, y_m)` facing `heading_rad`.
    pub const fn new(x_m: f64, y_m: f64, heading_rad: f64) -> Self {
        Self {
            x_m,
            y_m,
            heading_rad,
        }
    }
    /// The position as a point.
    pub fn point(&self) -> Point2 {
        Point2::new(self.x_m, self.y_m)
    }
    /// Unit tangent (direction of travel).
    pub fn tangent(&self) -> Vector2 {
        Vector2::new(self.heading_rad.cos(), self.heading_rad.sin())
    }
    /// Unit normal to the left of the direction of travel.
    pub fn normal(&self) -> Vector2 {
        Vector2::new(-self.heading_rad.sin(), self.heading_rad.cos())
    }
    /// The pose moved by `t_m` to the left (negative: right), same heading.
    pub fn offset(&self, t_m: f64) -> Self {
        let p = self.point() + self.normal() * t_m;
        Self::new(p.x, p.y, self.heading_rad)
    }
    /// The pose moved `d_m` forward along its heading.
    pub fn advance(&self, d_m: f64) -> Self {
        let p = self.point() + self.tangent() * d_m;
        Self::new(p.x, p.y, self.heading_rad)
    }
    /// The same place facing the other way.
    pub fn reversed(&self) -> Self {
        Self::new(
            self.x_m,
            self.y_m,
            normalize_angle(self.heading_rad + std::f64::consts::PI),
        )
    }
    /// Maps a point given in this pose's local frame (x forward, y left) to the parent frame.
    pub fn parent_from_local(&self, local: Point2) -> Point2 {
        let (s, c) = self.heading_rad.sin_cos();
        Point2::new(
            self.x_m + c * local.x - s * local.y,
            self.y_m + s * local.x + c * local.y,
        )
    }
    /// Maps a point of the parent frame into this pose's local frame.
    pub fn local_from_parent(&self, p: Point2) -> Point2 {
        let (s, c) = self.heading_rad.sin_cos();
        let d = p - self.point();
        Point2::new(c * d.x + s * d.y, -s * d.x + c * d.y)
    }
}

/// Wraps an angle to `(-pi, pi]`.
pub fn normalize_angle(a_rad: f64) -> f64 {
    use std::f64::consts::{PI, TAU};
    // `%` is exact and the identity below one turn: skip it there (hot in the sim's lerps).
    let mut a = if a_rad.abs() < TAU {
        a_rad
    } else {
        a_rad % TAU
    };
    if a <= -PI {
        a += TAU;
    } else if a > PI {
        a -= TAU;
    }
    a
}

/// Absolute difference between two headings, in `[0, pi]`.
pub fn angle_diff_abs(a_rad: f64, b_rad: f64) -> f64 {
    normalize_angle(a_rad - b_rad).abs()
}

/// A sample of a reference line at some `s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Position and heading.
    pub pose: Pose2,
    /// Signed curvature, 1/m, positive turning left.
    pub curvature_per_m: f64,
}

pub(crate) fn check_finite(what: &'static str, value: f64) -> Result<f64, GeomError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(GeomError::NotFinite { what, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn normalize_wraps_into_half_open_interval() {
        assert_relative_eq!(
            normalize_angle(3.0 * std::f64::consts::PI),
            std::f64::consts::PI
        );
        assert_relative_eq!(normalize_angle(-std::f64::consts::PI), std::f64::consts::PI);
        assert_relative_eq!(normalize_angle(0.25), 0.25);
        assert_relative_eq!(normalize_angle(-7.0), -7.0 + std::f64::consts::TAU);
    }

    #[test]
    fn pose_local_round_trip() {
        let pose = Pose2::new(10.0, -4.0, 0.7);
        let p = Point2::new(3.0, 8.0);
        let back = pose.parent_from_local(pose.local_from_parent(p));
        assert_relative_eq!(back, p, epsilon = 1e-12);
        assert_relative_eq!(pose.offset(2.0).point(), pose.point() + pose.normal() * 2.0);
    }
}
