//! Road users an event puts on or beside the carriageway outside the lane lists: a
//! pedestrian or an animal crossing the road, a cyclist setting off from the road edge who
//! swerves into the lane, a car door opening into the lane, a car pulling out of a parking
//! space (it joins the lane's traffic once in the lane), and the parked vehicles that hide or
//! carry them.
//!
//! A mover moves in its road's `(s, t)` frame by a [`Motion`], a function of time from its
//! last anchor (a crosser or a cyclist that has to wait is anchored again where it stands),
//! so that drivers can look ahead at where it will be. Drivers see it as a hazard only
//! from its `seen_s` plus their reaction time (for a pedestrian hidden by a parked car: from
//! when it steps out from behind it), and then brake for it when it is in their way now or
//! will be by the time they get there; a parked car at the kerb is never in anyone's way.

use super::{SPAWN_SIGHT_M, World, stream_seed};
use crate::drive::Leader;
use crate::kinds::Body;
use crate::lanes::LaneId;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use roadworld_road::{LaneType, RoadId, TrafficSide};
use roadworld_spec::ActorKind;
use roadworld_spec::events::{
    AnimalCrossing, CyclistSwerve, DoorOpening, NightPedestrian, OccludedPedestrian, Occluder,
    PullOut,
};

use super::events::Script;

/// How long a swerving cyclist stays in the lane before it moves back to the edge.
pub const SWERVE_HOLD_S: f64 = 4.0;
/// How long an opened door stays open before it closes again.
pub const DOOR_HOLD_S: f64 = 3.0;
/// Longest a mover event may act after its moment (the ego's time to reach it is then
/// this much under the asked one; later, it does not act for this ego).
const TRIGGER_LATE_S: f64 = 0.3;
/// Distance along the road over which a car pulls out of a parking space into the lane.
const PULL_OUT_PATH_M: f64 = 15.0;
/// Room a car pulling out wants clear ahead of its path in the lane (no vehicles, no
/// zebra crossing).
const PULL_OUT_CLEAR_M: f64 = 30.0;
/// How hard a car pulling out speeds up.
const PULL_OUT_ACCEL_MPS2: f64 = 2.5;
/// A swerving cyclist's cruising speed, how fast it gets there, and how long before its
/// swerve it sets off from a stand.
const CYCLIST_SPEED_MPS: f64 = 5.0;
const CYCLIST_ACCEL_MPS2: f64 = 1.0;
const CYCLIST_LAUNCH_S: f64 = 4.0;
/// Road a swerving cyclist needs ahead of where it stands.
const CYCLIST_ROOM_M: f64 = 120.0;
/// Room a swerving cyclist keeps to someone ahead on its strip.
const RIDER_GAP_M: f64 = 2.0;
/// A cyclist this close to its road's end rides off it.
const RIDE_OFF_M: f64 = 3.0;
/// How far an opening door swings out.
pub const DOOR_MAX_RAD: f64 = 70.0 * std::f64::consts::PI / 180.0;
/// Length of a car door from its hinge, and its thickness and height.
const DOOR_DIMENSIONS_M: [f64; 3] = [1.05, 0.12, 1.2];
/// Room between a parked car and the edge of the driving lanes.
const KERB_GAP_M: f64 = 0.2;
/// Room between a waiting pedestrian or animal and the driving lanes.
const WAIT_GAP_M: f64 = 0.4;
/// Drivers brake for a mover that will be in their way up to this long after they arrive.
const ARRIVAL_MARGIN_S: f64 = 1.0;
/// Clearance drivers want from a mover beside their body.
const SIDE_CLEARANCE_M: f64 = 0.3;
/// Longest look ahead in time at where a mover will be.
const LOOK_AHEAD_S: f64 = 12.0;
/// How fast a pedestrian darting out gets up to speed.
const PEDESTRIAN_ACCEL_MPS2: f64 = 3.0;
/// How fast an animal gets up to speed.
const ANIMAL_ACCEL_MPS2: f64 = 5.0;
/// A crosser waits for vehicles other than the ego that would reach it within this
/// (standing ones across its line too); it does not see the ego coming.
const YIELD_S: f64 = 1.5;

/// How a mover moves, as a function of time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Motion {
    /// Stands at the kerb for good (a parked car hiding a pedestrian, or carrying a door).
    Parked,
    /// Waits where it is (the mover's `t_m`) until `started`, then crosses to `t_end_m`,
    /// getting up to `speed_mps`, and stands there. It is at `t_m` moving at `v_mps` at
    /// time `at_s`; it stops for vehicles standing in its way (a queue across its line).
    Cross {
        t_end_m: f64,
        speed_mps: f64,
        /// How fast it gets up to speed.
        accel_mps2: f64,
        started: bool,
        v_mps: f64,
        at_s: f64,
    },
    /// Stands at `t_edge_m` beside the lanes until `launched`, then rides along the road
    /// (`dir`), from `s0_m` at `v0_mps` at time `at_s`, speeding up at `accel_mps2` to
    /// `speed_mps`; from `swerve_s` it swerves at `lateral_mps` to `t_in_m`, stays there
    /// [`SWERVE_HOLD_S`] and moves back to the edge.
    Ride {
        s0_m: f64,
        at_s: f64,
        dir: f64,
        v0_mps: f64,
        speed_mps: f64,
        accel_mps2: f64,
        launched: bool,
        t_edge_m: f64,
        t_in_m: f64,
        lateral_mps: f64,
        swerve_s: Option<f64>,
        /// Where it rides off the road (its end).
        end_s_m: f64,
        /// Waiting behind someone in its way (at `s0_m`).
        stopped: bool,
    },
    /// A car parked at the kerb at `(s0_m, t0_m)` pulling out from `start_s`: it speeds up
    /// at `accel_mps2` to `speed_mps` along the road (`dir`) while it moves across to
    /// `t1_m` (a lane's centre) over `path_m`; there it joins the lane's traffic.
    PullOut {
        s0_m: f64,
        t0_m: f64,
        t1_m: f64,
        dir: f64,
        speed_mps: f64,
        accel_mps2: f64,
        path_m: f64,
        start_s: Option<f64>,
    },
    /// A door hinged at `(hinge_s_m, hinge_t_m)` of a car pointing `dir` (`±1` along `s`),
    /// swinging out towards `out` (`±1` in `t`): from `open_s` it opens over `opening_s` to
    /// [`DOOR_MAX_RAD`], stays open [`DOOR_HOLD_S`], and closes over `opening_s`.
    Door {
        hinge_s_m: f64,
        hinge_t_m: f64,
        dir: f64,
        out: f64,
        opening_s: f64,
        open_s: Option<f64>,
    },
}

impl Motion {
    /// Whether its event has set it going.
    pub fn started(&self) -> bool {
        match *self {
            Motion::Parked => false,
            Motion::Cross { started, .. } => started,
            Motion::Ride { swerve_s, .. } => swerve_s.is_some(),
            Motion::Door { open_s, .. } => open_s.is_some(),
            Motion::PullOut { start_s, .. } => start_s.is_some(),
        }
    }
}

/// Where a mover is at one time, in its road's frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoverState {
    pub s_m: f64,
    pub t_m: f64,
    /// Heading of its body relative to the road's `+s`.
    pub heading_rel_rad: f64,
    /// Velocity along `+s` and `+t`.
    pub vs_mps: f64,
    pub vt_mps: f64,
}

/// An event's road user outside the lane lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Mover {
    /// Its actor (scripted [`Script::Move`], in no lane list).
    pub actor: u32,
    pub road: RoadId,
    /// Where it stands when its motion does not say (parked cars, crossers' line).
    pub s_m: f64,
    pub t_m: f64,
    /// Heading relative to the road's `+s` while it stands.
    pub heading_rel_rad: f64,
    pub motion: Motion,
    /// From when drivers can see it as a hazard (never for a parked car).
    pub seen_s: Option<f64>,
    /// A crosser's line where it steps out onto the carriageway (from behind a car, if
    /// `hidden`): its body's leading side reaches this `t`.
    pub step_out_t_m: Option<f64>,
    /// Hidden by a parked car until it steps out.
    pub hidden: bool,
    /// Its event is over: it leaves once out of the ego's sight.
    pub done: bool,
}

impl Mover {
    /// Its state at `time_s`.
    pub fn state_at(&self, time_s: f64, road_length_m: f64) -> MoverState {
        let still = MoverState {
            s_m: self.s_m,
            t_m: self.t_m,
            heading_rel_rad: self.heading_rel_rad,
            vs_mps: 0.0,
            vt_mps: 0.0,
        };
        match self.motion {
            Motion::Parked => still,
            Motion::Cross {
                t_end_m,
                speed_mps,
                accel_mps2,
                started,
                v_mps,
                at_s,
            } => {
                let sign = (t_end_m - self.t_m).signum();
                if !started || sign == 0.0 {
                    return still;
                }
                let span = (t_end_m - self.t_m).abs();
                let (gone, v) = ramp(v_mps, (time_s - at_s).max(0.0), speed_mps, accel_mps2);
                let moving = gone < span;
                MoverState {
                    t_m: self.t_m + sign * gone.min(span),
                    vt_mps: if moving { sign * v } else { 0.0 },
                    ..still
                }
            }
            Motion::Ride {
                s0_m,
                at_s,
                dir,
                v0_mps,
                speed_mps,
                accel_mps2,
                launched,
                t_edge_m,
                t_in_m,
                lateral_mps,
                swerve_s,
                stopped,
                ..
            } => {
                let (x, v) = if launched && !stopped {
                    ramp(v0_mps, (time_s - at_s).max(0.0), speed_mps, accel_mps2)
                } else {
                    (0.0, 0.0)
                };
                let s = s0_m + dir * x;
                let (s, vs) = if s < 0.0 || s > road_length_m {
                    (s.clamp(0.0, road_length_m), 0.0)
                } else {
                    (s, dir * v)
                };
                let (t, vt) = match swerve_s.filter(|&w| time_s > w) {
                    None => (t_edge_m, 0.0),
                    Some(w) => {
                        let tau = time_s - w;
                        let sign = (t_in_m - t_edge_m).signum();
                        let span = (t_in_m - t_edge_m).abs();
                        let t1 = span / lateral_mps;
                        if tau < t1 {
                            (t_edge_m + sign * lateral_mps * tau, sign * lateral_mps)
                        } else if tau < t1 + SWERVE_HOLD_S {
                            (t_in_m, 0.0)
                        } else if tau < 2.0 * t1 + SWERVE_HOLD_S {
                            let back = tau - t1 - SWERVE_HOLD_S;
                            (t_in_m - sign * lateral_mps * back, -sign * lateral_mps)
                        } else {
                            (t_edge_m, 0.0)
                        }
                    }
                };
                let heading = if vs == 0.0 && vt == 0.0 {
                    if dir < 0.0 { std::f64::consts::PI } else { 0.0 }
                } else {
                    vt.atan2(vs)
                };
                MoverState {
                    s_m: s,
                    t_m: t,
                    heading_rel_rad: heading,
                    vs_mps: vs,
                    vt_mps: vt,
                }
            }
            Motion::PullOut {
                s0_m,
                t0_m,
                t1_m,
                dir,
                speed_mps,
                accel_mps2,
                path_m,
                start_s,
            } => {
                let (x, v) = start_s.map_or((0.0, 0.0), |st| {
                    ramp(0.0, (time_s - st).max(0.0), speed_mps, accel_mps2)
                });
                let u = (x / path_m).min(1.0);
                // Across per metre along.
                let slope = (t1_m - t0_m) * crate::drive::smootherstep_slope(u) / path_m;
                MoverState {
                    s_m: s0_m + dir * x,
                    t_m: t0_m + (t1_m - t0_m) * crate::drive::smootherstep(u),
                    heading_rel_rad: slope.atan2(dir),
                    vs_mps: dir * v,
                    vt_mps: slope * v,
                }
            }
            Motion::Door {
                hinge_s_m,
                hinge_t_m,
                dir,
                out,
                opening_s,
                open_s,
            } => {
                let angle = open_s.map_or(0.0, |o| door_angle(time_s - o, opening_s));
                let len = DOOR_DIMENSIONS_M[0];
                // From the hinge backwards along the car, swung out by the angle.
                let (ds, dt) = (-dir * angle.cos(), out * angle.sin());
                MoverState {
                    s_m: hinge_s_m + 0.5 * len * ds,
                    t_m: hinge_t_m + 0.5 * len * dt,
                    heading_rel_rad: dt.atan2(ds),
                    vs_mps: 0.0,
                    vt_mps: 0.0,
                }
            }
        }
    }
}

/// Distance covered and speed `tau` after moving at `v0`, speeding up at `accel` to
/// `speed`.
pub(crate) fn ramp(v0_mps: f64, tau: f64, speed_mps: f64, accel_mps2: f64) -> (f64, f64) {
    let t1 = ((speed_mps - v0_mps) / accel_mps2).max(0.0);
    if tau < t1 {
        (
            v0_mps * tau + 0.5 * accel_mps2 * tau * tau,
            v0_mps + accel_mps2 * tau,
        )
    } else {
        (
            0.5 * (v0_mps + speed_mps) * t1 + speed_mps * (tau - t1),
            speed_mps,
        )
    }
}

/// Time to cover `x` from rest at `accel` up to `speed` ([`ramp`] inverted).
pub(crate) fn ramp_time(x_m: f64, speed_mps: f64, accel_mps2: f64) -> f64 {
    let x1 = 0.5 * speed_mps * speed_mps / accel_mps2;
    if x_m < x1 {
        (2.0 * x_m / accel_mps2).sqrt()
    } else {
        speed_mps / accel_mps2 + (x_m - x1) / speed_mps
    }
}

/// A door's opening angle `tau` after it started to open.
fn door_angle(tau: f64, opening_s: f64) -> f64 {
    let u = if tau <= 0.0 {
        0.0
    } else if tau < opening_s {
        tau / opening_s
    } else if tau < opening_s + DOOR_HOLD_S {
        1.0
    } else {
        (1.0 - (tau - opening_s - DOOR_HOLD_S) / opening_s).max(0.0)
    };
    DOOR_MAX_RAD * u
}

/// Half extents along `s` and across (`t`) of a `length` x `width` box at `heading_rel`.
fn half_extents(body: &Body, heading_rel_rad: f64) -> (f64, f64) {
    let (sin, cos) = heading_rel_rad.sin_cos();
    let (l, w) = (0.5 * body.length_m, 0.5 * body.width_m);
    (cos.abs() * l + sin.abs() * w, sin.abs() * l + cos.abs() * w)
}

/// A place on the road beside the ego's way where an event's mover goes.
#[derive(Debug, Clone, Copy)]
struct KerbSpot {
    road: RoadId,
    /// The ego's lane there and the distance along it.
    lane: LaneId,
    d_m: f64,
    s_m: f64,
    /// `±1`: the ego drives along `+s`.
    dir: f64,
    /// `±1`: the direction in `t` from the driving lanes towards the ego's kerb.
    kerb: f64,
    /// `t` of the driving lanes' edge on the ego's kerb side.
    near_edge_t_m: f64,
    /// The kind and width of the strip just beyond that edge.
    strip: Option<(LaneType, f64)>,
    /// The ego's lane is the one next to the kerb.
    outermost: bool,
}

impl World {
    /// Where the driving lanes of `lane`'s road end on `lane`'s kerb side at `d`.
    fn kerb_spot(&self, lane: LaneId, d_m: f64) -> KerbSpot {
        let l = self.map.lane(lane);
        let road = self.net.road(l.lane.road);
        let p = l.at(d_m);
        let s = p.s_m;
        let i = road.section_index(s);
        let sec = &road.sections[i];
        let dir = if l.forward { 1.0 } else { -1.0 };
        let right_hand = self.net.traffic_side == TrafficSide::Right;
        // The kerb is on the right of travel where traffic keeps right: -t driving +s.
        let kerb = if right_hand { -dir } else { dir };
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for id in (1..=sec.left.len() as i32).chain((1..=sec.right.len() as i32).map(|k| -k)) {
            if sec.lane(id).is_some_and(|x| x.kind == LaneType::Driving) {
                let (a, b) = road.lane_borders_t(i, id, s);
                lo = lo.min(a.min(b));
                hi = hi.max(a.max(b));
            }
        }
        let near = if kerb < 0.0 { lo } else { hi };
        let lanes = if kerb > 0.0 { &sec.left } else { &sec.right };
        let strip = lanes
            .iter()
            .rposition(|x| x.kind == LaneType::Driving)
            .and_then(|k| lanes.get(k + 1))
            .map(|x| (x.kind, x.width.value(s - sec.s_m).max(0.0)));
        KerbSpot {
            road: l.lane.road,
            lane,
            d_m,
            s_m: s,
            dir,
            kerb,
            near_edge_t_m: near,
            strip,
            outermost: if right_hand {
                l.right.is_none()
            } else {
                l.left.is_none()
            },
        }
    }

    /// Whether a zebra crossing lies on the spot's lane from 10 m before it to `ahead_m`
    /// after it.
    fn crossing_near(&self, s: &KerbSpot, ahead_m: f64) -> bool {
        self.side.on_lane[s.lane.index()]
            .iter()
            .any(|&(d_in, d_out, _)| d_out > s.d_m - 10.0 && d_in < s.d_m + ahead_m)
    }

    /// The first kerb spot on the ego's way from out of its sight on (every 20 m) that
    /// `fits` and has `room_m` of road ahead on the same road.
    fn kerb_spot_ahead(
        &self,
        room_m: f64,
        fits: impl Fn(&KerbSpot) -> bool,
    ) -> Result<KerbSpot, String> {
        let e = self.ego.ok_or("no ego")?;
        let v = self.actors[e as usize].speed_mps;
        let ahead = (SPAWN_SIGHT_M + 20.0).max(v * super::events::PLACE_AHEAD_S);
        for k in 0..20 {
            let at = ahead + 20.0 * k as f64;
            let Some((lane, d)) = self.route_spot_ahead(at, |l, d| {
                let lane = self.map.lane(l);
                lane.junction.is_none() && d > 20.0 && d + room_m < lane.length_m
            }) else {
                continue;
            };
            let spot = self.kerb_spot(lane, d);
            if fits(&spot) {
                return Ok(spot);
            }
        }
        Err(format!(
            "no fitting place beside the ego's way {ahead:.0} to {:.0} m ahead",
            ahead + 380.0
        ))
    }

    /// A new actor of `body` outside the lane lists, scripted as mover `m` (pushed).
    fn add_mover(&mut self, body: Body, spot: &KerbSpot, mut m: Mover) -> u32 {
        let dist = std::sync::Arc::clone(&self.driver_dist);
        let idx = self.new_actor(body.kind, spot.lane, spot.d_m, false, &dist);
        self.remove_from_list(spot.lane, idx);
        let k = self.movers.len() as u32;
        let a = &mut self.actors[idx as usize];
        a.body = body;
        a.speed_mps = 0.0;
        a.script = Some(Script::Move { mover: k });
        m.actor = idx;
        self.movers.push(m);
        self.mover_pose(k as usize);
        idx
    }

    /// A parked vehicle of `body` at the kerb at `spot` (its inner side [`KERB_GAP_M`] off
    /// the driving lanes), after taking away the parked cars, cyclists and pedestrians
    /// where it stands (all out of the ego's sight).
    fn park_at_kerb(&mut self, body: Body, spot: &KerbSpot, s_m: f64) -> (u32, f64) {
        let t = spot.near_edge_t_m + spot.kerb * (KERB_GAP_M + 0.5 * body.width_m);
        let heading = if spot.dir > 0.0 {
            0.0
        } else {
            std::f64::consts::PI
        };
        let road = self.net.road(spot.road);
        let pt = road.point_at(s_m, t);
        let h = road.reference_line.pose(s_m).heading_rad + heading;
        self.clear_walkers_at(pt.x, pt.y, h, body.length_m + 2.0, body.width_m + 1.0);
        let idx = self.add_mover(
            body,
            spot,
            Mover {
                actor: 0,
                road: spot.road,
                s_m,
                t_m: t,
                heading_rel_rad: heading,
                motion: Motion::Parked,
                seen_s: None,
                step_out_t_m: None,
                hidden: false,
                done: false,
            },
        );
        (idx, t)
    }

    fn event_rng(&self, salt: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(stream_seed(self.seed, salt + self.next_id as u64))
    }

    /// A pedestrian or animal of `body` waiting at `t0` beside the ego's way to cross the
    /// road at `s_line`, to the far side's outer edge; it steps out at `step_out_t` (hidden
    /// until then if `hidden`). Parked cars and people on its line are taken away first
    /// (out of the ego's sight).
    fn add_crosser(
        &mut self,
        body: Body,
        spot: &KerbSpot,
        (s_line, t0, step_out_t, hidden): (f64, f64, f64, bool),
        (speed_mps, accel_mps2): (f64, f64),
    ) -> u32 {
        let (_, ext_t) = half_extents(&body, std::f64::consts::FRAC_PI_2);
        let road = self.net.road(spot.road);
        let (right, left) = road.edges_t(s_line);
        let far_road_edge = if spot.kerb < 0.0 { left } else { right };
        let t_end = far_road_edge + spot.kerb * (ext_t + 0.1);
        // Clear its line (parked cars, cyclists, people) from where it waits to where it
        // ends.
        let (pa, pb) = (road.point_at(s_line, t0), road.point_at(s_line, t_end));
        let h = (pb.y - pa.y).atan2(pb.x - pa.x);
        let len = (pb.x - pa.x).hypot(pb.y - pa.y);
        self.clear_walkers_at(
            0.5 * (pa.x + pb.x),
            0.5 * (pa.y + pb.y),
            h,
            len + 2.0 * ext_t + 1.0,
            2.0,
        );
        self.add_mover(
            body,
            spot,
            Mover {
                actor: 0,
                road: spot.road,
                s_m: s_line,
                t_m: t0,
                heading_rel_rad: -spot.kerb * std::f64::consts::FRAC_PI_2,
                motion: Motion::Cross {
                    t_end_m: t_end,
                    speed_mps,
                    accel_mps2,
                    started: false,
                    v_mps: 0.0,
                    at_s: 0.0,
                },
                seen_s: None,
                step_out_t_m: Some(step_out_t),
                hidden,
                done: false,
            },
        )
    }

    pub(super) fn stage_night_pedestrian(
        &mut self,
        p: &NightPedestrian,
    ) -> Result<Vec<u32>, String> {
        let mut rng = self.event_rng(0x9ED0_0000);
        let body = Body::sample(ActorKind::Pedestrian, &mut rng);
        self.stage_plain_crosser(body, (p.speed_mps.mean(), PEDESTRIAN_ACCEL_MPS2))
    }

    pub(super) fn stage_animal(&mut self, p: &AnimalCrossing) -> Result<Vec<u32>, String> {
        let [length_m, width_m, height_m] = p.animal.dimensions_m();
        let body = Body {
            kind: ActorKind::Animal,
            length_m,
            width_m,
            height_m,
            wheelbase_m: 0.0,
        };
        self.stage_plain_crosser(body, (p.speed_mps.mean(), ANIMAL_ACCEL_MPS2))
    }

    /// A crosser in plain view at the kerb.
    fn stage_plain_crosser(&mut self, body: Body, motion: (f64, f64)) -> Result<Vec<u32>, String> {
        let (_, ext_t) = half_extents(&body, std::f64::consts::FRAC_PI_2);
        let spot = self.kerb_spot_ahead(10.0, |_| true)?;
        // Waiting just off the road's outer edge (a verge, a doorway).
        let (right, left) = self.net.road(spot.road).edges_t(spot.s_m);
        let near_road_edge = if spot.kerb < 0.0 { right } else { left };
        let t0 = near_road_edge + spot.kerb * (ext_t + WAIT_GAP_M);
        Ok(vec![self.add_crosser(
            body,
            &spot,
            (spot.s_m, t0, spot.near_edge_t_m, false),
            motion,
        )])
    }

    pub(super) fn stage_occluded_pedestrian(
        &mut self,
        p: &OccludedPedestrian,
    ) -> Result<Vec<u32>, String> {
        let mut rng = self.event_rng(0x0CC1_0000);
        let kind = match p.occluder {
            Occluder::ParkedCar => ActorKind::Car,
            Occluder::ParkedVan => ActorKind::Van,
            Occluder::Bus => ActorKind::Bus,
        };
        let occ = Body::sample(kind, &mut rng);
        let ped = Body::sample(ActorKind::Pedestrian, &mut rng);
        let spot = self.kerb_spot_ahead(occ.length_m + 10.0, |_| true)?;
        let (car, t_car) = self.park_at_kerb(occ, &spot, spot.s_m);
        // Just in front of it, in the middle of its width: hidden from the ego behind it.
        let (ext_s, _) = half_extents(&ped, std::f64::consts::FRAC_PI_2);
        let s_line = spot.s_m + spot.dir * (0.5 * occ.length_m + ext_s + 0.3);
        // Out from behind it once its leading side passes the car's inner side.
        let step_out = spot.near_edge_t_m + spot.kerb * KERB_GAP_M;
        let ped_idx = self.add_crosser(
            ped,
            &spot,
            (s_line, t_car, step_out, true),
            (p.speed_mps.mean(), PEDESTRIAN_ACCEL_MPS2),
        );
        Ok(vec![ped_idx, car])
    }

    /// A car parked at the kerb beside the ego's lane (the outermost), to pull out into it.
    pub(super) fn stage_pull_out(&mut self, p: &PullOut) -> Result<Vec<u32>, String> {
        let mut rng = self.event_rng(0x9011_0000);
        let car = Body::sample(ActorKind::Car, &mut rng);
        let reach_m = PULL_OUT_PATH_M + PULL_OUT_CLEAR_M;
        // No zebra crossing where it pulls out.
        let outermost = |s: &KerbSpot| s.outermost && !self.crossing_near(s, reach_m);
        // Room on the same lane for the whole pull-out and a bit.
        let spot = self.kerb_spot_ahead(PULL_OUT_PATH_M + car.length_m + 20.0, outermost)?;
        let (idx, t_car) = self.park_at_kerb(car, &spot, spot.s_m);
        let l = self.map.lane(spot.lane);
        let t_lane = l.at(spot.d_m).t_m;
        let m = self.actors[idx as usize].script;
        if let Some(Script::Move { mover }) = m {
            self.movers[mover as usize].motion = Motion::PullOut {
                s0_m: spot.s_m,
                t0_m: t_car,
                t1_m: t_lane,
                dir: spot.dir,
                speed_mps: p.speed_mps.mean(),
                accel_mps2: PULL_OUT_ACCEL_MPS2,
                path_m: PULL_OUT_PATH_M,
                start_s: None,
            };
        }
        Ok(vec![idx])
    }

    /// Mover `k`, a pulled-out car now in the middle of its lane, joins the lane's traffic
    /// (its driver model takes over from here).
    fn join_lane(&mut self, k: usize) {
        let m = &self.movers[k];
        let idx = m.actor;
        let a = &self.actors[idx as usize];
        let lane = a.lane;
        let l = self.map.lane(lane);
        if !in_s_range(l, a.pose.s_m) {
            return;
        }
        let d = l.d_at_s(a.pose.s_m);
        let a = &mut self.actors[idx as usize];
        a.script = None;
        a.d_m = d;
        a.lat_m = 0.0;
        a.next_accel = 0.0;
        self.insert_sorted(lane, idx);
    }

    pub(super) fn stage_door(&mut self, p: &DoorOpening) -> Result<Vec<u32>, String> {
        let mut rng = self.event_rng(0xD002_0000);
        let car = Body::sample(ActorKind::Car, &mut rng);
        // The door must reach into the ego's lane: the ego's lane is the outermost.
        let ego_lane_at_kerb = |s: &KerbSpot| s.outermost;
        let spot = self.kerb_spot_ahead(car.length_m + 10.0, ego_lane_at_kerb)?;
        let (car_idx, t_car) = self.park_at_kerb(car, &spot, spot.s_m);
        // The driver's door: on the lane side, its hinge a bit ahead of the car's middle.
        let hinge_s = spot.s_m + spot.dir * 0.35;
        // Just outside the body, so that the shut door does not overlap it.
        let hinge_t = t_car - spot.kerb * (0.5 * car.width_m + 0.5 * DOOR_DIMENSIONS_M[1] + 0.02);
        let door = Body {
            kind: ActorKind::StaticObstacle,
            length_m: DOOR_DIMENSIONS_M[0],
            width_m: DOOR_DIMENSIONS_M[1],
            height_m: DOOR_DIMENSIONS_M[2],
            wheelbase_m: 0.0,
        };
        let motion = Motion::Door {
            hinge_s_m: hinge_s,
            hinge_t_m: hinge_t,
            dir: spot.dir,
            out: -spot.kerb,
            opening_s: p.opening_s.mean(),
            open_s: None,
        };
        let m = Mover {
            actor: 0,
            road: spot.road,
            s_m: hinge_s,
            t_m: hinge_t,
            heading_rel_rad: 0.0,
            motion,
            seen_s: None,
            step_out_t_m: None,
            hidden: false,
            done: false,
        };
        let door_idx = self.add_mover(door, &spot, m);
        Ok(vec![door_idx, car_idx])
    }

    /// A cyclist standing on the shoulder or bike lane beside the ego's lane (the
    /// outermost) out of the ego's sight, to set off as the ego comes and swerve into its
    /// lane.
    pub(super) fn stage_cyclist(&mut self, p: &CyclistSwerve) -> Result<Vec<u32>, String> {
        let mut rng = self.event_rng(0xB1C0_0000);
        let body = Body::sample(ActorKind::Bicycle, &mut rng);
        let beside = |s: &KerbSpot| {
            s.outermost
                && !self.crossing_near(s, CYCLIST_ROOM_M)
                && s.strip.is_some_and(|(kind, w)| {
                    matches!(kind, LaneType::Shoulder | LaneType::Biking) && w >= body.width_m + 0.4
                })
        };
        let spot = self.kerb_spot_ahead(CYCLIST_ROOM_M, beside)?;
        let (_, w) = spot.strip.ok_or("no strip")?;
        let t_edge = spot.near_edge_t_m + spot.kerb * 0.5 * w;
        let road = self.net.road(spot.road);
        let pt = road.point_at(spot.s_m, t_edge);
        let h = road.reference_line.pose(spot.s_m).heading_rad;
        // Room on its strip ahead for the ride (bike-lane riders, parked cars).
        let ahead_s = spot.s_m + spot.dir * 0.5 * CYCLIST_ROOM_M;
        let pa = road.point_at(ahead_s, t_edge);
        let road_len = road.length_m();
        self.clear_walkers_at(pt.x, pt.y, h, 4.0, 2.0);
        self.clear_walkers_at(
            0.5 * (pt.x + pa.x),
            0.5 * (pt.y + pa.y),
            h,
            CYCLIST_ROOM_M,
            2.0,
        );
        let motion = Motion::Ride {
            s0_m: spot.s_m,
            at_s: 0.0,
            dir: spot.dir,
            v0_mps: 0.0,
            speed_mps: CYCLIST_SPEED_MPS,
            accel_mps2: CYCLIST_ACCEL_MPS2,
            launched: false,
            t_edge_m: t_edge,
            // Into the lane: its body's inner side a metre and a half inside.
            t_in_m: spot.near_edge_t_m - spot.kerb * (1.5 - 0.5 * body.width_m),
            lateral_mps: p.lateral_mps.mean(),
            swerve_s: None,
            end_s_m: if spot.dir > 0.0 { road_len } else { 0.0 },
            stopped: false,
        };
        let m = Mover {
            actor: 0,
            road: spot.road,
            s_m: spot.s_m,
            t_m: t_edge,
            heading_rel_rad: if spot.dir > 0.0 {
                0.0
            } else {
                std::f64::consts::PI
            },
            motion,
            seen_s: None,
            step_out_t_m: None,
            hidden: false,
            done: false,
        };
        Ok(vec![self.add_mover(body, &spot, m)])
    }

    /// The ego's distance from its front to `s` on `road` along its lane and plan, if its
    /// way reaches there.
    fn ego_distance_to(&self, road: RoadId, s_m: f64) -> Option<f64> {
        let e = self.ego.filter(|&e| self.actors[e as usize].alive)?;
        let a = &self.actors[e as usize];
        let mut base = -(a.d_m + 0.5 * a.body.length_m);
        for l in std::iter::once(a.lane).chain(a.plan.iter().copied()) {
            let lane = self.map.lane(l);
            if lane.lane.road == road && in_s_range(lane, s_m) {
                return Some(base + lane.d_at_s(s_m));
            }
            base += lane.length_m;
            if base > 1000.0 {
                break;
            }
        }
        None
    }

    /// Starts event `k`'s mover once the ego, first in its lane, is `ttc_s` from it (plus the
    /// time a crosser takes to step out onto the carriageway, from behind a car or off the
    /// verge). Returns whether the event has acted: its mover going and in view.
    pub(super) fn trigger_mover(&mut self, k: usize, ttc_s: f64) -> bool {
        let t = self.time_s();
        let Some(&idx) = self.event_log[k].actors.first() else {
            return false;
        };
        let Some(Script::Move { mover }) = self.actors[idx as usize].script else {
            return false;
        };
        let m = self.movers[mover as usize].clone();
        if m.motion.started() {
            // A hidden pedestrian on its way: the event acts once it is out.
            return m.seen_s.is_some();
        }
        let Some(e) = self.ego.filter(|&e| self.actors[e as usize].alive) else {
            return false;
        };
        let ve = self.actors[e as usize].speed_mps;
        let len = self.net.road(m.road).length_m();
        let now = m.state_at(t, len);
        let Some(dist) = self.ego_distance_to(m.road, now.s_m) else {
            return false;
        };
        let body = self.actors[idx as usize].body;
        let (ext_s, ext_t) = half_extents(&body, now.heading_rel_rad);
        let gap = dist - ext_s;
        if gap < 0.0 {
            return false;
        }
        // The ego first in its lane: a leader between would meet the mover instead.
        if self.leader_of(e).is_some_and(|l| l.gap_m < gap + 5.0) {
            return false;
        }
        match m.motion {
            Motion::Cross {
                t_end_m,
                speed_mps,
                accel_mps2,
                ..
            } => {
                // Its time to step out onto the carriageway (from behind a car, or off the
                // verge).
                let lead_s = m.step_out_t_m.map_or(0.0, |h| {
                    let sign = (t_end_m - m.t_m).signum();
                    let x = ((h - sign * ext_t - m.t_m) * sign).max(0.0);
                    ramp_time(x, speed_mps, accel_mps2)
                });
                if !on_time(gap, ve, ttc_s + lead_s) {
                    return false;
                }
                let mm = &mut self.movers[mover as usize];
                if let Motion::Cross { started, at_s, .. } = &mut mm.motion {
                    *started = true;
                    *at_s = t;
                }
                mm.seen_s = if mm.hidden { None } else { Some(t) };
                return mm.seen_s.is_some();
            }
            Motion::Ride { launched, .. } => {
                if !launched {
                    // Sets off from a stand a few seconds before its swerve.
                    if ve >= 1.0
                        && gap / ve <= ttc_s + CYCLIST_LAUNCH_S
                        && let Motion::Ride { launched, at_s, .. } =
                            &mut self.movers[mover as usize].motion
                    {
                        *launched = true;
                        *at_s = t;
                    }
                    return false;
                }
                if !on_time(gap, ve - now.vs_mps.abs(), ttc_s) {
                    return false;
                }
                let mm = &mut self.movers[mover as usize];
                if let Motion::Ride { swerve_s, .. } = &mut mm.motion {
                    *swerve_s = Some(t);
                }
                mm.seen_s = Some(t);
            }
            Motion::Door { .. } => {
                if !on_time(gap, ve, ttc_s) {
                    return false;
                }
                let mm = &mut self.movers[mover as usize];
                if let Motion::Door { open_s, .. } = &mut mm.motion {
                    *open_s = Some(t);
                }
                mm.seen_s = Some(t);
            }
            Motion::PullOut { .. } => {
                // Only into room: nobody in the lane just ahead of it.
                let (lane, d) = (
                    self.actors[idx as usize].lane,
                    self.actors[idx as usize].d_m,
                );
                let busy = self.lists[lane.index()].iter().any(|&j| {
                    let o = &self.actors[j as usize];
                    o.d_m > d - 5.0 && o.d_m < d + PULL_OUT_PATH_M + PULL_OUT_CLEAR_M
                });
                if busy || !on_time(gap, ve, ttc_s) {
                    return false;
                }
                let mm = &mut self.movers[mover as usize];
                if let Motion::PullOut { start_s, .. } = &mut mm.motion {
                    *start_s = Some(t);
                }
                mm.seen_s = Some(t);
            }
            Motion::Parked => return false,
        }
        true
    }

    /// Movers follow their motion; a hidden pedestrian is seen once out from behind its
    /// car; movers whose part is over leave once out of the ego's sight.
    pub(super) fn move_movers(&mut self) {
        let t = self.time_s();
        for k in 0..self.movers.len() {
            let idx = self.movers[k].actor;
            if !self.actors[idx as usize].alive || !self.actors[idx as usize].is_mover() {
                continue;
            }
            self.step_crosser(k, t);
            self.step_rider(k, t);
            self.mover_pose(k);
            let m = &self.movers[k];
            let a = &self.actors[idx as usize];
            if m.done && !self.in_ego_sight(a.pose.x_m, a.pose.y_m) {
                self.despawn(idx);
                continue;
            }
            // A cyclist at the end of its road rides off it (turns off at the junction).
            if let Motion::Ride {
                dir,
                end_s_m,
                launched: true,
                ..
            } = m.motion
                && (end_s_m - a.pose.s_m) * dir < RIDE_OFF_M
            {
                self.despawn(idx);
                continue;
            }
            if let Motion::PullOut {
                start_s: Some(st),
                speed_mps,
                accel_mps2,
                path_m,
                ..
            } = m.motion
                && ramp(0.0, t - st, speed_mps, accel_mps2).0 >= path_m
            {
                self.join_lane(k);
                continue;
            }
            if m.seen_s.is_none()
                && m.hidden
                && let (
                    Some(h),
                    Motion::Cross {
                        t_end_m,
                        started: true,
                        ..
                    },
                ) = (m.step_out_t_m, m.motion)
            {
                let body = self.actors[idx as usize].body;
                let (_, ext_t) = half_extents(&body, m.heading_rel_rad);
                let sign = (t_end_m - m.t_m).signum();
                if (m.t_m + sign * ext_t - h) * sign >= 0.0 {
                    self.movers[k].seen_s = Some(t);
                }
            }
        }
    }

    /// Cyclist `k` rides on unless someone on its strip is just ahead: then it stops, and
    /// sets off again once the way is clear.
    fn step_rider(&mut self, k: usize, t: f64) {
        let m = &self.movers[k];
        let Motion::Ride {
            dir,
            launched: true,
            stopped,
            ..
        } = m.motion
        else {
            return;
        };
        let road = self.net.road(m.road);
        let dt = self.step_s;
        let prev = m.state_at(t - dt, road.length_m());
        let next = m.state_at(t, road.length_m());
        // Where it would be a step on, moving off from a stand if it has stopped.
        let step_m = if stopped {
            0.5 * CYCLIST_ACCEL_MPS2 * dt * dt
        } else {
            (next.s_m - prev.s_m) * dir
        };
        let s_next = prev.s_m + dir * step_m;
        let body = self.actors[m.actor as usize].body;
        // Its body a step on, and the room it keeps ahead.
        let s_mid = s_next + dir * 0.5 * RIDER_GAP_M;
        let pt = road.point_at(s_mid, next.t_m);
        let h = road.reference_line.pose(s_mid).heading_rad + next.heading_rel_rad;
        let me = roadworld_geom::Obb::new(pt.x, pt.y, h, body.length_m + RIDER_GAP_M, body.width_m);
        let reach = body.length_m + RIDER_GAP_M + 3.0;
        let blocked = self.walkers.iter().any(|w| {
            w.alive
                && (w.pose.x_m - pt.x).abs() < reach
                && (w.pose.y_m - pt.y).abs() < reach
                && me.overlaps(&roadworld_geom::Obb::new(
                    w.pose.x_m,
                    w.pose.y_m,
                    w.pose.heading_rad,
                    w.body.length_m,
                    w.body.width_m,
                ))
        });
        if blocked == stopped {
            return;
        }
        if let Motion::Ride {
            s0_m,
            at_s,
            v0_mps,
            stopped,
            ..
        } = &mut self.movers[k].motion
        {
            // Standing where it was a step ago from now, or setting off from there.
            *s0_m = prev.s_m;
            *at_s = if blocked { t } else { t - dt };
            *v0_mps = 0.0;
            *stopped = blocked;
        }
    }

    /// Crosser `k` moves on to where it is at `t`, unless a vehicle other than the ego is in
    /// its way or about to be: then it waits.
    fn step_crosser(&mut self, k: usize, t: f64) {
        let m = &self.movers[k];
        let Motion::Cross {
            started: true,
            at_s,
            ..
        } = m.motion
        else {
            return;
        };
        if at_s >= t {
            return;
        }
        let road = self.net.road(m.road);
        let next = m.state_at(t, road.length_m());
        let body = self.actors[m.actor as usize].body;
        let pt = road.point_at(next.s_m, next.t_m);
        let h = road.reference_line.pose(next.s_m).heading_rad + next.heading_rel_rad;
        let me = roadworld_geom::Obb::new(
            pt.x,
            pt.y,
            h,
            body.length_m + 2.0 * SIDE_CLEARANCE_M,
            body.width_m + 2.0 * SIDE_CLEARANCE_M,
        );
        // Where each vehicle other than the ego will be over the next YIELD_S (the ego is
        // the one it does not see).
        let blocked = self.actors.iter().any(|o| {
            if !o.alive || o.ego || o.is_mover() {
                return false;
            }
            let sweep = o.speed_mps * YIELD_S;
            let reach = 0.5 * o.body.length_m + sweep + 3.0;
            if (o.pose.x_m - pt.x).abs() > reach || (o.pose.y_m - pt.y).abs() > reach {
                return false;
            }
            let (sin, cos) = o.pose.heading_rad.sin_cos();
            me.overlaps(&roadworld_geom::Obb::new(
                o.pose.x_m + 0.5 * sweep * cos,
                o.pose.y_m + 0.5 * sweep * sin,
                o.pose.heading_rad,
                o.body.length_m + sweep,
                o.body.width_m,
            ))
        });
        let m = &mut self.movers[k];
        if let Motion::Cross { v_mps, at_s, .. } = &mut m.motion {
            *at_s = t;
            if blocked {
                *v_mps = 0.0;
            } else {
                *v_mps = next.vt_mps.abs();
                m.t_m = next.t_m;
            }
        }
    }

    /// Marks the movers among an event's `actors` as done: they leave once out of sight.
    pub(super) fn retire_movers(&mut self, actors: &[u32]) {
        for &j in actors {
            if let Some(Script::Move { mover }) = self.actors[j as usize].script {
                self.movers[mover as usize].done = true;
            }
        }
    }

    /// Pose, speed and lights of mover `k`'s actor now.
    fn mover_pose(&mut self, k: usize) {
        let t = self.time_s();
        let m = &self.movers[k];
        let road = self.net.road(m.road);
        let st = m.state_at(t, road.length_m());
        let rh = road.reference_line.pose(st.s_m).heading_rad;
        let pt = road.point_at(st.s_m, st.t_m);
        let z = road.z_at(st.s_m, st.t_m);
        let speed = st.vs_mps.hypot(st.vt_mps);
        let a = &mut self.actors[m.actor as usize];
        let prev = a.speed_mps;
        a.speed_mps = speed;
        a.accel_mps2 = (speed - prev) / self.step_s;
        a.pose = super::ActorPose {
            x_m: pt.x,
            y_m: pt.y,
            z_m: z,
            heading_rad: roadworld_geom::normalize_angle(rh + st.heading_rel_rad),
            yaw_rate_radps: 0.0,
            curvature_per_m: 0.0,
            s_m: st.s_m,
            t_m: st.t_m,
        };
        a.flags = if a.body.kind == ActorKind::Bicycle && self.headlights {
            crate::flags::HEADLIGHTS
        } else {
            0
        };
    }

    /// The nearest mover in the way of driver `idx` as a leader: one it has seen (its
    /// reaction time after it became visible) that is in its lane's path now or will be
    /// by the time it gets there.
    pub(super) fn mover_leader(&self, idx: u32) -> Option<Leader> {
        if self.movers.is_empty() {
            return None;
        }
        let t = self.time_s();
        let a = &self.actors[idx as usize];
        if matches!(a.script, Some(Script::Move { .. })) {
            return None;
        }
        let front = a.d_m + 0.5 * a.body.length_m;
        let horizon = super::horizon_of(a);
        let v = a.speed_mps.max(0.5);
        let half_w = 0.5 * a.body.width_m + SIDE_CLEARANCE_M;
        let mut best: Option<Leader> = None;
        for m in &self.movers {
            let o = &self.actors[m.actor as usize];
            let Some(seen) = m.seen_s else {
                continue;
            };
            if !o.alive || !o.is_mover() || t < seen + a.driver.reaction_s {
                continue;
            }
            let road_len = self.net.road(m.road).length_m();
            let now = m.state_at(t, road_len);
            let mut base = -front;
            for l in std::iter::once(a.lane).chain(a.plan.iter().copied()) {
                if base > horizon {
                    break;
                }
                let lane = self.map.lane(l);
                if lane.lane.road != m.road || !in_s_range(lane, now.s_m) {
                    base += lane.length_m;
                    continue;
                }
                let (ext_s, _) = half_extents(&o.body, now.heading_rel_rad);
                let d = lane.d_at_s(now.s_m);
                let gap = base + d - ext_s;
                if gap < -(2.0 * ext_s + a.body.length_m) {
                    break;
                }
                // Where the driver's body will be across the road: its lane's centre.
                let p = lane.at(d);
                let (band_lo, band_hi) = (p.t_m - half_w, p.t_m + half_w);
                let arrive = (gap.max(0.0) / v).min(LOOK_AHEAD_S);
                let mut in_way = false;
                let mut tau = 0.0;
                while tau <= arrive + ARRIVAL_MARGIN_S {
                    let st = m.state_at(t + tau, road_len);
                    let (_, ext_t) = half_extents(&o.body, st.heading_rel_rad);
                    if st.t_m - ext_t < band_hi && st.t_m + ext_t > band_lo {
                        in_way = true;
                        break;
                    }
                    tau += 0.2;
                }
                if in_way {
                    let along = if lane.forward {
                        now.vs_mps
                    } else {
                        -now.vs_mps
                    };
                    let l = Leader {
                        gap_m: gap.max(0.1),
                        speed_mps: along.max(0.0),
                        accel_mps2: 0.0,
                    };
                    if best.is_none_or(|b| l.gap_m < b.gap_m) {
                        best = Some(l);
                    }
                }
                break;
            }
        }
        best
    }
}

/// Whether the ego, `gap` away closing at `closing`, is `time_s` away now: at or under it,
/// and no more than [`TRIGGER_LATE_S`] under (a moment missed, with a leader in between,
/// is not made up for later with less time).
fn on_time(gap_m: f64, closing_mps: f64, time_s: f64) -> bool {
    closing_mps >= 1.0 && {
        let eta = gap_m / closing_mps;
        eta <= time_s && eta >= time_s - TRIGGER_LATE_S
    }
}

/// Whether road coordinate `s` lies within the lane's stretch of road.
fn in_s_range(lane: &crate::lanes::Lane, s_m: f64) -> bool {
    let (a, b) = (lane.points[0].s_m, lane.points[lane.points.len() - 1].s_m);
    s_m >= a.min(b) && s_m <= a.max(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mover(motion: Motion) -> Mover {
        Mover {
            actor: 0,
            road: RoadId(0),
            s_m: 50.0,
            t_m: -5.0,
            heading_rel_rad: 0.0,
            motion,
            seen_s: None,
            step_out_t_m: None,
            hidden: false,
            done: false,
        }
    }

    #[test]
    fn a_crosser_waits_walks_across_at_its_speed_and_stops_on_the_far_side() {
        let mut m = mover(Motion::Cross {
            t_end_m: 5.0,
            speed_mps: 2.0,
            accel_mps2: 4.0,
            started: false,
            v_mps: 0.0,
            at_s: 10.0,
        });
        m.heading_rel_rad = std::f64::consts::FRAC_PI_2;
        let waiting = m.state_at(30.0, 100.0);
        assert_eq!((waiting.t_m, waiting.vt_mps), (-5.0, 0.0));
        if let Motion::Cross { started, .. } = &mut m.motion {
            *started = true;
        }
        // Up to speed in 0.5 s (0.5 m), then 2 m/s: at 0 after 0.5 + 4.5 / 2 s.
        let mid = m.state_at(12.75, 100.0);
        assert!((mid.t_m - 0.0).abs() < 1e-12, "{mid:?}");
        assert_eq!(mid.vt_mps, 2.0);
        assert!((mid.heading_rel_rad - std::f64::consts::FRAC_PI_2).abs() < 1e-12);
        let early = m.state_at(10.25, 100.0);
        assert!((early.vt_mps - 1.0).abs() < 1e-12 && (early.t_m + 4.875).abs() < 1e-12);
        let after = m.state_at(20.0, 100.0);
        assert_eq!((after.t_m, after.vt_mps), (5.0, 0.0));
        assert_eq!(after.s_m, 50.0);
        assert!((ramp_time(0.5, 2.0, 4.0) - 0.5).abs() < 1e-12);
        assert!((ramp_time(4.5, 2.0, 4.0) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn a_cyclist_swerves_in_holds_and_moves_back_while_riding_on() {
        let m = mover(Motion::Ride {
            s0_m: 0.0,
            at_s: 0.0,
            dir: 1.0,
            v0_mps: 5.0,
            speed_mps: 5.0,
            accel_mps2: 1.0,
            launched: true,
            t_edge_m: -4.0,
            t_in_m: -2.0,
            lateral_mps: 1.0,
            swerve_s: Some(10.0),
            end_s_m: 1000.0,
            stopped: false,
        });
        let s = m.state_at(10.0, 1000.0);
        assert_eq!((s.s_m, s.t_m), (50.0, -4.0));
        let s = m.state_at(11.0, 1000.0);
        assert!((s.t_m + 3.0).abs() < 1e-12 && s.vt_mps == 1.0);
        assert!((s.heading_rel_rad - (1.0f64).atan2(5.0)).abs() < 1e-12);
        let s = m.state_at(12.0 + SWERVE_HOLD_S - 0.5, 1000.0);
        assert_eq!((s.t_m, s.vt_mps), (-2.0, 0.0));
        let s = m.state_at(14.0 + SWERVE_HOLD_S + 1.0, 1000.0);
        assert_eq!(s.t_m, -4.0);
        // Stops at the road's end.
        let s = m.state_at(1000.0, 1000.0);
        assert_eq!((s.s_m, s.vs_mps), (1000.0, 0.0));
        // From a stand: a metre a second more every second, up to its speed.
        let mut still = m.clone();
        if let Motion::Ride {
            v0_mps, swerve_s, ..
        } = &mut still.motion
        {
            *v0_mps = 0.0;
            *swerve_s = None;
        }
        let s = still.state_at(2.0, 1000.0);
        assert!((s.s_m - 2.0).abs() < 1e-12 && (s.vs_mps - 2.0).abs() < 1e-12);
        let s = still.state_at(6.0, 1000.0);
        assert!((s.s_m - 17.5).abs() < 1e-12 && s.vs_mps == 5.0);
    }

    #[test]
    fn a_door_swings_out_from_its_hinge_and_closes_again() {
        let m = mover(Motion::Door {
            hinge_s_m: 50.0,
            hinge_t_m: -3.0,
            dir: 1.0,
            out: 1.0,
            opening_s: 1.0,
            open_s: Some(0.0),
        });
        let shut = m.state_at(0.0, 100.0);
        assert!((shut.t_m + 3.0).abs() < 1e-12);
        assert!((shut.s_m - (50.0 - 0.5 * DOOR_DIMENSIONS_M[0])).abs() < 1e-12);
        let open = m.state_at(2.0, 100.0);
        // The free end reaches out by length x sin(max angle).
        let reach = 2.0 * (open.t_m + 3.0);
        assert!((reach - DOOR_DIMENSIONS_M[0] * DOOR_MAX_RAD.sin()).abs() < 1e-9);
        let closed = m.state_at(1.0 + DOOR_HOLD_S + 1.5, 100.0);
        assert!((closed.t_m + 3.0).abs() < 1e-12);
    }
}
