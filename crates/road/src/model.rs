//! The road network model: roads, lane sections, lanes, junctions, signals and objects.
//!
//! The model follows OpenDRIVE closely so that export is a direct mapping: lane ids are
//! signed (left positive, right negative, 0 the reference line), widths are cubic profiles
//! in `s` relative to the lane section start, links name roads or junctions.

use roadworld_geom::{CubicProfile, Point2, Pose2, ReferenceLine};
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! typed_id {
    ($(#[$m:meta])* $name:ident, $label:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub u32);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, " {}"), self.0)
            }
        }
        impl $name {
            /// The id as an index into the network's dense vector.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

typed_id!(/// A road; indexes `Network::roads`.
    RoadId, "road");
typed_id!(/// A junction; indexes `Network::junctions`.
    JunctionId, "junction");
typed_id!(/// A signal (traffic light or sign), unique in the network.
    SignalId, "signal");
typed_id!(/// A signal controller; indexes `Network::controllers`.
    ControllerId, "controller");
typed_id!(/// A roadside object, unique in the network.
    ObjectId, "object");

/// One lane of one lane section of one road.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LaneRef {
    pub road: RoadId,
    /// Index into the road's lane sections.
    pub section: u32,
    /// OpenDRIVE lane id: positive left, negative right.
    pub lane: i32,
}

impl fmt::Display for LaneRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} section {} lane {}",
            self.road, self.section, self.lane
        )
    }
}

/// Which side vehicles keep to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum TrafficSide {
    /// Right-hand traffic (OpenDRIVE `RHT`): right lanes run along `+s`.
    #[default]
    Right,
    /// Left-hand traffic (`LHT`): left lanes run along `+s`.
    Left,
}

/// The class of a road, which sets its lanes, speeds and roadside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RoadClass {
    Motorway,
    Rural,
    Urban,
}

impl RoadClass {
    /// Dash and gap lengths of broken lines, metres (dashes start at the lane section's start).
    pub fn dash_pattern_m(self) -> (f64, f64) {
        if self == Self::Motorway {
            (6.0, 12.0)
        } else {
            (3.0, 6.0)
        }
    }
    /// Lower-case name, as used in specs and indexes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Motorway => "motorway",
            Self::Rural => "rural",
            Self::Urban => "urban",
        }
    }
}

/// OpenDRIVE lane types used by roadworld.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LaneType {
    Driving,
    Shoulder,
    Sidewalk,
    Biking,
    Parking,
    Border,
    Median,
    Restricted,
    /// The centre lane (id 0) has no area.
    None,
}

impl LaneType {
    /// Whether motor vehicles may drive here.
    pub fn is_drivable(self) -> bool {
        matches!(self, Self::Driving)
    }
}

/// Lane marking patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MarkKind {
    None,
    Solid,
    Broken,
    SolidSolid,
    SolidBroken,
    BrokenSolid,
}

impl MarkKind {
    /// The painted lines of this marking: `(lateral offset from the lane border in metres,
    /// broken)`; double lines are 0.3 m apart.
    pub fn lines(self) -> &'static [(f64, bool)] {
        match self {
            Self::Solid => &[(0.0, false)],
            Self::Broken => &[(0.0, true)],
            Self::SolidSolid => &[(-0.15, false), (0.15, false)],
            Self::SolidBroken => &[(-0.15, false), (0.15, true)],
            Self::BrokenSolid => &[(-0.15, true), (0.15, false)],
            Self::None => &[],
        }
    }
}

/// Lane marking colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MarkColor {
    White,
    Yellow,
}

/// A marking on a lane's outer border from `s_offset_m` (relative to the section start).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RoadMark {
    pub s_offset_m: f64,
    pub kind: MarkKind,
    pub color: MarkColor,
    pub width_m: f64,
}

/// A lane of a lane section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    pub id: i32,
    pub kind: LaneType,
    /// Width as a function of `s` relative to the section start (`sOffset`).
    pub width: CubicProfile,
    /// Markings on the outer border (for the centre lane: on the reference line).
    pub marks: Vec<RoadMark>,
    /// Speed limit, if different from the road's.
    pub speed_limit_mps: Option<f64>,
    /// Lane id in the preceding section or road, along `s`.
    pub predecessor: Option<i32>,
    /// Lane id in the following section or road, along `s`.
    pub successor: Option<i32>,
}

/// A stretch of road with a fixed set of lanes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaneSection {
    /// Start of the section along the road.
    pub s_m: f64,
    /// Left lanes, ids 1, 2, ... from the reference line outwards.
    pub left: Vec<Lane>,
    /// Centre lane (id 0), which carries the reference-line marking.
    pub center: Lane,
    /// Right lanes, ids -1, -2, ... from the reference line outwards.
    pub right: Vec<Lane>,
}

impl LaneSection {
    /// The lane with this id.
    pub fn lane(&self, id: i32) -> Option<&Lane> {
        match id {
            0 => Some(&self.center),
            i if i > 0 => self.left.get(i as usize - 1),
            i => self.right.get((-i) as usize - 1),
        }
    }
    /// Mutable lane with this id.
    pub fn lane_mut(&mut self, id: i32) -> Option<&mut Lane> {
        match id {
            0 => Some(&mut self.center),
            i if i > 0 => self.left.get_mut(i as usize - 1),
            i => self.right.get_mut((-i) as usize - 1),
        }
    }
    /// All lanes with a width (left and right), ordered by id from the most positive.
    pub fn side_lanes(&self) -> impl Iterator<Item = &Lane> {
        self.left.iter().rev().chain(self.right.iter())
    }
}

/// Which end of a road a link touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ContactPoint {
    Start,
    End,
}

/// A road's predecessor or successor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Link {
    /// Another road, touched at one of its ends.
    Road { road: RoadId, contact: ContactPoint },
    /// A junction.
    Junction(JunctionId),
}

/// Traffic light or sign.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum SignalKind {
    /// A three-aspect vehicle traffic light.
    TrafficLight,
    /// A pedestrian light at a crosswalk.
    PedestrianLight,
    Stop,
    Yield,
    /// A speed-limit sign.
    SpeedLimit {
        limit_kph: u32,
    },
}

/// A signal placed on a road.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub id: SignalId,
    pub kind: SignalKind,
    pub s_m: f64,
    pub t_m: f64,
    /// Height of the signal's bottom above the road.
    pub z_offset_m: f64,
    /// `true`: applies to traffic along `+s`; `false`: along `-s`.
    pub facing_forward: bool,
    /// The controller switching it (lights only).
    pub controller: Option<ControllerId>,
    /// The lanes it governs, `(from, to)` lane ids.
    pub valid_lanes: (i32, i32),
}

/// A fixed-time slot of a signal cycle: green from `green_start_s` for `green_s`, then amber
/// for `amber_s`, red for the rest of the cycle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PhaseTiming {
    pub cycle_s: f64,
    pub green_start_s: f64,
    pub green_s: f64,
    pub amber_s: f64,
}

/// What a light shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LightState {
    Green,
    Amber,
    Red,
}

impl PhaseTiming {
    /// The state at time `t_s` (the cycle starts at 0).
    pub fn state_at(&self, t_s: f64) -> LightState {
        let u = (t_s - self.green_start_s).rem_euclid(self.cycle_s);
        if u < self.green_s {
            LightState::Green
        } else if u < self.green_s + self.amber_s {
            LightState::Amber
        } else {
            LightState::Red
        }
    }
}

/// A group of signals that switch together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Controller {
    pub id: ControllerId,
    pub junction: JunctionId,
    pub signals: Vec<(RoadId, SignalId)>,
    pub timing: PhaseTiming,
}

/// Roadside and surface objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ObjectKind {
    Crosswalk,
    Tree,
    /// A street lamp or utility pole.
    Pole,
    Building,
    /// A guard rail running `length_m` along the road.
    GuardRail,
    ParkedVehicle,
    /// The raised centre island of a roundabout.
    TrafficIsland,
}

/// An object placed on or beside a road.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoadObject {
    pub id: ObjectId,
    pub kind: ObjectKind,
    pub s_m: f64,
    pub t_m: f64,
    /// For objects running along the road (guard rails): lateral offset at `s + length`.
    pub t_end_m: f64,
    /// Heading relative to the road at `s`.
    pub heading_rad: f64,
    /// Extent along the object's heading (for a guard rail: along the road).
    pub length_m: f64,
    pub width_m: f64,
    pub height_m: f64,
    /// For areas (crosswalks, islands): the outline as `(u, v)` corners in the object's
    /// frame (`u` along its heading, `v` to the left), relative to its position.
    pub outline: Vec<(f64, f64)>,
}

/// A structure carrying a road over another.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bridge {
    pub s_m: f64,
    pub length_m: f64,
}

/// A road: a reference line with lanes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Road {
    pub id: RoadId,
    pub name: String,
    pub class: RoadClass,
    /// Set for a junction's connecting roads.
    pub junction: Option<JunctionId>,
    pub reference_line: ReferenceLine,
    /// Lateral shift of the centre lane, in absolute `s`.
    pub lane_offset: CubicProfile,
    /// Height of the reference line, in absolute `s`.
    pub elevation: CubicProfile,
    /// Roll angle of the cross-section about the reference line (radians; positive: the
    /// road falls to the right, as in OpenDRIVE).
    pub superelevation: CubicProfile,
    pub sections: Vec<LaneSection>,
    pub predecessor: Option<Link>,
    pub successor: Option<Link>,
    pub speed_limit_mps: f64,
    pub signals: Vec<Signal>,
    pub objects: Vec<RoadObject>,
    pub bridges: Vec<Bridge>,
}

/// One connecting road of a junction and the lanes it links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub id: u32,
    pub incoming: RoadId,
    pub connecting: RoadId,
    /// Where the connecting road touches the incoming road.
    pub contact: ContactPoint,
    /// `(incoming lane, connecting lane)` pairs.
    pub lane_links: Vec<(i32, i32)>,
}

/// What a junction is, for people and behaviour models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum JunctionKind {
    Intersection,
    Roundabout,
    /// Motorway diverge or merge.
    Ramp,
}

/// Right of way at an unsignalised junction: traffic from `high` has priority over `low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Priority {
    pub high: RoadId,
    pub low: RoadId,
}

/// A junction: where connecting roads link incoming roads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Junction {
    pub id: JunctionId,
    pub name: String,
    pub kind: JunctionKind,
    pub connections: Vec<Connection>,
    pub controllers: Vec<ControllerId>,
    pub priorities: Vec<Priority>,
    /// Centre of the junction area, for previews and queries.
    pub center: Point2,
}

/// One road of the main route, travelled along `+s` (`forward`) or `-s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStep {
    pub road: RoadId,
    pub forward: bool,
}

/// A lane-level road network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    pub traffic_side: TrafficSide,
    /// Dense, indexed by `RoadId`.
    pub roads: Vec<Road>,
    /// Dense, indexed by `JunctionId`.
    pub junctions: Vec<Junction>,
    /// Dense, indexed by `ControllerId`.
    pub controllers: Vec<Controller>,
    /// The main route, in driving order.
    pub main_route: Vec<RouteStep>,
}

impl Road {
    /// Length of the reference line.
    pub fn length_m(&self) -> f64 {
        self.reference_line.length_m()
    }
    /// `s` at one end of the road.
    pub fn contact_s_m(&self, c: ContactPoint) -> f64 {
        match c {
            ContactPoint::Start => 0.0,
            ContactPoint::End => self.length_m(),
        }
    }
    /// Index of the lane section at one end of the road.
    pub fn contact_section(&self, c: ContactPoint) -> usize {
        match c {
            ContactPoint::Start => 0,
            ContactPoint::End => self.sections.len() - 1,
        }
    }
    /// Index of the section containing `s`.
    pub fn section_index(&self, s_m: f64) -> usize {
        self.sections
            .partition_point(|sec| sec.s_m <= s_m)
            .saturating_sub(1)
    }
    /// End of section `i`.
    pub fn section_end_m(&self, i: usize) -> f64 {
        self.sections.get(i + 1).map_or(self.length_m(), |n| n.s_m)
    }
    /// Width of lane `id` of section `i` at absolute `s`.
    pub fn lane_width_m(&self, i: usize, id: i32, s_m: f64) -> f64 {
        let sec = &self.sections[i];
        sec.lane(id)
            .map_or(0.0, |l| l.width.value(s_m - sec.s_m).max(0.0))
    }
    /// Lateral offsets `(inner, outer)` of lane `id`'s borders at `s` (section `i`).
    pub fn lane_borders_t(&self, i: usize, id: i32, s_m: f64) -> (f64, f64) {
        let base = self.lane_offset.value(s_m);
        let sec = &self.sections[i];
        let ds = s_m - sec.s_m;
        let (lanes, sign) = if id >= 0 {
            (&sec.left, 1.0)
        } else {
            (&sec.right, -1.0)
        };
        let mut t = base;
        let n = id.unsigned_abs() as usize;
        for lane in lanes.iter().take(n.saturating_sub(1)) {
            t += sign * lane.width.value(ds).max(0.0);
        }
        let inner = t;
        let outer = if n == 0 {
            t
        } else {
            t + sign * lanes.get(n - 1).map_or(0.0, |l| l.width.value(ds).max(0.0))
        };
        (inner, outer)
    }
    /// Lateral offset of lane `id`'s centre at `s`.
    pub fn lane_center_t(&self, i: usize, id: i32, s_m: f64) -> f64 {
        let (a, b) = self.lane_borders_t(i, id, s_m);
        0.5 * (a + b)
    }
    /// Lateral extent `(right edge, left edge)` of the whole road surface at `s`.
    pub fn edges_t(&self, s_m: f64) -> (f64, f64) {
        let i = self.section_index(s_m);
        let sec = &self.sections[i];
        let left = self.lane_borders_t(i, sec.left.len() as i32, s_m).1;
        let right = self.lane_borders_t(i, -(sec.right.len() as i32), s_m).1;
        (right, left)
    }
    /// Height of the road surface at `(s, t)`.
    pub fn z_at(&self, s_m: f64, t_m: f64) -> f64 {
        let roll_rad = self.superelevation.value(s_m);
        // tan(0) is 0 (and tan(-0) is -0): flat roads, most of them, skip the call.
        let slope = if roll_rad == 0.0 {
            roll_rad
        } else {
            roll_rad.tan()
        };
        self.elevation.value(s_m) + t_m * slope
    }
    /// World position of `(s, t)`.
    pub fn point_at(&self, s_m: f64, t_m: f64) -> Point2 {
        self.reference_line.point_at(s_m, t_m)
    }
    /// Pose of the centre of lane `id` at `s`, heading along `+s`.
    pub fn lane_pose(&self, i: usize, id: i32, s_m: f64) -> Pose2 {
        self.reference_line
            .pose(s_m)
            .offset(self.lane_center_t(i, id, s_m))
    }
    /// Whether lanes with this id run along `+s` under the given traffic rule.
    pub fn lane_runs_forward(id: i32, side: TrafficSide) -> bool {
        match side {
            TrafficSide::Right => id < 0,
            TrafficSide::Left => id > 0,
        }
    }
    /// Samples of lane `id`'s centre line over section `i`, at most `step_m` apart, as
    /// `(s, point, z)` in `+s` order.
    pub fn lane_center_line(&self, i: usize, id: i32, step_m: f64) -> Vec<(f64, Point2, f64)> {
        let (s0, s1) = (self.sections[i].s_m, self.section_end_m(i));
        let n = (((s1 - s0) / step_m).ceil() as usize).max(1);
        (0..=n)
            .map(|k| {
                let s = s0 + (s1 - s0) * k as f64 / n as f64;
                let t = self.lane_center_t(i, id, s);
                (s, self.point_at(s, t), self.z_at(s, t))
            })
            .collect()
    }
}

impl Network {
    /// The road with this id.
    pub fn road(&self, id: RoadId) -> &Road {
        &self.roads[id.index()]
    }
    /// The junction with this id.
    pub fn junction(&self, id: JunctionId) -> &Junction {
        &self.junctions[id.index()]
    }
    /// Length of the main route along its reference lines.
    pub fn main_route_length_m(&self) -> f64 {
        self.main_route
            .iter()
            .map(|st| self.road(st.road).length_m())
            .sum()
    }
    /// Every signal with its road, in road order.
    pub fn signals(&self) -> impl Iterator<Item = (&Road, &Signal)> {
        self.roads
            .iter()
            .flat_map(|r| r.signals.iter().map(move |s| (r, s)))
    }
    /// Every object with its road, in road order.
    pub fn objects(&self) -> impl Iterator<Item = (&Road, &RoadObject)> {
        self.roads
            .iter()
            .flat_map(|r| r.objects.iter().map(move |o| (r, o)))
    }
    /// Total reference-line length of all roads.
    pub fn total_length_m(&self) -> f64 {
        self.roads.iter().map(Road::length_m).sum()
    }
}
