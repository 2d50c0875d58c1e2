//! CommonRoad 2020a export of a recorded scenario (`scenario.cr.xml`).
//!
//! The file holds:
//! - the **lanelet network** derived from the road model: one lanelet per lane of every lane
//!   section (driving lanes, shoulders, bicycle lanes, parking lanes, sidewalks and
//!   restricted lanes; borders, medians and the centre lane have no lanelet), its bounds
//!   sampled along the reference line and thinned where dropping a point moves neither bound
//!   by more than [`BOUND_TOLERANCE_M`], with predecessors and successors in the driving
//!   direction (lane links, road links and junction connections) and left/right neighbours
//!   with their driving direction;
//! - **obstacles**: every road user present at the window's first frame, as a dynamic
//!   obstacle with its recorded trajectory (one state per time step while it is in the
//!   scene) or, for parked cars and standing obstacles that stay the whole window, as a
//!   static obstacle;
//! - the **ego** twice: as a dynamic obstacle (so criticality tools such as CommonRoad-CriMe
//!   can measure it against the others) and as the **planning problem**: its first state,
//!   and as goal the ground it reached at the window's end (a rectangle along its heading),
//!   any time within the window;
//! - the **environment** (time of day, weather, road surface) where commonroad-io can read
//!   it back, and scenario tags given by the caller.
//!
//! CommonRoad 2020a fixes every obstacle's initial state at time step 0 (the XSD's
//! `integerExactZero`): a road user cannot enter a scenario after it starts. The export
//! therefore covers a window of the recording (see [`window`]) whose first frame is time step
//! 0, and road users that enter during the window are left out (their number is written in
//! a comment at the top of the file). Positions are box centres, as CommonRoad's rectangles
//! are centred on the state's position; lengths in metres, to the millimetre.
//!
//! The environment element is written only when both the XSD and commonroad-io accept its
//! values: the schema's `day` and `sunny` are not in commonroad-io's enumerations, so clear
//! and overcast weather have no environment element, and daytime is written as `unknown`.

use crate::xml::{Xml, int, push_decimal, txt};
use roadworld_geom::Point2;
use roadworld_road::query::continuation;
use roadworld_road::{LaneRef, LaneType, Network, Road, RoadClass};
use roadworld_sim::record::{ActorRecord, Recording, Sample};
use roadworld_spec::{ActorKind, Environment, Weather};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::ops::Range;

/// The CommonRoad version written.
pub const COMMONROAD_VERSION: &str = "2020a";

/// Largest distance (m) thinning may move a lanelet bound.
pub const BOUND_TOLERANCE_M: f64 = 0.02;

/// Spacing (m) of the samples lanelet bounds are thinned from.
pub const BOUND_STEP_M: f64 = 1.0;

/// Lanes narrower than this everywhere get no lanelet.
const MIN_WIDTH_M: f64 = 0.05;

/// Inside a section, bound samples of a lane narrower than this are dropped (its bounds
/// would meet once rounded to the millimetre).
const SLIVER_M: f64 = 0.01;

/// What the scenario file says besides the network and the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct CommonRoadInfo<'a> {
    /// CommonRoad benchmark id, e.g. `ZAM_Roadworld-1_12_T-1`.
    pub benchmark_id: &'a str,
    pub environment: Environment,
    /// Scenario tags (elements of the schema's `scenarioTags`: `interstate`, `urban`,
    /// `cut_in`, `critical`, ...), written in the order given.
    pub tags: &'a [&'a str],
    /// Frames of the recording the scenario covers; its time step 0 is `frames.start`.
    pub frames: Range<usize>,
    /// Road users are written only if they come this close (m, between box centres) to the
    /// ego during the window, and only until they last are (`None`: everyone, to the end).
    pub radius_m: Option<f64>,
    /// Lines written as comments at the top of the file.
    pub remarks: &'a [String],
}

/// The frames a CommonRoad scenario of `rec` covers: from the latest first appearance among
/// the ego and the road users in `needed` (so they are all in it from its start) to the end.
pub fn window(rec: &Recording, needed: &[u32]) -> Range<usize> {
    let n = rec.frames();
    let start = rec
        .actors
        .iter()
        .enumerate()
        .filter(|(i, a)| a.ego || needed.contains(&(*i as u32)))
        .map(|(_, a)| a.first_frame as usize)
        .max()
        .unwrap_or(0);
    start.min(n.saturating_sub(2))..n
}

/// The frames from `lead_s` before frame `at` to `trail_s` after it, starting no earlier than
/// the ego and the road users in `with` appear (at most at `at`).
pub fn window_around(
    rec: &Recording,
    at: usize,
    with: &[u32],
    lead_s: f64,
    trail_s: f64,
) -> Range<usize> {
    let n = rec.frames();
    let at = at.min(n.saturating_sub(1));
    let lead = (lead_s / rec.step_s).round() as usize;
    let trail = (trail_s / rec.step_s).round() as usize;
    let appear = rec
        .actors
        .iter()
        .enumerate()
        .filter(|(i, a)| a.ego || with.contains(&(*i as u32)))
        .map(|(_, a)| a.first_frame as usize)
        .max()
        .unwrap_or(0);
    let start = at
        .saturating_sub(lead)
        .max(appear)
        .min(at)
        .min(n.saturating_sub(2));
    let end = (at + trail + 1).min(n).max((start + 2).min(n));
    start..end
}

/// A lanelet built from one lane of one lane section.
#[derive(Debug, Clone, PartialEq)]
pub struct Lanelet {
    pub id: u32,
    pub lane: LaneRef,
    pub kind: LaneType,
    /// Bounds in the driving direction, with the same number of points.
    pub left: Vec<Point2>,
    pub right: Vec<Point2>,
    pub predecessors: Vec<u32>,
    pub successors: Vec<u32>,
    /// Neighbour on the left and whether it runs the same way.
    pub adjacent_left: Option<(u32, bool)>,
    pub adjacent_right: Option<(u32, bool)>,
    /// CommonRoad lanelet types.
    pub types: Vec<&'static str>,
}

fn exported(kind: LaneType) -> bool {
    matches!(
        kind,
        LaneType::Driving
            | LaneType::Shoulder
            | LaneType::Biking
            | LaneType::Parking
            | LaneType::Sidewalk
            | LaneType::Restricted
    )
}

fn lanelet_types(road: &Road, kind: LaneType) -> Vec<&'static str> {
    let mut t = vec![match kind {
        LaneType::Driving => match road.class {
            RoadClass::Motorway => "interstate",
            RoadClass::Rural => "country",
            RoadClass::Urban => "urban",
        },
        LaneType::Shoulder => "shoulder",
        LaneType::Biking => "bicycleLane",
        LaneType::Parking => "parking",
        LaneType::Sidewalk => "sidewalk",
        _ => "restricted",
    }];
    if road.junction.is_some() {
        t.push("intersection");
    }
    t
}

fn distance_to_chord(a: Point2, b: Point2, u: f64, p: Point2) -> f64 {
    let q = a + (b - a) * u;
    (p - q).norm()
}

/// Samples and thins the bounds of lane `id` of section `i`, in the driving direction.
fn bounds(net: &Network, road: &Road, i: usize, id: i32) -> Option<(Vec<Point2>, Vec<Point2>)> {
    let (s0, s1) = (road.sections[i].s_m, road.section_end_m(i));
    let n = (((s1 - s0) / BOUND_STEP_M).ceil() as usize).max(1);
    let mut ss: Vec<f64> = (0..=n)
        .map(|k| s0 + (s1 - s0) * k as f64 / n as f64)
        .collect();
    let width = |s: f64| road.lane_width_m(i, id, s);
    if ss.iter().all(|&s| width(s) < MIN_WIDTH_M) {
        return None;
    }
    // Tapers: between the section's ends, samples where the lane is (nearly) closed are
    // dropped, so the outline never runs back along itself (a valid polygon) while the
    // lanelet still spans the whole section (its ends meet its neighbours').
    let last = ss.len() - 1;
    let mut k = 0;
    ss.retain(|&s| {
        let keep = k == 0 || k == last || width(s) >= SLIVER_M;
        k += 1;
        keep
    });
    let forward = Road::lane_runs_forward(id, net.traffic_side);
    if !forward {
        ss.reverse();
    }
    let (mut left, mut right) = (Vec::with_capacity(ss.len()), Vec::with_capacity(ss.len()));
    for &s in &ss {
        let (inner, outer) = road.lane_borders_t(i, id, s);
        let (lo, hi) = if inner < outer {
            (inner, outer)
        } else {
            (outer, inner)
        };
        // Driving along +s the left bound has the larger t; against it, the smaller.
        let (l, r) = if forward { (hi, lo) } else { (lo, hi) };
        left.push(road.point_at(s, l));
        right.push(road.point_at(s, r));
    }
    let keep = crate::thin_by(ss.len(), |a, b| {
        let span = ss[b] - ss[a];
        (a + 1..b).all(|k| {
            let u = if span != 0.0 {
                (ss[k] - ss[a]) / span
            } else {
                0.0
            };
            distance_to_chord(left[a], left[b], u, left[k]) <= BOUND_TOLERANCE_M
                && distance_to_chord(right[a], right[b], u, right[k]) <= BOUND_TOLERANCE_M
        })
    });
    Some((
        keep.iter().map(|&k| left[k]).collect(),
        keep.iter().map(|&k| right[k]).collect(),
    ))
}

/// The lanelets of a network, numbered from 1 in lane order (road, section, lane).
pub fn lanelets(net: &Network) -> Vec<Lanelet> {
    let mut out = Vec::new();
    for road in &net.roads {
        for (i, sec) in road.sections.iter().enumerate() {
            for lane in sec.side_lanes() {
                if !exported(lane.kind) {
                    continue;
                }
                let Some((left, right)) = bounds(net, road, i, lane.id) else {
                    continue;
                };
                out.push(Lanelet {
                    id: out.len() as u32 + 1,
                    lane: LaneRef {
                        road: road.id,
                        section: i as u32,
                        lane: lane.id,
                    },
                    kind: lane.kind,
                    left,
                    right,
                    predecessors: Vec::new(),
                    successors: Vec::new(),
                    adjacent_left: None,
                    adjacent_right: None,
                    types: lanelet_types(road, lane.kind),
                });
            }
        }
    }
    let ids: BTreeMap<LaneRef, u32> = out.iter().map(|l| (l.lane, l.id)).collect();
    let side = net.traffic_side;
    for l in out.iter_mut() {
        let lane = l.lane;
        let forward = Road::lane_runs_forward(lane.lane, side);
        let ends = |at_end: bool| -> Vec<u32> {
            let mut v: Vec<u32> = continuation(net, lane, at_end)
                .into_iter()
                .filter_map(|l| ids.get(&l).copied())
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        l.successors = ends(forward);
        l.predecessors = ends(!forward);
        // Neighbours: the lane with the next larger t is on the left when driving along +s.
        let toward = |up: bool| -> Option<(u32, bool)> {
            let id = lane.lane;
            let next = match (up, id) {
                (true, -1) => 1,
                (false, 1) => -1,
                (true, _) => id + 1,
                (false, _) => id - 1,
            };
            if next == 0 {
                return None;
            }
            let other = ids.get(&LaneRef { lane: next, ..lane })?;
            Some((*other, Road::lane_runs_forward(next, side) == forward))
        };
        l.adjacent_left = toward(forward);
        l.adjacent_right = toward(!forward);
    }
    // Junctions list their connections from the incoming roads only: a link found one way
    // holds the other way too.
    let links: Vec<(u32, u32)> = out
        .iter()
        .flat_map(|l| {
            let from = l.successors.iter().map(move |&s| (l.id, s));
            let to = l.predecessors.iter().map(move |&p| (p, l.id));
            from.chain(to)
        })
        .collect();
    for (a, b) in links {
        let (ia, ib) = (a as usize - 1, b as usize - 1);
        if !out[ia].successors.contains(&b) {
            out[ia].successors.push(b);
            out[ia].successors.sort_unstable();
        }
        if !out[ib].predecessors.contains(&a) {
            out[ib].predecessors.push(a);
            out[ib].predecessors.sort_unstable();
        }
    }
    out
}

fn point(x: &mut Xml, p: Point2) {
    x.open("point", &[]);
    x.decimal("x", p.x, 3);
    x.decimal("y", p.y, 3);
    x.close("point");
}

fn write_lanelet(x: &mut Xml, l: &Lanelet) {
    x.open("lanelet", &[("id", int(l.id))]);
    for (tag, pts) in [("leftBound", &l.left), ("rightBound", &l.right)] {
        x.open(tag, &[]);
        for p in pts.iter() {
            point(x, *p);
        }
        x.close(tag);
    }
    for p in &l.predecessors {
        x.empty("predecessor", &[("ref", int(*p))]);
    }
    for s in &l.successors {
        x.empty("successor", &[("ref", int(*s))]);
    }
    for (tag, adj) in [
        ("adjacentLeft", l.adjacent_left),
        ("adjacentRight", l.adjacent_right),
    ] {
        if let Some((id, same)) = adj {
            x.empty(
                tag,
                &[
                    ("ref", int(id)),
                    ("drivingDir", txt(if same { "same" } else { "opposite" })),
                ],
            );
        }
    }
    for t in &l.types {
        x.leaf("laneletType", t);
    }
    let (one_way, both): (&[&str], &[&str]) = match l.kind {
        LaneType::Driving => (&["vehicle"], &[]),
        LaneType::Biking => (&["bicycle"], &[]),
        LaneType::Sidewalk => (&[], &["pedestrian"]),
        _ => (&[], &[]),
    };
    for u in one_way {
        x.leaf("userOneWay", u);
    }
    for u in both {
        x.leaf("userBidirectional", u);
    }
    x.close("lanelet");
}

fn obstacle_type(k: ActorKind) -> &'static str {
    match k {
        ActorKind::Car | ActorKind::Van => "car",
        ActorKind::Truck => "truck",
        ActorKind::Bus => "bus",
        ActorKind::Motorcycle => "motorcycle",
        ActorKind::Bicycle => "bicycle",
        ActorKind::Pedestrian => "pedestrian",
        ActorKind::Animal | ActorKind::StaticObstacle => "unknown",
    }
}

fn wrap_angle(a: f64) -> f64 {
    let t = a.rem_euclid(std::f64::consts::TAU);
    if t > std::f64::consts::PI {
        t - std::f64::consts::TAU
    } else {
        t
    }
}

fn exact(x: &mut Xml, tag: &str, v: f64, places: usize) {
    x.open(tag, &[]);
    x.decimal("exact", v, places);
    x.close(tag);
}

fn shape(x: &mut Xml, length_m: f64, width_m: f64) {
    x.open("shape", &[]);
    x.open("rectangle", &[]);
    x.decimal("length", length_m.max(0.01), 3);
    x.decimal("width", width_m.max(0.01), 3);
    x.close("rectangle");
    x.close("shape");
}

/// A state (`initialState` at time 0 or a trajectory `state` at time `k`), one line each for
/// compactness: `<state><position><point><x>..`.
fn state(out: &mut String, tag: &str, s: &Sample, k: usize, motion: bool) {
    let _ = write!(out, "<{tag}><position><point><x>");
    push_decimal(out, f64::from(s.x_m), 3);
    out.push_str("</x><y>");
    push_decimal(out, f64::from(s.y_m), 3);
    out.push_str("</y></point></position><orientation><exact>");
    push_decimal(out, wrap_angle(f64::from(s.heading_rad)), 4);
    let _ = write!(out, "</exact></orientation><time><exact>{k}</exact></time>");
    if motion {
        out.push_str("<velocity><exact>");
        push_decimal(out, f64::from(s.speed_mps), 3);
        out.push_str("</exact></velocity><acceleration><exact>");
        push_decimal(out, f64::from(s.accel_mps2), 3);
        out.push_str("</exact></acceleration>");
    }
    let _ = writeln!(out, "</{tag}>");
}

fn tags(x: &mut Xml, tags: &[&str]) {
    x.open("scenarioTags", &[]);
    for t in tags {
        x.empty(t, &[]);
    }
    x.close("scenarioTags");
}

fn location(x: &mut Xml, env: &Environment) {
    x.open("location", &[]);
    x.leaf("geoNameId", "-999");
    x.leaf("gpsLatitude", "999");
    x.leaf("gpsLongitude", "999");
    let weather = match env.weather {
        Weather::Rain { intensity } if intensity < 0.5 => Some("light_rain"),
        Weather::Rain { .. } => Some("heavy_rain"),
        Weather::Fog { .. } => Some("fog"),
        Weather::Snow { .. } => Some("snow"),
        Weather::Clear | Weather::Overcast => None,
    };
    if let Some(w) = weather {
        x.open("environment", &[]);
        let mins = (env.time_of_day_h.clamp(0.0, 24.0) * 60.0)
            .round()
            .min(1439.0) as u32;
        x.leaf("time", &format!("{:02}:{:02}:00", mins / 60, mins % 60));
        let night = env.sun().elevation_rad < 0.0;
        x.leaf("timeOfDay", if night { "night" } else { "unknown" });
        x.leaf("weather", w);
        let ground = match env.weather {
            Weather::Snow { .. } => "snow",
            _ => "wet",
        };
        x.leaf("underground", ground);
        x.close("environment");
    }
    x.close("location");
}

/// `<!-- actor N (kind id[, the ego]) -->` before an obstacle's element: the recording's
/// actor index and the road user's id, so readers can find any actor in the export.
fn actor_comment(out: &mut String, index: usize, a: &ActorRecord) {
    let _ = writeln!(
        out,
        "<!-- actor {index} ({} {}{}) -->",
        a.kind.name(),
        a.id.0,
        if a.ego { ", the ego" } else { "" }
    );
}

/// One road user in the window: its samples, frame by frame from the window's start.
struct Track<'a> {
    actor: usize,
    samples: Vec<&'a Sample>,
    /// Present (standing) for the whole window.
    standing: bool,
}

fn tracks<'a>(
    rec: &'a Recording,
    frames: &Range<usize>,
) -> (Vec<Track<'a>>, std::collections::BTreeSet<u32>) {
    let mut by_actor: BTreeMap<usize, Track<'a>> = BTreeMap::new();
    for s in rec.frame_all(frames.start) {
        by_actor.insert(
            s.actor as usize,
            Track {
                actor: s.actor as usize,
                samples: vec![s],
                standing: false,
            },
        );
    }
    let mut late = std::collections::BTreeSet::new();
    for k in frames.start + 1..frames.end {
        for s in rec.frame(k) {
            match by_actor.get_mut(&(s.actor as usize)) {
                // Only while present without a gap since the window's start.
                Some(t) if t.samples.len() == k - frames.start => t.samples.push(s),
                Some(_) => {}
                None => {
                    late.insert(s.actor);
                }
            }
        }
    }
    for s in &rec.statics {
        let a = &rec.actors[s.actor as usize];
        let last = if a.last_frame == u32::MAX {
            usize::MAX
        } else {
            a.last_frame as usize
        };
        if let Some(t) = by_actor.get_mut(&(s.actor as usize)) {
            t.standing = last >= frames.end - 1;
            if !t.standing {
                // Leaves during the window: written as a dynamic obstacle standing still.
                let n = last.min(frames.end - 1) + 1 - frames.start;
                t.samples = vec![s; n];
            }
        } else if (a.first_frame as usize) < frames.end && last >= frames.start {
            late.insert(s.actor);
        }
    }
    (by_actor.into_values().collect(), late)
}

/// Keeps in `late` the road users that come within `radius_m` of the ego during the window.
fn late_ones_near_the_ego(
    rec: &Recording,
    frames: &Range<usize>,
    tracks: &[Track<'_>],
    late: &mut std::collections::BTreeSet<u32>,
    radius_m: f64,
) {
    let Some(ego) = tracks.iter().find(|t| rec.actors[t.actor].ego) else {
        return;
    };
    let mut near = std::collections::BTreeSet::new();
    for (i, k) in frames.clone().enumerate() {
        let Some(e) = ego.samples.get(i) else { break };
        for s in rec.frame_all(k).filter(|s| late.contains(&s.actor)) {
            let d2 = (s.x_m - e.x_m).powi(2) + (s.y_m - e.y_m).powi(2);
            if f64::from(d2) <= radius_m * radius_m {
                near.insert(s.actor);
            }
        }
    }
    *late = near;
}

/// Keeps the tracks that come within `radius_m` of the ego's, each cut after the last frame
/// it does (standing ones are kept whole); returns how many were dropped.
fn near_the_ego(rec: &Recording, tracks: &mut Vec<Track<'_>>, radius_m: f64) -> usize {
    let Some(ego) = tracks.iter().position(|t| rec.actors[t.actor].ego) else {
        return 0;
    };
    let ego_xy: Vec<(f64, f64)> = tracks[ego]
        .samples
        .iter()
        .map(|s| (f64::from(s.x_m), f64::from(s.y_m)))
        .collect();
    let r2 = radius_m * radius_m;
    let before = tracks.len();
    tracks.retain_mut(|t| {
        let near = |k: usize, s: &Sample| {
            let (ex, ey) = ego_xy[k.min(ego_xy.len() - 1)];
            (f64::from(s.x_m) - ex).powi(2) + (f64::from(s.y_m) - ey).powi(2) <= r2
        };
        let last = t
            .samples
            .iter()
            .enumerate()
            .rev()
            .find(|(k, s)| near(*k, s))
            .map(|(k, _)| k);
        match last {
            None => false,
            Some(_) if t.standing || rec.actors[t.actor].ego => true,
            Some(k) => {
                t.samples.truncate(k + 1);
                true
            }
        }
    });
    before - tracks.len()
}

/// The CommonRoad 2020a document of a recorded scenario on `net`.
pub fn to_commonroad(net: &Network, rec: &Recording, info: &CommonRoadInfo<'_>) -> String {
    let frames = info.frames.start..info.frames.end.min(rec.frames());
    let (mut tracks, mut late) = tracks(rec, &frames);
    let far = match info.radius_m {
        Some(r) => {
            late_ones_near_the_ego(rec, &frames, &tracks, &mut late, r);
            near_the_ego(rec, &mut tracks, r)
        }
        None => 0,
    };
    let late = late.len();
    let lanelets = lanelets(net);
    let bytes =
        4096 + lanelets.len() * 2048 + tracks.iter().map(|t| t.samples.len() * 190).sum::<usize>();
    let mut x = Xml::with_capacity(bytes);
    x.pretty = false;
    let _ = writeln!(
        x.out,
        "<!-- roadworld: recording frames {}..{} (time step 0 = {:.3} s of the scene); {late} road user(s) entering later (within the radius below) are not written (CommonRoad 2020a starts every obstacle at time step 0); {far} never within {} m of the ego left out -->",
        frames.start,
        frames.end,
        frames.start as f64 * rec.step_s,
        info.radius_m.unwrap_or(f64::INFINITY)
    );
    for r in info.remarks {
        let _ = writeln!(x.out, "<!-- {} -->", r.replace("--", "- -"));
    }
    let mut step = String::new();
    push_decimal(&mut step, rec.step_s, 6);
    x.open(
        "commonRoad",
        &[
            ("commonRoadVersion", txt(COMMONROAD_VERSION)),
            ("benchmarkID", txt(info.benchmark_id)),
            (
                "date",
                txt(&crate::xosc::date_time(&info.environment)[..10]),
            ),
            ("author", txt("roadworld")),
            ("affiliation", txt("roadworld")),
            (
                "source",
                txt(concat!(
                    "roadworld ",
                    env!("CARGO_PKG_VERSION"),
                    " (procedural)"
                )),
            ),
            ("timeStepSize", txt(&step)),
        ],
    );
    location(&mut x, &info.environment);
    tags(&mut x, info.tags);
    for l in &lanelets {
        write_lanelet(&mut x, l);
    }
    let first_obstacle = lanelets.len() as u32 + 1;
    let ego = tracks.iter().position(|t| rec.actors[t.actor].ego);
    // Static obstacles first (the schema's order), then dynamic ones, then the problem.
    let mut id = first_obstacle;
    for t in tracks.iter().filter(|t| t.standing) {
        let a = &rec.actors[t.actor];
        let kind = match a.kind {
            ActorKind::StaticObstacle => "unknown",
            _ => "parkedVehicle",
        };
        // Named like the dynamic ones, so readers can find any actor (the CriMe
        // cross-check looks up the road user of the least TTC by it).
        actor_comment(&mut x.out, t.actor, a);
        x.open("staticObstacle", &[("id", int(id))]);
        x.leaf("type", kind);
        shape(&mut x, f64::from(a.length_m), f64::from(a.width_m));
        state(&mut x.out, "initialState", t.samples[0], 0, false);
        x.close("staticObstacle");
        id += 1;
    }
    let mut ego_obstacle = None;
    for (ti, t) in tracks.iter().enumerate().filter(|(_, t)| !t.standing) {
        if t.samples.len() < 2 {
            continue;
        }
        let a = &rec.actors[t.actor];
        if Some(ti) == ego {
            ego_obstacle = Some(id);
        }
        actor_comment(&mut x.out, t.actor, a);
        x.open("dynamicObstacle", &[("id", int(id))]);
        x.leaf("type", obstacle_type(a.kind));
        shape(&mut x, f64::from(a.length_m), f64::from(a.width_m));
        state(&mut x.out, "initialState", t.samples[0], 0, true);
        x.open("trajectory", &[]);
        for (k, s) in t.samples.iter().enumerate().skip(1) {
            state(&mut x.out, "state", s, k, true);
        }
        x.close("trajectory");
        x.close("dynamicObstacle");
        id += 1;
    }
    if let Some(e) = ego {
        planning_problem(&mut x, rec, &tracks[e], id, ego_obstacle);
    }
    x.close("commonRoad");
    x.out
}

/// The ego's planning problem: start where it started, reach where it got to.
fn planning_problem(x: &mut Xml, rec: &Recording, t: &Track<'_>, id: u32, obstacle: Option<u32>) {
    let (s0, s1) = (t.samples[0], t.samples[t.samples.len() - 1]);
    let yaw_rate = t.samples.get(1).map_or(0.0, |n| {
        wrap_angle(f64::from(n.heading_rad) - f64::from(s0.heading_rad)) / rec.step_s
    });
    if let Some(o) = obstacle {
        let _ = writeln!(x.out, "<!-- the ego; also dynamic obstacle {o} -->");
    }
    x.open("planningProblem", &[("id", int(id))]);
    x.open("initialState", &[]);
    x.open("position", &[]);
    point(x, Point2::new(f64::from(s0.x_m), f64::from(s0.y_m)));
    x.close("position");
    exact(x, "velocity", f64::from(s0.speed_mps), 3);
    exact(x, "orientation", wrap_angle(f64::from(s0.heading_rad)), 4);
    exact(x, "yawRate", yaw_rate, 4);
    exact(x, "slipAngle", 0.0, 0);
    x.open("time", &[]);
    x.leaf("exact", "0");
    x.close("time");
    exact(x, "acceleration", f64::from(s0.accel_mps2), 3);
    x.close("initialState");
    x.open("goalState", &[]);
    x.open("time", &[]);
    x.leaf("intervalStart", "0");
    x.leaf("intervalEnd", &(t.samples.len() - 1).max(1).to_string());
    x.close("time");
    x.open("position", &[]);
    x.open("rectangle", &[]);
    let length = (2.0 * f64::from(s1.speed_mps)).max(20.0);
    x.decimal("length", length, 3);
    x.decimal("width", 4.0, 3);
    x.decimal("orientation", wrap_angle(f64::from(s1.heading_rad)), 4);
    x.open("center", &[]);
    x.decimal("x", f64::from(s1.x_m), 3);
    x.decimal("y", f64::from(s1.y_m), 3);
    x.close("center");
    x.close("rectangle");
    x.close("position");
    x.close("goalState");
    x.close("planningProblem");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{self, actor, sample};
    use roadworld_road::{RoadParams, generate};

    fn network(seed: u64) -> Network {
        generate(
            &RoadParams {
                length_m: 2500.0,
                ..RoadParams::default()
            },
            seed,
        )
        .expect("network")
    }

    #[test]
    fn lanelets_meet_their_successors_and_know_their_neighbours() {
        for seed in 0..6 {
            let net = network(seed);
            let ls = lanelets(&net);
            assert!(ls.len() > 20, "seed {seed}: {} lanelets", ls.len());
            let by_id: BTreeMap<u32, &Lanelet> = ls.iter().map(|l| (l.id, l)).collect();
            let mut joints = 0;
            for l in &ls {
                assert!(l.left.len() >= 2 && l.left.len() == l.right.len(), "{l:?}");
                for s in &l.successors {
                    let n = by_id[s];
                    assert!(
                        n.predecessors.contains(&l.id),
                        "{} {} -> {s} {}: {:?} / {:?}",
                        l.id,
                        l.lane,
                        n.lane,
                        l.successors,
                        n.predecessors
                    );
                    let gap_l = (l.left.last().unwrap() - n.left[0]).norm();
                    let gap_r = (l.right.last().unwrap() - n.right[0]).norm();
                    assert!(
                        gap_l < 0.005 && gap_r < 0.005,
                        "seed {seed}: lanelet {} ({}) -> {s} ({}): bounds {gap_l:.4} m and {gap_r:.4} m apart",
                        l.id,
                        l.lane,
                        n.lane
                    );
                    joints += 1;
                }
                for (adj, left) in [(l.adjacent_left, true), (l.adjacent_right, false)] {
                    let Some((id, same)) = adj else { continue };
                    let n = by_id[&id];
                    // A neighbour the same way sees us on its other side; one the other
                    // way, on the same side.
                    let back = if same == left {
                        n.adjacent_right
                    } else {
                        n.adjacent_left
                    };
                    assert_eq!(back, Some((l.id, same)), "{} and {id}", l.id);
                    // They share the bound between them.
                    let (mine, theirs) = match (left, same) {
                        (true, true) => (&l.left, n.right.clone()),
                        (false, true) => (&l.right, n.left.clone()),
                        (true, false) => (&l.left, n.left.iter().rev().copied().collect()),
                        (false, false) => (&l.right, n.right.iter().rev().copied().collect()),
                    };
                    assert!((mine[0] - theirs[0]).norm() < 0.005, "{} / {id}", l.id);
                    assert!(
                        (mine.last().unwrap() - theirs.last().unwrap()).norm() < 0.005,
                        "{} / {id}",
                        l.id
                    );
                }
            }
            assert!(joints > ls.len() / 2, "seed {seed}: {joints} joints");
        }
    }

    #[test]
    fn lanelet_bounds_are_thinned_within_the_tolerance_and_keep_the_lane_ends() {
        let net = network(3);
        let ls = lanelets(&net);
        let mut dense = 0;
        for l in &ls {
            let road = net.road(l.lane.road);
            let i = l.lane.section as usize;
            let (s0, s1) = (road.sections[i].s_m, road.section_end_m(i));
            let forward = Road::lane_runs_forward(l.lane.lane, net.traffic_side);
            // The lanelet spans the section.
            let (first, last) = if forward { (s0, s1) } else { (s1, s0) };
            let ends = |s: f64| {
                let (a, b) = road.lane_borders_t(i, l.lane.lane, s);
                (road.point_at(s, a), road.point_at(s, b))
            };
            for (s, p, q) in [
                (first, l.left[0], l.right[0]),
                (last, *l.left.last().unwrap(), *l.right.last().unwrap()),
            ] {
                let (a, b) = ends(s);
                let d = ((p - a).norm() + (q - b).norm()).min((p - b).norm() + (q - a).norm());
                assert!(d < 1e-6, "lanelet {} end at s {s}: {d}", l.id);
            }
            // Every metre of the lane's border lies within the tolerance of the polyline.
            let n = ((s1 - s0) / 0.5).ceil() as usize;
            for k in 0..=n {
                let s = s0 + (s1 - s0) * k as f64 / n as f64;
                if road.lane_width_m(i, l.lane.lane, s) < SLIVER_M {
                    continue;
                }
                let (a, b) = ends(s);
                let near = |p: Point2, line: &[Point2]| {
                    line.windows(2)
                        .map(|w| {
                            let (u, v) = (w[0], w[1]);
                            let d = v - u;
                            let t = ((p - u).dot(&d) / d.norm_squared().max(1e-12)).clamp(0.0, 1.0);
                            (p - (u + d * t)).norm()
                        })
                        .fold(f64::INFINITY, f64::min)
                };
                let da = near(a, &l.left).min(near(a, &l.right));
                let db = near(b, &l.left).min(near(b, &l.right));
                assert!(
                    da <= BOUND_TOLERANCE_M + 1e-6 && db <= BOUND_TOLERANCE_M + 1e-6,
                    "lanelet {} at s {s}: {da} / {db}",
                    l.id
                );
            }
            dense += ((s1 - s0) / BOUND_STEP_M).ceil() as usize + 1;
        }
        let kept: usize = ls.iter().map(|l| l.left.len()).sum();
        assert!(kept * 4 < dense, "thinning kept {kept} of {dense} points");
    }

    /// An ego along +x at 10 m/s, a car ahead of it, a pedestrian who appears at frame 10, a
    /// parked van, and a car 500 m away.
    fn recording() -> Recording {
        let car = |id, ego| actor(id, ActorKind::Car, 4.5, ego, 0, u32::MAX);
        fixture::recording(
            vec![
                car(10, true),
                car(11, false),
                actor(12, ActorKind::Pedestrian, 4.5, false, 10, u32::MAX),
                actor(13, ActorKind::Van, 4.5, false, 0, u32::MAX),
                car(14, false),
            ],
            |k| {
                let mut f = vec![
                    sample(0, k as f32, 0.0, 10.0),
                    sample(1, 30.0 + 0.5 * k as f32, 0.0, 5.0),
                ];
                if k >= 10 {
                    f.push(sample(2, 20.0, 0.0, 0.0));
                }
                f.push(sample(4, 600.0 + k as f32, 0.0, 10.0));
                f
            },
            vec![sample(3, 50.0, 0.0, 0.0)],
        )
    }

    fn document(rec: &Recording, frames: Range<usize>) -> String {
        let net = network(1);
        to_commonroad(
            &net,
            rec,
            &CommonRoadInfo {
                benchmark_id: "ZAM_Test-1_1_T-1",
                environment: Environment::default(),
                tags: &["simulated", "critical"],
                frames,
                radius_m: Some(200.0),
                remarks: &["a remark -- with dashes".to_string()],
            },
        )
    }

    #[test]
    fn road_users_start_at_time_step_zero_and_the_ego_is_also_the_planning_problem() {
        let rec = recording();
        let text = document(&rec, window(&rec, &[]));
        // The pedestrian enters at frame 10: not written; the far car: left out.
        assert!(
            text.contains("1 road user(s) entering later"),
            "{}",
            &text[..400]
        );
        assert!(text.contains("1 never within 200 m"));
        assert!(text.contains("<!-- a remark - - with dashes -->"));
        assert_eq!(text.matches("<dynamicObstacle ").count(), 2);
        assert_eq!(text.matches("<staticObstacle ").count(), 1);
        assert!(text.contains("<type>parkedVehicle</type>"));
        assert!(!text.contains("<type>pedestrian</type>"));
        // 31 frames: initial state at 0, trajectory states 1..=30, for both moving cars.
        assert_eq!(text.matches("<time><exact>0</exact></time>").count(), 3);
        assert_eq!(text.matches("<state>").count(), 60);
        assert!(text.contains("<time><exact>30</exact></time>"));
        // The planning problem starts where the ego does and aims where it ended.
        let pp = &text[text.find("<planningProblem").expect("planning problem")..];
        assert!(pp.contains("<point>\n<x>0</x>\n<y>0</y>\n</point>"), "{pp}");
        assert!(pp.contains("<intervalEnd>30</intervalEnd>"));
        assert!(pp.contains("<center>\n<x>30</x>"));
        assert!(text.contains("<!-- actor 0 (car 10, the ego) -->"));
        // Standing obstacles are named too, just before their element.
        let parked = text
            .find("<!-- actor 3 (van 13) -->")
            .expect("parked van named");
        assert!(
            text[parked..]
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("<staticObstacle id=")
        );
        // Ids are unique across lanelets, obstacles and the problem.
        let ids: Vec<&str> = text
            .split(" id=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect();
        let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len());
        assert!(text.ends_with("</commonRoad>\n"));

        // From frame 10 the pedestrian is there from the start.
        let later = document(&rec, window(&rec, &[2]));
        assert!(later.contains("recording frames 10..31"));
        assert!(later.contains("<type>pedestrian</type>"));
        assert!(later.contains("0 road user(s) entering later"));
    }

    #[test]
    fn windows_start_before_the_moment_once_everyone_needed_is_there() {
        let rec = recording();
        assert_eq!(window_around(&rec, 25, &[1], 1.0, 0.3), 15..29);
        // The pedestrian appears at 10: the window cannot start earlier.
        assert_eq!(window_around(&rec, 25, &[2], 5.0, 1.0), 10..31);
        // At least two frames, even at the very end.
        assert_eq!(window_around(&rec, 30, &[], 0.0, 0.0), 29..31);
        assert_eq!(window(&rec, &[2]), 10..31);
    }

    #[test]
    fn environment_is_written_only_in_values_commonroad_io_reads() {
        let net = network(1);
        let rec = recording();
        let doc = |weather, time_of_day_h| {
            to_commonroad(
                &net,
                &rec,
                &CommonRoadInfo {
                    benchmark_id: "ZAM_Test-1_1_T-1",
                    environment: Environment {
                        weather,
                        time_of_day_h,
                        ..Environment::default()
                    },
                    tags: &[],
                    frames: 0..31,
                    radius_m: None,
                    remarks: &[],
                },
            )
        };
        assert!(!doc(Weather::Clear, 12.0).contains("<environment>"));
        let fog = doc(Weather::Fog { visibility_m: 80.0 }, 23.5);
        assert!(fog.contains("<time>23:30:00</time>\n<timeOfDay>night</timeOfDay>\n<weather>fog</weather>\n<underground>wet</underground>"), "{}", &fog[..800]);
        let rain = doc(Weather::Rain { intensity: 0.8 }, 12.0);
        assert!(rain.contains("<timeOfDay>unknown</timeOfDay>\n<weather>heavy_rain</weather>"));
    }
}
