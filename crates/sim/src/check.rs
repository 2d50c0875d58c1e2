//! The invariants a rollout keeps, checked on its recording: no two bodies overlap, every
//! vehicle has its wheels on the drivable surface, no NaN, acceleration, jerk and curvature within the
//! vehicle's limits, and traffic on the main route keeps moving.

use crate::flags;
use crate::kinds::kind_info;
use crate::record::{Recording, Sample};
use crate::world::DensityTrace;
use roadworld_geom::Obb;
use roadworld_road::query::SpatialIndex;
use roadworld_road::{LaneType, Network, RoadId};
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;
use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ViolationKind {
    Collision,
    OffRoad,
    NotFinite,
    Accel,
    Jerk,
    Curvature,
    Stall,
    Density,
}

/// One broken invariant.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub kind: ViolationKind,
    pub frame: u32,
    /// Actor index in the recording.
    pub actor: u32,
    pub other: Option<u32>,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} at frame {} actor {}{}: {}",
            self.kind,
            self.frame,
            self.actor,
            self.other.map(|o| format!(" with {o}")).unwrap_or_default(),
            self.detail
        )
    }
}

fn body(s: &Sample, length: f32, width: f32) -> Obb {
    Obb::new(
        s.x_m as f64,
        s.y_m as f64,
        s.heading_rad as f64,
        length as f64,
        width as f64,
    )
}

/// Overlapping bodies (oriented boxes; actors more than 2.5 m apart in height pass over or
/// under each other).
pub fn collisions(rec: &Recording) -> Vec<Violation> {
    let mut out = Vec::new();
    let cell = 14.0_f32;
    // Lookup only; nothing iterates the map.
    let mut grid: FxHashMap<(i32, i32), Vec<usize>> = FxHashMap::default();
    let mut f: Vec<Sample> = Vec::new();
    for k in 0..rec.frames() {
        // Parked cars too: they can be hit.
        f.clear();
        f.extend(rec.frame_all(k).copied());
        grid.clear();
        for (i, s) in f.iter().enumerate() {
            let key = ((s.x_m / cell).floor() as i32, (s.y_m / cell).floor() as i32);
            grid.entry(key).or_default().push(i);
        }
        for (i, s) in f.iter().enumerate() {
            let a = &rec.actors[s.actor as usize];
            let ca = body(s, a.length_m, a.width_m);
            let key = ((s.x_m / cell).floor() as i32, (s.y_m / cell).floor() as i32);
            for dx in -1..=1 {
                for dy in -1..=1 {
                    let Some(cands) = grid.get(&(key.0 + dx, key.1 + dy)) else {
                        continue;
                    };
                    for &j in cands {
                        if j <= i {
                            continue;
                        }
                        let t = &f[j];
                        if (t.z_m - s.z_m).abs() > 2.5 {
                            continue;
                        }
                        let b = &rec.actors[t.actor as usize];
                        let reach = 0.5 * (a.length_m + b.length_m + a.width_m + b.width_m);
                        if (t.x_m - s.x_m).abs() > reach || (t.y_m - s.y_m).abs() > reach {
                            continue;
                        }
                        if ca.overlaps(&body(t, b.length_m, b.width_m)) {
                            out.push(Violation {
                                kind: ViolationKind::Collision,
                                frame: k as u32,
                                actor: s.actor.min(t.actor),
                                other: Some(s.actor.max(t.actor)),
                                detail: format!(
                                    "({:.2}, {:.2}) and ({:.2}, {:.2})",
                                    s.x_m, s.y_m, t.x_m, t.y_m
                                ),
                            });
                        }
                    }
                }
            }
        }
    }
    out.sort_by_key(|v| (v.frame, v.actor, v.other));
    out
}

/// NaN, and acceleration, jerk and curvature beyond the vehicle's limits.
pub fn limits(rec: &Recording) -> Vec<Violation> {
    let mut out = Vec::new();
    let dt = rec.step_s as f32;
    // Previous sample of each actor: (frame, accel, heading, x, y).
    type Prev = Option<(usize, f32, f32, f32, f32)>;
    let mut prev: Vec<Prev> = vec![None; rec.actors.len()];
    for k in 0..rec.frames() {
        for s in rec.frame(k) {
            let a = &rec.actors[s.actor as usize];
            let info = kind_info(a.kind);
            let v = |kind, detail: String| Violation {
                kind,
                frame: k as u32,
                actor: s.actor,
                other: None,
                detail,
            };
            if s.floats().iter().any(|x| !x.is_finite()) {
                out.push(v(ViolationKind::NotFinite, format!("{s:?}")));
                continue;
            }
            let acc = s.accel_mps2 as f64;
            if acc > info.max_accel_mps2 + 1e-3 || acc < -info.max_decel_mps2 - 1e-3 {
                out.push(v(ViolationKind::Accel, format!("{acc:.3} m/s^2")));
            }
            if let Some((pk, pa, ph, px, py)) = prev[s.actor as usize]
                && pk + 1 == k
            {
                let jerk = ((s.accel_mps2 - pa) / dt) as f64;
                if jerk.abs() > info.max_jerk_mps3 + 1e-2 {
                    out.push(v(ViolationKind::Jerk, format!("{jerk:.3} m/s^3")));
                }
                let ds = ((s.x_m - px).powi(2) + (s.y_m - py).powi(2)).sqrt();
                if ds > 0.3 && a.kind.is_motor_vehicle() {
                    let dh = roadworld_geom::normalize_angle((s.heading_rad - ph) as f64);
                    let k_meas = dh.abs() / ds as f64;
                    let wheelbase = (a.length_m as f64 * info.wheelbase_share).max(0.5);
                    let k_max = info.max_steer_rad.tan() / wheelbase;
                    if k_meas > k_max * 1.05 {
                        out.push(v(
                            ViolationKind::Curvature,
                            format!("{k_meas:.4} 1/m > {k_max:.4}"),
                        ));
                    }
                }
            }
            prev[s.actor as usize] = Some((k, s.accel_mps2, s.heading_rad, s.x_m, s.y_m));
        }
    }
    out
}

/// Lateral extent `(lo, hi)` in `t` of the block of driving lanes around lane `id` at `s`.
fn driving_block_t(net: &Network, road: RoadId, section: usize, id: i32, s_m: f64) -> (f64, f64) {
    let r = net.road(road);
    let sec = &r.sections[section];
    let driving = |k: i32| sec.lane(k).is_some_and(|l| paved_for_driving(l.kind));
    let (mut lo_id, mut hi_id) = (id, id);
    // Towards +t.
    loop {
        let n = if hi_id == -1 { 1 } else { hi_id + 1 };
        if driving(n) && r.lane_width_m(section, n, s_m) > 1e-6 {
            hi_id = n;
        } else {
            break;
        }
    }
    loop {
        let n = if lo_id == 1 { -1 } else { lo_id - 1 };
        if driving(n) && r.lane_width_m(section, n, s_m) > 1e-6 {
            lo_id = n;
        } else {
            break;
        }
    }
    let b = |k: i32| r.lane_borders_t(section, k, s_m);
    let (a0, a1) = b(lo_id);
    let (b0, b1) = b(hi_id);
    (a0.min(a1).min(b0.min(b1)), a0.max(a1).max(b0.max(b1)))
}

/// Lanes whose surface carries vehicles: driving lanes and the paved hard shoulder.
fn paved_for_driving(kind: LaneType) -> bool {
    matches!(kind, LaneType::Driving | LaneType::Shoulder)
}

/// The drivable surface: driving lanes and hard shoulders, and junctions paved between
/// their kerbs.
#[derive(Debug)]
pub struct Surface {
    index: SpatialIndex,
    junctions: Vec<Vec<roadworld_geom::Point2>>,
}

impl Surface {
    /// The surface of a network.
    pub fn new(net: &Network) -> Self {
        Self {
            index: SpatialIndex::new(net),
            junctions: net
                .junctions
                .iter()
                .map(|j| roadworld_road::query::junction_outline(net, j.id))
                .collect(),
        }
    }

    /// Whether a point is on a driving lane or inside a junction.
    pub fn drivable(&self, net: &Network, p: roadworld_geom::Point2) -> bool {
        self.index.lanes_at(net, p).iter().any(|l| {
            net.road(l.road).sections[l.section as usize]
                .lane(l.lane)
                .is_some_and(|x| paved_for_driving(x.kind))
        }) || self
            .junctions
            .iter()
            .any(|h| roadworld_road::query::in_convex(h, p))
    }
}

/// Where a vehicle touches the ground: its four wheels (axles at the wheelbase's ends around
/// the body centre, wheels 10 cm inside the body's sides).
fn wheels(s: &Sample, length: f32, width: f32, wheelbase_share: f64) -> [(f64, f64); 4] {
    let (sin, cos) = (s.heading_rad as f64).sin_cos();
    let hl = 0.5 * wheelbase_share * length as f64;
    let hw = (0.5 * width as f64 - 0.1).max(0.05);
    let (x, y) = (s.x_m as f64, s.y_m as f64);
    [(hl, hw), (-hl, hw), (-hl, -hw), (hl, -hw)]
        .map(|(u, v)| (x + u * cos - v * sin, y + u * sin + v * cos))
}

/// Vehicles with a wheel off the drivable surface. Overhangs may sweep over a kerb, as a
/// bus's front does in a tight turn; wheels may not.
pub fn off_road(rec: &Recording, net: &Network, surface: &Surface) -> Vec<Violation> {
    let mut out = Vec::new();
    let tol = 0.05;
    for k in 0..rec.frames() {
        for s in rec.frame(k) {
            let a = &rec.actors[s.actor as usize];
            if !a.kind.is_motor_vehicle() || s.flags & crate::flags::PARKED != 0 {
                continue;
            }
            let lane = rec.lanes[s.lane as usize];
            let road = net.road(lane.road);
            let (sm, tm) = (s.s_m as f64, s.t_m as f64);
            let (lo, hi) = driving_block_t(net, lane.road, lane.section as usize, lane.lane, sm);
            // Heading relative to the road's +s direction.
            let rh = road.reference_line.pose(sm).heading_rad;
            let rel = roadworld_geom::normalize_angle(s.heading_rad as f64 - rh);
            let (sin, cos) = rel.sin_cos();
            let info = kind_info(a.kind);
            let (hl, hw) = (
                0.5 * info.wheelbase_share * a.length_m as f64,
                (0.5 * a.width_m as f64 - 0.1).max(0.05),
            );
            let fast_ok = [(hl, hw), (-hl, hw), (-hl, -hw), (hl, -hw)]
                .iter()
                .all(|&(u, v)| {
                    let t = tm + u * sin + v * cos;
                    t >= lo - tol && t <= hi + tol
                })
                && road.junction.is_none();
            if fast_ok {
                continue;
            }
            for c in wheels(s, a.length_m, a.width_m, info.wheelbase_share) {
                let p = roadworld_geom::Point2::new(c.0, c.1);
                if !surface.drivable(net, p) {
                    out.push(Violation {
                        kind: ViolationKind::OffRoad,
                        frame: k as u32,
                        actor: s.actor,
                        other: None,
                        detail: format!("wheel at ({:.2}, {:.2}) on {}", c.0, c.1, lane),
                    });
                    break;
                }
            }
        }
    }
    out
}

/// Windows of `window_s` in which vehicles on the main route (other than those queued at a
/// red light) average under `min_speed_mps`.
pub fn stalls(rec: &Recording, net: &Network, window_s: f64, min_speed_mps: f64) -> Vec<Violation> {
    let route: BTreeSet<RoadId> = net.main_route.iter().map(|s| s.road).collect();
    let per_frame: Vec<(f64, u32)> = (0..rec.frames())
        .map(|k| {
            rec.frame(k)
                .iter()
                .filter(|s| {
                    rec.actors[s.actor as usize].kind.is_motor_vehicle()
                        && s.flags & (flags::WAITING_AT_RED | flags::PARKED) == 0
                        && route.contains(&rec.lanes[s.lane as usize].road)
                })
                .fold((0.0, 0), |(sum, n), s| (sum + s.speed_mps as f64, n + 1))
        })
        .collect();
    let w = (window_s / rec.step_s).round() as usize;
    let mut out = Vec::new();
    let mut k = 0;
    while k + w <= per_frame.len() {
        let (sum, n) = per_frame[k..k + w]
            .iter()
            .fold((0.0, 0u32), |(s, c), (a, b)| (s + a, c + b));
        if n > 0 && sum / (n as f64) < min_speed_mps {
            out.push(Violation {
                kind: ViolationKind::Stall,
                frame: k as u32,
                actor: 0,
                other: None,
                detail: format!(
                    "mean speed {:.2} m/s over {} samples in {window_s} s",
                    sum / n as f64,
                    n
                ),
            });
        }
        k += (10.0 / rec.step_s).round().max(1.0) as usize;
    }
    out
}

/// Density not held: the total count strayed more than `tolerance` (relative) from the
/// total target at some sample, or a class's mean count did over the run (classes with a
/// target of fewer than five vehicles are too small to measure).
pub fn density(trace: &DensityTrace, tolerance: f64) -> Vec<Violation> {
    let mut out = Vec::new();
    if trace.samples == 0 {
        return out;
    }
    if trace.worst_total_deviation > tolerance {
        out.push(Violation {
            kind: ViolationKind::Density,
            frame: 0,
            actor: 0,
            other: None,
            detail: format!(
                "total count {:.0}% off its target at {:.0} s",
                100.0 * trace.worst_total_deviation,
                trace.worst_total_at_s
            ),
        });
    }
    let mean = trace.mean();
    for (c, name) in ["motorway", "rural", "urban"].iter().enumerate() {
        let t = trace.target[c];
        if t >= 5.0 && (mean[c] / t - 1.0).abs() > tolerance {
            out.push(Violation {
                kind: ViolationKind::Density,
                frame: 0,
                actor: 0,
                other: None,
                detail: format!(
                    "{name}: mean {:.1} vehicles against a target of {t:.1}",
                    mean[c]
                ),
            });
        }
    }
    out
}

/// The window and speed of the stall check: 60 s in which the main route averages under
/// 0.5 m/s.
pub const STALL_WINDOW_S: f64 = 60.0;
pub const STALL_SPEED_MPS: f64 = 0.5;
/// Relative tolerance of the density check.
pub const DENSITY_TOLERANCE: f64 = 0.2;

/// Every invariant of a rollout, by kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub collisions: Vec<Violation>,
    pub off_road: Vec<Violation>,
    pub limits: Vec<Violation>,
    pub stalls: Vec<Violation>,
    pub density: Vec<Violation>,
}

impl Report {
    /// Checks a recording of a rollout on `net` whose density was traced in `trace`.
    pub fn new(rec: &Recording, net: &Network, trace: &DensityTrace) -> Self {
        let surface = Surface::new(net);
        Self {
            collisions: collisions(rec),
            off_road: {
                let mut v = off_road(rec, net, &surface);
                v.extend(crate::world::off_side(rec, net).into_iter().map(
                    |(frame, actor, detail)| Violation {
                        kind: ViolationKind::OffRoad,
                        frame,
                        actor,
                        other: None,
                        detail,
                    },
                ));
                v.sort_by_key(|v| (v.frame, v.actor));
                v
            },
            limits: limits(rec),
            stalls: stalls(rec, net, STALL_WINDOW_S, STALL_SPEED_MPS),
            density: density(trace, DENSITY_TOLERANCE),
        }
    }

    /// Every violation, in kind order.
    pub fn all(&self) -> impl Iterator<Item = &Violation> {
        self.collisions
            .iter()
            .chain(&self.off_road)
            .chain(&self.limits)
            .chain(&self.stalls)
            .chain(&self.density)
    }

    pub fn is_clean(&self) -> bool {
        self.all().next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn density_flags_a_drifting_total_and_a_starved_class() {
        let held = DensityTrace {
            warmup_s: 30.0,
            samples: 10,
            sum: [1000.0, 95.0, 2.0],
            target: [100.0, 10.0, 3.0],
            worst_total_deviation: 0.1,
            worst_total_at_s: 40.0,
        };
        // Urban's target is too small to measure; the rest are within 20%.
        assert!(density(&held, 0.2).is_empty());
        let drifting = DensityTrace {
            worst_total_deviation: 0.3,
            ..held
        };
        assert_eq!(density(&drifting, 0.2).len(), 1);
        let starved = DensityTrace {
            sum: [700.0, 95.0, 2.0],
            ..held
        };
        let v = density(&starved, 0.2);
        assert_eq!(v.len(), 1);
        assert!(v[0].detail.starts_with("motorway"), "{}", v[0].detail);
    }
}
