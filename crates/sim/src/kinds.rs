//! Bodies and physical limits per kind of road user.

use rand::{Rng, RngExt};
use roadworld_spec::ActorKind;

/// Ranges of body dimensions and the physical limits of a kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KindInfo {
    pub length_m: (f64, f64),
    pub width_m: (f64, f64),
    pub height_m: (f64, f64),
    /// Wheelbase as a share of the length.
    pub wheelbase_share: f64,
    /// Largest acceleration the machine can give.
    pub max_accel_mps2: f64,
    /// Largest deceleration (emergency braking).
    pub max_decel_mps2: f64,
    /// Largest rate of change of acceleration.
    pub max_jerk_mps3: f64,
    /// Top speed.
    pub max_speed_mps: f64,
    /// Largest road-wheel steering angle.
    pub max_steer_rad: f64,
}

/// The table of kinds.
pub fn kind_info(kind: ActorKind) -> KindInfo {
    let k = |l, w, h, wb, a, b, j, v, st| KindInfo {
        length_m: l,
        width_m: w,
        height_m: h,
        wheelbase_share: wb,
        max_accel_mps2: a,
        max_decel_mps2: b,
        max_jerk_mps3: j,
        max_speed_mps: v,
        max_steer_rad: st,
    };
    match kind {
        ActorKind::Car => k(
            (4.1, 4.9),
            (1.72, 1.9),
            (1.4, 1.65),
            0.6,
            3.5,
            8.0,
            12.0,
            55.0,
            0.6,
        ),
        ActorKind::Van => k(
            (4.9, 6.0),
            (1.9, 2.05),
            (1.9, 2.6),
            0.6,
            2.5,
            7.5,
            12.0,
            45.0,
            0.55,
        ),
        ActorKind::Truck => k(
            (9.0, 12.0),
            (2.45, 2.55),
            (3.2, 4.0),
            0.55,
            1.5,
            6.5,
            10.0,
            25.0,
            0.75,
        ),
        ActorKind::Bus => k(
            (11.0, 12.2),
            (2.5, 2.55),
            (3.0, 3.3),
            0.55,
            1.5,
            6.5,
            10.0,
            28.0,
            0.75,
        ),
        ActorKind::Motorcycle => k(
            (2.0, 2.3),
            (0.8, 0.95),
            (1.2, 1.4),
            0.65,
            4.5,
            8.5,
            15.0,
            60.0,
            0.6,
        ),
        ActorKind::Bicycle => k(
            (1.7, 1.9),
            (0.6, 0.7),
            (1.6, 1.8),
            0.6,
            1.5,
            4.0,
            8.0,
            10.0,
            0.8,
        ),
        ActorKind::Pedestrian => k(
            (0.4, 0.6),
            (0.5, 0.7),
            (1.5, 1.95),
            0.0,
            1.5,
            3.0,
            10.0,
            3.0,
            3.2,
        ),
        ActorKind::Animal => k(
            (1.0, 2.2),
            (0.4, 0.7),
            (0.9, 1.6),
            0.0,
            4.0,
            6.0,
            20.0,
            14.0,
            3.2,
        ),
        ActorKind::StaticObstacle => k(
            (0.3, 2.0),
            (0.3, 2.0),
            (0.2, 1.0),
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
        ),
    }
}

/// A body drawn for one actor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Body {
    pub kind: ActorKind,
    pub length_m: f64,
    pub width_m: f64,
    pub height_m: f64,
    pub wheelbase_m: f64,
}

impl Body {
    /// Draws a body of `kind`.
    pub fn sample<R: Rng + ?Sized>(kind: ActorKind, rng: &mut R) -> Self {
        let info = kind_info(kind);
        let pick = |rng: &mut R, (a, b): (f64, f64)| {
            if b > a { rng.random_range(a..=b) } else { a }
        };
        let length_m = pick(rng, info.length_m);
        let width_m = pick(rng, info.width_m);
        let height_m = pick(rng, info.height_m);
        Self {
            kind,
            length_m,
            width_m,
            height_m,
            wheelbase_m: length_m * info.wheelbase_share,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::{MAX_VEHICLE_LENGTH_M, MAX_VEHICLE_WIDTH_M};

    #[test]
    fn every_vehicle_fits_the_conflict_zone_allowances() {
        for kind in ActorKind::ALL {
            let i = kind_info(kind);
            assert!(i.length_m.1 <= MAX_VEHICLE_LENGTH_M, "{kind:?}");
            assert!(i.width_m.1 <= MAX_VEHICLE_WIDTH_M, "{kind:?}");
            assert!(i.length_m.0 <= i.length_m.1 && i.width_m.0 <= i.width_m.1);
        }
    }
}
