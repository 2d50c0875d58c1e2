//! Cubic polynomials in `s` with OpenDRIVE semantics.

use crate::{GeomError, check_finite};
use serde::{Deserialize, Serialize};

/// `a + b*ds + c*ds^2 + d*ds^3` with `ds = s - s_m`, valid from `s_m` to the next piece.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Poly3 {
    /// Start of this piece, in the `s` frame of the owning profile.
    pub s_m: f64,
    pub a: f64,
    pub b: f64,
    pub c: f64,
    pub d: f64,
}

impl Poly3 {
    /// A constant piece.
    pub const fn constant(s_m: f64, value: f64) -> Self {
        Self {
            s_m,
            a: value,
            b: 0.0,
            c: 0.0,
            d: 0.0,
        }
    }
    /// A linear piece.
    pub const fn linear(s_m: f64, value: f64, slope: f64) -> Self {
        Self {
            s_m,
            a: value,
            b: slope,
            c: 0.0,
            d: 0.0,
        }
    }
    /// The cubic that goes from `v0` with slope `g0` at `s_m` to `v1` with slope `g1` at
    /// `s_m + length_m` (Hermite interpolation).
    pub fn hermite(s_m: f64, length_m: f64, v0: f64, g0: f64, v1: f64, g1: f64) -> Self {
        let l = length_m;
        let dv = v1 - v0;
        let c = (3.0 * dv - (2.0 * g0 + g1) * l) / (l * l);
        let d = (-2.0 * dv + (g0 + g1) * l) / (l * l * l);
        Self {
            s_m,
            a: v0,
            b: g0,
            c,
            d,
        }
    }
    /// Value at `s` (in the owner's frame).
    #[inline]
    pub fn value(&self, s_m: f64) -> f64 {
        let ds = s_m - self.s_m;
        self.a + ds * (self.b + ds * (self.c + ds * self.d))
    }
    /// First derivative at `s`.
    #[inline]
    pub fn slope(&self, s_m: f64) -> f64 {
        let ds = s_m - self.s_m;
        self.b + ds * (2.0 * self.c + ds * 3.0 * self.d)
    }
    /// The same polynomial re-based to start at `new_s_m`.
    pub fn rebased(&self, new_s_m: f64) -> Self {
        let h = new_s_m - self.s_m;
        Self {
            s_m: new_s_m,
            a: self.value(new_s_m),
            b: self.slope(new_s_m),
            c: self.c + 3.0 * self.d * h,
            d: self.d,
        }
    }
    /// The polynomial negated (used when mirroring a network).
    pub fn negated(&self) -> Self {
        Self {
            s_m: self.s_m,
            a: -self.a,
            b: -self.b,
            c: -self.c,
            d: -self.d,
        }
    }
    fn is_finite(&self) -> bool {
        [self.s_m, self.a, self.b, self.c, self.d]
            .iter()
            .all(|v| v.is_finite())
    }
}

/// A piecewise cubic profile: the piece with the greatest start `s <= query` applies; before
/// the first piece the first one is extrapolated; an empty profile is zero everywhere.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CubicProfile {
    pieces: Vec<Poly3>,
}

impl CubicProfile {
    /// A profile from pieces sorted by `s_m`.
    pub fn new(pieces: Vec<Poly3>) -> Result<Self, GeomError> {
        for (i, p) in pieces.iter().enumerate() {
            if !p.is_finite() {
                check_finite("profile coefficient", f64::NAN)?;
            }
            if i > 0 && p.s_m < pieces[i - 1].s_m {
                return Err(GeomError::UnsortedProfile {
                    index: i,
                    s_m: p.s_m,
                });
            }
        }
        Ok(Self { pieces })
    }
    /// Zero everywhere.
    pub const fn zero() -> Self {
        Self { pieces: Vec::new() }
    }
    /// One constant value everywhere.
    pub fn constant(value: f64) -> Self {
        Self {
            pieces: vec![Poly3::constant(0.0, value)],
        }
    }
    /// The pieces, sorted by `s_m`.
    pub fn pieces(&self) -> &[Poly3] {
        &self.pieces
    }
    /// Whether the profile has no pieces (zero everywhere).
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }
    /// Appends a piece starting at or after the last one.
    pub fn push(&mut self, piece: Poly3) -> Result<(), GeomError> {
        if let Some(last) = self.pieces.last()
            && piece.s_m < last.s_m
        {
            return Err(GeomError::UnsortedProfile {
                index: self.pieces.len(),
                s_m: piece.s_m,
            });
        }
        if !piece.is_finite() {
            check_finite("profile coefficient", f64::NAN)?;
        }
        self.pieces.push(piece);
        Ok(())
    }
    #[inline]
    fn piece_at(&self, s_m: f64) -> Option<&Poly3> {
        if self.pieces.is_empty() {
            return None;
        }
        let i = self.pieces.partition_point(|p| p.s_m <= s_m);
        Some(&self.pieces[i.saturating_sub(1)])
    }
    /// Value at `s`.
    #[inline]
    pub fn value(&self, s_m: f64) -> f64 {
        self.piece_at(s_m).map_or(0.0, |p| p.value(s_m))
    }
    /// Slope at `s`.
    #[inline]
    pub fn slope(&self, s_m: f64) -> f64 {
        self.piece_at(s_m).map_or(0.0, |p| p.slope(s_m))
    }
    /// The profile negated piece by piece.
    pub fn negated(&self) -> Self {
        Self {
            pieces: self.pieces.iter().map(Poly3::negated).collect(),
        }
    }
    /// The profile seen from the other end of a road of length `length_m`
    /// (`s' = length - s`, values unchanged). Pieces are re-fitted as cubics, exactly.
    pub fn reversed(&self, length_m: f64) -> Self {
        let mut out = Vec::with_capacity(self.pieces.len());
        for (i, p) in self.pieces.iter().enumerate().rev() {
            let end = self.pieces.get(i + 1).map_or(length_m, |n| n.s_m);
            let start_new = length_m - end;
            // q(u) = p(end - u'), u' = u - start_new: a cubic in u'.
            let h = end - p.s_m;
            let a = p.value(end);
            let b = -p.slope(end);
            let c = p.c + 3.0 * p.d * h;
            let d = -p.d;
            out.push(Poly3 {
                s_m: start_new.max(0.0),
                a,
                b,
                c,
                d,
            });
        }
        Self { pieces: out }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hermite_hits_both_ends_with_given_slopes() {
        let p = Poly3::hermite(10.0, 40.0, 1.0, 0.05, 3.0, -0.02);
        assert_relative_eq!(p.value(10.0), 1.0, epsilon = 1e-12);
        assert_relative_eq!(p.slope(10.0), 0.05, epsilon = 1e-12);
        assert_relative_eq!(p.value(50.0), 3.0, epsilon = 1e-12);
        assert_relative_eq!(p.slope(50.0), -0.02, epsilon = 1e-12);
    }

    #[test]
    fn profile_uses_last_piece_started() {
        let prof = CubicProfile::new(vec![
            Poly3::constant(0.0, 3.5),
            Poly3::linear(20.0, 3.5, -0.1),
        ])
        .unwrap();
        assert_relative_eq!(prof.value(5.0), 3.5);
        assert_relative_eq!(prof.value(30.0), 2.5);
        assert!(
            CubicProfile::new(vec![Poly3::constant(5.0, 1.0), Poly3::constant(1.0, 1.0)]).is_err()
        );
    }

    #[test]
    fn rebase_and_reverse_preserve_values() {
        let p = Poly3 {
            s_m: 2.0,
            a: 1.0,
            b: 0.3,
            c: -0.02,
            d: 0.001,
        };
        let q = p.rebased(7.0);
        for s in [7.0, 9.0, 15.0] {
            assert_relative_eq!(p.value(s), q.value(s), epsilon = 1e-9);
        }
        let prof = CubicProfile::new(vec![p.rebased(0.0), Poly3::linear(10.0, 4.0, 0.5)]).unwrap();
        let rev = prof.reversed(30.0);
        for s in [0.0, 3.0, 9.9, 10.1, 22.0, 30.0] {
            assert_relative_eq!(rev.value(30.0 - s), prof.value(s), epsilon = 1e-9);
        }
    }
}
