//! The procedural generator: grows a network block by block along a main route.
//!
//! A **block** (straight, curve, junction, roundabout, ramp, grid district, ...) starts at the
//! route's open end (a road whose end is free), adds roads and junctions, and leaves a new
//! open end. After each block the new roads are tested against an occupancy grid of discs
//! (elevation-aware, so bridges pass); a block that overlaps is undone and another drawn, and
//! when no draw fits, the previous block is undone too (backtracking).
//!
//! The network is grown for right-hand traffic and mirrored at the end for left-hand traffic.
//! Every random draw comes from a ChaCha8 stream derived from the seed, the block depth and
//! the attempt number, so the output depends on nothing but `(params, seed)`.

pub mod params;

mod blocks;
mod junction;
mod objects;
mod occupancy;

use crate::model::*;
use crate::xsection::{CrossSection, SectionsBuilder, SideLayout};
use occupancy::Occupancy;
use params::{ClassParams, RangeF, RangeU, RoadParams};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use roadworld_geom::{CubicProfile, GeomError, Pose2, ReferenceLine};

pub use params::ParamError;

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("invalid road parameters: {0}")]
    Params(#[from] ParamError),
    /// Only checked in debug builds (tests); release builds trust the tested generator.
    #[error("the generated network breaks {count} invariant(s), first: {first}")]
    Invariants { count: usize, first: String },
    #[error(
        "no room to grow the route after {backtracks} backtracks (route reached {reached_m:.0} of {target_m:.0} m)"
    )]
    NoRoom {
        backtracks: u32,
        reached_m: f64,
        target_m: f64,
    },
}

/// Why a block could not be placed (the generator then tries another).
#[derive(Debug)]
pub(crate) enum Reject {
    Overlap,
    Geometry(#[allow(dead_code)] GeomError),
    Unfit,
}

impl From<GeomError> for Reject {
    fn from(e: GeomError) -> Self {
        Self::Geometry(e)
    }
}

pub(crate) type Rng = ChaCha8Rng;

/// The general direction the main route travels in.
const COURSE_RAD: f64 = 0.0;
/// How far the route's heading may turn away from its course at a block boundary.
const MAX_COURSE_DEVIATION_RAD: f64 = 1.75;

pub(crate) fn uniform(rng: &mut Rng, r: RangeF) -> f64 {
    if r.max > r.min {
        rng.random_range(r.min..=r.max)
    } else {
        r.min
    }
}

pub(crate) fn uniform_u(rng: &mut Rng, r: RangeU) -> u32 {
    if r.max > r.min {
        rng.random_range(r.min..=r.max)
    } else {
        r.min
    }
}

pub(crate) fn chance(rng: &mut Rng, p: f64) -> bool {
    rng.random_bool(p.clamp(0.0, 1.0))
}

/// SplitMix64 finaliser: a well-mixed 64-bit hash of a 64-bit value.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stream seeded from a master seed and a list of indices.
pub(crate) fn stream(seed: u64, parts: &[u64]) -> Rng {
    let mut h = mix64(seed);
    for p in parts {
        h = mix64(h ^ mix64(*p));
    }
    ChaCha8Rng::seed_from_u64(h)
}

/// The free end of the main route, where the next block attaches.
#[derive(Debug, Clone)]
pub(crate) struct OpenEnd {
    pub road: RoadId,
    pub pose: Pose2,
    pub z_m: f64,
    pub xs: CrossSection,
    pub class: RoadClass,
    pub speed_limit_mps: f64,
}

/// What a new road is made of.
pub(crate) struct RoadPlan {
    pub name: String,
    pub class: RoadClass,
    pub junction: Option<JunctionId>,
    pub line: ReferenceLine,
    pub sections: Vec<LaneSection>,
    pub elevation: CubicProfile,
    pub superelevation: CubicProfile,
    pub speed_limit_mps: f64,
}

#[derive(Debug, Clone)]
struct Checkpoint {
    roads: usize,
    junctions: usize,
    controllers: usize,
    discs: usize,
    route: usize,
    route_m: f64,
    open: OpenEnd,
    next_signal: u32,
    open_signals: usize,
    open_objects: usize,
}

/// Generator state.
pub(crate) struct Gen<'a> {
    pub p: &'a RoadParams,
    pub classes: [ClassParams; 3],
    pub net: Network,
    pub occ: Occupancy,
    pub route_m: f64,
    pub open: OpenEnd,
    pub next_signal: u32,
    /// Depth of the block being built (its occupancy "piece").
    pub piece: u32,
}

/// Generates a network from parameters and a seed. Same inputs, same network.
pub fn generate(params: &RoadParams, seed: u64) -> Result<Network, GenError> {
    params.validate()?;
    let classes = [
        params.class(RoadClass::Motorway),
        params.class(RoadClass::Rural),
        params.class(RoadClass::Urban),
    ];
    let first_class = params.zones[0].class;
    let mut rng = stream(seed, &[0xC1A55]);
    let cp = &classes[class_index(first_class)];
    let xs = class_cross_section(first_class, cp, &mut rng, None, params.centre_line_color);
    let speed = speed_limit(cp, &mut rng);
    let mut g = Gen {
        p: params,
        classes,
        net: Network {
            name: String::new(),
            traffic_side: TrafficSide::Right,
            roads: Vec::new(),
            junctions: Vec::new(),
            controllers: Vec::new(),
            main_route: Vec::new(),
        },
        occ: Occupancy::new(),
        route_m: 0.0,
        open: OpenEnd {
            road: RoadId(0),
            pose: Pose2::new(0.0, 0.0, 0.0),
            z_m: 0.0,
            xs,
            class: first_class,
            speed_limit_mps: speed,
        },
        next_signal: 0,
        piece: 0,
    };
    // The entry road: a straight from the origin.
    let mut b = roadworld_geom::ReferenceLineBuilder::new(Pose2::new(0.0, 0.0, 0.0));
    b.line(60.0).map_err(|_| GenError::NoRoom {
        backtracks: 0,
        reached_m: 0.0,
        target_m: params.length_m,
    })?;
    let line = b.build().map_err(|_| GenError::NoRoom {
        backtracks: 0,
        reached_m: 0.0,
        target_m: params.length_m,
    })?;
    let mut sections = SectionsBuilder::new();
    sections.uniform(0.0, &g.open.xs);
    let id = g.add_road(RoadPlan {
        name: "entry".into(),
        class: first_class,
        junction: None,
        line,
        sections: sections.build(),
        elevation: CubicProfile::constant(0.0),
        superelevation: CubicProfile::zero(),
        speed_limit_mps: speed,
    });
    g.route_push(id);
    g.set_open(id);
    g.grow(seed)?;
    objects::place_roadside_objects(&mut g, seed);
    let mut net = g.net;
    if params.traffic_side == TrafficSide::Left {
        net = crate::mirror::mirrored_for_left_hand_traffic(&net);
    }
    if cfg!(debug_assertions) {
        let v = crate::invariants::check_invariants(&net);
        if let Some(first) = v.first() {
            return Err(GenError::Invariants {
                count: v.len(),
                first: first.to_string(),
            });
        }
    }
    Ok(net)
}

pub(crate) fn class_index(c: RoadClass) -> usize {
    match c {
        RoadClass::Motorway => 0,
        RoadClass::Rural => 1,
        RoadClass::Urban => 2,
    }
}

pub(crate) fn speed_limit(cp: &ClassParams, rng: &mut Rng) -> f64 {
    // Round to 10 km/h, as signs are.
    let kph = (uniform(rng, cp.speed_limit_kph) / 10.0).round() * 10.0;
    kph.clamp(
        cp.speed_limit_kph.min,
        cp.speed_limit_kph.max.max(cp.speed_limit_kph.min),
    ) / 3.6
}

fn optional_width(rng: &mut Rng, r: RangeF) -> Option<f64> {
    (r.max > 0.0).then(|| uniform(rng, r))
}

/// A class-typical two-way cross-section with `lanes` per direction (drawn if `None`).
pub(crate) fn class_cross_section(
    class: RoadClass,
    cp: &ClassParams,
    rng: &mut Rng,
    lanes: Option<usize>,
    centre_color: MarkColor,
) -> CrossSection {
    let n = lanes.unwrap_or_else(|| uniform_u(rng, cp.lanes_per_direction) as usize);
    let w = (uniform(rng, cp.lane_width_m) * 20.0).round() / 20.0;
    let median = optional_width(rng, cp.median_width_m).map_or(0.0, |m| 0.5 * m);
    let mut outer = Vec::new();
    if let Some(sh) = optional_width(rng, cp.shoulder_width_m) {
        outer.push((LaneType::Shoulder, sh));
    }
    if let Some(b) = optional_width(rng, cp.bike_lane_width_m) {
        outer.push((LaneType::Biking, b));
    }
    if let Some(p) = optional_width(rng, cp.parking_lane_width_m) {
        outer.push((LaneType::Parking, p));
    }
    if class == RoadClass::Rural || class == RoadClass::Motorway {
        outer.push((LaneType::Border, 0.5));
    }
    if let Some(sw) = optional_width(rng, cp.sidewalk_width_m) {
        outer.push((LaneType::Sidewalk, sw));
    }
    let side = SideLayout {
        median_m: median,
        driving_m: vec![w; n],
        outer,
    };
    let center_mark = if median > 0.0 {
        (MarkKind::None, MarkColor::White)
    } else if class == RoadClass::Urban && n >= 2 {
        (MarkKind::SolidSolid, centre_color)
    } else if class == RoadClass::Urban {
        (MarkKind::Solid, centre_color)
    } else {
        (MarkKind::Broken, centre_color)
    };
    CrossSection {
        right: side.clone(),
        left: side,
        center_mark,
    }
}

impl Gen<'_> {
    pub fn cp(&self, class: RoadClass) -> ClassParams {
        self.classes[class_index(class)]
    }

    /// The class of the zone the route is in at `route_m`.
    pub fn zone_class(&self) -> RoadClass {
        let total: f64 = self.p.zones.iter().map(|z| z.share).sum();
        let mut acc = 0.0;
        for z in &self.p.zones {
            acc += z.share / total * self.p.length_m;
            if self.route_m < acc {
                return z.class;
            }
        }
        self.p.zones.last().map_or(RoadClass::Rural, |z| z.class)
    }

    pub fn new_signal_id(&mut self) -> SignalId {
        self.next_signal += 1;
        SignalId(self.next_signal)
    }

    /// Adds a road (and its occupancy discs); links are set by the caller.
    pub fn add_road(&mut self, plan: RoadPlan) -> RoadId {
        let id = RoadId(self.net.roads.len() as u32);
        let road = Road {
            id,
            name: plan.name,
            class: plan.class,
            junction: plan.junction,
            reference_line: plan.line,
            lane_offset: CubicProfile::zero(),
            elevation: plan.elevation,
            superelevation: plan.superelevation,
            sections: plan.sections,
            predecessor: None,
            successor: None,
            speed_limit_mps: plan.speed_limit_mps,
            signals: Vec::new(),
            objects: Vec::new(),
            bridges: Vec::new(),
        };
        self.occ.add_road(&road, self.piece);
        self.net.roads.push(road);
        id
    }

    /// Links the end of `a` to the start of `b` (roads and lanes with the same ids).
    pub fn link_end_to_start(&mut self, a: RoadId, b: RoadId) {
        self.net.roads[a.index()].successor = Some(Link::Road {
            road: b,
            contact: ContactPoint::Start,
        });
        self.net.roads[b.index()].predecessor = Some(Link::Road {
            road: a,
            contact: ContactPoint::End,
        });
        let (ra, rb) = two_mut(&mut self.net.roads, a.index(), b.index());
        let (Some(sa), Some(sb)) = (ra.sections.last_mut(), rb.sections.first_mut()) else {
            return;
        };
        let la = ra.reference_line.length_m() - sa.s_m;
        for lane in sa.left.iter_mut().chain(sa.right.iter_mut()) {
            if lane.width.value(la) <= 1e-9 {
                continue;
            }
            if let Some(other) = sb.lane_mut(lane.id)
                && other.kind == lane.kind
                && other.width.value(0.0) > 1e-9
            {
                lane.successor = Some(other.id);
                other.predecessor = Some(lane.id);
            }
        }
    }

    pub fn route_push(&mut self, id: RoadId) {
        self.route_m += self.net.roads[id.index()].length_m();
        self.net.main_route.push(RouteStep {
            road: id,
            forward: true,
        });
    }

    /// Makes road `id`'s end the open end (its last section's layout).
    pub fn set_open(&mut self, id: RoadId) {
        let r = &self.net.roads[id.index()];
        self.open.road = id;
        self.open.pose = r.reference_line.end_pose();
        self.open.z_m = r.elevation.value(r.length_m());
        self.open.class = r.class;
        self.open.speed_limit_mps = r.speed_limit_mps;
    }

    /// A straight-or-curved continuation road of the open end's layout.
    pub fn extend(&mut self, name: &str, line: ReferenceLine, elevation: CubicProfile) -> RoadId {
        let mut sections = SectionsBuilder::new();
        sections.uniform(0.0, &self.open.xs);
        self.extend_with(name, line, sections, elevation)
    }

    pub fn extend_with(
        &mut self,
        name: &str,
        line: ReferenceLine,
        sections: SectionsBuilder,
        elevation: CubicProfile,
    ) -> RoadId {
        self.extend_banked(name, line, sections, elevation, CubicProfile::zero())
    }

    /// A continuation road with a superelevation (banking) profile.
    pub fn extend_banked(
        &mut self,
        name: &str,
        line: ReferenceLine,
        sections: SectionsBuilder,
        elevation: CubicProfile,
        superelevation: CubicProfile,
    ) -> RoadId {
        let id = self.add_road(RoadPlan {
            name: name.into(),
            class: self.open.class,
            junction: None,
            line,
            sections: sections.build(),
            elevation,
            superelevation,
            speed_limit_mps: self.open.speed_limit_mps,
        });
        self.link_end_to_start(self.open.road, id);
        self.route_push(id);
        self.set_open(id);
        id
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            roads: self.net.roads.len(),
            junctions: self.net.junctions.len(),
            controllers: self.net.controllers.len(),
            discs: self.occ.len(),
            route: self.net.main_route.len(),
            route_m: self.route_m,
            open: self.open.clone(),
            next_signal: self.next_signal,
            open_signals: self.net.roads[self.open.road.index()].signals.len(),
            open_objects: self.net.roads[self.open.road.index()].objects.len(),
        }
    }

    fn restore(&mut self, cp: &Checkpoint) {
        self.net.roads.truncate(cp.roads);
        self.net.junctions.truncate(cp.junctions);
        self.net.controllers.truncate(cp.controllers);
        self.occ.truncate(cp.discs);
        self.net.main_route.truncate(cp.route);
        self.route_m = cp.route_m;
        self.open = cp.open.clone();
        self.next_signal = cp.next_signal;
        // The open road may have been linked to roads that are gone.
        let r = &mut self.net.roads[cp.open.road.index()];
        r.successor = None;
        r.signals.truncate(cp.open_signals);
        r.objects.truncate(cp.open_objects);
        if let Some(last) = r.sections.last_mut() {
            for lane in last.left.iter_mut().chain(last.right.iter_mut()) {
                lane.successor = None;
            }
        }
    }

    fn grow(&mut self, seed: u64) -> Result<(), GenError> {
        const TRIES_PER_DEPTH: u32 = 8;
        let mut stack: Vec<(Checkpoint, u32)> = Vec::new();
        let mut tries = 0u32;
        let mut backtracks = 0u32;
        let block_cap = self.p.max_blocks.map_or(usize::MAX, |b| b as usize);
        while self.route_m < self.p.length_m && stack.len() < block_cap {
            let depth = stack.len() as u64;
            let mut rng = stream(seed, &[depth, u64::from(tries), u64::from(backtracks)]);
            let cp = self.checkpoint();
            self.piece = stack.len() as u32 + 1;
            let placed = blocks::place_block(self, &mut rng).and_then(|()| {
                // Keep the route heading roughly along its course so that long routes travel
                // instead of curling up and boxing themselves in.
                if roadworld_geom::angle_diff_abs(self.open.pose.heading_rad, COURSE_RAD)
                    > MAX_COURSE_DEVIATION_RAD
                {
                    Err(Reject::Unfit)
                } else if self.occ.piece_overlaps(self.piece, cp.open.pose.point()) {
                    Err(Reject::Overlap)
                } else {
                    Ok(())
                }
            });
            match placed {
                Ok(()) => {
                    stack.push((cp, tries));
                    tries = 0;
                }
                Err(_) => {
                    self.restore(&cp);
                    tries += 1;
                    if tries >= TRIES_PER_DEPTH {
                        backtracks += 1;
                        if backtracks > self.p.max_backtracks {
                            return Err(GenError::NoRoom {
                                backtracks,
                                reached_m: self.route_m,
                                target_m: self.p.length_m,
                            });
                        }
                        match stack.pop() {
                            Some((prev, prev_tries)) => {
                                self.restore(&prev);
                                tries = prev_tries + 1;
                            }
                            None => tries = 0,
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn two_mut<T>(v: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    assert_ne!(a, b, "two_mut needs two different indices");
    if a < b {
        let (x, y) = v.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = v.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}
