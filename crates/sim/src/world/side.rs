//! Road users off the carriageway: pedestrians walking the sidewalks (each direction keeps to
//! its right-hand half) and crossing at zebra crossings, where vehicles give way to them;
//! cyclists riding the bike lanes; parked cars standing on the parking lanes.
//!
//! Sidewalks and bike lanes are sampled into paths along their roads; people on a path keep
//! an order (a sorted list per path and direction) and follow whoever is ahead with the same
//! car-following model as vehicles, with walking and cycling limits.

use super::{AREA_LEAVE_M, AREA_PIECE_M, World, stream_seed};
use crate::drive::{DriverParams, Leader, acc_accel};
use crate::kinds::{Body, kind_info};
use crate::lanes::LaneId;
use crate::record::Recording;
use crate::{ActorId, flags};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use roadworld_road::{LaneRef, LaneType, Network, ObjectKind, Road, RoadId, TrafficSide};
use roadworld_spec::ActorKind;
use std::collections::BTreeMap;

/// Samples along a side path.
const SAMPLE_STEP_M: f64 = 1.0;
/// A pedestrian steps into a half of a sidewalk only when nobody on it is this close.
const HALF_CLEAR_M: f64 = 4.0;
/// Chance that a pedestrian crosses at a zebra crossing it passes (it always may at the end).
const CROSS_CHANCE: f64 = 0.5;
/// Lateral walking speed when moving between halves of a sidewalk.
const SIDESTEP_MPS: f64 = 0.8;
/// Offset of each direction's crossing line from the middle of a zebra crossing.
const CROSS_LINE_OFFSET_M: f64 = 0.8;
/// Most walkers of a kind placed at one look (out of sight of the ego) in the area round the
/// ego: as it drives on, more come into the area than the four a look places otherwise.
const AREA_SPAWNS: usize = 64;

/// What a side path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideKind {
    Sidewalk,
    BikeLane,
}

#[derive(Debug, Clone, Copy)]
struct SidePoint {
    d_m: f64,
    s_m: f64,
    t_m: f64,
    width_m: f64,
    /// Index into the recording's lane table.
    rec_lane: u32,
}

/// A sidewalk or bike lane along one road (a run of lane sections that have it).
#[derive(Debug, Clone)]
pub struct SidePath {
    pub kind: SideKind,
    pub road: RoadId,
    /// On the `+t` side of the reference line.
    pub left: bool,
    /// Bike lanes: riding along `+s`.
    pub forward: bool,
    points: Vec<SidePoint>,
    pub length_m: f64,
    /// Bike lanes: the stretch clear of zebra crossings, `(from, to)` in path distance.
    usable: (f64, f64),
    /// Samples per metre of path distance and of road `s` (for the first guess in
    /// [`SidePath::span`]).
    per_d: f64,
    per_s: f64,
}

/// A zebra crossing as seen from one of its sidewalks: walkers heading `toward` reach its
/// centre line at `line_d_m` and step off at `cross_d_m` (path distances).
#[derive(Debug, Clone, Copy)]
struct PathCrossing {
    crossing: u32,
    toward: f64,
    line_d_m: f64,
    cross_d_m: f64,
}

impl SidePath {
    /// The two samples around `x` along the path by `key` (distance or road `s`, both
    /// increasing), and the weight of the second.
    ///
    /// `guess` is where the first sample past `x` should be: samples are about evenly
    /// spaced, so a short walk from it finds the sample a binary search would (the keys
    /// never decrease, so there is one such sample); a long walk gives way to the search.
    fn span(
        &self,
        x: f64,
        key: impl Fn(&SidePoint) -> f64,
        guess: f64,
    ) -> (&SidePoint, &SidePoint, f64) {
        let pts = self.points.as_slice();
        let n = pts.len();
        let mut k = if guess > 0.0 {
            guess.min(n as f64) as usize
        } else {
            0
        };
        let mut walk = 0;
        while k > 0 && key(&pts[k - 1]) > x && walk < 8 {
            k -= 1;
            walk += 1;
        }
        while k < n && key(&pts[k]) <= x && walk < 8 {
            k += 1;
            walk += 1;
        }
        if walk == 8 {
            k = pts.partition_point(|p| key(p) <= x);
        }
        let k = k.clamp(1, n - 1);
        let (a, b) = (&pts[k - 1], &pts[k]);
        let u = ((x - key(a)) / (key(b) - key(a)).max(1e-9)).clamp(0.0, 1.0);
        (a, b, u)
    }

    fn at(&self, d: f64) -> SidePoint {
        let (a, b, u) = self.span(d, |p| p.d_m, d * self.per_d + 1.0);
        SidePoint {
            d_m: d,
            s_m: a.s_m + u * (b.s_m - a.s_m),
            t_m: a.t_m + u * (b.t_m - a.t_m),
            width_m: a.width_m + u * (b.width_m - a.width_m),
            rec_lane: if u < 0.5 { a.rec_lane } else { b.rec_lane },
        }
    }

    /// Path distance at road position `s`.
    fn d_at_s(&self, s: f64) -> f64 {
        let guess = (s - self.points[0].s_m) * self.per_s + 1.0;
        let (a, b, u) = self.span(s, |p| p.s_m, guess);
        a.d_m + u * (b.d_m - a.d_m)
    }

    /// Road `s` of the line from which walkers on this sidewalk step onto crossing `c`
    /// (just short of its centre line, on their side).
    fn cross_line_s(&self, c: &Crossing) -> f64 {
        let off = if self.left {
            CROSS_LINE_OFFSET_M
        } else {
            -CROSS_LINE_OFFSET_M
        };
        c.s_m + off
    }

    fn s_range(&self) -> (f64, f64) {
        (self.points[0].s_m, self.points[self.points.len() - 1].s_m)
    }
}

/// A zebra crossing pedestrians can use: sidewalks on both sides at its position.
#[derive(Debug, Clone)]
pub struct Crossing {
    pub road: RoadId,
    pub s_m: f64,
    pub half_width_m: f64,
    /// Sidewalk paths on the `-t` and `+t` sides.
    right: u32,
    left: u32,
    /// Driving lanes under it: lane, and the band it covers in lane distance.
    pub lanes: Vec<(LaneId, f64, f64)>,
    /// `+1` when it lies at the road's end, `-1` at its start (walkers heading that way
    /// reach it).
    toward: f64,
}

/// The side paths, crossings and parked cars of a network.
#[derive(Debug, Clone, Default)]
pub struct SideMap {
    pub paths: Vec<SidePath>,
    pub crossings: Vec<Crossing>,
    /// The crossings of each sidewalk path, in crossing order.
    by_path: Vec<Vec<PathCrossing>>,
    /// Crossings on each driving lane: `(d_in, d_out, crossing)`.
    pub(crate) on_lane: Vec<Vec<(f64, f64, u32)>>,
    /// Lane refs of side lanes, appended to the recording's lane table.
    pub extra_lanes: Vec<LaneRef>,
    /// Total sidewalk and bike-lane lengths.
    pub sidewalk_km: f64,
    pub bike_km: f64,
    pub parked: Vec<Parked>,
    /// The side paths in pieces of at most [`AREA_PIECE_M`], each with its middle point, to find
    /// the stretches near a place.
    pieces: Vec<Piece>,
}

/// A stretch of a side path, `d0_m` to `d1_m`, around the world point `(x_m, y_m)`.
#[derive(Debug, Clone, Copy)]
struct Piece {
    path: u32,
    d0_m: f64,
    d1_m: f64,
    x_m: f64,
    y_m: f64,
}

/// A parked car, from the network's parked-vehicle objects.
#[derive(Debug, Clone, Copy)]
pub struct Parked {
    pub x_m: f64,
    pub y_m: f64,
    pub z_m: f64,
    pub heading_rad: f64,
    pub s_m: f64,
    pub t_m: f64,
    pub length_m: f64,
    pub width_m: f64,
    pub height_m: f64,
    rec_lane: u32,
}

/// How a walker or rider is moving.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Along its path.
    Along,
    /// Across a zebra crossing, from one sidewalk to the other, at `t_m` now.
    Crossing {
        crossing: u32,
        s_line: f64,
        t_m: f64,
        t_end_m: f64,
        to_path: u32,
    },
    /// A parked car.
    Parked,
}

/// A pedestrian, cyclist or parked car.
#[derive(Debug, Clone)]
pub struct Walker {
    pub id: ActorId,
    pub body: Body,
    pub alive: bool,
    params: DriverParams,
    desired_mps: f64,
    path: u32,
    /// `+1`: along `+s`.
    dir: f64,
    d_m: f64,
    /// Lateral offset from the path's centre, and where it is heading.
    u_m: f64,
    u_target_m: f64,
    pub speed_mps: f64,
    pub accel_mps2: f64,
    next_accel: f64,
    mode: Mode,
    /// Decided (for the crossing ahead) whether to cross there.
    will_cross: Option<(u32, bool)>,
    rng: ChaCha8Rng,
    pub pose: super::ActorPose,
    pub rec_lane: u32,
    pub flags: u16,
}

/// Outermost lane of `kind` on one side of section `i`.
fn side_lane(road: &Road, i: usize, left: bool, kind: LaneType) -> Option<i32> {
    let sec = &road.sections[i];
    let lanes = if left { &sec.left } else { &sec.right };
    let k = lanes.iter().rposition(|l| l.kind == kind)?;
    let id = k as i32 + 1;
    Some(if left { id } else { -id })
}

impl SideMap {
    /// Builds the side paths of `net`; `first_rec_lane` is where side lanes start in the
    /// recording's lane table; `lane_of` finds the driving lane map's lane for a lane ref.
    pub fn new(
        net: &Network,
        first_rec_lane: u32,
        driving: &[(LaneRef, bool)],
        lane_d_at_s: &dyn Fn(LaneId, f64) -> f64,
    ) -> Self {
        let mut m = SideMap::default();
        let mut rec: BTreeMap<LaneRef, u32> = BTreeMap::new();
        for road in &net.roads {
            if road.junction.is_some() {
                continue;
            }
            for kind in [SideKind::Sidewalk, SideKind::BikeLane] {
                let lt = match kind {
                    SideKind::Sidewalk => LaneType::Sidewalk,
                    SideKind::BikeLane => LaneType::Biking,
                };
                for left in [false, true] {
                    // Runs of sections that have the lane.
                    let mut run: Vec<(usize, i32)> = Vec::new();
                    for i in 0..=road.sections.len() {
                        // Sections where the lane tapers in or out are left out.
                        let min_w = match kind {
                            SideKind::Sidewalk => 1.2,
                            SideKind::BikeLane => 1.0,
                        };
                        let here = (i < road.sections.len())
                            .then(|| side_lane(road, i, left, lt))
                            .flatten()
                            .filter(|&id| {
                                let (a, b) = (road.sections[i].s_m, road.section_end_m(i));
                                [a, 0.5 * (a + b), b - 1e-6]
                                    .iter()
                                    .all(|&s| road.lane_width_m(i, id, s) >= min_w)
                            });
                        match here {
                            Some(id) => run.push((i, id)),
                            None => {
                                if !run.is_empty() {
                                    let path = m.sample(road, kind, left, &run, net, &mut rec);
                                    if let Some(p) = path {
                                        m.paths.push(p);
                                    }
                                    run.clear();
                                }
                            }
                        }
                    }
                }
            }
        }
        // Parked cars, on their parking lanes.
        for road in &net.roads {
            for o in road
                .objects
                .iter()
                .filter(|o| o.kind == ObjectKind::ParkedVehicle)
            {
                let i = road.section_index(o.s_m);
                let Some(id) = side_lane(road, i, o.t_m > 0.0, LaneType::Parking) else {
                    continue;
                };
                // Only where the parking lane is wide enough for it along the whole car.
                let fits = [-0.5, 0.0, 0.5].iter().all(|&f| {
                    let s = (o.s_m + f * o.length_m).clamp(0.0, road.length_m());
                    road.section_index(s) == i && road.lane_width_m(i, id, s) >= o.width_m + 0.2
                });
                if !fits {
                    continue;
                }
                let lr = LaneRef {
                    road: road.id,
                    section: i as u32,
                    lane: id,
                };
                let next = rec.len() as u32;
                let slot = *rec.entry(lr).or_insert(next);
                let pose = road.reference_line.pose(o.s_m).offset(o.t_m);
                m.parked.push(Parked {
                    x_m: pose.x_m,
                    y_m: pose.y_m,
                    z_m: road.z_at(o.s_m, o.t_m),
                    heading_rad: roadworld_geom::normalize_angle(pose.heading_rad + o.heading_rad),
                    s_m: o.s_m,
                    t_m: o.t_m,
                    length_m: o.length_m,
                    width_m: o.width_m,
                    height_m: o.height_m,
                    rec_lane: slot,
                });
            }
        }
        // Recording lane indices, in lane-ref order (slots so far were insertion order).
        m.extra_lanes = rec.keys().copied().collect();
        let mut final_of_slot = vec![0u32; rec.len()];
        for (k, slot) in rec.values().enumerate() {
            final_of_slot[*slot as usize] = first_rec_lane + k as u32;
        }
        for p in &mut m.paths {
            for q in &mut p.points {
                q.rec_lane = final_of_slot[q.rec_lane as usize];
            }
        }
        for c in &mut m.parked {
            c.rec_lane = final_of_slot[c.rec_lane as usize];
        }
        for (i, p) in m.paths.iter().enumerate() {
            match p.kind {
                SideKind::Sidewalk => m.sidewalk_km += p.length_m / 1000.0,
                SideKind::BikeLane => m.bike_km += p.length_m / 1000.0,
            }
            let n = (p.length_m / AREA_PIECE_M).ceil().max(1.0) as usize;
            let road = net.road(p.road);
            for j in 0..n {
                let d0 = p.length_m * j as f64 / n as f64;
                let d1 = p.length_m * (j + 1) as f64 / n as f64;
                let mid = p.at(0.5 * (d0 + d1));
                let pt = road.point_at(mid.s_m, mid.t_m);
                m.pieces.push(Piece {
                    path: i as u32,
                    d0_m: d0,
                    d1_m: d1,
                    x_m: pt.x,
                    y_m: pt.y,
                });
            }
        }
        m.on_lane = vec![Vec::new(); driving.len()];
        // Zebra crossings with a sidewalk on each side.
        for road in &net.roads {
            for o in road
                .objects
                .iter()
                .filter(|o| o.kind == ObjectKind::Crosswalk)
            {
                let find = |left: bool| {
                    m.paths.iter().position(|p| {
                        p.kind == SideKind::Sidewalk && p.road == road.id && p.left == left && {
                            let (a, b) = p.s_range();
                            o.s_m - 1.5 > a && o.s_m + 1.5 < b
                        }
                    })
                };
                let (Some(r), Some(l)) = (find(false), find(true)) else {
                    continue;
                };
                let hw = 0.5 * o.width_m;
                let ci = m.crossings.len() as u32;
                let sec = road.section_index(o.s_m) as u32;
                let mut lanes = Vec::new();
                for (k, (lr, forward)) in driving.iter().enumerate() {
                    if lr.road == road.id && lr.section == sec {
                        let lane = LaneId(k as u32);
                        let (a, b) = (lane_d_at_s(lane, o.s_m - hw), lane_d_at_s(lane, o.s_m + hw));
                        let (d_in, d_out) = if *forward { (a, b) } else { (b, a) };
                        lanes.push((lane, d_in, d_out));
                        m.on_lane[k].push((d_in, d_out, ci));
                    }
                }
                m.crossings.push(Crossing {
                    road: road.id,
                    s_m: o.s_m,
                    half_width_m: hw,
                    right: r as u32,
                    left: l as u32,
                    lanes,
                    toward: if o.s_m > 0.5 * road.length_m() {
                        1.0
                    } else {
                        -1.0
                    },
                });
            }
        }
        // Bike lanes stop short of zebra crossings.
        for p in &mut m.paths {
            if p.kind != SideKind::BikeLane {
                continue;
            }
            let (mut lo, mut hi) = (0.0, p.length_m);
            for c in m.crossings.iter().filter(|c| c.road == p.road) {
                let (a, b) = (
                    p.d_at_s(c.s_m - c.half_width_m),
                    p.d_at_s(c.s_m + c.half_width_m),
                );
                let (a, b) = (a.min(b), a.max(b));
                if b < 0.5 * p.length_m {
                    lo = f64::max(lo, b + 1.0);
                } else {
                    hi = f64::min(hi, a - 1.0);
                }
            }
            p.usable = (lo, hi);
        }
        m.by_path = vec![Vec::new(); m.paths.len()];
        for (ci, c) in m.crossings.iter().enumerate() {
            for path in [c.right, c.left] {
                let p = &m.paths[path as usize];
                m.by_path[path as usize].push(PathCrossing {
                    crossing: ci as u32,
                    toward: c.toward,
                    line_d_m: p.d_at_s(c.s_m),
                    cross_d_m: p.d_at_s(p.cross_line_s(c)),
                });
            }
        }
        m
    }

    fn sample(
        &self,
        road: &Road,
        kind: SideKind,
        left: bool,
        run: &[(usize, i32)],
        net: &Network,
        rec: &mut BTreeMap<LaneRef, u32>,
    ) -> Option<SidePath> {
        let s0 = road.sections[run[0].0].s_m;
        let s1 = road.section_end_m(run[run.len() - 1].0);
        if s1 - s0 < 10.0 {
            return None;
        }
        let n = ((s1 - s0) / SAMPLE_STEP_M).ceil() as usize;
        let mut points = Vec::with_capacity(n + 1);
        let mut d = 0.0;
        let mut last: Option<roadworld_geom::Point2> = None;
        for k in 0..=n {
            let s = s0 + (s1 - s0) * k as f64 / n as f64;
            let i = road.section_index(s.min(s1 - 1e-6));
            let id = run.iter().find(|r| r.0 == i).map_or(run[0].1, |r| r.1);
            let t = road.lane_center_t(i, id, s);
            let p = road.point_at(s, t);
            if let Some(q) = last {
                d += (p.x - q.x).hypot(p.y - q.y);
            }
            last = Some(p);
            let lr = LaneRef {
                road: road.id,
                section: i as u32,
                lane: id,
            };
            let next = rec.len() as u32;
            let slot = *rec.entry(lr).or_insert(next);
            points.push(SidePoint {
                d_m: d,
                s_m: s,
                t_m: t,
                width_m: road.lane_width_m(i, id, s),
                rec_lane: slot,
            });
        }
        let forward = Road::lane_runs_forward(run[0].1, net.traffic_side);
        Some(SidePath {
            kind,
            road: road.id,
            left,
            forward,
            length_m: d,
            usable: (0.0, d),
            per_d: n as f64 / d.max(1e-9),
            per_s: n as f64 / (s1 - s0),
            points,
        })
    }
}

/// Walking and cycling drivers.
fn side_params(kind: ActorKind, rng: &mut ChaCha8Rng) -> (DriverParams, f64) {
    let (v, a, b, gap, hw) = match kind {
        ActorKind::Bicycle => (rng.random_range(3.5..6.5), 1.0, 2.0, 1.0, 1.0),
        _ => (rng.random_range(1.1..1.6), 0.8, 1.5, 0.5, 0.8),
    };
    (
        DriverParams {
            desired_speed_factor: 1.0,
            time_headway_s: hw,
            min_gap_m: gap,
            max_accel_mps2: a,
            comfortable_decel_mps2: b,
            politeness: 0.0,
            reaction_s: 0.5,
        },
        v,
    )
}

impl World {
    /// Lateral offset of a direction's half of a sidewalk (keeping to the right, or the left
    /// where traffic keeps left).
    fn half_offset(&self, path: u32, dir: f64, d: f64) -> f64 {
        let p = &self.side.paths[path as usize];
        if p.kind == SideKind::BikeLane {
            return 0.0;
        }
        let w = p.at(d).width_m;
        let right = if self.net.traffic_side == TrafficSide::Right {
            -1.0
        } else {
            1.0
        };
        0.25 * w * right * dir
    }

    fn list_of(path: u32, dir: f64) -> usize {
        path as usize * 2 + usize::from(dir > 0.0)
    }

    /// Nobody on `path` (either direction) within `HALF_CLEAR_M` of `d`.
    fn side_clear(&self, path: u32, d: f64, me: u32) -> bool {
        [-1.0, 1.0].iter().all(|&dir| {
            let list = &self.side_lists[Self::list_of(path, dir)];
            let w = &self.walkers;
            let k = list.partition_point(|&j| w[j as usize].d_m < d - HALF_CLEAR_M);
            list[k..]
                .iter()
                .take_while(|&&j| w[j as usize].d_m <= d + HALF_CLEAR_M)
                .all(|&j| j == me)
        })
    }

    fn insert_side(&mut self, k: u32) {
        let w = &self.walkers[k as usize];
        let li = Self::list_of(w.path, w.dir);
        let d = w.d_m;
        let walkers = &self.walkers;
        let list = &mut self.side_lists[li];
        let pos = list.partition_point(|&j| walkers[j as usize].d_m < d);
        list.insert(pos, k);
    }

    fn remove_side(&mut self, k: u32) {
        let w = &self.walkers[k as usize];
        let li = Self::list_of(w.path, w.dir);
        self.side_lists[li].retain(|&j| j != k);
    }

    fn new_walker(&mut self, kind: ActorKind, path: u32, dir: f64, d: f64) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(self.seed, 0x51DE_0000 + id as u64));
        let body = Body::sample(kind, &mut rng);
        let (params, desired_mps) = side_params(kind, &mut rng);
        let u = self.half_offset(path, dir, d);
        let k = self.walkers.len() as u32;
        self.walkers.push(Walker {
            id: ActorId(id),
            body,
            alive: true,
            params,
            desired_mps,
            path,
            dir,
            d_m: d,
            u_m: u,
            u_target_m: u,
            speed_mps: desired_mps * 0.8,
            accel_mps2: 0.0,
            next_accel: 0.0,
            mode: Mode::Along,
            will_cross: None,
            rng,
            pose: super::ActorPose::default(),
            rec_lane: 0,
            flags: 0,
        });
        self.insert_side(k);
        k
    }

    /// Parked cars and the first pedestrians and cyclists, spread along the paths.
    pub(super) fn populate_side(&mut self) {
        for c in self.side.parked.clone() {
            let id = self.next_id;
            self.next_id += 1;
            let rng = ChaCha8Rng::seed_from_u64(stream_seed(self.seed, 0x51DE_0000 + id as u64));
            self.walkers.push(Walker {
                id: ActorId(id),
                body: Body {
                    kind: ActorKind::Car,
                    length_m: c.length_m,
                    width_m: c.width_m,
                    height_m: c.height_m,
                    wheelbase_m: 0.6 * c.length_m,
                },
                alive: true,
                params: side_params(ActorKind::Car, &mut rng.clone()).0,
                desired_mps: 0.0,
                path: 0,
                dir: 1.0,
                d_m: 0.0,
                u_m: 0.0,
                u_target_m: 0.0,
                speed_mps: 0.0,
                accel_mps2: 0.0,
                next_accel: 0.0,
                mode: Mode::Parked,
                will_cross: None,
                rng,
                pose: super::ActorPose {
                    x_m: c.x_m,
                    y_m: c.y_m,
                    z_m: c.z_m,
                    heading_rad: c.heading_rad,
                    yaw_rate_radps: 0.0,
                    curvature_per_m: 0.0,
                    s_m: c.s_m,
                    t_m: c.t_m,
                },
                rec_lane: c.rec_lane,
                flags: flags::PARKED,
            });
        }
        self.look_round_side_area();
        for kind in [SideKind::Sidewalk, SideKind::BikeLane] {
            let target = self.side_target(kind);
            let mut placed = 0;
            let mut tries = 0;
            while placed < target && tries < target * 20 + 20 {
                tries += 1;
                if self.spawn_side(kind, false) {
                    placed += 1;
                }
            }
        }
    }

    fn side_target(&self, kind: SideKind) -> usize {
        let per_km = match kind {
            SideKind::Sidewalk => self.ped_per_km,
            SideKind::BikeLane => self.bike_per_km,
        };
        let km = if self.side_within_m.is_some() {
            self.near_pieces(kind).map(|p| p.d1_m - p.d0_m).sum::<f64>() / 1000.0
        } else {
            match kind {
                SideKind::Sidewalk => self.side.sidewalk_km,
                SideKind::BikeLane => self.side.bike_km,
            }
        };
        (km * per_km).round() as usize
    }

    /// With an area round the ego (`side_within_m`): finds the pieces of side paths in it.
    fn look_round_side_area(&mut self) {
        let Some(r) = self.side_within_m else {
            return;
        };
        let Some(e) = self.ego.filter(|&e| self.actors[e as usize].alive) else {
            return;
        };
        let p = &self.actors[e as usize].pose;
        let (x, y) = (p.x_m, p.y_m);
        let mut near = std::mem::take(&mut self.side_near);
        near.clear();
        near.extend(
            self.side
                .pieces
                .iter()
                .enumerate()
                .filter(|(_, q)| (q.x_m - x).hypot(q.y_m - y) <= r)
                .map(|(i, _)| i as u32),
        );
        self.side_near = near;
    }

    /// The pieces of `kind`'s paths in the area round the ego, as of the last look.
    fn near_pieces(&self, kind: SideKind) -> impl Iterator<Item = &Piece> {
        self.side_near
            .iter()
            .map(|&i| &self.side.pieces[i as usize])
            .filter(move |q| self.side.paths[q.path as usize].kind == kind)
    }

    /// A random place on `kind`'s paths: anywhere on them, or (with an area round the ego)
    /// on the pieces in that area. `None` where there is no such path.
    fn side_place(&mut self, kind: SideKind) -> Option<(usize, f64)> {
        if self.side_within_m.is_some() {
            let total: f64 = self.near_pieces(kind).map(|q| q.d1_m - q.d0_m).sum();
            if total <= 0.0 {
                return None;
            }
            let mut u = self.spawn_rng.random_range(0.0..total);
            let piece = *self
                .near_pieces(kind)
                .find(|q| {
                    let len = q.d1_m - q.d0_m;
                    if u < len {
                        return true;
                    }
                    u -= len;
                    false
                })
                .or_else(|| self.near_pieces(kind).last())?;
            let d = self.spawn_rng.random_range(piece.d0_m..piece.d1_m);
            let p = &self.side.paths[piece.path as usize];
            let (lo, hi) = (p.usable.0 + 2.0, p.usable.1 - 2.0);
            return (lo < hi && (lo..hi).contains(&d)).then_some((piece.path as usize, d));
        }
        let total: f64 = self
            .side
            .paths
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.length_m)
            .sum();
        if total <= 0.0 {
            return None;
        }
        let mut u = self.spawn_rng.random_range(0.0..total);
        let path = self.side.paths.iter().position(|p| {
            if p.kind != kind {
                return false;
            }
            if u < p.length_m {
                return true;
            }
            u -= p.length_m;
            false
        })?;
        let p = &self.side.paths[path];
        let (lo, hi) = (p.usable.0 + 2.0, p.usable.1 - 2.0);
        if hi <= lo {
            return None;
        }
        Some((path, self.spawn_rng.random_range(lo..hi)))
    }

    /// One pedestrian or cyclist at a random free place (out of the ego's sight when
    /// `unseen`); whether one was placed.
    fn spawn_side(&mut self, kind: SideKind, unseen: bool) -> bool {
        let Some((path, d)) = self.side_place(kind) else {
            return false;
        };
        let p = &self.side.paths[path];
        let dir = match kind {
            SideKind::BikeLane => {
                if p.forward {
                    1.0
                } else {
                    -1.0
                }
            }
            SideKind::Sidewalk => {
                if self.spawn_rng.random_bool(0.5) {
                    1.0
                } else {
                    -1.0
                }
            }
        };
        let sp = p.at(d);
        let pt = self.net.road(p.road).point_at(sp.s_m, sp.t_m);
        if unseen && self.in_ego_sight(pt.x, pt.y) {
            return false;
        }
        let clear = match kind {
            SideKind::Sidewalk => self.side_clear(path as u32, d, u32::MAX),
            SideKind::BikeLane => {
                let list = &self.side_lists[Self::list_of(path as u32, dir)];
                list.iter()
                    .all(|&j| (self.walkers[j as usize].d_m - d).abs() > 15.0)
            }
        };
        if !clear {
            return false;
        }
        let ak = match kind {
            SideKind::Sidewalk => ActorKind::Pedestrian,
            SideKind::BikeLane => ActorKind::Bicycle,
        };
        self.new_walker(ak, path as u32, dir, d);
        true
    }

    fn despawn_side(&mut self, k: u32) {
        if !self.walkers[k as usize].alive {
            return;
        }
        if let Mode::Crossing { crossing, .. } = self.walkers[k as usize].mode {
            self.crossing_busy[crossing as usize] -= 1;
        } else {
            self.remove_side(k);
        }
        self.walkers[k as usize].alive = false;
        if let Some(r) = self.recorder.as_mut() {
            r.side_despawned(k);
        }
    }

    /// Takes away everyone off the carriageway (parked cars too) whose body touches a
    /// `length` x `width` box at `(x, y)` heading `heading`: room for an event's road user.
    pub(super) fn clear_walkers_at(
        &mut self,
        x_m: f64,
        y_m: f64,
        heading_rad: f64,
        length_m: f64,
        width_m: f64,
    ) {
        let area = roadworld_geom::Obb::new(x_m, y_m, heading_rad, length_m, width_m);
        let reach = 0.5 * (length_m + width_m) + 10.0;
        for k in 0..self.walkers.len() {
            let w = &self.walkers[k];
            if !w.alive || (w.pose.x_m - x_m).abs() > reach || (w.pose.y_m - y_m).abs() > reach {
                continue;
            }
            let body = roadworld_geom::Obb::new(
                w.pose.x_m,
                w.pose.y_m,
                w.pose.heading_rad,
                w.body.length_m,
                w.body.width_m,
            );
            if body.overlaps(&area) {
                self.despawn_side(k as u32);
            }
        }
    }

    /// Whether pedestrians may step onto crossing `c` now: no vehicle on it, and every
    /// vehicle coming can stop before it comfortably.
    fn crossing_clear_of_vehicles(&self, c: u32) -> bool {
        let cr = &self.side.crossings[c as usize];
        for &(lane, d_in, d_out) in &cr.lanes {
            let list = &self.lists[lane.index()];
            let on_it = list.iter().chain(&self.ghosts[lane.index()]).any(|&j| {
                let a = &self.actors[j as usize];
                let d = self.pos_in(j, lane);
                d - 0.5 * a.body.length_m < d_out + 1.0 && d + 0.5 * a.body.length_m > d_in - 1.0
            });
            if on_it {
                return false;
            }
            if let Some((front, j)) = self.behind_along(lane, d_in - 1.0, u32::MAX) {
                let v = self.actors[j as usize].speed_mps;
                let gap = d_in - front;
                // A vehicle that must brake hard, or one waiting close by (its turn),
                // unless it waits for a red light.
                let waiting_close = v < 2.0 && gap < 15.0 && !self.actors[j as usize].at_red;
                if gap < v * v / (2.0 * 2.5) + 0.8 * v + 3.0 || waiting_close {
                    return false;
                }
            }
        }
        true
    }

    /// The gap from vehicle `idx`'s front to the nearest zebra crossing ahead with someone
    /// on it, if it can still stop for it.
    pub(super) fn crossing_gap(&self, idx: u32) -> Option<f64> {
        if self.side.crossings.is_empty() {
            return None;
        }
        let a = &self.actors[idx as usize];
        let front = a.d_m + 0.5 * a.body.length_m;
        let horizon = super::horizon_of(a);
        let b = kind_info(a.body.kind).max_decel_mps2 * 0.7;
        let v = a.speed_mps;
        let mut base = 0.0;
        let mut best: Option<f64> = None;
        for l in std::iter::once(a.lane).chain(a.plan.iter().copied()) {
            for &(d_in, _, c) in &self.side.on_lane[l.index()] {
                if self.crossing_busy[c as usize] == 0 {
                    continue;
                }
                let g = base + d_in - front;
                if g > -0.3 && g >= v * v / (2.0 * b) - 1.0 && best.is_none_or(|x| g < x) {
                    best = Some(g.max(0.0));
                }
            }
            base += self.map.lane(l).length_m;
            if base - front > horizon || best.is_some() {
                break;
            }
        }
        best.map(|g| (g - 0.5).max(0.0))
    }

    /// One step of everyone off the carriageway.
    pub(super) fn step_side(&mut self, dt: f64) {
        let n = self.walkers.len();
        for k in 0..n {
            let w = &self.walkers[k];
            if !w.alive || w.mode == Mode::Parked {
                continue;
            }
            let acc = self.side_accel(k as u32);
            self.walkers[k].next_accel = acc;
        }
        for k in 0..n {
            let w = &mut self.walkers[k];
            if !w.alive || w.mode == Mode::Parked {
                continue;
            }
            let info = kind_info(w.body.kind);
            let jerk = info.max_jerk_mps3 * dt;
            let mut want = w.next_accel;
            // Release the brake towards standstill (as vehicles do) so that the stop keeps
            // the jerk limit.
            if want < 0.0 {
                let j = 0.8 * info.max_jerk_mps3;
                let v = w.speed_mps;
                let x = j * (-1.5 * dt + (2.25 * dt * dt + 2.0 * v / j).sqrt());
                want = want.max(-x).max(-v / (2.0 * dt));
            }
            let mut acc = want
                .clamp(-info.max_decel_mps2, w.params.max_accel_mps2)
                .clamp(w.accel_mps2 - jerk, w.accel_mps2 + jerk);
            if w.speed_mps + acc * dt < 0.0 {
                acc = (-w.speed_mps / dt).max(w.accel_mps2 - jerk);
            }
            let v = w.speed_mps;
            let nv = (v + acc * dt).max(0.0);
            let step = 0.5 * (v + nv) * dt;
            w.speed_mps = nv;
            w.accel_mps2 = acc;
            match &mut w.mode {
                Mode::Along => {
                    w.d_m += w.dir * step;
                    let du = w.u_target_m - w.u_m;
                    w.u_m += du.clamp(-SIDESTEP_MPS * dt, SIDESTEP_MPS * dt);
                }
                Mode::Crossing { t_m, t_end_m, .. } => {
                    // Up to the end and no further: a walker that overshot would turn back
                    // and step to and fro round its end for good.
                    let left_m = *t_end_m - *t_m;
                    *t_m += left_m.signum() * step.min(left_m.abs());
                }
                Mode::Parked => {}
            }
        }
        for k in 0..n as u32 {
            if self.walkers[k as usize].alive {
                self.side_events(k);
            }
        }
    }

    /// Where walker `k` must stop, as a gap ahead of it, if anywhere.
    fn side_accel(&mut self, k: u32) -> f64 {
        let w = &self.walkers[k as usize];
        let v = w.speed_mps;
        let half = 0.5 * w.body.length_m;
        let mut gaps: Vec<f64> = Vec::new();
        let mut leader: Option<Leader> = None;
        match w.mode {
            Mode::Along => {
                let p = &self.side.paths[w.path as usize];
                let list = &self.side_lists[Self::list_of(w.path, w.dir)];
                let pos = list.iter().position(|&j| j == k).unwrap_or(0);
                let next = if w.dir > 0.0 {
                    list.get(pos + 1)
                } else {
                    pos.checked_sub(1).and_then(|q| list.get(q))
                };
                if let Some(&j) = next {
                    let o = &self.walkers[j as usize];
                    leader = Some(Leader {
                        gap_m: (o.d_m - w.d_m).abs() - half - 0.5 * o.body.length_m,
                        speed_mps: o.speed_mps,
                        accel_mps2: o.accel_mps2,
                    });
                }
                let end = if w.dir > 0.0 { p.usable.1 } else { p.usable.0 };
                gaps.push((end - w.d_m) * w.dir - half);
                // A crossing ahead it has chosen to use.
                if let Some((c, true)) = w.will_cross {
                    let line = self.crossing_line_d(k, c);
                    gaps.push((line - w.d_m) * w.dir);
                }
            }
            Mode::Crossing {
                crossing,
                s_line,
                t_m,
                t_end_m,
                to_path,
            } => {
                let sign = (t_end_m - t_m).signum();
                // Someone ahead on the same line.
                for o in &self.walkers {
                    if let Mode::Crossing {
                        crossing: c2,
                        s_line: s2,
                        t_m: t2,
                        ..
                    } = o.mode
                        && o.alive
                        && c2 == crossing
                        && s2 == s_line
                        && (t2 - t_m) * sign > 0.0
                    {
                        let g = (t2 - t_m).abs() - half - 0.5 * o.body.length_m;
                        if leader.is_none_or(|l| g < l.gap_m) {
                            leader = Some(Leader {
                                gap_m: g,
                                speed_mps: o.speed_mps,
                                accel_mps2: o.accel_mps2,
                            });
                        }
                    }
                }
                // The far kerb: step up only when nobody is near on that sidewalk.
                let fp = &self.side.paths[to_path as usize];
                let far_d = fp.d_at_s(s_line);
                let fpt = fp.at(far_d);
                let kerb = fpt.t_m - sign * 0.5 * fpt.width_m;
                let to_kerb = (kerb - t_m) * sign - half;
                if to_kerb > 0.0 && !self.side_clear(to_path, far_d, k) {
                    gaps.push(to_kerb - 0.2);
                }
            }
            Mode::Parked => return 0.0,
        }
        let mut acc = acc_accel(&w.params, v, w.desired_mps, leader);
        for g in gaps {
            acc = acc.min(acc_accel(
                &w.params,
                v,
                w.desired_mps,
                Some(Leader::standing(g)),
            ));
            // Never past a stop: the speed that stops within the gap.
            let cap = (2.0 * 1.5 * (g - 0.05).max(0.0)).sqrt();
            acc = acc.min((cap - v) / 0.1);
        }
        acc
    }

    /// Path distance of walker `k`'s crossing line at crossing `c`.
    fn crossing_line_d(&self, k: u32, c: u32) -> f64 {
        let w = &self.walkers[k as usize];
        let on_path = self.side.by_path[w.path as usize]
            .iter()
            .find(|pc| pc.crossing == c);
        match on_path {
            Some(pc) => pc.cross_d_m,
            None => {
                // Not one of its own path's crossings (it never is): measure.
                let p = &self.side.paths[w.path as usize];
                p.d_at_s(p.cross_line_s(&self.side.crossings[c as usize]))
            }
        }
    }

    /// The crossing walker `k` walks towards on its path, if any (the first in crossing
    /// order).
    fn crossing_ahead(&self, k: u32) -> Option<u32> {
        let w = &self.walkers[k as usize];
        if self.side.paths[w.path as usize].kind != SideKind::Sidewalk {
            return None;
        }
        self.side.by_path[w.path as usize]
            .iter()
            .find(|pc| pc.toward == w.dir && (pc.line_d_m - w.d_m) * w.dir > 0.0)
            .map(|pc| pc.crossing)
    }

    fn side_events(&mut self, k: u32) {
        let w = &self.walkers[k as usize];
        match w.mode {
            Mode::Parked => {}
            Mode::Along => {
                let p = &self.side.paths[w.path as usize];
                let kind = p.kind;
                // Decide about the next crossing once.
                let ahead = self.crossing_ahead(k);
                if let Some(c) = ahead
                    && w.will_cross.is_none_or(|(c0, _)| c0 != c)
                {
                    let w = &mut self.walkers[k as usize];
                    let go = w.rng.random_bool(CROSS_CHANCE);
                    w.will_cross = Some((c, go));
                }
                let w = &self.walkers[k as usize];
                if let Some((c, true)) = w.will_cross {
                    let line = self.crossing_line_d(k, c);
                    if (line - w.d_m) * w.dir < 0.3 && w.speed_mps < 0.3 {
                        self.try_cross(k, c);
                        return;
                    }
                }
                let w = &self.walkers[k as usize];
                let p = &self.side.paths[w.path as usize];
                let end = if w.dir > 0.0 { p.usable.1 } else { p.usable.0 };
                if (end - w.d_m) * w.dir < 0.5 * w.body.length_m + 0.3 {
                    let sp = p.at(w.d_m);
                    let pt = self.net.road(p.road).point_at(sp.s_m, sp.t_m);
                    if !self.in_ego_sight(pt.x, pt.y) {
                        self.despawn_side(k);
                    } else if kind == SideKind::Sidewalk {
                        // Turn round into the other half.
                        let (path, d) = (w.path, w.d_m);
                        if self.side_clear(path, d, k) && w.speed_mps < 0.3 {
                            self.remove_side(k);
                            let u = self.half_offset(path, -self.walkers[k as usize].dir, d);
                            let w = &mut self.walkers[k as usize];
                            w.dir = -w.dir;
                            w.u_target_m = u;
                            w.will_cross = None;
                            self.insert_side(k);
                        }
                    }
                }
            }
            Mode::Crossing {
                crossing,
                s_line,
                t_m,
                t_end_m,
                to_path,
            } => {
                let _ = s_line;
                let sign = (t_end_m - t_m).signum();
                if sign == 0.0 || (t_end_m - t_m) * sign <= 0.05 {
                    // On the far sidewalk: walk away from the junction.
                    let c = &self.side.crossings[crossing as usize];
                    let dir = -c.toward;
                    let fp = &self.side.paths[to_path as usize];
                    let d = fp.d_at_s(s_line);
                    let u = self.half_offset(to_path, dir, d);
                    self.crossing_busy[crossing as usize] -= 1;
                    let w = &mut self.walkers[k as usize];
                    w.mode = Mode::Along;
                    w.path = to_path;
                    w.dir = dir;
                    w.d_m = d;
                    w.u_m = u;
                    w.u_target_m = u;
                    w.will_cross = None;
                    self.insert_side(k);
                }
            }
        }
    }

    /// Walker `k` at its line of crossing `c`: steps off when vehicles can stop, its own
    /// sidewalk's other half is clear, and nobody is starting on the same line.
    fn try_cross(&mut self, k: u32, c: u32) {
        let w = &self.walkers[k as usize];
        let cr = &self.side.crossings[c as usize];
        let to_path = if w.path == cr.right {
            cr.left
        } else {
            cr.right
        };
        let d = w.d_m;
        if !self.side_clear(w.path, d, k) || !self.crossing_clear_of_vehicles(c) {
            return;
        }
        let p = &self.side.paths[w.path as usize];
        let sp = p.at(d);
        let s_line = sp.s_m;
        let busy_line = self.walkers.iter().any(|o| {
            matches!(o.mode, Mode::Crossing { crossing, s_line: s2, t_m, .. }
                if o.alive && crossing == c && (s2 - s_line).abs() < 0.5
                    && (t_m - sp.t_m).abs() < 2.0)
        });
        if busy_line {
            return;
        }
        let fp = &self.side.paths[to_path as usize];
        let far = fp.at(fp.d_at_s(s_line));
        let u_far = self.half_offset(to_path, -cr.toward, far.d_m);
        let t0 = sp.t_m + w.u_m;
        self.remove_side(k);
        self.crossing_busy[c as usize] += 1;
        let w = &mut self.walkers[k as usize];
        w.mode = Mode::Crossing {
            crossing: c,
            s_line,
            t_m: t0,
            t_end_m: far.t_m + u_far,
            to_path,
        };
    }

    /// Keeps pedestrians and cyclists near their targets: new ones out of the ego's sight.
    pub(super) fn maintain_side(&mut self) {
        let area = self.side_within_m.zip(
            self.ego
                .filter(|&e| self.actors[e as usize].alive)
                .map(|e| self.actors[e as usize].pose),
        );
        if let Some((r, ego)) = area {
            // Those left behind (out of sight) leave; the area moves with the ego.
            let leave = r + AREA_LEAVE_M;
            for k in 0..self.walkers.len() {
                let w = &self.walkers[k];
                if w.alive
                    && w.mode == Mode::Along
                    && (w.pose.x_m - ego.x_m).hypot(w.pose.y_m - ego.y_m) > leave
                {
                    self.despawn_side(k as u32);
                }
            }
            self.look_round_side_area();
        }
        let most = if area.is_some() { AREA_SPAWNS } else { 4 };
        for kind in [SideKind::Sidewalk, SideKind::BikeLane] {
            // (In an area round the ego, those in it: the ones on their way out do not
            // count.)
            let live = self
                .walkers
                .iter()
                .filter(|w| {
                    w.alive
                        && w.mode != Mode::Parked
                        && self.side.paths[w.path as usize].kind == kind
                        && area.is_none_or(|(r, ego)| {
                            (w.pose.x_m - ego.x_m).hypot(w.pose.y_m - ego.y_m) <= r
                        })
                })
                .count();
            let target = self.side_target(kind);
            for _ in live..target.min(live + most) {
                self.spawn_side(kind, true);
            }
        }
    }

    /// Poses of everyone off the carriageway.
    pub(super) fn side_poses(&mut self, headlights: bool) {
        for k in 0..self.walkers.len() {
            let w = &self.walkers[k];
            if !w.alive || w.mode == Mode::Parked {
                continue;
            }
            let p = &self.side.paths[w.path as usize];
            let road = self.net.road(p.road);
            let (ref_pose, s, t, heading, rec_lane) = match w.mode {
                Mode::Crossing {
                    s_line,
                    t_m,
                    t_end_m,
                    ..
                } => {
                    let ref_pose = road.reference_line.pose(s_line);
                    let side = if t_end_m > t_m { 0.5 } else { -0.5 };
                    (
                        ref_pose,
                        s_line,
                        t_m,
                        ref_pose.heading_rad + side * std::f64::consts::PI,
                        p.at(w.d_m).rec_lane,
                    )
                }
                _ => {
                    let sp = p.at(w.d_m);
                    let ref_pose = road.reference_line.pose(sp.s_m);
                    let back = if w.dir > 0.0 {
                        0.0
                    } else {
                        std::f64::consts::PI
                    };
                    (
                        ref_pose,
                        sp.s_m,
                        sp.t_m + w.u_m,
                        ref_pose.heading_rad + back,
                        sp.rec_lane,
                    )
                }
            };
            // `road.point_at(s, t)`, from the reference pose at `s` already there.
            let pt = ref_pose.offset(t).point();
            let z = road.z_at(s, t);
            let mut fl = 0;
            if w.body.kind == ActorKind::Bicycle {
                if w.accel_mps2 < -0.5 {
                    fl |= flags::BRAKE;
                }
                if headlights {
                    fl |= flags::HEADLIGHTS;
                }
            }
            let w = &mut self.walkers[k];
            w.pose = super::ActorPose {
                x_m: pt.x,
                y_m: pt.y,
                z_m: z,
                heading_rad: roadworld_geom::normalize_angle(heading),
                yaw_rate_radps: 0.0,
                curvature_per_m: 0.0,
                s_m: s,
                t_m: t,
            };
            w.rec_lane = rec_lane;
            w.flags = fl;
        }
    }
}

/// Pedestrians off the walkable surface (sidewalks and zebra crossings) and cyclists off
/// their bike lanes, for the invariant checks.
pub fn off_side(rec: &Recording, net: &Network) -> Vec<(u32, u32, String)> {
    let zebras: Vec<Vec<roadworld_geom::Point2>> = net
        .roads
        .iter()
        .flat_map(|r| {
            r.objects
                .iter()
                .filter(|o| o.kind == ObjectKind::Crosswalk)
                .map(move |o| {
                    let pose = r.reference_line.pose(o.s_m).offset(o.t_m);
                    let h = pose.heading_rad + o.heading_rad;
                    let (sn, cs) = h.sin_cos();
                    o.outline
                        .iter()
                        .map(|&(u, v)| {
                            // A little slack at the kerbs.
                            let (u, v) = (u * 1.05, v * 1.05);
                            roadworld_geom::Point2::new(
                                pose.x_m + u * cs - v * sn,
                                pose.y_m + u * sn + v * cs,
                            )
                        })
                        .collect()
                })
        })
        .collect();
    let mut out = Vec::new();
    for k in 0..rec.frames() {
        for s in rec.frame(k) {
            let a = &rec.actors[s.actor as usize];
            let want = match a.kind {
                ActorKind::Pedestrian => LaneType::Sidewalk,
                ActorKind::Bicycle => LaneType::Biking,
                _ => continue,
            };
            let lr = rec.lanes[s.lane as usize];
            let road = net.road(lr.road);
            let (sm, tm) = (s.s_m as f64, s.t_m as f64);
            let i = road.section_index(sm);
            let on_lane = road.sections[i].side_lanes().count() > 0 && {
                let id = [-1i32, 1].iter().find_map(|&sign| {
                    let n = if sign < 0 {
                        road.sections[i].right.len()
                    } else {
                        road.sections[i].left.len()
                    } as i32;
                    (1..=n).map(|m| m * sign).find(|&id| {
                        let (a, b) = road.lane_borders_t(i, id, sm);
                        tm >= a.min(b) - 0.05 && tm <= a.max(b) + 0.05
                    })
                });
                id.and_then(|id| road.sections[i].lane(id))
                    .is_some_and(|l| l.kind == want)
            };
            if on_lane {
                continue;
            }
            let p = roadworld_geom::Point2::new(s.x_m as f64, s.y_m as f64);
            if a.kind == ActorKind::Pedestrian
                && zebras
                    .iter()
                    .any(|z| roadworld_road::query::in_convex(z, p))
            {
                continue;
            }
            out.push((
                k as u32,
                s.actor,
                format!("{:?} at ({:.2}, {:.2}) on {}", a.kind, s.x_m, s.y_m, lr),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{World, workloads};

    /// The span a binary search over every sample finds.
    fn span_by_search(
        p: &SidePath,
        x: f64,
        key: impl Fn(&SidePoint) -> f64,
    ) -> (SidePoint, SidePoint, f64) {
        let k = p
            .points
            .partition_point(|q| key(q) <= x)
            .clamp(1, p.points.len() - 1);
        let (a, b) = (p.points[k - 1], p.points[k]);
        let u = ((x - key(&a)) / (key(&b) - key(&a)).max(1e-9)).clamp(0.0, 1.0);
        (a, b, u)
    }

    #[test]
    fn side_path_lookups_find_the_samples_a_binary_search_finds() {
        let spec = workloads::mixed_6km();
        let net = roadworld_road::generate(&spec.road, 1).unwrap();
        let world = World::new(net, &spec, 1).unwrap();
        let paths = &world.side.paths;
        assert!(paths.len() > 4, "{} side paths", paths.len());
        let same = |(a, b, u): (&SidePoint, &SidePoint, f64),
                    (c, d, w): (SidePoint, SidePoint, f64)| {
            a.d_m == c.d_m && b.d_m == d.d_m && u == w
        };
        let mut looked = 0;
        for p in paths {
            let (s0, s1) = p.s_range();
            // Every third of a metre, past both ends, and on every sample.
            let n = (3.0 * p.length_m) as usize + 30;
            let xs = (0..n).map(|k| k as f64 / 3.0 - 5.0);
            for x in xs.chain(p.points.iter().map(|q| q.d_m)) {
                let guess = x * p.per_d + 1.0;
                assert!(same(
                    p.span(x, |q| q.d_m, guess),
                    span_by_search(p, x, |q| q.d_m)
                ));
                let s = s0 + (s1 - s0) * x / p.length_m;
                let guess = (s - s0) * p.per_s + 1.0;
                assert!(same(
                    p.span(s, |q| q.s_m, guess),
                    span_by_search(p, s, |q| q.s_m)
                ));
                looked += 1;
            }
            // A guess far off still finds the sample.
            let x = 0.5 * p.length_m;
            assert!(same(
                p.span(x, |q| q.d_m, 0.0),
                span_by_search(p, x, |q| q.d_m)
            ));
        }
        assert!(looked > 1000);
    }
}
