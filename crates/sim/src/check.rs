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

/// The grid cell of a point, packed so that sorting orders cells by row, then column (the
/// three cells of a row side by side are one run of keys).
fn cell_key(x_m: f32, y_m: f32) -> i64 {
    const CELL_M: f32 = 14.0;
    let floor = |v: f32| {
        let q = v / CELL_M;
        let i = q as i32;
        if (i as f32) > q { i - 1 } else { i }
    };
    ((floor(y_m) as i64) << 32) + floor(x_m) as i64 + (1 << 31)
}

/// Overlapping bodies (oriented boxes; actors more than 2.5 m apart in height pass over or
/// under each other).
pub fn collisions(rec: &Recording) -> Vec<Violation> {
    let mut out = Vec::new();
    // (cell, sample), sorted: a 14 m grid without a hash map.
    let mut cells: Vec<(i64, u32)> = Vec::new();
    let mut f: Vec<Sample> = Vec::new();
    for k in 0..rec.frames() {
        // Parked cars too: they can be hit.
        f.clear();
        f.extend(rec.frame_all(k).copied());
        cells.clear();
        cells.extend(
            f.iter()
                .enumerate()
                .map(|(i, s)| (cell_key(s.x_m, s.y_m), i as u32)),
        );
        cells.sort_unstable();
        // In key order, the start of each neighbouring row's run only moves forward.
        let mut row_starts = [0_usize; 3];
        for &(key, i) in &cells {
            let (i, s) = (i as usize, &f[i as usize]);
            let a = &rec.actors[s.actor as usize];
            let ca = body(s, a.length_m, a.width_m);
            for (start, dy) in row_starts.iter_mut().zip([-1_i64 << 32, 0, 1 << 32]) {
                // The row's three cells round this one.
                let (lo, hi) = (key + dy - 1, key + dy + 1);
                while *start < cells.len() && cells[*start].0 < lo {
                    *start += 1;
                }
                for &(_, j) in cells[*start..].iter().take_while(|c| c.0 <= hi) {
                    let j = j as usize;
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
    /// Each junction's outline (convex), with its bounding box `[min x, min y, max x, max y]`.
    junctions: Vec<([f64; 4], Vec<roadworld_geom::Point2>)>,
}

impl Surface {
    /// The surface of a network.
    pub fn new(net: &Network) -> Self {
        Self {
            index: SpatialIndex::new(net),
            junctions: net
                .junctions
                .iter()
                .map(|j| {
                    let outline = roadworld_road::query::junction_outline(net, j.id);
                    let bbox = outline.iter().fold(
                        [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
                        |[x0, y0, x1, y1], q| [x0.min(q.x), y0.min(q.y), x1.max(q.x), y1.max(q.y)],
                    );
                    (bbox, outline)
                })
                .collect(),
        }
    }

    /// Whether a point is on a driving lane or inside a junction. The junctions are asked
    /// first: a box test and a few cross products, where the lanes need a projection onto
    /// each nearby reference line.
    pub fn drivable(&self, net: &Network, p: roadworld_geom::Point2) -> bool {
        self.junctions.iter().any(|([x0, y0, x1, y1], h)| {
            // The box is only a filter, a millimetre wider than the outline test's tolerance.
            p.x >= x0 - 1e-3
                && p.x <= x1 + 1e-3
                && p.y >= y0 - 1e-3
                && p.y <= y1 + 1e-3
                && roadworld_road::query::in_convex(h, p)
        }) || self.index.lanes_at(net, p).iter().any(|l| {
            net.road(l.road).sections[l.section as usize]
                .lane(l.lane)
                .is_some_and(|x| paved_for_driving(x.kind))
        })
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

    fn urban(seed: u64) -> (roadworld_spec::ScenarioSpec, Network) {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/urban.ron");
        let spec = roadworld_spec::load_spec(&path).unwrap();
        let net = roadworld_road::generate(&spec.road, seed).unwrap();
        (spec, net)
    }

    /// An urban world after `steps` steps, with its recording.
    fn urban_recorded(seed: u64, steps: usize) -> (crate::World, Recording) {
        let (spec, net) = urban(seed);
        let mut w = crate::World::new(net, &spec, seed).unwrap();
        w.record();
        for _ in 0..steps {
            w.step();
        }
        let rec = w.take_recording().unwrap();
        (w, rec)
    }

    /// The middle of lane `id` of a road's first section, halfway along the section.
    fn lane_middle(net: &Network, road: RoadId, id: i32) -> roadworld_geom::Point2 {
        let r = net.road(road);
        let s = 0.5 * (r.sections[0].s_m + r.section_end_m(0));
        let pose = r.lane_pose(0, id, s);
        roadworld_geom::Point2::new(pose.x_m, pose.y_m)
    }

    #[test]
    fn the_surface_is_driving_lanes_and_junctions_and_not_sidewalks_or_open_ground() {
        let (_, net) = urban(1);
        let surface = Surface::new(&net);
        let outside_junctions = |k: LaneType| {
            net.roads.iter().find_map(|r| {
                let sec = &r.sections[0];
                let i = sec.right.iter().position(|l| l.kind == k)?;
                (r.junction.is_none() && r.length_m() > 40.0).then_some((r.id, -(i as i32) - 1))
            })
        };
        let (road, lane) = outside_junctions(LaneType::Driving).unwrap();
        assert!(surface.drivable(&net, lane_middle(&net, road, lane)));
        let (road, lane) = outside_junctions(LaneType::Sidewalk).unwrap();
        assert!(!surface.drivable(&net, lane_middle(&net, road, lane)));
        assert!(!net.junctions.is_empty());
        for (j, (_, outline)) in surface.junctions.iter().enumerate() {
            let n = outline.len() as f64;
            let (x, y) = outline
                .iter()
                .fold((0.0, 0.0), |(x, y), q| (x + q.x / n, y + q.y / n));
            assert!(
                surface.drivable(&net, roadworld_geom::Point2::new(x, y)),
                "junction {j}"
            );
        }
        let far_x = surface
            .junctions
            .iter()
            .map(|(b, _)| b[0])
            .fold(f64::MAX, f64::min)
            - 5000.0;
        assert!(!surface.drivable(&net, roadworld_geom::Point2::new(far_x, 0.0)));
    }

    #[test]
    fn the_grid_finds_every_overlap_that_checking_all_pairs_finds() {
        let (_, mut rec) = urban_recorded(2, 40);
        // Plant overlaps: in every fifth frame, move every seventh sample onto (or just
        // beside, across cell borders) the sample before it, at both signs of x and y.
        for k in (0..rec.frames()).step_by(5) {
            let (a, b) = (
                rec.frame_starts[k] as usize,
                rec.frame_starts[k + 1] as usize,
            );
            for i in (a + 1..b).step_by(7) {
                let (prev, nudge) = (rec.samples[i - 1], (i % 3) as f32 - 1.0);
                let s = &mut rec.samples[i];
                (s.x_m, s.y_m, s.z_m) = (prev.x_m + nudge, prev.y_m - nudge, prev.z_m);
                if i % 2 == 0 {
                    (s.x_m, s.y_m) = (-s.x_m, -s.y_m);
                    rec.samples[i - 1].x_m = -prev.x_m;
                    rec.samples[i - 1].y_m = -prev.y_m;
                }
            }
        }
        let mut all_pairs = Vec::new();
        for k in 0..rec.frames() {
            let f: Vec<Sample> = rec.frame_all(k).copied().collect();
            for (i, s) in f.iter().enumerate() {
                for t in &f[i + 1..] {
                    let (a, b) = (&rec.actors[s.actor as usize], &rec.actors[t.actor as usize]);
                    if (t.z_m - s.z_m).abs() <= 2.5
                        && body(s, a.length_m, a.width_m).overlaps(&body(t, b.length_m, b.width_m))
                    {
                        all_pairs.push((k as u32, s.actor.min(t.actor), s.actor.max(t.actor)));
                    }
                }
            }
        }
        all_pairs.sort();
        let found: Vec<_> = collisions(&rec)
            .iter()
            .map(|v| (v.frame, v.actor, v.other.unwrap()))
            .collect();
        assert!(all_pairs.len() > 20, "{} planted overlaps", all_pairs.len());
        assert_eq!(found, all_pairs);
    }

    #[test]
    fn off_road_flags_a_vehicle_whose_wheels_leave_the_surface() {
        let (w, mut rec) = urban_recorded(1, 50);
        let surface = Surface::new(&w.net);
        assert!(off_road(&rec, &w.net, &surface).is_empty());
        // Move one vehicle of frame 20 far off, and off its lane block in road coordinates
        // too (which the quick test looks at first).
        let k = rec.frame_starts[20] as usize;
        let i = (k..rec.frame_starts[21] as usize)
            .find(|&i| {
                let s = &rec.samples[i];
                rec.actors[s.actor as usize].kind.is_motor_vehicle() && s.flags & flags::PARKED == 0
            })
            .unwrap();
        let s = &mut rec.samples[i];
        s.x_m -= 5000.0;
        s.t_m += 100.0;
        let actor = s.actor;
        let v = off_road(&rec, &w.net, &surface);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(
            (v[0].kind, v[0].frame, v[0].actor),
            (ViolationKind::OffRoad, 20, actor)
        );
    }
}
