//! Longitudinal control: the ACC model of Kesting and Treiber (the improved IDM blended with
//! the constant-acceleration heuristic, which keeps calm when someone cuts in close but is
//! not braking), bounded by a Krauss-style safe speed so that a follower can always stop
//! behind its leader.

/// A driver's parameters, drawn once per actor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriverParams {
    /// Desired speed as a multiple of the speed limit.
    pub desired_speed_factor: f64,
    pub time_headway_s: f64,
    pub min_gap_m: f64,
    pub max_accel_mps2: f64,
    pub comfortable_decel_mps2: f64,
    pub politeness: f64,
    pub reaction_s: f64,
}

/// The leader as a follower sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leader {
    /// Bumper-to-bumper gap.
    pub gap_m: f64,
    pub speed_mps: f64,
    pub accel_mps2: f64,
}

impl Leader {
    /// A stop line or the end of a lane: a standing obstacle.
    pub fn standing(gap_m: f64) -> Self {
        Self {
            gap_m,
            speed_mps: 0.0,
            accel_mps2: 0.0,
        }
    }
}

/// Coolness of the ACC model: weight of the constant-acceleration heuristic.
const COOLNESS: f64 = 0.99;
const DELTA: f64 = 4.0;

/// Free-road acceleration towards `v0`.
#[inline]
pub fn free_accel(p: &DriverParams, v: f64, v0: f64) -> f64 {
    let a = p.max_accel_mps2;
    let v0 = v0.max(0.1);
    if v <= v0 {
        let r = v / v0;
        a * (1.0 - r * r * r * r)
    } else {
        let b = p.comfortable_decel_mps2;
        -b * (1.0 - (v0 / v).powf(a * DELTA / b))
    }
}

/// ACC acceleration behind `leader` (or on a free road with `None`).
#[inline]
pub fn acc_accel(p: &DriverParams, v: f64, v0: f64, leader: Option<Leader>) -> f64 {
    let a_free = free_accel(p, v, v0);
    let Some(l) = leader else {
        return a_free;
    };
    let (a, b) = (p.max_accel_mps2, p.comfortable_decel_mps2);
    let s = l.gap_m.max(0.05);
    let dv = v - l.speed_mps;
    let s_star = p.min_gap_m + (v * p.time_headway_s + v * dv / (2.0 * (a * b).sqrt())).max(0.0);
    let z = s_star / s;
    let a_iidm = if v <= v0 {
        if z >= 1.0 {
            a * (1.0 - z * z)
        } else if a_free > 1e-9 {
            a_free * (1.0 - z.powf(2.0 * a / a_free))
        } else {
            0.0
        }
    } else if z >= 1.0 {
        a_free + a * (1.0 - z * z)
    } else {
        a_free
    };
    // Constant-acceleration heuristic.
    let al = l.accel_mps2.min(a);
    let vl = l.speed_mps;
    let denom = vl * vl - 2.0 * s * al;
    let a_cah = if vl * dv <= -2.0 * s * al && denom > 1e-9 {
        v * v * al / denom
    } else {
        al - dv.max(0.0).powi(2) / (2.0 * s)
    };
    if a_iidm >= a_cah {
        a_iidm
    } else {
        (1.0 - COOLNESS) * a_iidm + COOLNESS * (a_cah + b * ((a_iidm - a_cah) / b).tanh())
    }
}

/// The largest speed from which a follower reacting after `tau_s` and braking at `b` can
/// stop behind a leader that brakes at `b` too (Krauss), keeping `min_gap_m`.
#[inline]
pub fn safe_speed(gap_m: f64, leader_speed_mps: f64, v: f64, b: f64, tau_s: f64) -> f64 {
    let g = gap_m;
    let vl = leader_speed_mps;
    let vs = vl + (g - vl * tau_s) / ((v + vl) / (2.0 * b) + tau_s);
    vs.max(0.0)
}

/// Smooth step of a lane change: 0 at `u = 0`, 1 at `u = 1`, zero slope and curvature at both
/// ends (minimum-jerk quintic).
#[inline]
pub fn smootherstep(u: f64) -> f64 {
    let u = u.clamp(0.0, 1.0);
    u * u * u * (10.0 + u * (-15.0 + 6.0 * u))
}

/// Slope of [`smootherstep`].
#[inline]
pub fn smootherstep_slope(u: f64) -> f64 {
    if !(0.0..=1.0).contains(&u) {
        return 0.0;
    }
    30.0 * u * u * (1.0 - u) * (1.0 - u)
}

/// Largest slope of [`smootherstep`] (at `u = 0.5`).
pub const SMOOTHERSTEP_MAX_SLOPE: f64 = 1.875;

/// Largest second derivative of [`smootherstep`] (at `u = 0.5 ± 0.289`).
pub const SMOOTHERSTEP_MAX_CURVATURE: f64 = 5.773_502_691_896_258;

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> DriverParams {
        DriverParams {
            desired_speed_factor: 1.0,
            time_headway_s: 1.5,
            min_gap_m: 2.0,
            max_accel_mps2: 1.5,
            comfortable_decel_mps2: 2.0,
            politeness: 0.3,
            reaction_s: 0.5,
        }
    }

    #[test]
    fn free_road_accelerates_to_desired_speed_and_not_beyond() {
        assert!((free_accel(&p(), 0.0, 30.0) - 1.5).abs() < 1e-12);
        assert!(free_accel(&p(), 30.0, 30.0).abs() < 1e-12);
        assert!(free_accel(&p(), 35.0, 30.0) < 0.0);
    }

    #[test]
    fn equilibrium_gap_gives_no_acceleration() {
        // At equal speeds the IIDM rests at s* = s0 + vT.
        let v = 20.0;
        let gap = 2.0 + v * 1.5;
        let a = acc_accel(
            &p(),
            v,
            v,
            Some(Leader {
                gap_m: gap,
                speed_mps: v,
                accel_mps2: 0.0,
            }),
        );
        assert!(a.abs() < 1e-9, "{a}");
    }

    #[test]
    fn close_cut_in_at_same_speed_is_met_calmly() {
        // A car cuts in 10 m ahead at the same speed: the IDM would brake hard, the ACC model
        // barely reacts (Kesting, Treiber, Helbing 2010).
        let v = 30.0;
        let l = Leader {
            gap_m: 10.0,
            speed_mps: v,
            accel_mps2: 0.0,
        };
        let a = acc_accel(&p(), v, v, Some(l));
        assert!(a > -2.5, "{a}");
        // ...while the plain IIDM term alone would be far below -b.
        let z: f64 = (2.0 + v * 1.5) / 10.0;
        assert!(1.5 * (1.0 - z * z) < -10.0);
    }

    #[test]
    fn standing_obstacle_brings_the_follower_to_rest_before_it() {
        let mut v: f64 = 15.0;
        let mut x = 0.0;
        let stop = 120.0;
        let dt = 0.1;
        for _ in 0..2000 {
            let a = acc_accel(&p(), v, 15.0, Some(Leader::standing(stop - x)));
            let vs = safe_speed(stop - x - 0.5, 0.0, v, 6.0, dt);
            let a = a.min((vs - v) / dt).max(-8.0);
            let nv = (v + a * dt).max(0.0);
            x += 0.5 * (v + nv) * dt;
            v = nv;
            assert!(x < stop, "ran the stop at {x}");
        }
        assert!(v < 0.05 && stop - x < 3.0, "v {v} gap {}", stop - x);
    }

    #[test]
    fn smootherstep_is_a_minimum_jerk_blend() {
        assert_eq!(smootherstep(0.0), 0.0);
        assert_eq!(smootherstep(1.0), 1.0);
        assert!((smootherstep(0.5) - 0.5).abs() < 1e-12);
        let h = 1e-4;
        let u = 0.5 - 0.288_675_134_594_813;
        let c = (smootherstep(u + h) - 2.0 * smootherstep(u) + smootherstep(u - h)) / (h * h);
        assert!((c - SMOOTHERSTEP_MAX_CURVATURE).abs() < 1e-3, "{c}");
    }
}
