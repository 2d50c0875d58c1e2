//! The world: actors on the lane map, stepped at a fixed rate.
//!
//! One step: lights are switched; every actor in id order extends its plan, considers a
//! lane change (MOBIL), asks for the junction ahead, and picks an acceleration from the state
//! at the start of the step; then all actors move at once; then vehicles enter at the
//! network's edges to hold the density. Lane lists are kept sorted by position, so leaders
//! and followers are found without looking at anyone else.

use crate::drive::{
    DriverParams, Leader, SMOOTHERSTEP_MAX_CURVATURE, SMOOTHERSTEP_MAX_SLOPE, acc_accel,
    safe_speed, smootherstep, smootherstep_slope,
};
use crate::kinds::{Body, kind_info};
use crate::lanes::{Control, Lane, LaneId, LaneMap, MIN_USABLE_WIDTH_M, class_index};
use crate::record::{Recorder, Recording};
use crate::{ActorId, SimError, flags};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use roadworld_road::{LightState, Network, RoadId};
use roadworld_spec::{ActorKind, DriverDist, ScenarioSpec};

mod area;
mod events;
mod movers;
mod ramp_merge;
mod reveal;
mod side;
mod timed_cross;
mod works;
mod wrong_way;

pub use events::{EventRecord, Outcome, Script, WRONG_WAY_VIEW_WAIT_S, Zone};
pub use movers::{DOOR_HOLD_S, DOOR_MAX_RAD, Motion, Mover, MoverState, SWERVE_HOLD_S};
pub use side::{Crossing, Parked, SideKind, SideMap, SidePath, Walker, off_side};
pub use wrong_way::{PANIC_S, WRONG_WAY_SIGHT_M, WrongWay};

/// Length of the pieces the areas round the ego are made of (lanes for vehicles, side paths
/// for walkers).
const AREA_PIECE_M: f64 = 25.0;
/// Vehicles and walkers this far beyond an area round the ego (and out of its sight) leave.
const AREA_LEAVE_M: f64 = 50.0;
/// Acceleration of gravity.
pub const GRAVITY_MPS2: f64 = 9.81;
/// Lateral acceleration bound of lane changes.
pub const LANE_CHANGE_LATERAL_ACCEL_MPS2: f64 = 1.5;
/// Shortest lane change.
pub const MIN_LANE_CHANGE_M: f64 = 18.0;
/// How far ahead drivers look for leaders, stop lines and curves (at least).
const MIN_HORIZON_M: f64 = 80.0;
/// Deceleration a lane change may impose on the new follower.
const SAFE_DECEL_MPS2: f64 = 3.0;
/// Gap kept to a stop line.
const STOP_MARGIN_M: f64 = 0.5;
/// A vehicle gives way when a priority vehicle would reach the conflict within its own
/// clearing time plus this.
const GAP_MARGIN_S: f64 = 2.0;
/// Sight distance within which nobody appears in front of the ego.
pub const SPAWN_SIGHT_M: f64 = 300.0;
/// Seconds before the density trace starts sampling.
pub const DENSITY_WARMUP_S: f64 = 30.0;
/// A class zone holding more than this share of its target is thinned out of sight...
const THIN_ABOVE: f64 = 1.08;
/// ...down to this share.
const THIN_TO: f64 = 1.02;
/// Vehicles with at least this half wheelbase ride both axles on the lane.
const LONG_BODY_HALF_WHEELBASE_M: f64 = 2.0;
/// How far the branches of a diverge overlap (vehicles on one block the others).
const DIVERGE_OVERLAP_M: f64 = 12.0;
/// How far past a junction a vehicle looks for room to stand before it enters.
const ROOM_AFTER_JUNCTION_M: f64 = 40.0;

/// The lanes an actor means to drive after its current one; a horizon's worth fits inline.
pub type Plan = smallvec::SmallVec<[LaneId; 8]>;

/// A lane change under way: the actor is already in its target lane, its lateral offset
/// blends from the old lane's centre to the new one over `length_m`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaneChange {
    /// The lane being left; the actor still blocks it as a ghost while `ghost` is set.
    pub from: LaneId,
    /// Position in the old lane = position in the new lane + this.
    pub from_offset_m: f64,
    pub start_d_m: f64,
    pub length_m: f64,
    /// Lateral offset from the new lane's centre at the start (positive: left).
    pub offset0_m: f64,
    pub ghost: bool,
    /// The old lane is still followed for the blend (it has not ended).
    pub tracking: bool,
}

impl LaneChange {
    pub(crate) fn progress(&self, d_m: f64) -> f64 {
        ((d_m - self.start_d_m) / self.length_m).clamp(0.0, 1.0)
    }
}

/// Where an actor is and how it moves, derived after each step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ActorPose {
    pub x_m: f64,
    pub y_m: f64,
    pub z_m: f64,
    pub heading_rad: f64,
    pub yaw_rate_radps: f64,
    pub curvature_per_m: f64,
    /// Road coordinates.
    pub s_m: f64,
    pub t_m: f64,
}

/// A road user.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: ActorId,
    pub body: Body,
    pub driver: DriverParams,
    pub ego: bool,
    pub alive: bool,
    pub lane: LaneId,
    /// Position of the body's centre along the lane.
    pub d_m: f64,
    pub speed_mps: f64,
    pub accel_mps2: f64,
    /// Lateral offset from the lane centre (positive: left).
    pub lat_m: f64,
    pub lane_change: Option<LaneChange>,
    /// Lanes after `lane`, in order (inline: read by every step, no pointer to chase).
    pub plan: Plan,
    /// The road wanted after the junction ending the current chain.
    pub want: Option<RoadId>,
    /// The junction path this actor has claimed.
    pub hold: Option<LaneId>,
    /// The path it came through, while its body is still in that path's zones (on short
    /// links between junctions, such as roundabout ring segments, this overlaps the next
    /// claim).
    hold_prev: Option<LaneId>,
    pub pose: ActorPose,
    pub flags: u16,
    standing_s: f64,
    go_s: f64,
    stopped_at_sign: bool,
    at_red: bool,
    /// A lane change this actor must make (`Some(true)`: left), as last seen.
    need_lc: Option<bool>,
    lc_cooldown_s: f64,
    next_accel: f64,
    /// Main-route progress of the ego (index into `Network::main_route`).
    route_pos: Option<usize>,
    /// Position in its lane's list.
    slot: u32,
    /// The lane it came from (for long bodies reaching back into it).
    prev_lane: Option<LaneId>,
    /// Class index of the last lane outside a junction it drove on.
    zone: u8,
    /// Behaviour an event gave it in place of its driver model.
    pub script: Option<Script>,
    /// The advisory speed where its pose was last derived, with that place (lane and the
    /// bits of `d_m`): the next step's decision looks there again, as a rule.
    advisory_here: (LaneId, u64, f64),
}

impl Actor {
    /// Whether an event moves it outside the lane lists (a [`Mover`] or a [`WrongWay`]).
    pub fn is_mover(&self) -> bool {
        matches!(
            self.script,
            Some(Script::Move { .. } | Script::WrongWay { .. })
        )
    }
}

/// One road user as renderers and viewers see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActorState {
    pub id: ActorId,
    pub kind: ActorKind,
    pub length_m: f64,
    pub width_m: f64,
    pub height_m: f64,
    pub x_m: f64,
    pub y_m: f64,
    pub z_m: f64,
    pub heading_rad: f64,
    pub speed_mps: f64,
    pub accel_mps2: f64,
    /// [`crate::flags`].
    pub flags: u16,
}

/// The world at one instant, as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub time_s: f64,
    pub actors: Vec<ActorState>,
    /// State of each signal controller, indexed by `ControllerId`.
    pub lights: Vec<LightState>,
}

/// Per-class vehicle counts and targets.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Density {
    /// Vehicles outside junctions, by class (motorway, rural, urban).
    pub count: [u32; 3],
    pub target: [f64; 3],
}

/// How well the density was held: sampled once a second after a warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DensityTrace {
    /// Seconds before sampling starts (the network fills from its initial placement).
    pub warmup_s: f64,
    pub samples: u32,
    /// Sum of the per-class counts over the samples.
    pub sum: [f64; 3],
    pub target: [f64; 3],
    /// Largest relative deviation of the total count from the total target, and when.
    pub worst_total_deviation: f64,
    pub worst_total_at_s: f64,
}

impl DensityTrace {
    /// Mean count per class over the samples.
    pub fn mean(&self) -> [f64; 3] {
        self.sum.map(|s| s / self.samples.max(1) as f64)
    }
}

/// What keeps an actor from entering a junction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocker {
    /// Another actor holds a crossing path and has not cleared the conflict zone.
    Holder(u32),
    /// Traffic with priority arrives before we could clear.
    Priority(u32),
    /// No room on the lane after the junction.
    NoRoom(LaneId),
}

/// What happened to the ego.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgoStatus {
    Driving,
    /// Reached the end of the main route and left the network.
    Arrived,
    /// Left the main route (missed a turn).
    OffRoute,
}

/// The world.
#[derive(Debug, Clone)]
pub struct World {
    pub net: Network,
    pub map: LaneMap,
    pub actors: Vec<Actor>,
    rngs: Vec<ChaCha8Rng>,
    /// Live actors in each lane, sorted by position (then id).
    lists: Vec<Vec<u32>>,
    /// Lanes an event's standing obstacle blocks, with how far before it drivers look for it
    /// (0: not blocked): drivers there must change lanes, and drivers beside let them in.
    blocked_m: Vec<f64>,
    /// Lanes some zone covers.
    zoned: Vec<bool>,
    /// (standing obstacle, driver) pairs: the driver cannot see the obstacle (a leader hides
    /// it) and neither follows it nor steers round it.
    hidden: Vec<(u32, u32)>,
    /// Fog banks and slippery patches laid by events.
    pub zones: Vec<Zone>,
    /// Actors changing out of each lane, still blocking it.
    ghosts: Vec<Vec<u32>>,
    /// Actors holding each junction path.
    holds: Vec<Vec<u32>>,
    lights: Vec<LightState>,
    pub step_s: f64,
    pub substeps: u32,
    pub step: u64,
    seed: u64,
    spawn_rng: ChaCha8Rng,
    driver_dist: std::sync::Arc<DriverDist>,
    mix: Vec<(ActorKind, f64)>,
    pub density: Density,
    pub density_trace: DensityTrace,
    pub ego: Option<u32>,
    pub ego_status: EgoStatus,
    recorder: Option<Recorder>,
    /// The external driver's command for the ego this substep (its own decisions are off).
    ego_command: Option<Command>,
    spawn_cursor: usize,
    /// Scratch: actors in lane order.
    order: Vec<u32>,
    /// Next id to hand out.
    next_id: u32,
    /// Sidewalks, bike lanes, zebra crossings and parked cars.
    pub side: SideMap,
    /// Pedestrians, cyclists and parked cars.
    pub walkers: Vec<Walker>,
    /// Walkers on each side path, per direction (`2 * path + (along +s)`), by position.
    side_lists: Vec<Vec<u32>>,
    /// Pedestrians on each zebra crossing.
    crossing_busy: Vec<u32>,
    ped_per_km: f64,
    bike_per_km: f64,
    /// Pedestrians and cyclists only this close to the ego, if set
    /// (`TrafficSpec::side_within_m`).
    side_within_m: Option<f64>,
    /// Vehicles only within this distance of the ego (`TrafficSpec::vehicles_within_m`).
    vehicles_within_m: Option<f64>,
    /// With `vehicles_within_m`: the lane pieces vehicles are placed on.
    lane_pieces: Vec<area::LanePiece>,
    /// Target vehicles per km of lane, by class.
    density_per_km: [f64; 3],
    /// With `side_within_m`: the pieces of side paths within it of the ego, as of the last
    /// look ([`SideMap::pieces`]).
    side_near: Vec<u32>,
    /// Whether vehicles drive with their headlights on (night, fog); motorcycles always do.
    pub headlights: bool,
    /// Time of day, weather and friction, drawn from the seed.
    pub environment: roadworld_spec::Environment,
    /// The spec's events, in start order, and how each went.
    pub event_log: Vec<EventRecord>,
    /// Event road users outside the lane lists (crossers, a swerving cyclist, doors).
    pub movers: Vec<Mover>,
    /// Emergency vehicles events brought in.
    emergency: Vec<u32>,
    /// Wrong-way drivers events brought in.
    pub wrong_way: Vec<WrongWay>,
}

pub use roadworld_spec::stream_seed;

fn draw_driver(d: &DriverDist, rng: &mut ChaCha8Rng) -> DriverParams {
    DriverParams {
        desired_speed_factor: d.desired_speed_factor.sample(rng),
        time_headway_s: d.time_headway_s.sample(rng),
        min_gap_m: d.min_gap_m.sample(rng),
        max_accel_mps2: d.max_accel_mps2.sample(rng),
        comfortable_decel_mps2: d.comfortable_decel_mps2.sample(rng),
        politeness: d.politeness.sample(rng),
        reaction_s: d.reaction_s.sample(rng),
    }
}

/// A driver that may take over the ego (closed loop). The default driver is used where
/// `command` returns `None`.
pub trait Driver {
    /// The ego's acceleration and lane-change wish for the coming step.
    fn command(&mut self, world: &World, ego: &Actor) -> Option<Command>;
}

/// An external driver's command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Command {
    /// Requested acceleration (clamped to the vehicle's limits).
    pub accel_mps2: f64,
    /// Start a lane change: `Some(true)` left, `Some(false)` right.
    pub lane_change_left: Option<bool>,
    /// How long that lane change takes (`None`: as the default driver would; never sharper
    /// than the vehicle's tightest lane change).
    pub lane_change_duration_s: Option<f64>,
}

/// The built-in driver for the ego: the same behaviour stack as everyone else.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultDriver;

impl Driver for DefaultDriver {
    fn command(&mut self, _: &World, _: &Actor) -> Option<Command> {
        None
    }
}

impl World {
    /// Builds the world of `spec` on `net` and places the initial traffic.
    pub fn new(net: Network, spec: &ScenarioSpec, seed: u64) -> Result<Self, SimError> {
        // A resolved spec carries its events fixed; otherwise they are drawn from the seed.
        let events = if spec.seed.is_some() {
            spec.events.clone()
        } else {
            roadworld_spec::resolve(spec, seed).events
        };
        let event_log = Self::load_events(&events);
        let environment = roadworld_spec::draw_environment(spec, seed);
        let map = LaneMap::new(&net);
        let n = map.lanes.len();
        let mix: Vec<(ActorKind, f64)> = spec
            .traffic
            .mix
            .iter()
            .filter(|k| k.weight > 0.0)
            .map(|k| (k.kind, k.weight))
            .collect();
        let d = &spec.traffic.density_per_km_lane;
        let target = [
            d.motorway * map.lane_km[0],
            d.rural * map.lane_km[1],
            d.urban * map.lane_km[2],
        ];
        let driving: Vec<(roadworld_road::LaneRef, bool)> =
            map.lanes.iter().map(|l| (l.lane, l.forward)).collect();
        let side = SideMap::new(&net, n as u32, &driving, &|lane, s| {
            map.lane(lane).d_at_s(s)
        });
        let n_paths = side.paths.len();
        let n_crossings = side.crossings.len();
        let mut w = World {
            side,
            walkers: Vec::new(),
            side_lists: vec![Vec::new(); 2 * n_paths],
            crossing_busy: vec![0; n_crossings],
            ped_per_km: spec.traffic.pedestrians_per_km,
            bike_per_km: spec.traffic.cyclists_per_km,
            side_within_m: spec.traffic.side_within_m,
            side_near: Vec::new(),
            vehicles_within_m: spec.traffic.vehicles_within_m,
            lane_pieces: Vec::new(),
            density_per_km: [d.motorway, d.rural, d.urban],
            headlights: environment.headlights(),
            environment,
            event_log,
            movers: Vec::new(),
            emergency: Vec::new(),
            wrong_way: Vec::new(),
            lights: vec![LightState::Red; net.controllers.len()],
            net,
            map,
            actors: Vec::new(),
            rngs: Vec::new(),
            lists: vec![Vec::new(); n],
            blocked_m: vec![0.0; n],
            zoned: vec![false; n],
            hidden: Vec::new(),
            zones: Vec::new(),
            ghosts: vec![Vec::new(); n],
            holds: vec![Vec::new(); n],
            step_s: spec.sim.step_s,
            substeps: spec.sim.substeps,
            step: 0,
            seed,
            spawn_rng: ChaCha8Rng::seed_from_u64(stream_seed(seed, 0x5BA7)),
            driver_dist: std::sync::Arc::new(spec.traffic.driver.clone()),
            mix,
            density: Density {
                count: [0; 3],
                target,
            },
            density_trace: DensityTrace {
                warmup_s: DENSITY_WARMUP_S,
                target,
                ..DensityTrace::default()
            },
            ego: None,
            ego_status: EgoStatus::Driving,
            recorder: None,
            ego_command: None,
            spawn_cursor: 0,
            order: Vec::new(),
            next_id: 0,
        };
        w.switch_lights();
        w.place_ego(spec)?;
        if w.vehicles_within_m.is_some() {
            w.lane_pieces = w.build_lane_pieces();
        }
        w.populate();
        w.populate_side();
        w.update_poses();
        if w.vehicles_within_m.is_some() {
            w.look_round_vehicle_area();
            w.count_density();
        }
        Ok(w)
    }

    /// Starts recording trajectories (from the current step).
    pub fn record(&mut self) {
        self.record_for(0);
    }

    /// Starts recording trajectories (from the current step), sized for about `steps` more
    /// steps: the samples are then held in one allocation of about the size they end up,
    /// instead of growing by doubling (which, for a long scene, keeps up to three times the
    /// samples' bytes in use while it copies). The recording still grows past `steps` if
    /// asked to; what is recorded does not depend on the hint.
    pub fn record_for(&mut self, steps: u64) {
        let mut r = Recorder::new(
            self.step_s,
            &self.map,
            &self.side.extra_lanes,
            steps.saturating_add(1),
        );
        r.capture(self);
        self.recorder = Some(r);
    }

    /// A copy of the world as it is now, without the recording: it goes on from here on its
    /// own (to try what-ifs, e.g. an evasive manoeuvre of the ego). Stepping the copy does
    /// exactly what stepping this world would.
    pub fn fork(&mut self) -> World {
        let recorder = self.recorder.take();
        let copy = self.clone();
        self.recorder = recorder;
        copy
    }

    /// The recording so far, left in place (the same as [`World::take_recording`] would
    /// give now).
    pub fn recording(&self) -> Option<&Recording> {
        self.recorder.as_ref().map(Recorder::recording)
    }

    /// The recording so far.
    pub fn take_recording(&mut self) -> Option<Recording> {
        self.recorder.take().map(|r| r.finish(self))
    }

    /// Simulated time.
    pub fn time_s(&self) -> f64 {
        self.step as f64 * self.step_s
    }

    /// Live actors in id order.
    pub fn live(&self) -> impl Iterator<Item = &Actor> {
        self.actors.iter().filter(|a| a.alive)
    }

    /// Light state of a controller.
    pub fn light(&self, c: roadworld_road::ControllerId) -> LightState {
        self.lights[c.index()]
    }

    fn switch_lights(&mut self) {
        let t = self.time_s();
        for (k, c) in self.net.controllers.iter().enumerate() {
            self.lights[k] = c.timing.state_at(t);
        }
    }

    // ----- placing actors -------------------------------------------------------------

    fn new_actor(
        &mut self,
        kind: ActorKind,
        lane: LaneId,
        d_m: f64,
        ego: bool,
        driver: &DriverDist,
    ) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(self.seed, 0xAC70_0000 + id as u64));
        let body = Body::sample(kind, &mut rng);
        let mut driver = draw_driver(driver, &mut rng);
        driver.max_accel_mps2 = driver.max_accel_mps2.min(kind_info(kind).max_accel_mps2);
        let idx = self.actors.len() as u32;
        self.actors.push(Actor {
            id: ActorId(id),
            body,
            driver,
            ego,
            alive: true,
            lane,
            d_m,
            speed_mps: 0.0,
            accel_mps2: 0.0,
            lat_m: 0.0,
            lane_change: None,
            plan: Plan::new(),
            want: None,
            hold: None,
            hold_prev: None,
            pose: ActorPose::default(),
            flags: if ego { flags::EGO } else { 0 },
            standing_s: 0.0,
            go_s: 0.0,
            stopped_at_sign: false,
            at_red: false,
            need_lc: None,
            lc_cooldown_s: 0.0,
            next_accel: 0.0,
            route_pos: None,
            slot: 0,
            prev_lane: None,
            zone: class_index(self.map.lane(lane).class) as u8,
            script: None,
            advisory_here: (lane, f64::NAN.to_bits(), 0.0),
        });
        self.rngs.push(rng);
        self.insert_sorted(lane, idx);
        idx
    }

    fn insert_sorted(&mut self, lane: LaneId, idx: u32) {
        let d = self.actors[idx as usize].d_m;
        let actors = &self.actors;
        let list = &mut self.lists[lane.index()];
        let pos = list.partition_point(|&j| {
            let a = &actors[j as usize];
            (a.d_m, a.id) < (d, actors[idx as usize].id)
        });
        list.insert(pos, idx);
        self.renumber(lane);
    }

    fn remove_from_list(&mut self, lane: LaneId, idx: u32) {
        let list = &mut self.lists[lane.index()];
        if let Some(p) = list.iter().position(|&j| j == idx) {
            list.remove(p);
        }
        self.renumber(lane);
    }

    /// Stores every actor's position in its lane list.
    fn renumber(&mut self, lane: LaneId) {
        renumber(&mut self.actors, &self.lists[lane.index()]);
    }

    fn place_ego(&mut self, spec: &ScenarioSpec) -> Result<(), SimError> {
        let Some(first) = self.net.main_route.first().copied() else {
            return Err(SimError::NoRoute);
        };
        let road = self.net.road(first.road);
        let sec = if first.forward {
            0
        } else {
            road.sections.len() - 1
        };
        // The rightmost driving lane that is good for the route.
        let candidates: Vec<LaneId> = self
            .map
            .lanes
            .iter()
            .filter(|l| l.lane.road == first.road && l.lane.section as usize == sec)
            .filter(|l| l.forward == first.forward && l.usable_from_m < 1.0)
            .map(|l| l.id)
            .collect();
        let Some(&lane) = candidates
            .iter()
            .find(|&&l| self.map.lane(l).right.is_none())
            .or(candidates.first())
        else {
            return Err(SimError::NoRoute);
        };
        let d = 25.0_f64.min(0.5 * self.map.lane(lane).length_m);
        let idx = self.new_actor(spec.ego.kind, lane, d, true, &spec.ego.driver.clone());
        let a = &mut self.actors[idx as usize];
        a.route_pos = Some(0);
        let v0 = self.map.lane(lane).advisory_at(d) * a.driver.desired_speed_factor;
        a.speed_mps = 0.8 * v0;
        self.ego = Some(idx);
        self.refresh_want(idx);
        Ok(())
    }

    fn pick_kind(&mut self) -> ActorKind {
        let total: f64 = self.mix.iter().map(|m| m.1).sum();
        let mut u = self.spawn_rng.random_range(0.0..total);
        for &(k, w) in &self.mix {
            if u < w {
                return k;
            }
            u -= w;
        }
        self.mix.last().map_or(ActorKind::Car, |m| m.0)
    }

    /// The initial traffic: every lane outside junctions filled at the target density,
    /// at speeds that keep the gaps.
    fn populate(&mut self) {
        let dens = self.density.target;
        let ego_lane = self.ego.map(|e| self.actors[e as usize].lane);
        let ego_d = self.ego.map_or(0.0, |e| self.actors[e as usize].d_m);
        // With an area round the ego, only in it.
        let area = self.vehicles_within_m.zip(ego_lane).map(|(r, l)| {
            let p = self.map.lane(l).at(ego_d);
            (r, p.x_m, p.y_m)
        });
        for k in 0..self.map.lanes.len() {
            let lane = &self.map.lanes[k];
            if lane.junction.is_some() {
                continue;
            }
            let ci = class_index(lane.class);
            let per_m = dens[ci] / self.map.lane_km[ci].max(1e-9) / 1000.0;
            if per_m <= 0.0 {
                continue;
            }
            let spacing = 1.0 / per_m;
            let Some((from, to)) = self.placeable_m(lane) else {
                continue;
            };
            let mut d = from + self.spawn_rng.random_range(0.0..spacing);
            while d < to {
                let here = LaneId(k as u32);
                let near_ego = ego_lane == Some(here) && (d - ego_d).abs() < 40.0;
                let outside = area.is_some_and(|(r, x, y)| {
                    let p = self.map.lane(here).at(d);
                    (p.x_m - x).hypot(p.y_m - y) > r
                });
                if !near_ego && !outside {
                    let kind = self.pick_kind();
                    let dist = std::sync::Arc::clone(&self.driver_dist);
                    let idx = self.new_actor(kind, here, d, false, &dist);
                    let a = &self.actors[idx as usize];
                    let lane = self.map.lane(here);
                    let v0 = lane.advisory_at(d) * a.driver.desired_speed_factor;
                    let gap = spacing - a.body.length_m;
                    let v_eq = ((gap - a.driver.min_gap_m) / a.driver.time_headway_s).max(0.0);
                    // Slow enough to stop before the end of the chain.
                    let to_end = (lane.chain_m - d - 10.0).max(0.0);
                    let v_stop = (2.0 * a.driver.comfortable_decel_mps2 * to_end).sqrt();
                    let v = v0.min(v_eq).min(v_stop).min(kind_info(kind).max_speed_mps);
                    self.actors[idx as usize].speed_mps = v;
                    self.refresh_want(idx);
                    self.slow_for_lane_end(idx);
                }
                let jitter = self.spawn_rng.random_range(0.7..1.3);
                d += spacing * jitter;
            }
        }
        // Overlaps across lane boundaries: drop the follower of any too-close pair.
        let mut drop = Vec::new();
        for k in 0..self.actors.len() {
            if let Some(l) = self.leader_of(k as u32) {
                let a = &self.actors[k];
                if l.gap_m < a.driver.min_gap_m + 0.5 * a.speed_mps && !a.ego {
                    drop.push(k as u32);
                }
            }
        }
        for k in drop {
            self.despawn(k);
        }
        // Speeds that can stop behind the actual leader and before a dropped lane's end
        // (placement used the nominal spacing; leaders across lane boundaries come later).
        for k in 0..self.actors.len() as u32 {
            if self.actors[k as usize].alive && !self.actors[k as usize].ego {
                let h = self.horizon(&self.actors[k as usize]);
                self.extend_plan(k, h);
                self.slow_for_lane_end(k);
            }
        }
        for _ in 0..4 {
            for k in 0..self.actors.len() {
                if !self.actors[k].alive || self.actors[k].ego {
                    continue;
                }
                if let Some(l) = self.leader_of(k as u32) {
                    let a = &mut self.actors[k];
                    let room = (l.gap_m - a.driver.min_gap_m).max(0.0);
                    let v = (l.speed_mps * l.speed_mps
                        + 2.0 * a.driver.comfortable_decel_mps2 * room)
                        .sqrt();
                    a.speed_mps = a.speed_mps.min(v);
                }
            }
        }
        self.count_density();
    }

    /// Where vehicles may be placed along `lane`: its usable stretch, clear of the stop
    /// lines at its end (`None` where nothing is left).
    fn placeable_m(&self, lane: &Lane) -> Option<(f64, f64)> {
        let stop = lane
            .next
            .iter()
            .filter_map(|&c| self.map.lane(c).path.as_ref().map(|p| p.stop_d_m))
            .fold(lane.usable_to_m, f64::min);
        let (from, to) = (lane.usable_from_m + 6.0, stop - 8.0);
        (to > from).then_some((from, to))
    }

    fn despawn(&mut self, idx: u32) {
        let a = &self.actors[idx as usize];
        if !a.alive {
            return;
        }
        let (lane, lc, holds) = (a.lane, a.lane_change, [a.hold, a.hold_prev]);
        self.remove_from_list(lane, idx);
        if let Some(lc) = lc
            && lc.ghost
        {
            self.ghosts[lc.from.index()].retain(|&j| j != idx);
        }
        for h in holds.into_iter().flatten() {
            self.holds[h.index()].retain(|&j| j != idx);
        }
        let a = &mut self.actors[idx as usize];
        a.alive = false;
        a.hold = None;
        a.hold_prev = None;
        a.plan = Plan::new();
        if a.ego {
            self.ego_status = EgoStatus::Arrived;
        }
        if let Some(r) = self.recorder.as_mut() {
            r.despawned(idx, self.step);
        }
    }

    fn trace_density(&mut self) {
        let t = self.time_s();
        let tr = &mut self.density_trace;
        if t < tr.warmup_s
            || !self
                .step
                .is_multiple_of((1.0 / self.step_s).round().max(1.0) as u64)
        {
            return;
        }
        tr.samples += 1;
        tr.target = self.density.target;
        for c in 0..3 {
            tr.sum[c] += self.density.count[c] as f64;
        }
        let total_target: f64 = self.density.target.iter().sum();
        if total_target > 0.0 {
            let total: u32 = self.density.count.iter().sum();
            let dev = (total as f64 / total_target - 1.0).abs();
            if dev > tr.worst_total_deviation {
                tr.worst_total_deviation = dev;
                tr.worst_total_at_s = t;
            }
        }
    }

    fn count_density(&mut self) {
        let mut c = [0u32; 3];
        let area = self.vehicle_area();
        for a in self.actors.iter().filter(|a| {
            a.alive
                && !a.is_mover()
                && area.is_none_or(|(r, x, y)| (a.pose.x_m - x).hypot(a.pose.y_m - y) <= r)
        }) {
            let l = self.map.lane(a.lane);
            if l.junction.is_none() {
                c[class_index(l.class)] += 1;
            }
        }
        self.density.count = c;
    }

    /// A class zone that traffic from another has overfilled: vehicles far out of the
    /// ego's sight (behind it too) leave, the farthest first, down to near the target.
    fn thin_overfull(&mut self) {
        let Some(e) = self.ego.filter(|&e| self.actors[e as usize].alive) else {
            return;
        };
        let (ex, ey) = (
            self.actors[e as usize].pose.x_m,
            self.actors[e as usize].pose.y_m,
        );
        for ci in 0..3 {
            let (n, t) = (self.density.count[ci] as f64, self.density.target[ci]);
            if t < 5.0 || n <= t * THIN_ABOVE {
                continue;
            }
            let excess = (n - t * THIN_TO).ceil() as usize;
            let mut far: Vec<(f64, u32)> = self
                .actors
                .iter()
                .enumerate()
                .filter(|(_, a)| {
                    let l = self.map.lane(a.lane);
                    a.alive
                        && !a.ego
                        && a.script.is_none()
                        && a.hold.is_none()
                        && a.hold_prev.is_none()
                        && l.junction.is_none()
                        && class_index(l.class) == ci
                })
                .map(|(k, a)| ((a.pose.x_m - ex).hypot(a.pose.y_m - ey), k as u32))
                .filter(|&(dist, _)| dist > SPAWN_SIGHT_M + 50.0)
                .collect();
            far.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
            for &(_, k) in far.iter().take(excess) {
                self.despawn(k);
            }
        }
        self.count_density();
    }

    // ----- plans and wants ---------------------------------------------------------------

    /// The tightest lane curvature a vehicle can follow at full lock (kinematic bicycle).
    /// A long vehicle rides both axles on the lane, its centre on the chord between them,
    /// which turns tighter than the lane: its lane radius R must satisfy
    /// R^2 - wb^2/4 >= (wb / tan(steer))^2 + wb^2/4.
    fn max_curvature_of(&self, idx: u32) -> f64 {
        let a = &self.actors[idx as usize];
        let info = kind_info(a.body.kind);
        let wb = a.body.wheelbase_m.max(0.5);
        let r_rear = wb / info.max_steer_rad.tan().max(1e-6);
        if 0.5 * wb >= LONG_BODY_HALF_WHEELBASE_M {
            1.0 / (r_rear * r_rear + 0.5 * wb * wb).sqrt()
        } else {
            1.0 / r_rear
        }
    }

    /// The tightest curvature along a lane.
    fn lane_curvature(&self, lane: LaneId) -> f64 {
        self.map
            .lane(lane)
            .points
            .iter()
            .map(|p| p.curvature_per_m.abs())
            .fold(0.0, f64::max)
    }

    /// The road after the junction that ends the current chain, chosen once per chain.
    fn refresh_want(&mut self, idx: u32) {
        let a = &self.actors[idx as usize];
        let lane = self.map.lane(a.lane);
        if lane.junction.is_some() {
            return;
        }
        // A timed crosser on its way to its junction path keeps the plan there.
        if let Some(Script::TimedCross(r)) = a.script
            && a.plan.contains(&r.conn)
        {
            return;
        }
        // Already claimed the next junction's path from here (a short link between two
        // junctions): the plan through it stands.
        if let Some(h) = a.hold
            && self
                .map
                .lane(h)
                .path
                .as_ref()
                .is_some_and(|p| p.incoming == a.lane)
            && a.plan.contains(&h)
        {
            return;
        }
        // Every road reachable from this cross-section.
        let mut options: Vec<(RoadId, f64)> = Vec::new();
        let mut lanes = vec![lane.id];
        let mut l = lane.left;
        while let Some(x) = l {
            lanes.push(x);
            l = self.map.lane(x).left;
        }
        let mut r = lane.right;
        while let Some(x) = r {
            lanes.push(x);
            r = self.map.lane(x).right;
        }
        let k_max = self.max_curvature_of(idx);
        for &x in &lanes {
            for &(road, conn) in &self.map.lane(x).reach {
                // Turns tighter than the vehicle can steer are not for it.
                if self.lane_curvature(conn) > k_max {
                    continue;
                }
                let turn = self
                    .map
                    .lane(conn)
                    .path
                    .as_ref()
                    .map_or(0.0, |p| p.turn_rad.abs());
                let mut w = if turn < 0.5 { 3.0 } else { 1.0 };
                // Keep classes near their density: branches into a crowded class are taken
                // less.
                if let Some(c) = self.map.lane(conn).dest_class {
                    let ci = class_index(c);
                    let (n, t) = (self.density.count[ci] as f64, self.density.target[ci]);
                    if n > t && t > 0.0 {
                        w *= (t / n).powi(6).max(0.02);
                    }
                }
                if !options.iter().any(|o| o.0 == road) {
                    options.push((road, w));
                }
            }
        }
        options.sort_by_key(|o| o.0);
        let want = if let Some(p) = a.route_pos {
            self.route_want(p, &options)
        } else if options.is_empty() {
            None
        } else {
            let total: f64 = options.iter().map(|o| o.1).sum();
            let mut u = self.rngs[idx as usize].random_range(0.0..total);
            let mut pick = options[0].0;
            for o in &options {
                if u < o.1 {
                    pick = o.0;
                    break;
                }
                u -= o.1;
            }
            Some(pick)
        };
        let a = &mut self.actors[idx as usize];
        a.want = want;
        a.plan.clear();
    }

    /// The ego's wanted road: the first option that is on the main route ahead.
    fn route_want(&self, pos: usize, options: &[(RoadId, f64)]) -> Option<RoadId> {
        let route = &self.net.main_route;
        route
            .iter()
            .skip(pos)
            .take(64)
            .map(|st| st.road)
            .find(|r| options.iter().any(|o| o.0 == *r))
    }

    /// Whether driving on in `lane` reaches the wanted road.
    fn good_lane(&self, lane: LaneId, want: Option<RoadId>) -> bool {
        let l = self.map.lane(lane);
        if l.dead_end {
            return false;
        }
        match want {
            None => true,
            Some(w) => l.reach.is_empty() || l.reach.iter().any(|r| r.0 == w),
        }
    }

    /// Lane-change direction needed for the wanted road: `Some(true)` left.
    fn needed_direction(&self, idx: u32) -> Option<bool> {
        let a = &self.actors[idx as usize];
        if self.blocked_m[a.lane.index()] > 0.0
            && let Some(dir) = self.around_obstacle(idx)
        {
            return Some(dir);
        }
        if let Some(dir) = self
            .evade_wrong_way(idx)
            .or_else(|| self.yield_to_emergency(idx))
        {
            return Some(dir);
        }
        if self.good_lane(a.lane, a.want) {
            return None;
        }
        let steps = |left: bool| {
            let mut cur = a.lane;
            for k in 1..8 {
                let l = self.map.lane(cur);
                let nx = if left { l.left } else { l.right };
                match nx {
                    Some(x) if self.good_lane(x, a.want) => return Some(k),
                    Some(x) => cur = x,
                    None => return None,
                }
            }
            None
        };
        match (steps(true), steps(false)) {
            (Some(l), Some(r)) => Some(l <= r),
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            (None, None) => None,
        }
    }

    /// Extends the actor's plan to cover `horizon` metres.
    fn extend_plan(&mut self, idx: u32, horizon: f64) {
        let a = &self.actors[idx as usize];
        let mut dist = self.map.lane(a.lane).length_m - a.d_m;
        for &l in &a.plan {
            dist += self.map.lane(l).length_m;
        }
        if dist >= horizon {
            return;
        }
        let mut last = a.plan.last().copied().unwrap_or(a.lane);
        let mut first_junction = !a.plan.iter().any(|&l| self.map.lane(l).junction.is_some())
            && self.map.lane(a.lane).junction.is_none();
        let want = a.want;
        let mut added = Vec::new();
        while dist < horizon && added.len() + a.plan.len() < 48 {
            let l = self.map.lane(last);
            if l.next.is_empty() {
                break;
            }
            let next = if l.next.len() == 1 {
                l.next[0]
            } else {
                let chosen = if first_junction {
                    let k_max = self.max_curvature_of(idx);
                    want.and_then(|w| {
                        let mut to_w = l.reach.iter().filter(|r| r.0 == w);
                        let first = to_w.clone().next();
                        to_w.find(|r| self.lane_curvature(r.1) <= k_max)
                            .or(first)
                            .map(|r| r.1)
                    })
                } else {
                    None
                };
                match chosen {
                    Some(c) => c,
                    None => {
                        let k_max = self.max_curvature_of(idx);
                        let fit: Vec<LaneId> = l
                            .next
                            .iter()
                            .copied()
                            .filter(|&c| self.lane_curvature(c) <= k_max)
                            .collect();
                        let from = if fit.is_empty() { &l.next } else { &fit };
                        let k = self.rngs[idx as usize].random_range(0..from.len());
                        from[k]
                    }
                }
            };
            if self.map.lane(next).junction.is_some() {
                first_junction = false;
            }
            dist += self.map.lane(next).length_m;
            added.push(next);
            last = next;
        }
        self.actors[idx as usize].plan.extend(added);
    }

    // ----- looking around ----------------------------------------------------------------

    /// Position of actor `j` as seen in `lane` (its ghost position if it is a ghost there).
    fn pos_in(&self, j: u32, lane: LaneId) -> f64 {
        let a = &self.actors[j as usize];
        if a.lane == lane {
            a.d_m
        } else {
            a.lane_change.map_or(a.d_m, |lc| a.d_m + lc.from_offset_m)
        }
    }

    /// The nearest actor ahead of position `d` in `lane` (rear bumper position, speed,
    /// acceleration), ghosts included, excluding `me`.
    fn ahead_in_lane(&self, lane: LaneId, d: f64, me: u32) -> Option<(f64, u32)> {
        let list = &self.lists[lane.index()];
        let actors = &self.actors;
        // At its own place, an actor's leader is the next in the list.
        let own = actors.get(me as usize).is_some_and(|a| {
            a.lane == lane && a.d_m == d && list.get(a.slot as usize) == Some(&me)
        });
        let pos = if own {
            actors[me as usize].slot as usize + 1
        } else if d == f64::MIN {
            // From the lane's start (the lookahead into following lanes).
            0
        } else {
            list.partition_point(|&j| actors[j as usize].d_m <= d)
        };
        let mut best: Option<(f64, u32)> = None;
        for &j in &list[pos..] {
            if j != me && !self.hidden_from(j, me) {
                let a = &actors[j as usize];
                best = Some((a.d_m - 0.5 * a.body.length_m, j));
                break;
            }
        }
        for &j in &self.ghosts[lane.index()] {
            if j == me {
                continue;
            }
            let gd = self.pos_in(j, lane);
            if gd > d {
                let rear = gd - 0.5 * self.actors[j as usize].body.length_m;
                if best.is_none_or(|b| rear < b.0) {
                    best = Some((rear, j));
                }
            }
        }
        best
    }

    /// The nearest actor behind position `d` in `lane` (front bumper position), ghosts
    /// included, excluding `me`.
    fn behind_in_lane(&self, lane: LaneId, d: f64, me: u32) -> Option<(f64, u32)> {
        let list = &self.lists[lane.index()];
        let actors = &self.actors;
        let pos = list.partition_point(|&j| actors[j as usize].d_m <= d);
        let mut best: Option<(f64, u32)> = None;
        for &j in list[..pos].iter().rev() {
            if j != me {
                let a = &actors[j as usize];
                best = Some((a.d_m + 0.5 * a.body.length_m, j));
                break;
            }
        }
        for &j in &self.ghosts[lane.index()] {
            if j == me {
                continue;
            }
            let gd = self.pos_in(j, lane);
            if gd <= d {
                let front = gd + 0.5 * self.actors[j as usize].body.length_m;
                if best.is_none_or(|b| front > b.0) {
                    best = Some((front, j));
                }
            }
        }
        best
    }

    /// The nearest actor behind position `d` in `lane`, looking back into the lanes that
    /// lead into it (front bumper position in `lane`'s distances, negative behind its start).
    fn behind_along(&self, lane: LaneId, d: f64, me: u32) -> Option<(f64, u32)> {
        if let Some(x) = self.behind_in_lane(lane, d, me) {
            return Some(x);
        }
        let mut best: Option<(f64, u32)> = None;
        let mut stack: Vec<(LaneId, f64, u32)> = vec![(lane, 0.0, 0)];
        while let Some((l, offset, depth)) = stack.pop() {
            if depth >= 4 || offset < -150.0 {
                continue;
            }
            for &p in &self.map.lane(l).prev {
                let pl = self.map.lane(p);
                let base = offset - pl.length_m;
                match self.behind_in_lane(p, f64::MAX, me) {
                    Some((front, j)) => {
                        let f = base + front;
                        if best.is_none_or(|b| f > b.0) {
                            best = Some((f, j));
                        }
                    }
                    None => stack.push((p, base, depth + 1)),
                }
            }
        }
        best
    }

    fn leader_view(&self, j: u32, gap: f64) -> Leader {
        let a = &self.actors[j as usize];
        Leader {
            gap_m: gap,
            speed_mps: a.speed_mps,
            accel_mps2: a.accel_mps2,
        }
    }

    /// The leader of actor `idx` along its plan.
    fn leader_of(&self, idx: u32) -> Option<Leader> {
        self.leader_along(
            idx,
            self.actors[idx as usize].lane,
            self.actors[idx as usize].d_m,
        )
        .map(|(l, _)| l)
    }

    /// The leader of actor `idx` if it were at `d` in `lane` (following its plan beyond the
    /// lane when `lane` is its own).
    fn leader_along(&self, idx: u32, lane: LaneId, d: f64) -> Option<(Leader, u32)> {
        let a = &self.actors[idx as usize];
        // The common case first: at its own place in its own lane outside junctions, with
        // no ghosts about, the leader is the next in the lane's list (what the general
        // search below finds too).
        if lane == a.lane
            && d == a.d_m
            && a.lane_change.is_none()
            && self.map.lane(lane).junction.is_none()
            && self.ghosts[lane.index()].is_empty()
        {
            let list = &self.lists[lane.index()];
            let slot = a.slot as usize;
            if list.get(slot) == Some(&idx)
                && let Some(&j) = list.get(slot + 1)
                && !self.hidden_from(j, idx)
            {
                let front = d + 0.5 * a.body.length_m;
                let o = &self.actors[j as usize];
                let rear = o.d_m - 0.5 * o.body.length_m;
                return Some((self.leader_view(j, rear - front), j));
            }
        }
        let own = self.leader_in(idx, lane, d);
        // Still straddling the old lane: its leader counts too.
        if lane == a.lane
            && let Some(lc) = a.lane_change
            && lc.ghost
        {
            let old = self
                .leader_in(idx, lc.from, d + lc.from_offset_m)
                .filter(|&(_, j)| !self.clear_of_obstacle(idx, j));
            // The more constraining of the two: the nearer place where it could stop.
            let reach = |l: &Leader| l.gap_m + l.speed_mps.powi(2) / (2.0 * SAFE_DECEL_MPS2);
            return match (own, old) {
                (Some(x), Some(y)) => Some(if reach(&y.0) < reach(&x.0) { y } else { x }),
                (x, y) => x.or(y),
            };
        }
        own
    }

    fn leader_in(&self, idx: u32, lane: LaneId, d: f64) -> Option<(Leader, u32)> {
        let a = &self.actors[idx as usize];
        let front = d + 0.5 * a.body.length_m;
        // Just past a diverge: the branches still overlap, vehicles on the others count.
        let l = self.map.lane(lane);
        let mut sib_best: Option<(Leader, u32)> = None;
        if l.junction.is_some()
            && d < DIVERGE_OVERLAP_M
            && let Some(&p) = l.prev.first()
            && self.map.lane(p).next.len() > 1
        {
            for &sib in &self.map.lane(p).next {
                if sib == lane {
                    continue;
                }
                if let Some((rear, j)) = self.ahead_in_lane(sib, f64::MIN, idx)
                    && rear < DIVERGE_OVERLAP_M
                    && rear > d
                    && sib_best.is_none_or(|b| rear - front < b.0.gap_m)
                {
                    sib_best = Some((self.leader_view(j, rear - front), j));
                }
            }
        }
        let own = self.leader_in_plan(idx, lane, d, front);
        match (own, sib_best) {
            (Some(x), Some(y)) => Some(if y.0.gap_m < x.0.gap_m { y } else { x }),
            (x, y) => x.or(y),
        }
    }

    fn leader_in_plan(&self, idx: u32, lane: LaneId, d: f64, front: f64) -> Option<(Leader, u32)> {
        let a = &self.actors[idx as usize];
        if let Some((rear, j)) = self.ahead_in_lane(lane, d, idx) {
            return Some((self.leader_view(j, rear - front), j));
        }
        let horizon = self.horizon(a);
        let mut dist = self.map.lane(lane).length_m - front;
        let mut prev = lane;
        let own = lane == a.lane;
        let mut best: Option<(Leader, u32)> = None;
        // Its own lane: along its plan; another (a lane change): straight on.
        for k in 0..48 {
            let next = if own {
                a.plan.get(k).copied()
            } else {
                self.map.lane(prev).next.first().copied()
            };
            let Some(l) = next else {
                break;
            };
            if dist > horizon {
                break;
            }
            // Siblings of a diverge: vehicles just past the split on other branches.
            let pl = self.map.lane(prev);
            if pl.next.len() > 1 {
                for &sib in &pl.next {
                    if sib == l {
                        continue;
                    }
                    if let Some((rear, j)) = self.ahead_in_lane(sib, f64::MIN, idx)
                        && rear < DIVERGE_OVERLAP_M
                    {
                        let g = dist + rear;
                        if best.is_none_or(|b| g < b.0.gap_m) {
                            best = Some((self.leader_view(j, g), j));
                        }
                    }
                }
            }
            if let Some((rear, j)) = self.ahead_in_lane(l, f64::MIN, idx) {
                let g = dist + rear;
                if best.is_none_or(|b| g < b.0.gap_m) {
                    best = Some((self.leader_view(j, g), j));
                }
                return best;
            }
            if best.is_some() {
                return best;
            }
            dist += self.map.lane(l).length_m;
            prev = l;
        }
        best
    }

    fn horizon(&self, a: &Actor) -> f64 {
        horizon_of(a)
    }
}

fn horizon_of(a: &Actor) -> f64 {
    {
        let v = a.speed_mps;
        (v * v / (2.0 * a.driver.comfortable_decel_mps2) + 2.0 * v + 20.0).max(MIN_HORIZON_M)
    }
}

impl World {
    // ----- one step ---------------------------------------------------------------------

    /// Advances the world by one step with the default ego driver.
    pub fn step(&mut self) {
        self.step_with(&mut DefaultDriver);
    }

    /// Advances the world by one step; `driver` may steer the ego.
    pub fn step_with(&mut self, driver: &mut dyn Driver) {
        self.run_events();
        let dt = self.step_s / self.substeps as f64;
        for _ in 0..self.substeps {
            self.switch_lights();
            // Lane by lane, front to back in each: neighbours in memory are neighbours on
            // the road (the order is as stable as the lanes and positions).
            let mut order = std::mem::take(&mut self.order);
            order.clear();
            for list in &self.lists {
                order.extend(list.iter().rev());
            }
            // The external driver decides first, from the state the others see.
            self.ego_command = match self.ego {
                Some(e) if self.actors[e as usize].alive => {
                    driver.command(self, &self.actors[e as usize])
                }
                _ => None,
            };
            for &i in &order {
                if self.actors[i as usize].alive {
                    self.decide(i, dt);
                }
            }
            self.order = order;
            if let (Some(e), Some(cmd)) = (self.ego, self.ego_command) {
                self.apply_command(e, cmd, dt);
            }
            self.integrate(dt);
            if !self.wrong_way.is_empty() {
                self.drive_wrong_way(dt);
            }
            self.step_side(dt);
        }
        self.step += 1;
        if self.step.is_multiple_of(5) {
            self.spawn_at_edges();
        }
        if self.step.is_multiple_of(10) {
            if self.vehicles_within_m.is_some() {
                self.maintain_vehicle_area();
            } else {
                self.count_density();
                self.thin_overfull();
            }
            self.maintain_side();
        }
        self.update_poses();
        self.trace_density();
        if let Some(mut r) = self.recorder.take() {
            r.capture(self);
            self.recorder = Some(r);
        }
    }

    /// Friction of the road surface given a zone's (the environment's where there is none,
    /// and never more than it).
    fn road_friction(&self, zone_friction: Option<f64>) -> f64 {
        zone_friction.map_or(self.environment.friction, |f| {
            f.min(self.environment.friction)
        })
    }

    /// Friction of the road surface where actor `idx` is.
    pub fn friction_at(&self, idx: u32) -> f64 {
        let zone_friction = if self.zones.is_empty() {
            None
        } else {
            let a = &self.actors[idx as usize];
            self.zone_at(a.lane, a.d_m).1
        };
        self.road_friction(zone_friction)
    }

    /// The hardest braking actor `idx` gets where it is: its vehicle's limit, and no more
    /// than friction times g.
    pub fn max_decel_at(&self, idx: u32) -> f64 {
        let info = kind_info(self.actors[idx as usize].body.kind);
        info.max_decel_mps2
            .min(self.friction_at(idx) * GRAVITY_MPS2)
    }

    fn apply_command(&mut self, e: u32, cmd: Command, dt: f64) {
        let info = kind_info(self.actors[e as usize].body.kind);
        // Tyres give at most friction times g; no reversing.
        let friction = self.friction_at(e);
        let max_decel = info.max_decel_mps2.min(friction * GRAVITY_MPS2);
        let a = &mut self.actors[e as usize];
        let jerk = info.max_jerk_mps3 * dt;
        a.next_accel = cmd
            .accel_mps2
            .clamp(-max_decel, info.max_accel_mps2)
            .clamp(a.accel_mps2 - jerk, a.accel_mps2 + jerk)
            .max(-a.speed_mps / dt);
        if let Some(left) = cmd.lane_change_left
            && a.lane_change.is_none()
        {
            let lane = self.map.lane(a.lane);
            let target = if left { lane.left } else { lane.right };
            if let Some(t) = target {
                let a = &self.actors[e as usize];
                // Sideways, no more than the tyres give.
                let grip_m = lane_change_length_at(a.speed_mps, friction * GRAVITY_MPS2);
                let len = match cmd.lane_change_duration_s {
                    Some(d) => (a.speed_mps * d)
                        .max(min_lane_change_for(&a.body))
                        .max(grip_m),
                    None => lane_change_length(a.speed_mps),
                };
                self.start_lane_change(e, t, len);
            }
        }
    }

    /// Picks the actor's acceleration for the coming step (and starts lane changes and
    /// claims junction paths, which take effect at once).
    fn decide(&mut self, idx: u32, dt: f64) {
        if let Some(Script::Stand) = self.actors[idx as usize].script {
            let a = &mut self.actors[idx as usize];
            a.next_accel = 0.0;
            a.speed_mps = 0.0;
            return;
        }
        let horizon = self.horizon(&self.actors[idx as usize]);
        self.extend_plan(idx, horizon);
        if self.ego_command.is_some() && self.ego == Some(idx) {
            // An external driver has the ego.
            return;
        }
        self.consider_lane_change(idx);
        let stop_gap = self.junction_ahead(idx);
        let a = &self.actors[idx as usize];
        let info = kind_info(a.body.kind);
        let lane = self.map.lane(a.lane);
        let v = a.speed_mps;
        // Desired speed: limit times the driver's factor, curves and limits ahead.
        let mut v0 = (lane.speed_limit_mps * a.driver.desired_speed_factor)
            .min(self.advisory_where(a))
            .min(info.max_speed_mps);
        let (visibility, zone_friction) = if self.zones.is_empty() {
            (None, None)
        } else {
            self.zone_at(a.lane, a.d_m)
        };
        if let Some(Script::Emergency { speed_mps }) = a.script {
            // Lights and siren: its own speed, whatever the limit.
            v0 = speed_mps.min(info.max_speed_mps);
        }
        if let Some(vis) = visibility {
            // In fog: able to stop within the visibility (a second to react).
            let b = a.driver.comfortable_decel_mps2;
            v0 = v0.min(-b + (b * b + 2.0 * b * vis).sqrt());
        }
        let mut dist = lane.length_m - a.d_m;
        let mut end_gap: Option<f64> = None;
        let mut last = lane;
        for &l in &a.plan {
            if dist > horizon {
                break;
            }
            let ll = self.map.lane(l);
            v0 = v0.min((ll.entry_speed_mps.powi(2) + 2.0 * 1.2 * dist.max(0.0)).sqrt());
            dist += ll.length_m;
            last = ll;
        }
        // A plan that ends before the horizon ends in a dropped lane: stop before it.
        if dist <= horizon && !last.exit && last.next.is_empty() {
            let lost = last.length_m - last.usable_to_for(a.body.width_m + 0.8).max(0.0);
            end_gap = Some(dist - lost - 2.0 - 0.5 * a.body.length_m);
        }
        let usable_end = if lane.next.is_empty() && !lane.exit {
            Some(lane.usable_to_for(a.body.width_m + 0.8) - 2.0 - (a.d_m + 0.5 * a.body.length_m))
        } else {
            None
        };
        let mut leader = self.leader_along(idx, a.lane, a.d_m);
        if let Some((l, j)) = leader.as_mut()
            && a.lane_change.is_none()
        {
            l.gap_m = (l.gap_m - self.obstacle_clearance_m(idx, *j)).max(0.1);
        }
        // Someone crossing or swerving into its way, or coming the wrong way, once seen.
        for m in [self.mover_leader(idx), self.wrong_way_leader(idx)]
            .into_iter()
            .flatten()
        {
            if leader.is_none_or(|(l, _)| m.gap_m < l.gap_m) {
                leader = Some((m, u32::MAX));
            }
        }
        let mut acc = acc_accel(&a.driver, v, v0, leader.map(|l| l.0));
        // Zipper: make room for a neighbour just ahead that has to come into this lane.
        if let Some((m, round_obstacle)) = self.merger_ahead(idx) {
            let yield_acc = acc_accel(&a.driver, v, v0, Some(m));
            acc = if round_obstacle {
                // Let it in round the obstacle: slow for it, never harder than a lane change
                // may impose.
                acc.min(yield_acc.max(-SAFE_DECEL_MPS2))
            } else {
                acc.max(-SAFE_DECEL_MPS2).min(acc.max(yield_acc))
            };
        }
        let mut obstacles: Vec<f64> = Vec::new();
        if let Some(g) = self.crossing_gap(idx) {
            obstacles.push(g);
        }
        if let Some(g) = stop_gap {
            obstacles.push(g);
        }
        if let Some(g) = end_gap {
            obstacles.push(g);
        }
        if let Some(g) = usable_end {
            obstacles.push(g);
        }
        // On a slippery surface drivers feel what their brakes give; background drivers see
        // a patch on their lane or the next ones coming (the ego's driver finds out on it).
        let felt = if a.ego || self.zones.is_empty() {
            zone_friction
        } else {
            self.friction_ahead(idx).or(zone_friction)
        };
        let brake_mps2 = felt.map_or(info.max_decel_mps2, |f| {
            info.max_decel_mps2.min(f * GRAVITY_MPS2)
        });
        let tau = dt + brake_mps2 / (2.0 * info.max_jerk_mps3.max(1.0));
        let b_safe = brake_mps2 * 0.8;
        let mut v_cap = f64::MAX;
        for g in obstacles {
            acc = acc.min(acc_accel(&a.driver, v, v0, Some(Leader::standing(g))));
            v_cap = v_cap.min(safe_speed(g - STOP_MARGIN_M, 0.0, v, b_safe, tau));
        }
        if let Some((l, _)) = leader {
            v_cap = v_cap.min(safe_speed(l.gap_m - 0.5, l.speed_mps, v, b_safe, tau));
        }
        if v_cap < f64::MAX {
            acc = acc.min((v_cap - v) / dt);
        }
        if let Some(Script::Brake { decel_mps2 }) = a.script {
            acc = acc.min(-decel_mps2);
        }
        // A scripted acceleration, never past the safe speed.
        let capped = |c: f64| {
            if v_cap < f64::MAX {
                c.min((v_cap - v) / dt)
            } else {
                c
            }
        };
        if let Some(Script::RampMerge(m)) = a.script {
            match self.ramp_merge_accel(idx, &m) {
                // On its way down the ramp, on its timing, never into its own leader.
                Some(c) => acc = capped(c),
                None if a.lane == m.accel => {
                    // On the acceleration lane: a cut-in from there.
                    self.actors[idx as usize].script = Some(Script::CutIn {
                        ego: m.ego,
                        from_left: m.from_left,
                        gap_m: m.gap_m,
                        rel_speed_mps: m.rel_speed_mps,
                        lateral_s: ramp_merge::MERGE_LATERAL_S,
                        drifting: false,
                        cut_speed_mps: None,
                        quiet: true,
                        late: false,
                    });
                }
                None => self.actors[idx as usize].script = None,
            }
        }
        let a = &self.actors[idx as usize];
        if let Some(Script::CutIn {
            cut_speed_mps: Some(v_cut),
            ..
        }) = a.script
            && a.lane_change.is_some()
        {
            // Cutting in: at the cut-in speed until it is in.
            acc = capped((v_cut - v).clamp(-3.0, 2.5));
        } else if let Some(Script::CutIn { ego, lateral_s, .. }) = a.script {
            if self.actors[ego as usize].lane == a.lane {
                // In: the driver model takes over.
                self.actors[idx as usize].script = None;
            } else {
                match self.cut_in_control(idx) {
                    Some((c, now_drifting, cut)) => {
                        if let Some(Script::CutIn { drifting, .. }) =
                            self.actors[idx as usize].script.as_mut()
                        {
                            *drifting = now_drifting;
                        }
                        // Lining up beside the ego, never into its own leader.
                        acc = capped(c);
                        if let Some(target) = cut {
                            if let Some(Script::CutIn { cut_speed_mps, .. }) =
                                self.actors[idx as usize].script.as_mut()
                            {
                                *cut_speed_mps = Some(v);
                            }
                            let body = self.actors[idx as usize].body;
                            let len = (v * lateral_s).max(min_lane_change_for(&body));
                            self.start_lane_change(idx, target, len);
                        }
                    }
                    None => self.actors[idx as usize].script = None,
                }
            }
        }
        if matches!(
            self.actors[idx as usize].script,
            Some(Script::Tailgate { .. })
        ) {
            // Reckless: follows the ego at its headway, whatever its own leader gap says.
            acc = self.tailgate_control(idx);
        }
        if let Some(Script::TimedCross(r)) = self.actors[idx as usize].script
            && let Some(c) = self.cross_accel(idx, &r)
        {
            // On its timing, never into its own leader.
            acc = capped(c);
        }
        // Moving off after a stand takes a reaction time.
        let a = &mut self.actors[idx as usize];
        if v < 0.05 && acc > 0.0 {
            a.go_s += dt;
            if a.go_s < a.driver.reaction_s {
                acc = 0.0;
            }
        } else if acc <= 0.0 {
            a.go_s = 0.0;
        }
        // Release the brake towards standstill so that the stop itself keeps the jerk limit.
        // Releasing at 0.8 of the jerk limit from `a` must end at rest with speed to spare:
        // v + a dt >= a^2 / (2 j) + |a| dt / 2.
        if acc < 0.0 {
            let j = 0.8 * info.max_jerk_mps3;
            let x = j * (-1.5 * dt + (2.25 * dt * dt + 2.0 * v / j).sqrt());
            acc = acc.max(-x).max(-v / (2.0 * dt));
        }
        let jerk = info.max_jerk_mps3 * dt;
        // Tyres give at most friction times g.
        let friction = self.road_friction(zone_friction);
        let max_decel = info.max_decel_mps2.min(friction * GRAVITY_MPS2);
        let a = &mut self.actors[idx as usize];
        acc = acc
            .clamp(-max_decel, a.driver.max_accel_mps2)
            .clamp(a.accel_mps2 - jerk, a.accel_mps2 + jerk);
        if !acc.is_finite() {
            acc = -max_decel;
        }
        a.next_accel = acc;
        if matches!(a.script, Some(Script::Brake { .. })) && v < 0.05 {
            a.script = None;
        }
    }

    // ----- junctions --------------------------------------------------------------------

    /// Position of actor `j` along junction path `conn`'s extended path, if it is on it.
    fn ext_pos(&self, j: u32, conn: LaneId) -> Option<f64> {
        let a = &self.actors[j as usize];
        let p = self.map.lane(conn).path.as_ref()?;
        let inc = self.map.lane(p.incoming);
        if a.lane == conn {
            Some(p.approach_m + a.d_m)
        } else if a.lane == p.incoming {
            Some(a.d_m - (inc.length_m - p.approach_m))
        } else if Some(a.lane) == p.outgoing {
            Some(p.approach_m + self.map.lane(conn).length_m + a.d_m)
        } else if let Some(out) = p.outgoing
            && a.prev_lane == Some(out)
            && self.map.lane(out).next.contains(&a.lane)
        {
            // Just past a short outgoing lane.
            Some(p.approach_m + self.map.lane(conn).length_m + self.map.lane(out).length_m + a.d_m)
        } else {
            // Further back on the approach: well before the path.
            Some(-1e6)
        }
    }

    /// Handles the first junction ahead: claims its path when allowed and returns the gap
    /// to the stop line when the actor must wait.
    fn junction_ahead(&mut self, idx: u32) -> Option<f64> {
        let a = &self.actors[idx as usize];
        // Find the first connecting lane in the plan (or the current lane).
        let mut dist = self.map.lane(a.lane).length_m - a.d_m;
        let mut before = a.lane;
        let mut conn = None;
        if self.map.lane(a.lane).junction.is_none() {
            for &l in &a.plan {
                if self.map.lane(l).junction.is_some() {
                    conn = Some((l, before, dist));
                    break;
                }
                dist += self.map.lane(l).length_m;
                before = l;
                if dist > self.horizon(a) + 50.0 {
                    break;
                }
            }
        } else {
            // On a connecting lane: look for the next junction beyond it.
            let mut prev = a.lane;
            for &l in &a.plan {
                if self.map.lane(l).junction.is_some() && self.map.lane(prev).junction.is_none() {
                    conn = Some((l, prev, dist));
                    break;
                }
                dist += self.map.lane(l).length_m;
                prev = l;
                if dist > self.horizon(a) + 50.0 {
                    break;
                }
            }
        }
        let (half_len, v, b, hold) = (
            0.5 * a.body.length_m,
            a.speed_mps,
            a.driver.comfortable_decel_mps2,
            a.hold,
        );
        self.actors[idx as usize].at_red = false;
        let (conn, incoming, dist_to_incoming_end) = conn?;
        let path = self.map.lane(conn).path.as_ref()?;
        let inc = self.map.lane(incoming);
        // Gap from the actor's front to the stop line.
        let stop_gap = dist_to_incoming_end - (inc.length_m - path.stop_d_m) - half_len;
        if let Some(Script::TimedCross(r)) = self.actors[idx as usize].script
            && r.conn == conn
        {
            // Waiting at its line whatever its light says until it is sent off; then it
            // takes its path just before the conflict area (until then nobody expects it).
            if !r.launched {
                return Some(stop_gap);
            }
            if self.cross_claim_due(idx, &r) {
                self.cross_claim(idx, conn);
            }
            return None;
        }
        let held = hold == Some(conn);
        // Stop signs: stand at the line first.
        if inc.control == crate::lanes::Control::Stop && stop_gap < 3.0 && v < 0.1 {
            self.actors[idx as usize].stopped_at_sign = true;
        }
        if let Control::Signal(c) = inc.control
            && self.lights[c.index()] != LightState::Green
            && !held
            && v < 0.5
            && stop_gap < 200.0
        {
            self.actors[idx as usize].at_red = true;
        }
        let a = &self.actors[idx as usize];
        let signal_ok = match inc.control {
            Control::Signal(c) => match self.lights[c.index()] {
                LightState::Green => true,
                LightState::Amber => stop_gap < v * v / (2.0 * 3.0) + 0.5 || held && stop_gap < 0.0,
                LightState::Red => held && stop_gap < v * v / (2.0 * 4.0),
            },
            Control::Stop => a.stopped_at_sign || held,
            _ => true,
        };
        if held && self.queued_behind_unclaimed(idx, conn) {
            // Someone without a claim got in ahead (a merge): holding the path from behind
            // them would lock the junction.
            self.release(idx);
            return Some(stop_gap);
        }
        if held {
            if signal_ok {
                return None;
            }
            // The light changed and we can still stop: give the path back.
            self.release(idx);
            return Some(stop_gap);
        }
        if !signal_ok {
            return Some(stop_gap);
        }
        let commit_dist = v * v / (2.0 * b) + v * 1.5 + 8.0;
        if stop_gap > commit_dist {
            return Some(stop_gap);
        }
        if !self.queued_behind_unclaimed(idx, conn) && self.may_enter(idx, conn) {
            let a = &mut self.actors[idx as usize];
            if let Some(old) = a.hold.filter(|&old| old != conn) {
                if a.hold_prev.is_some() {
                    // Still in two paths' zones: the third claim waits.
                    return Some(stop_gap);
                }
                // Still in the previous path's zones: keep that claim as well.
                a.hold_prev = Some(old);
            }
            a.hold = Some(conn);
            a.stopped_at_sign = false;
            self.holds[conn.index()].push(idx);
            None
        } else {
            Some(stop_gap)
        }
    }

    /// Whether someone without a claim on the path it takes stands between actor `idx` and
    /// junction path `conn` (claims go to the front of a queue, in order).
    fn queued_behind_unclaimed(&self, idx: u32, conn: LaneId) -> bool {
        let a = &self.actors[idx as usize];
        // Still straddling a lane change's old lane, behind someone there without a claim:
        // it keeps its place in the queue (holding the path from behind it would lock the
        // junction, each waiting for the other).
        if let Some(lc) = a.lane_change
            && lc.ghost
            && a.lane != conn
            && let Some((_, j)) = self.leader_along(idx, a.lane, a.d_m)
            && self.actors[j as usize].lane == lc.from
            && self.actors[j as usize].hold.is_none()
        {
            return true;
        }
        let mut lane = a.lane;
        let mut d = a.d_m;
        let mut plan = a.plan.iter();
        for _ in 0..8 {
            if lane == conn {
                return false;
            }
            if let Some((_, j)) = self.ahead_in_lane(lane, d, idx) {
                return self.actors[j as usize].hold.is_none();
            }
            match plan.next() {
                Some(&next) => {
                    lane = next;
                    d = f64::MIN;
                }
                None => return false,
            }
        }
        false
    }

    /// Whether actor `i` heads for junction path `h` or its body is still in the path's zones.
    fn still_in_path(&self, i: u32, h: LaneId) -> bool {
        let a = &self.actors[i as usize];
        let Some(path) = self.map.lane(h).path.as_ref() else {
            return false;
        };
        if a.lane == h || a.plan.contains(&h) {
            return true;
        }
        if a.lane == path.incoming {
            // Before the path and no longer heading for it.
            return false;
        }
        match self.ext_pos(i, h) {
            Some(pos) if pos > -1e5 => {
                let last_out = path.zones.iter().map(|z| z.out_m).fold(0.0, f64::max);
                pos - 0.5 * a.body.length_m <= last_out
            }
            _ => false,
        }
    }

    fn release(&mut self, idx: u32) {
        if let Some(h) = self.actors[idx as usize].hold.take() {
            self.holds[h.index()].retain(|&j| j != idx);
        }
    }

    /// Whether actor `idx` may claim junction path `conn` now.
    fn may_enter(&self, idx: u32, conn: LaneId) -> bool {
        self.entry_blocker(idx, conn).is_none()
    }

    /// What keeps actor `idx` from claiming junction path `conn` now, if anything.
    fn entry_blocker(&self, idx: u32, conn: LaneId) -> Option<Blocker> {
        let path = self.map.lane(conn).path.as_ref()?;
        let me = &self.actors[idx as usize];
        let my_pos = self.ext_pos(idx, conn).unwrap_or(-1e6).max(-200.0);
        for z in &path.zones {
            // Anyone holding the other path and not yet clear of the zone blocks us.
            for &h in &self.holds[z.other.index()] {
                if h == idx {
                    continue;
                }
                let hp = self.ext_pos(h, z.other).unwrap_or(-1e6);
                let rear = hp - 0.5 * self.actors[h as usize].body.length_m;
                if rear < z.other_out_m + 0.5 {
                    return Some(Blocker::Holder(h));
                }
            }
            if !z.yields {
                continue;
            }
            // Priority traffic coming to the zone within our clearing time.
            let clear_dist = (z.out_m + 0.5 * me.body.length_m - my_pos).max(0.0);
            let a = me.driver.max_accel_mps2.max(0.5);
            let v = me.speed_mps;
            let t_clear = (-v + (v * v + 2.0 * a * clear_dist).sqrt()) / a;
            let other = self.map.lane(z.other);
            let Some(op) = other.path.as_ref() else {
                continue;
            };
            // Merging into the same lane: a priority vehicle standing in its queue keeps its
            // place in it (taking it fills a roundabout ring until it locks).
            let merge = op.outgoing.is_some() && op.outgoing == path.outgoing;
            let mut lane = op.incoming;
            let mut back = 0.0; // distance from `lane`'s end to the other path's start
            for _ in 0..6 {
                let ll = self.map.lane(lane);
                for &j in self.lists[lane.index()].iter().rev() {
                    let o = &self.actors[j as usize];
                    if o.hold.is_some() || j == idx {
                        continue;
                    }
                    let bound = o.plan.first() == Some(&z.other)
                        || o.plan.iter().take(6).any(|&p| p == z.other);
                    if !bound {
                        continue;
                    }
                    // Distance of its front to the zone.
                    let to_zone = back
                        + (ll.length_m - o.d_m - 0.5 * o.body.length_m)
                        + (z.other_in_m - op.approach_m);
                    let eta = to_zone.max(0.0) / o.speed_mps.max(0.5);
                    let waiting = !merge && o.speed_mps < 0.5 && to_zone < 25.0;
                    if !waiting && eta < t_clear + GAP_MARGIN_S {
                        return Some(Blocker::Priority(j));
                    }
                    if to_zone > 250.0 {
                        break;
                    }
                }
                back += ll.length_m;
                if back > 250.0 || ll.prev.len() != 1 {
                    break;
                }
                lane = ll.prev[0];
            }
        }
        // Room behind the junction for us (round a roundabout's ring, car following keeps
        // the queue).
        if let Some(out) = path.outgoing.filter(|_| !path.through) {
            let ol = self.map.lane(out);
            // Free length after the junction, on through short lanes (roundabout ring
            // segments) along the plan: entering a junction that one cannot clear locks it.
            let mut room = 0.0;
            let mut lane = out;
            let mut rest = me.plan.iter().skip_while(|&&l| l != out).skip(1);
            loop {
                if let Some((rear, _)) = self.ahead_in_lane(lane, f64::MIN, idx) {
                    room += rear;
                    break;
                }
                room += self.map.lane(lane).length_m;
                if room >= ROOM_AFTER_JUNCTION_M {
                    break;
                }
                match rest.next().or_else(|| self.map.lane(lane).next.first()) {
                    Some(&l) => lane = l,
                    None => break,
                }
            }
            room = room.min(ROOM_AFTER_JUNCTION_M);
            // Others inside the junction bound for the same lane.
            for &p in &ol.prev {
                for &h in &self.holds[p.index()] {
                    if h != idx && self.actors[h as usize].lane == p {
                        let o = &self.actors[h as usize];
                        room -= o.body.length_m + o.driver.min_gap_m;
                    }
                }
            }
            if room < me.body.length_m + me.driver.min_gap_m + 1.0 {
                return Some(Blocker::NoRoom(out));
            }
        }
        None
    }

    // ----- lane changes -----------------------------------------------------------------

    fn consider_lane_change(&mut self, idx: u32) {
        let a = &self.actors[idx as usize];
        if a.lane_change.is_some() || self.map.lane(a.lane).junction.is_some() {
            self.actors[idx as usize].need_lc = None;
            return;
        }
        let quiet = matches!(
            a.script,
            Some(Script::CutIn { quiet: true, .. } | Script::RampMerge(_))
        );
        let need = if quiet {
            None
        } else {
            self.needed_direction(idx)
        };
        self.actors[idx as usize].need_lc = need;
        let a = &self.actors[idx as usize];
        // A claim on the next junction's path from this lane does not keep the ego from a
        // change its route needs (it gives the claim back as it goes): between junctions a
        // short road apart the claim comes soon after the last one is let go, and the ego
        // would be held in a lane that turns off its route.
        // (Cheapest tests first: this runs for every actor every step.)
        let give_back = need.is_some()
            && a.route_pos.is_some()
            && a.hold_prev.is_none()
            && a.hold.is_some_and(|h| {
                self.map
                    .lane(h)
                    .path
                    .as_ref()
                    .is_some_and(|p| p.incoming == a.lane)
            })
            && !self.good_lane(a.lane, a.want);
        if a.lc_cooldown_s > 0.0 || a.hold.is_some() && !give_back || a.script.is_some() {
            return;
        }
        let lane = self.map.lane(a.lane);
        // Discretionary changes are weighed once a second, staggered by id.
        if need.is_none() && !(self.step + a.id.0 as u64).is_multiple_of(10) {
            return;
        }
        let to_chain_end = lane.chain_m - a.d_m;
        let v = a.speed_mps;
        let mut lc_len = lane_change_length(v);
        if need.is_some() {
            // Short of room: a sharper change (twice the lateral acceleration), never
            // shorter than 8 m.
            let ww_room = self.wrong_way_room(idx);
            let room = self.room_to_lane_end(idx).min(ww_room) - 1.0;
            let sharp = (lc_len / std::f64::consts::SQRT_2).max(min_lane_change_for(&a.body));
            lc_len = lc_len.min(room.max(sharp));
            // Out of a wrong-way driver's lane only where the change is over before they
            // would meet (else it stops first, and pulls round it from there).
            if lc_len > ww_room - 1.0 {
                return;
            }
        }
        if to_chain_end < lc_len + 5.0 && need.is_none() {
            return;
        }
        // What the driver does now stands for its advantage where it is.
        let my_v0 = self.desired(idx);
        let me_acc_now = acc_accel(
            &a.driver,
            v,
            my_v0,
            self.leader_along(idx, a.lane, a.d_m).map(|x| x.0),
        );
        let room_here = self.room_ahead_in(idx, a.lane, a.d_m);
        let around_obstacle = self.gap_to_obstacle(idx).is_some();
        let mut best: Option<(f64, LaneId)> = None;
        for (left, target) in [(true, lane.left), (false, lane.right)] {
            let Some(t) = target else { continue };
            if let Some(n) = need
                && n != left
            {
                continue;
            }
            if need.is_none() && (!self.good_lane(t, a.want) || self.signed_closed(t)) {
                continue;
            }
            let tl = self.map.lane(t);
            // Neighbours of one section run side by side: map by the share of length.
            let dt_ = a.d_m * tl.length_m / lane.length_m.max(1e-9);
            // Pulling out round an obstacle may start with the tail still on the lane before.
            let tail_ok = tl.usable_from_m <= dt_ - 0.5 * a.body.length_m
                || around_obstacle && tl.usable_from_m <= 0.0 && !tl.prev.is_empty();
            let w_ok = tl.width_at(dt_) >= MIN_USABLE_WIDTH_M.max(a.body.width_m + 0.6)
                && tail_ok
                && (tl.usable_to_m >= dt_ + lc_len || !tl.next.is_empty())
                && room_here > 0.5 * lc_len.min(20.0);
            if !w_ok {
                continue;
            }
            // New leader and follower.
            let front = dt_ + 0.5 * a.body.length_m;
            // Never into the way of a wrong-way driver.
            if self.wrong_way_in(idx, t, front) {
                continue;
            }
            let rear = dt_ - 0.5 * a.body.length_m;
            let lead = self.ahead_in_lane(t, dt_, idx);
            let follow = self.behind_along(t, dt_, idx);
            let min_gap = a.driver.min_gap_m * 0.5 + 1.0;
            let mut my_new = acc_accel(&a.driver, v, my_v0, None);
            if let Some((r, j)) = lead {
                let gap = r - front;
                if gap < min_gap {
                    continue;
                }
                my_new = acc_accel(
                    &a.driver,
                    v,
                    self.desired(idx),
                    Some(self.leader_view(j, gap)),
                );
                let o = &self.actors[j as usize];
                if v > o.speed_mps {
                    let vs = safe_speed(gap - 0.5, o.speed_mps, v, 4.0, 0.5);
                    if vs < v - 2.0 {
                        continue;
                    }
                }
            } else if let Some(l) = self.leader_along(idx, t, dt_) {
                if l.0.gap_m < min_gap {
                    continue;
                }
                my_new = acc_accel(&a.driver, v, my_v0, Some(l.0));
            }
            let mut follower_gain = 0.0;
            if let Some((f, j)) = follow {
                let gap = rear - f;
                if gap < min_gap {
                    continue;
                }
                let o = &self.actors[j as usize];
                let o_new = acc_accel(
                    &o.driver,
                    o.speed_mps,
                    self.desired(j),
                    Some(Leader {
                        gap_m: gap,
                        speed_mps: v,
                        accel_mps2: my_new.min(0.0),
                    }),
                );
                let safe = safe_speed(gap - 0.5, v, o.speed_mps, 4.0, 0.6);
                if o_new < -SAFE_DECEL_MPS2 || safe < o.speed_mps - 1.0 {
                    continue;
                }
                follower_gain = o_new - o.next_accel.min(o.driver.max_accel_mps2);
            }
            if my_new < -SAFE_DECEL_MPS2 {
                continue;
            }
            let keep_right = if left { -0.3 } else { 0.3 };
            let score = if need.is_some() {
                10.0 + my_new
            } else {
                my_new - me_acc_now + a.driver.politeness * follower_gain + keep_right
            };
            let threshold = if need.is_some() { 0.0 } else { 0.4 };
            if score > threshold && best.is_none_or(|b| score > b.0) {
                best = Some((score, t));
            }
        }
        if let Some((_, t)) = best {
            if give_back {
                self.release(idx);
            }
            self.start_lane_change(idx, t, lc_len);
        }
    }

    /// A new actor on a lane that ends (a lane drop) starts slow enough to stop comfortably
    /// before the end, with room to merge.
    fn slow_for_lane_end(&mut self, idx: u32) {
        let room = self.room_to_lane_end(idx);
        if room < f64::MAX {
            let a = &mut self.actors[idx as usize];
            let v = (2.0 * a.driver.comfortable_decel_mps2 * (room - 10.0).max(0.0)).sqrt();
            a.speed_mps = a.speed_mps.min(v);
        }
    }

    /// Distance from the actor's front to the end of its plan when that ends in a dropped
    /// lane (or a large number).
    fn room_to_lane_end(&self, idx: u32) -> f64 {
        let a = &self.actors[idx as usize];
        if let Some(gap) = self.gap_to_obstacle(idx) {
            return gap;
        }
        let lane = self.map.lane(a.lane);
        if lane.junction.is_some() {
            return f64::MAX;
        }
        let mut dist = lane.length_m - a.d_m - 0.5 * a.body.length_m;
        if lane.next.is_empty() && !lane.exit {
            return lane.usable_to_for(a.body.width_m + 0.8) - a.d_m - 0.5 * a.body.length_m;
        }
        for &l in &a.plan {
            let ll = self.map.lane(l);
            if ll.junction.is_some() {
                return f64::MAX;
            }
            if ll.next.is_empty() && !ll.exit {
                return dist + ll.usable_to_for(a.body.width_m + 0.8);
            }
            dist += ll.length_m;
        }
        f64::MAX
    }

    /// Free distance ahead of position `d` in `lane` (to the nearest rear bumper).
    fn room_ahead_in(&self, idx: u32, lane: LaneId, d: f64) -> f64 {
        let front = d + 0.5 * self.actors[idx as usize].body.length_m;
        self.leader_in(idx, lane, d)
            .map_or(f64::MAX, |(l, _)| l.gap_m)
            .min(f64::MAX - front)
    }

    /// A vehicle in a neighbouring lane, ahead within 40 m, that must change into this lane:
    /// seen as a leader so that a gap opens for it.
    /// A neighbour just ahead that has to come into this lane (`true`: round a standing
    /// obstacle in its own lane).
    fn merger_ahead(&self, idx: u32) -> Option<(Leader, bool)> {
        let a = &self.actors[idx as usize];
        let lane = self.map.lane(a.lane);
        if lane.junction.is_some() || a.lane_change.is_some() {
            return None;
        }
        // A lane beside with a standing obstacle or a wrong-way driver in it.
        let blocked = |side: Option<LaneId>| {
            side.is_some_and(|x| self.blocked_m[x.index()] > 0.0 || self.wrong_way_on(x))
        };
        let from = [
            lane.merge_from[0] || blocked(lane.left),
            lane.merge_from[1] || blocked(lane.right),
        ];
        if !from[0] && !from[1] {
            return None;
        }
        let here = lane.at(a.d_m);
        let front = a.d_m + 0.5 * a.body.length_m;
        let mut best: Option<(Leader, bool)> = None;
        for (k, (side, wanted)) in [(lane.left, Some(false)), (lane.right, Some(true))]
            .into_iter()
            .enumerate()
        {
            if !from[k] {
                continue;
            }
            let Some(x) = side else { continue };
            let xl = self.map.lane(x);
            let dx = xl.d_at_s(here.s_m);
            let Some((mut rear, mut j)) = self.ahead_in_lane(x, dx - 0.5 * a.body.length_m, idx)
            else {
                continue;
            };
            if !lane.merge_from[k] {
                // Beside a blocked lane, the first merger wholly ahead (one alongside goes in
                // behind us instead) that has room to pull out (the head of its queue). Each
                // look goes on from where the last one found a road user *in lane x* (a
                // ghost's place there, not its own lane's): from its own-lane place, a ghost
                // ahead of it and an actor between the two found each other again and again,
                // for ever (a debris scene hung so). No queue is longer than the lane's list
                // and ghosts together, which bounds the walk besides.
                let most = self.lists[x.index()].len() + self.ghosts[x.index()].len();
                for _ in 0..most {
                    let o = &self.actors[j as usize];
                    if rear - dx + a.d_m - front >= 1.0
                        && self.room_ahead_in(j, o.lane, o.d_m)
                            >= 0.5 * min_lane_change_for(&o.body)
                    {
                        break;
                    }
                    match self.ahead_in_lane(x, self.pos_in(j, x), j) {
                        Some(next) => (rear, j) = next,
                        None => break,
                    }
                }
            }
            let o = &self.actors[j as usize];
            if o.need_lc != wanted || o.lane_change.is_some() {
                continue;
            }
            // Its rear in this lane's distances.
            let gap = rear - dx + a.d_m - front;
            // Beside a blocked lane only a merger wholly ahead is let in: one alongside
            // cannot be stopped behind (it goes in behind us instead).
            let lo = if lane.merge_from[k] {
                -0.5 * a.body.length_m
            } else {
                1.0
            };
            if (lo..40.0).contains(&gap)
                && o.d_m + 0.5 * o.body.length_m > dx + 0.5 * a.body.length_m
            {
                let l = Leader {
                    gap_m: gap.max(0.1),
                    speed_mps: o.speed_mps,
                    accel_mps2: o.accel_mps2,
                };
                if best.is_none_or(|b| l.gap_m < b.0.gap_m) {
                    best = Some((l, !lane.merge_from[k]));
                }
            }
        }
        best
    }

    /// Desired speed of actor `idx` where it is.
    fn desired(&self, idx: u32) -> f64 {
        let a = &self.actors[idx as usize];
        let lane = self.map.lane(a.lane);
        (lane.speed_limit_mps * a.driver.desired_speed_factor)
            .min(self.advisory_where(a))
            .min(kind_info(a.body.kind).max_speed_mps)
    }

    /// The advisory speed where actor `a` is (kept from deriving its pose when it has not
    /// moved since).
    #[inline]
    fn advisory_where(&self, a: &Actor) -> f64 {
        match a.advisory_here {
            (lane, bits, v) if lane == a.lane && bits == a.d_m.to_bits() => v,
            _ => self.map.lane(a.lane).advisory_at(a.d_m),
        }
    }

    fn start_lane_change(&mut self, idx: u32, target: LaneId, length_m: f64) {
        let a = &self.actors[idx as usize];
        let from = a.lane;
        let fl = self.map.lane(from);
        let tl = self.map.lane(target);
        let here = fl.at(a.d_m);
        let d_new = tl.d_at_s(here.s_m);
        let there = tl.at(d_new);
        // Lateral offset of the old position from the new lane centre, positive left.
        let (dx, dy) = (here.x_m - there.x_m, here.y_m - there.y_m);
        let left_x = -there.heading_rad.sin();
        let left_y = there.heading_rad.cos();
        let offset0 = dx * left_x + dy * left_y + a.lat_m;
        let lc = LaneChange {
            from,
            from_offset_m: a.d_m - d_new,
            start_d_m: d_new,
            length_m,
            offset0_m: offset0,
            ghost: true,
            tracking: true,
        };
        let prev = match tl.prev.as_slice() {
            [p] => Some(*p),
            _ => None,
        };
        self.remove_from_list(from, idx);
        let a = &mut self.actors[idx as usize];
        a.prev_lane = prev;
        a.lane = target;
        a.d_m = d_new;
        a.lat_m = offset0;
        a.lane_change = Some(lc);
        a.plan.clear();
        self.insert_sorted(target, idx);
        self.ghosts[from.index()].push(idx);
        self.refresh_want_keep(idx);
    }

    /// After a lane change the want stays; only the plan is redone.
    fn refresh_want_keep(&mut self, idx: u32) {
        self.actors[idx as usize].plan.clear();
    }

    // ----- moving -----------------------------------------------------------------------

    fn integrate(&mut self, dt: f64) {
        let n = self.actors.len();
        let mut moved: Vec<u32> = Vec::new();
        for i in 0..n {
            let a = &mut self.actors[i];
            // Movers move by their own motion ([`World::move_movers`], wrong-way drivers
            // by [`World::drive_wrong_way`]).
            if !a.alive || a.is_mover() {
                continue;
            }
            let v = a.speed_mps;
            let mut acc = a.next_accel;
            if v + acc * dt < 0.0 {
                acc = -v / dt;
            }
            let mut nv = v + acc * dt;
            if nv < 1e-3 && acc <= 0.0 {
                nv = 0.0;
            }
            a.d_m += 0.5 * (v + nv) * dt;
            a.speed_mps = nv;
            a.accel_mps2 = acc;
            a.lc_cooldown_s = (a.lc_cooldown_s - dt).max(0.0);
            if nv < 0.05 {
                a.standing_s += dt;
            } else {
                a.standing_s = 0.0;
            }
            if a.d_m >= self.map.lanes[a.lane.index()].length_m {
                moved.push(i as u32);
            }
            if let Some(lc) = a.lane_change.as_mut() {
                let u = lc.progress(a.d_m);
                if u >= 0.75 && lc.ghost {
                    lc.ghost = false;
                    let from = lc.from;
                    self.ghosts[from.index()].retain(|&j| j != i as u32);
                }
                if u >= 1.0 {
                    a.lane_change = None;
                    a.lat_m = 0.0;
                    a.lc_cooldown_s = 3.0;
                }
            }
        }
        // Lane transitions, in id order.
        for i in moved {
            self.advance_lanes(i);
        }
        // The old lanes of lane changes: follow them on (ghosts with them), and blend from
        // where their centre is now, so that a narrowing old lane never squeezes the body.
        // Junction paths cleared: released once the rear is past the last zone, or when the
        // actor no longer heads for the path. (One pass: both touch only actor `i`.)
        for i in 0..n {
            if self.actors[i].alive && self.actors[i].lane_change.is_some() {
                self.blend_lane_change(i);
            }
            if let Some(h) = self.actors[i].hold_prev
                && !self.still_in_path(i as u32, h)
            {
                self.actors[i].hold_prev = None;
                self.holds[h.index()].retain(|&j| j != i as u32);
            }
            if let Some(h) = self.actors[i].hold
                && !self.still_in_path(i as u32, h)
            {
                self.release(i as u32);
            }
        }
        // Keep lists sorted (vehicles never pass within a lane; spawns may tie): checked
        // every second.
        if !self.step.is_multiple_of(10) {
            return;
        }
        for k in 0..self.lists.len() {
            let list = &mut self.lists[k];
            if list.len() > 1 {
                let actors = &self.actors;
                let sorted = list
                    .windows(2)
                    .all(|w| actors[w[0] as usize].d_m <= actors[w[1] as usize].d_m);
                if !sorted {
                    list.sort_by(|&x, &y| {
                        let (a, b) = (&actors[x as usize], &actors[y as usize]);
                        a.d_m.total_cmp(&b.d_m).then(a.id.cmp(&b.id))
                    });
                    self.renumber(LaneId(k as u32));
                }
            }
        }
    }

    /// Follows a lane change's old lane on and sets the lateral blend from where its centre
    /// is now (see `integrate`).
    fn blend_lane_change(&mut self, i: usize) {
        let a = &self.actors[i];
        let Some(mut lc) = a.lane_change else {
            return;
        };
        let mut gd = a.d_m + lc.from_offset_m;
        while lc.tracking && gd >= self.map.lane(lc.from).length_m {
            let fl = self.map.lane(lc.from);
            if lc.ghost {
                self.ghosts[lc.from.index()].retain(|&j| j != i as u32);
            }
            if fl.next.len() == 1 && fl.junction.is_none() {
                let nx = fl.next[0];
                lc.from_offset_m -= fl.length_m;
                gd -= fl.length_m;
                lc.from = nx;
                if lc.ghost {
                    self.ghosts[nx.index()].push(i as u32);
                }
            } else {
                lc.tracking = false;
                lc.ghost = false;
            }
        }
        let a = &self.actors[i];
        if lc.tracking {
            let old = self.map.lane(lc.from).at(gd);
            let new = self.map.lane(a.lane).at(a.d_m);
            let (dx, dy) = (old.x_m - new.x_m, old.y_m - new.y_m);
            lc.offset0_m = -dx * new.heading_rad.sin() + dy * new.heading_rad.cos();
        }
        let u = lc.progress(a.d_m);
        let a = &mut self.actors[i];
        a.lat_m = lc.offset0_m * (1.0 - smootherstep(u));
        a.lane_change = Some(lc);
    }

    /// Moves actor `i` into the next lane(s) of its plan once it passes its lane's end.
    fn advance_lanes(&mut self, i: u32) {
        loop {
            let a = &self.actors[i as usize];
            let lane = self.map.lane(a.lane);
            if a.d_m < lane.length_m {
                return;
            }
            let next = a
                .plan
                .first()
                .copied()
                .or_else(|| lane.next.first().copied());
            let Some(next) = next else {
                if lane.exit {
                    self.despawn(i);
                } else {
                    // A dropped lane: hold at its end.
                    let a = &mut self.actors[i as usize];
                    a.d_m = lane.length_m - 1e-6;
                    a.speed_mps = 0.0;
                }
                return;
            };
            let overshoot = a.d_m - lane.length_m;
            let old = a.lane;
            let from_junction = lane.junction.is_some();
            self.lists[old.index()].retain(|&j| j != i);
            renumber(&mut self.actors, &self.lists[old.index()]);
            let a = &mut self.actors[i as usize];
            if a.plan.first() == Some(&next) {
                a.plan.remove(0);
            }
            a.prev_lane = Some(a.lane);
            a.lane = next;
            a.d_m = overshoot;
            if let Some(lc) = a.lane_change.as_mut() {
                lc.start_d_m -= lane.length_m;
                lc.from_offset_m += lane.length_m;
            }
            // Insert at the front (smallest position) of the new lane.
            let list = &mut self.lists[next.index()];
            let actors = &self.actors;
            let pos = list.partition_point(|&j| actors[j as usize].d_m < overshoot);
            list.insert(pos, i);
            renumber(&mut self.actors, &self.lists[next.index()]);
            let nl = self.map.lane(next);
            // Crossing into a zone of another class (straight on or through a junction)
            // that is full: leave here, unseen.
            let ci = class_index(nl.class);
            if nl.junction.is_none() && ci as u8 != self.actors[i as usize].zone {
                self.actors[i as usize].zone = ci as u8;
                let a = &self.actors[i as usize];
                if !a.ego
                    && self.density.count[ci] as f64 >= self.density.target[ci]
                    && !self.in_ego_sight(a.pose.x_m, a.pose.y_m)
                {
                    self.despawn(i);
                    return;
                }
            }
            if let Some(p) = self.actors[i as usize].route_pos {
                let road = nl.lane.road;
                let junction = nl.junction;
                let route = &self.net.main_route;
                // Any connecting road of the route's junction counts (the route names one
                // connector per junction, the lane decides which).
                let found = route.iter().skip(p).take(64).position(|st| {
                    st.road == road
                        || junction.is_some() && self.net.road(st.road).junction == junction
                });
                match found {
                    Some(k) => self.actors[i as usize].route_pos = Some(p + k),
                    None => {
                        self.actors[i as usize].route_pos = None;
                        if self.actors[i as usize].ego {
                            self.ego_status = EgoStatus::OffRoute;
                        }
                    }
                }
            }
            if from_junction && nl.junction.is_none() {
                self.refresh_want(i);
            }
        }
    }

    // ----- entering at the edges ----------------------------------------------------------

    fn spawn_at_edges(&mut self) {
        self.count_density();
        let mut entries = self.map.entries.clone();
        entries.extend_from_slice(&self.map.portals);
        if entries.is_empty() {
            return;
        }
        let n = entries.len();
        let start = self.spawn_cursor % n;
        self.spawn_cursor = self.spawn_cursor.wrapping_add(1);
        for k in 0..n {
            let lane = entries[(start + k) % n];
            let l = self.map.lane(lane);
            let ci = class_index(l.class);
            if (self.density.count[ci] as f64) >= self.density.target[ci] {
                continue;
            }
            if l.dead_end {
                continue;
            }
            let p0 = l.at(0.0);
            let advisory = l.advisory_at(0.0);
            let chain_m = l.chain_m;
            if self.in_ego_sight(p0.x_m, p0.y_m)
                || self
                    .vehicle_area()
                    .is_some_and(|(r, x, y)| (p0.x_m - x).hypot(p0.y_m - y) > r)
            {
                continue;
            }
            let kind = self.pick_kind();
            let len = kind_info(kind).length_m.1;
            let speed = advisory.min(kind_info(kind).max_speed_mps) * 0.9;
            // The first vehicle ahead, following the lane on for up to 300 m.
            let mut ahead = None;
            let mut base = 0.0;
            let mut cur = lane;
            for _ in 0..16 {
                if let Some((rear, j)) = self.ahead_in_lane(cur, f64::MIN, u32::MAX) {
                    ahead = Some((base + rear, j));
                    break;
                }
                let cl = self.map.lane(cur);
                base += cl.length_m;
                if base > 300.0 || cl.next.len() != 1 {
                    break;
                }
                cur = cl.next[0];
            }
            let room = ahead.map_or(f64::MAX, |(rear, _)| rear);
            let leader_speed = ahead.map_or(0.0, |(_, j)| self.actors[j as usize].speed_mps);
            let need = len + 3.0 + speed * 1.6;
            if room < need {
                continue;
            }
            // Room behind (portals have traffic coming up to them).
            if let Some((front, j)) = self.behind_along(lane, 0.0, u32::MAX) {
                let f = &self.actors[j as usize];
                let gap = -front;
                if gap < 5.0 + 2.0 * f.speed_mps || f.lane_change.is_some() {
                    continue;
                }
            }
            let dist = std::sync::Arc::clone(&self.driver_dist);
            let idx = self.new_actor(kind, lane, 0.5 * len, false, &dist);
            let a = &mut self.actors[idx as usize];
            a.d_m = 0.5 * a.body.length_m;
            let leader = ahead.map(|(rear, _)| (rear - a.body.length_m, leader_speed));
            self.set_off(idx, speed, leader, chain_m);
            self.density.count[ci] += 1;
        }
    }

    /// A vehicle just come in sets off at `speed`, or slower where it must be able to stop
    /// comfortably behind its leader (`leader`: the room from its front to the leader's
    /// rear, and the leader's speed) and before the end of its chain (`chain_left_m` on from
    /// its centre, less its length): its wishes, its slowing for the lane's end and its
    /// recording start.
    fn set_off(&mut self, idx: u32, speed: f64, leader: Option<(f64, f64)>, chain_left_m: f64) {
        let a = &mut self.actors[idx as usize];
        let b = a.driver.comfortable_decel_mps2;
        let v_room = leader.map_or(f64::MAX, |(room, leader_speed)| {
            let gap = (room - a.driver.min_gap_m).max(0.0);
            (leader_speed * leader_speed + 2.0 * b * gap).sqrt()
        });
        let v_end = (2.0 * b * (chain_left_m - a.body.length_m - 30.0).max(0.0)).sqrt();
        a.speed_mps = speed.min(v_room).min(v_end);
        self.refresh_want(idx);
        self.slow_for_lane_end(idx);
        if let Some(r) = self.recorder.as_mut() {
            r.spawned(idx, self.step);
        }
    }

    /// Whether a point is within sight in front of the ego.
    fn in_ego_sight(&self, x: f64, y: f64) -> bool {
        let Some(e) = self.ego.filter(|&e| self.actors[e as usize].alive) else {
            return false;
        };
        let p = &self.actors[e as usize].pose;
        let (dx, dy) = (x - p.x_m, y - p.y_m);
        let ahead = dx * p.heading_rad.cos() + dy * p.heading_rad.sin() > -30.0;
        ahead && dx * dx + dy * dy < SPAWN_SIGHT_M * SPAWN_SIGHT_M
    }

    // ----- poses ------------------------------------------------------------------------

    /// Derives every vehicle's pose and lights, and counts vehicles per class (the same pass).
    fn update_poses(&mut self) {
        let headlights = self.headlights;
        self.side_poses(headlights);
        let mut count = [0u32; 3];
        // (With an area round the ego: those in it, where they and the ego were.)
        let area = self.vehicle_area();
        for i in 0..self.actors.len() {
            if !self.actors[i].alive {
                continue;
            }
            let need_dir = self.actors[i].need_lc;
            let a = &self.actors[i];
            let lane = self.map.lane(a.lane);
            if lane.junction.is_none()
                && !a.is_mover()
                && area.is_none_or(|(r, x, y)| (a.pose.x_m - x).hypot(a.pose.y_m - y) <= r)
            {
                count[class_index(lane.class)] += 1;
            }
            let (p, advisory) = lane.at_with_advisory(a.d_m);
            let here = (a.lane, a.d_m.to_bits(), advisory);
            let (mut slope, mut lat_curv) = (0.0, 0.0);
            if let Some(lc) = a.lane_change {
                let u = lc.progress(a.d_m);
                slope = -lc.offset0_m * smootherstep_slope(u) / lc.length_m;
                lat_curv = -lc.offset0_m * second_derivative(u) / (lc.length_m * lc.length_m);
            }
            let half_wb = 0.5 * a.body.wheelbase_m;
            let (x, y, heading) = if a.lat_m == 0.0 && half_wb >= LONG_BODY_HALF_WHEELBASE_M {
                // A long vehicle: both axles on the lane's centre line, the body along the
                // chord between them (its middle cuts a curve, as a bus's does).
                let at = |d: f64| {
                    let (l, d) = if d > lane.length_m {
                        match a.plan.first() {
                            Some(&n) => (self.map.lane(n), d - lane.length_m),
                            None => (lane, d),
                        }
                    } else if d < 0.0 {
                        match a.prev_lane {
                            Some(pl) => {
                                let pl = self.map.lane(pl);
                                (pl, pl.length_m + d)
                            }
                            None => (lane, d),
                        }
                    } else {
                        (lane, d)
                    };
                    let q = l.at(d.clamp(0.0, l.length_m));
                    let over = if d < 0.0 {
                        d
                    } else if d > l.length_m {
                        d - l.length_m
                    } else {
                        0.0
                    };
                    let (sn, cs) = q.heading_rad.sin_cos();
                    (q.x_m + cs * over, q.y_m + sn * over)
                };
                let (f, r) = (at(a.d_m + half_wb), at(a.d_m - half_wb));
                (
                    0.5 * (f.0 + r.0),
                    0.5 * (f.1 + r.1),
                    (f.1 - r.1).atan2(f.0 - r.0),
                )
            } else if a.lat_m == 0.0 {
                (p.x_m, p.y_m, p.heading_rad)
            } else {
                let (sin, cos) = p.heading_rad.sin_cos();
                (
                    p.x_m - sin * a.lat_m,
                    p.y_m + cos * a.lat_m,
                    p.heading_rad + slope.atan(),
                )
            };
            let curvature = p.curvature_per_m + lat_curv;
            let t_sign = if lane.forward { 1.0 } else { -1.0 };
            let mut fl = if a.ego { flags::EGO } else { 0 };
            let lc_dir = a.lane_change.map(|lc| lc.offset0_m < 0.0);
            match lc_dir.or(need_dir).or_else(|| self.turn_ahead(i as u32)) {
                Some(true) => fl |= flags::INDICATOR_LEFT,
                Some(false) => fl |= flags::INDICATOR_RIGHT,
                None => {}
            }
            let vehicle = a.body.kind.is_motor_vehicle();
            if vehicle && (a.accel_mps2 < -0.5 || a.speed_mps < 0.05) {
                fl |= flags::BRAKE;
            }
            let in_fog = !self.zones.is_empty() && self.zone_at(a.lane, a.d_m).0.is_some();
            if vehicle && (headlights || in_fog || a.body.kind == ActorKind::Motorcycle) {
                fl |= flags::HEADLIGHTS;
            }
            fl |= Self::script_flags(a.script, a.body.kind);
            if a.at_red {
                fl |= flags::WAITING_AT_RED;
            }
            let pose = ActorPose {
                x_m: x,
                y_m: y,
                z_m: p.z_m,
                heading_rad: if a.lat_m == 0.0 {
                    heading
                } else {
                    roadworld_geom::normalize_angle(heading)
                },
                yaw_rate_radps: a.speed_mps * curvature,
                curvature_per_m: curvature,
                s_m: p.s_m,
                t_m: p.t_m + t_sign * a.lat_m,
            };
            let a = &mut self.actors[i];
            a.pose = pose;
            a.flags = fl;
            a.advisory_here = here;
        }
        self.density.count = count;
        if !self.movers.is_empty() {
            self.move_movers();
        }
        if !self.wrong_way.is_empty() {
            self.wrong_way_poses();
        }
    }

    /// Indicator for the turn at the next junction within 50 m: `Some(true)` left.
    fn turn_ahead(&self, i: u32) -> Option<bool> {
        let a = &self.actors[i as usize];
        let mut dist = self.map.lane(a.lane).length_m - a.d_m;
        if let Some(p) = self.map.lane(a.lane).path.as_ref()
            && p.turn_rad.abs() > 0.6
        {
            return Some(p.turn_rad > 0.0);
        }
        for &l in &a.plan {
            if dist > 50.0 {
                break;
            }
            if let Some(p) = self.map.lane(l).path.as_ref() {
                return (p.turn_rad.abs() > 0.6).then_some(p.turn_rad > 0.0);
            }
            dist += self.map.lane(l).length_m;
        }
        None
    }

    /// A one-line account of what actor `idx` sees and does, for people debugging a scene.
    pub fn explain(&self, idx: u32) -> String {
        let a = &self.actors[idx as usize];
        let leader = self.leader_along(idx, a.lane, a.d_m);
        let blocker = a
            .plan
            .iter()
            .find(|&&l| self.map.lane(l).junction.is_some())
            .and_then(|&c| self.entry_blocker(idx, c));
        format!(
            "{} {:?} lane {} ({}) d {:.1}/{:.1} v {:.2} a {:.2} lat {:.2} leader {:?} plan {:?} want {:?} hold {:?}/{:?} blocker {blocker:?} need {:?} lc {:?} at_red {} room_end {:.1} crossing_gap {:?}",
            a.id,
            a.body.kind,
            a.lane.0,
            self.map.lane(a.lane).lane,
            a.d_m,
            self.map.lane(a.lane).length_m,
            a.speed_mps,
            a.accel_mps2,
            a.lat_m,
            leader.map(|(l, j)| (j, (l.gap_m * 10.0).round() / 10.0)),
            a.plan.iter().map(|l| l.0).collect::<Vec<_>>(),
            a.want.map(|r| r.0),
            a.hold.map(|h| h.0),
            a.hold_prev.map(|h| h.0),
            a.need_lc,
            a.lane_change.map(|lc| (lc.from.0, lc.ghost)),
            a.at_red,
            self.room_to_lane_end(idx).min(1e4),
            self.crossing_gap(idx),
        )
    }

    /// A junction path's incoming and outgoing lanes and its zones (for debugging).
    pub fn describe_path(&self, conn: u32) -> String {
        match self.map.lane(LaneId(conn)).path.as_ref() {
            Some(p) => format!(
                "path {conn}: in {} out {:?} approach {:.1} len {:.1} stop {:.1} zones {:?}",
                p.incoming.0,
                p.outgoing.map(|o| o.0),
                p.approach_m,
                self.map.lane(LaneId(conn)).length_m,
                p.stop_d_m,
                p.zones
                    .iter()
                    .map(|z| (z.other.0, z.in_m as i32, z.out_m as i32, z.yields))
                    .collect::<Vec<_>>()
            ),
            None => format!("lane {conn}: no path"),
        }
    }

    /// The actor that actor `idx` stands waiting for, if it stands: the holder or priority
    /// vehicle keeping it out of a junction, the first in a full lane after one, or its
    /// leader (for finding gridlocks).
    pub fn waits_for(&self, idx: u32) -> Option<u32> {
        let a = &self.actors[idx as usize];
        if !a.alive || a.speed_mps > 0.1 {
            return None;
        }
        let blocker = a
            .plan
            .iter()
            .find(|&&l| self.map.lane(l).junction.is_some())
            .and_then(|&c| self.entry_blocker(idx, c));
        match blocker {
            Some(Blocker::Holder(h)) | Some(Blocker::Priority(h)) => Some(h),
            Some(Blocker::NoRoom(l)) => self.lists[l.index()].first().copied(),
            None => self.explain_leader(idx),
        }
    }

    /// The world now as plain data, for renderers and viewers: every live road user
    /// (vehicles, then pedestrians, cyclists and parked cars) and every signal's state.
    pub fn snapshot(&self) -> Snapshot {
        let state = |id, body: &Body, pose: &ActorPose, v, acc, fl| ActorState {
            id,
            kind: body.kind,
            length_m: body.length_m,
            width_m: body.width_m,
            height_m: body.height_m,
            x_m: pose.x_m,
            y_m: pose.y_m,
            z_m: pose.z_m,
            heading_rad: pose.heading_rad,
            speed_mps: v,
            accel_mps2: acc,
            flags: fl,
        };
        Snapshot {
            time_s: self.time_s(),
            actors: self
                .actors
                .iter()
                .filter(|a| a.alive)
                .map(|a| state(a.id, &a.body, &a.pose, a.speed_mps, a.accel_mps2, a.flags))
                .chain(
                    self.walkers
                        .iter()
                        .filter(|w| w.alive)
                        .map(|w| state(w.id, &w.body, &w.pose, w.speed_mps, w.accel_mps2, w.flags)),
                )
                .collect(),
            lights: self.lights.clone(),
        }
    }

    /// The index of the leader of actor `idx`, if any.
    pub fn explain_leader(&self, idx: u32) -> Option<u32> {
        let a = &self.actors[idx as usize];
        self.leader_along(idx, a.lane, a.d_m).map(|(_, j)| j)
    }

    /// Lanes and the actors in them, for checks: `(lane, actor indices sorted by position)`.
    pub fn lane_lists(&self) -> impl Iterator<Item = (LaneId, &[u32])> {
        self.lists
            .iter()
            .enumerate()
            .map(|(k, l)| (LaneId(k as u32), l.as_slice()))
    }
}

/// Stores every actor's position in `list`.
fn renumber(actors: &mut [Actor], list: &[u32]) {
    for (k, &j) in list.iter().enumerate() {
        actors[j as usize].slot = k as u32;
    }
}

fn second_derivative(u: f64) -> f64 {
    if !(0.0..=1.0).contains(&u) {
        return 0.0;
    }
    60.0 * u - 180.0 * u * u + 120.0 * u * u * u
}

/// Shortest lane change a body may make: at the steepest point of the path its front
/// corner must stay inside the target lane (a long truck angled across a lane sweeps into
/// the next one), and never shorter than 8 m.
pub fn min_lane_change_for(body: &Body) -> f64 {
    let w = 3.75;
    let slope = ((w - 0.5 * body.width_m - 0.3) / (0.5 * body.length_m)).clamp(0.05, 1.0);
    (SMOOTHERSTEP_MAX_SLOPE * w / slope).max(8.0)
}

/// Length of a lane change at speed `v` with lateral acceleration within the bound over a
/// 3.75 m lane.
pub fn lane_change_length(v: f64) -> f64 {
    lane_change_length_at(v, LANE_CHANGE_LATERAL_ACCEL_MPS2).max(MIN_LANE_CHANGE_M)
}

/// Length of a smootherstep lane change over a 3.75 m lane at speed `v` whose lateral
/// acceleration peaks at `lateral_mps2`.
pub fn lane_change_length_at(v: f64, lateral_mps2: f64) -> f64 {
    let w = 3.75;
    v * (SMOOTHERSTEP_MAX_CURVATURE * w / lateral_mps2).sqrt()
}
