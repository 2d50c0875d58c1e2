//! ASAM OpenSCENARIO 1.2 export of a recorded scenario (`scenario.xosc`).
//!
//! The scenario is written as it played out: every road user is an entity (vehicles with
//! their category and dimensions, pedestrians and animals as `Pedestrian`, standing
//! obstacles as `MiscObject`), placed by a `TeleportAction` at its first recorded pose and
//! moved by a `FollowTrajectoryAction` along its recorded trajectory (a polyline with
//! absolute vertex times, `followingMode="position"`). Road users that appear or leave
//! during the scene are hidden (`VisibilityAction`) before and after. The environment (time
//! of day, sun, cloud, fog, precipitation, friction) is set in `Init`, and the storyboard
//! stops at the scene's duration. The road network is the `.xodr` beside it (`LogicFile`).
//!
//! Conventions:
//! - Vehicles' reference point is the centre of the rear axle on the ground, as OpenSCENARIO
//!   defines it: roadworld's box centres are moved back by 30% of the length (wheelbase 60%
//!   of the length, the axles 20% in from each end). Other entities' reference point is the
//!   centre of their footprint.
//! - One element per line without indentation (trajectories make large files).
//! - Positions are written to the millimetre, headings to 1e-4 rad, times to the millisecond.
//! - Trajectory vertices are the recorded samples, thinned where dropping one moves no
//!   interpolated position by more than [`VERTEX_TOLERANCE_M`] (at most [`MAX_VERTEX_GAP_S`]
//!   between vertices).
//! - The date is in 2025 (the scenario fixes the day of the year and the time of day only);
//!   the sun's illuminance is `100000 lx * sin(elevation)`, at least 0.1 lx; precipitation
//!   intensity (0-1 in specs) is written as `precipitationIntensity` of up to 20 mm/h.

use crate::xml::{Xml, int, num, txt};
use roadworld_sim::record::{Recording, Sample};
use roadworld_spec::{ActorKind, Environment, Weather};

/// The OpenSCENARIO version written.
pub const XOSC_REV: (u32, u32) = (1, 2);

/// Largest position error (m) thinning a trajectory may introduce.
pub const VERTEX_TOLERANCE_M: f64 = 0.05;

/// Longest time between two trajectory vertices (s).
pub const MAX_VERTEX_GAP_S: f64 = 5.0;

/// What the scenario file says besides the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct XoscInfo<'a> {
    pub name: &'a str,
    pub description: &'a str,
    /// The road network file, relative to the `.xosc` (e.g. `road.xodr`).
    pub road_file: &'a str,
    pub environment: Environment,
    /// Scene length (s): the storyboard stops then.
    pub duration_s: f64,
}

/// Fraction of a vehicle's length its rear axle sits behind the box centre.
const REAR_AXLE_BACK: f64 = 0.3;

fn is_vehicle(k: ActorKind) -> bool {
    matches!(
        k,
        ActorKind::Car
            | ActorKind::Van
            | ActorKind::Truck
            | ActorKind::Bus
            | ActorKind::Motorcycle
            | ActorKind::Bicycle
    )
}

fn vehicle_category(k: ActorKind) -> &'static str {
    match k {
        ActorKind::Van => "van",
        ActorKind::Truck => "truck",
        ActorKind::Bus => "bus",
        ActorKind::Motorcycle => "motorbike",
        ActorKind::Bicycle => "bicycle",
        _ => "car",
    }
}

/// The entity name of actor `i`.
pub fn entity_name(rec: &Recording, i: usize) -> String {
    let a = &rec.actors[i];
    if a.ego {
        "ego".into()
    } else {
        format!("{}_{}", a.kind.name(), a.id.0)
    }
}

/// Reference point and heading of a sample (x, y, z, h).
fn pose(rec: &Recording, s: &Sample) -> [f64; 4] {
    let a = &rec.actors[s.actor as usize];
    let (x, y, z, h) = (
        f64::from(s.x_m),
        f64::from(s.y_m),
        f64::from(s.z_m),
        f64::from(s.heading_rad),
    );
    if is_vehicle(a.kind) {
        let back = REAR_AXLE_BACK * f64::from(a.length_m);
        [x - back * h.cos(), y - back * h.sin(), z, h]
    } else {
        [x, y, z, h]
    }
}

/// `v` rounded to a multiple of `q` (short, exact decimal text in the file).
fn round_to(v: f64, q: f64) -> f64 {
    (v / q).round() * q
}

fn world_position(x: &mut Xml, p: [f64; 4]) {
    x.open("Position", &[]);
    x.empty(
        "WorldPosition",
        &[
            ("x", num(round_to(p[0], 1e-3))),
            ("y", num(round_to(p[1], 1e-3))),
            ("z", num(round_to(p[2], 1e-3))),
            (
                "h",
                num(round_to(p[3].rem_euclid(std::f64::consts::TAU), 1e-4)),
            ),
            ("p", num(0.0)),
            ("r", num(0.0)),
        ],
    );
    x.close("Position");
}

fn sim_time_trigger(x: &mut Xml, tag: &str, name: &str, at_s: f64) {
    x.open(tag, &[]);
    x.open("ConditionGroup", &[]);
    x.open(
        "Condition",
        &[
            ("name", txt(name)),
            ("delay", num(0.0)),
            ("conditionEdge", txt("rising")),
        ],
    );
    x.open("ByValueCondition", &[]);
    x.empty(
        "SimulationTimeCondition",
        &[("value", num(at_s)), ("rule", txt("greaterOrEqual"))],
    );
    x.close("ByValueCondition");
    x.close("Condition");
    x.close("ConditionGroup");
    x.close(tag);
}

fn visibility(x: &mut Xml, on: bool) {
    let b = if on { "true" } else { "false" };
    x.open("PrivateAction", &[]);
    x.empty(
        "VisibilityAction",
        &[
            ("graphics", txt(b)),
            ("traffic", txt(b)),
            ("sensors", txt(b)),
        ],
    );
    x.close("PrivateAction");
}

/// Indices of the samples kept as trajectory vertices (first and last always).
pub fn thin(times: &[f64], points: &[[f64; 4]]) -> Vec<usize> {
    crate::thin_by(points.len(), |anchor, next| {
        let (a, b) = (points[anchor], points[next]);
        let span = times[next] - times[anchor];
        span <= MAX_VERTEX_GAP_S
            && (anchor + 1..next).all(|i| {
                let u = if span > 0.0 {
                    (times[i] - times[anchor]) / span
                } else {
                    0.0
                };
                let p = points[i];
                let d = [0, 1, 2].map(|k| p[k] - (a[k] + u * (b[k] - a[k])));
                (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt() <= VERTEX_TOLERANCE_M
            })
    })
}

pub(crate) fn date_time(env: &Environment) -> String {
    const DAYS: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut day = env.day_of_year.clamp(1, 365);
    let mut month = 1;
    for d in DAYS {
        if day <= d {
            break;
        }
        day -= d;
        month += 1;
    }
    let secs = (env.time_of_day_h.clamp(0.0, 24.0) * 3600.0)
        .round()
        .min(86_399.0) as u32;
    format!(
        "2025-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn environment(x: &mut Xml, env: &Environment) {
    x.open("GlobalAction", &[]);
    x.open("EnvironmentAction", &[]);
    x.open("Environment", &[("name", txt("environment"))]);
    let dt = date_time(env);
    x.empty(
        "TimeOfDay",
        &[("animation", txt("false")), ("dateTime", txt(&dt))],
    );
    let cover = match env.weather {
        Weather::Clear => "zeroOktas",
        Weather::Fog { .. } => "fourOktas",
        Weather::Overcast | Weather::Rain { .. } | Weather::Snow { .. } => "eightOktas",
    };
    x.open("Weather", &[("fractionalCloudCover", txt(cover))]);
    let sun = env.sun();
    x.empty(
        "Sun",
        &[
            (
                "azimuth",
                num(sun.azimuth_rad.rem_euclid(std::f64::consts::TAU)),
            ),
            ("elevation", num(sun.elevation_rad)),
            (
                "illuminance",
                num((100_000.0 * sun.elevation_rad.sin()).max(0.1)),
            ),
        ],
    );
    x.empty("Fog", &[("visualRange", num(env.weather.visibility_m()))]);
    let (kind, intensity) = match env.weather {
        Weather::Rain { intensity } => ("rain", intensity),
        Weather::Snow { intensity } => ("snow", intensity),
        _ => ("dry", 0.0),
    };
    x.empty(
        "Precipitation",
        &[
            ("precipitationType", txt(kind)),
            ("precipitationIntensity", num(20.0 * intensity)),
        ],
    );
    x.close("Weather");
    x.empty(
        "RoadCondition",
        &[("frictionScaleFactor", num(env.friction))],
    );
    x.close("Environment");
    x.close("EnvironmentAction");
    x.close("GlobalAction");
}

fn entity(x: &mut Xml, rec: &Recording, i: usize, name: &str) {
    let a = &rec.actors[i];
    let (l, w, h) = (
        f64::from(a.length_m),
        f64::from(a.width_m),
        f64::from(a.height_m),
    );
    x.open("ScenarioObject", &[("name", txt(name))]);
    let bbox = |x: &mut Xml, cx: f64| {
        x.open("BoundingBox", &[]);
        x.empty(
            "Center",
            &[("x", num(cx)), ("y", num(0.0)), ("z", num(h / 2.0))],
        );
        x.empty(
            "Dimensions",
            &[("width", num(w)), ("length", num(l)), ("height", num(h))],
        );
        x.close("BoundingBox");
    };
    match a.kind {
        k if is_vehicle(k) => {
            x.open(
                "Vehicle",
                &[
                    ("name", txt(k.name())),
                    ("vehicleCategory", txt(vehicle_category(k))),
                ],
            );
            bbox(x, REAR_AXLE_BACK * l);
            let (speed, acc, dec) = match k {
                ActorKind::Bicycle => (12.0, 2.0, 6.0),
                ActorKind::Truck | ActorKind::Bus => (30.0, 2.0, 8.0),
                _ => (70.0, 6.0, 10.0),
            };
            x.empty(
                "Performance",
                &[
                    ("maxSpeed", num(speed)),
                    ("maxAcceleration", num(acc)),
                    ("maxDeceleration", num(dec)),
                ],
            );
            let wheel = if matches!(k, ActorKind::Truck | ActorKind::Bus) {
                1.0
            } else {
                0.65
            };
            x.open("Axles", &[]);
            for (tag, at, steer) in [("FrontAxle", 0.6 * l, 0.5), ("RearAxle", 0.0, 0.0)] {
                x.empty(
                    tag,
                    &[
                        ("maxSteering", num(steer)),
                        ("wheelDiameter", num(wheel)),
                        ("trackWidth", num((w - 0.2).max(0.1))),
                        ("positionX", num(at)),
                        ("positionZ", num(wheel / 2.0)),
                    ],
                );
            }
            x.close("Axles");
            x.empty("Properties", &[]);
            x.close("Vehicle");
        }
        ActorKind::Pedestrian | ActorKind::Animal => {
            let (cat, mass) = if a.kind == ActorKind::Animal {
                ("animal", 80.0)
            } else {
                ("pedestrian", 75.0)
            };
            x.open(
                "Pedestrian",
                &[
                    ("name", txt(a.kind.name())),
                    ("mass", num(mass)),
                    ("pedestrianCategory", txt(cat)),
                ],
            );
            bbox(x, 0.0);
            x.empty("Properties", &[]);
            x.close("Pedestrian");
        }
        _ => {
            x.open(
                "MiscObject",
                &[
                    ("name", txt(a.kind.name())),
                    ("mass", num(500.0)),
                    ("miscObjectCategory", txt("obstacle")),
                ],
            );
            bbox(x, 0.0);
            x.empty("Properties", &[]);
            x.close("MiscObject");
        }
    }
    x.close("ScenarioObject");
}

/// The recorded scenario as an OpenSCENARIO 1.2 document.
pub fn to_xosc(rec: &Recording, info: &XoscInfo<'_>) -> String {
    let n = rec.actors.len();
    let step = rec.step_s;
    // Every actor's samples: (time, reference pose).
    let mut tracks: Vec<(Vec<f64>, Vec<[f64; 4]>)> = vec![(Vec::new(), Vec::new()); n];
    for k in 0..rec.frames() {
        for s in rec.frame(k) {
            let t = &mut tracks[s.actor as usize];
            t.0.push(k as f64 * step);
            t.1.push(pose(rec, s));
        }
    }
    for s in &rec.statics {
        let a = &rec.actors[s.actor as usize];
        let t = &mut tracks[s.actor as usize];
        t.0.push(f64::from(a.first_frame) * step);
        t.1.push(pose(rec, s));
    }
    let names: Vec<String> = (0..n).map(|i| entity_name(rec, i)).collect();
    let last_frame = rec.frames().saturating_sub(1) as u32;

    let mut x = Xml::with_capacity(64 * 1024 + rec.samples.len() * 24);
    // Trajectories make large files: one element per line, not indented.
    x.pretty = false;
    x.open("OpenSCENARIO", &[]);
    x.empty(
        "FileHeader",
        &[
            ("revMajor", int(XOSC_REV.0)),
            ("revMinor", int(XOSC_REV.1)),
            ("date", txt("2025-01-01T00:00:00")),
            (
                "description",
                txt(&format!("{}: {}", info.name, info.description)),
            ),
            ("author", txt("roadworld")),
        ],
    );
    x.empty("ParameterDeclarations", &[]);
    x.empty("CatalogLocations", &[]);
    x.open("RoadNetwork", &[]);
    x.empty("LogicFile", &[("filepath", txt(info.road_file))]);
    x.close("RoadNetwork");
    x.open("Entities", &[]);
    for (i, name) in names.iter().enumerate() {
        if !tracks[i].0.is_empty() {
            entity(&mut x, rec, i, name);
        }
    }
    x.close("Entities");

    x.open("Storyboard", &[]);
    x.open("Init", &[]);
    x.open("Actions", &[]);
    environment(&mut x, &info.environment);
    for (i, name) in names.iter().enumerate() {
        let Some(&first) = tracks[i].1.first() else {
            continue;
        };
        x.open("Private", &[("entityRef", txt(name))]);
        x.open("PrivateAction", &[]);
        x.open("TeleportAction", &[]);
        world_position(&mut x, first);
        x.close("TeleportAction");
        x.close("PrivateAction");
        if rec.actors[i].first_frame > 0 {
            visibility(&mut x, false);
        }
        x.close("Private");
    }
    x.close("Actions");
    x.close("Init");

    x.open("Story", &[("name", txt("recorded"))]);
    x.open("Act", &[("name", txt("recorded"))]);
    let mut groups = 0;
    for (i, name) in names.iter().enumerate() {
        let (times, points) = &tracks[i];
        let a = &rec.actors[i];
        let appears = a.first_frame > 0 && !times.is_empty();
        let leaves = a.last_frame < last_frame;
        let moves = times.len() >= 2;
        if !(appears || leaves || moves) {
            continue;
        }
        groups += 1;
        x.open(
            "ManeuverGroup",
            &[
                ("name", txt(&format!("{name}_group"))),
                ("maximumExecutionCount", int(1)),
            ],
        );
        x.open("Actors", &[("selectTriggeringEntities", txt("false"))]);
        x.empty("EntityRef", &[("entityRef", txt(name))]);
        x.close("Actors");
        x.open("Maneuver", &[("name", txt(&format!("{name}_recorded")))]);
        let t0 = f64::from(a.first_frame) * step;
        let event = |x: &mut Xml, what: &str, at_s: f64, body: &dyn Fn(&mut Xml)| {
            let ev = format!("{name}_{what}");
            x.open(
                "Event",
                &[
                    ("name", txt(&ev)),
                    ("priority", txt("parallel")),
                    ("maximumExecutionCount", int(1)),
                ],
            );
            x.open("Action", &[("name", txt(&ev))]);
            body(x);
            x.close("Action");
            sim_time_trigger(x, "StartTrigger", &format!("{ev}_at"), at_s);
            x.close("Event");
        };
        if appears {
            event(&mut x, "appears", t0, &|x| visibility(x, true));
        }
        if moves {
            let keep = thin(times, points);
            event(&mut x, "moves", t0, &|x| {
                x.open("PrivateAction", &[]);
                x.open("RoutingAction", &[]);
                x.open("FollowTrajectoryAction", &[]);
                x.open("TrajectoryRef", &[]);
                x.open(
                    "Trajectory",
                    &[
                        ("name", txt(&format!("{name}_path"))),
                        ("closed", txt("false")),
                    ],
                );
                x.open("Shape", &[]);
                x.open("Polyline", &[]);
                for &k in &keep {
                    x.open("Vertex", &[("time", num(round_to(times[k], 1e-3)))]);
                    world_position(x, points[k]);
                    x.close("Vertex");
                }
                x.close("Polyline");
                x.close("Shape");
                x.close("Trajectory");
                x.close("TrajectoryRef");
                x.open("TimeReference", &[]);
                x.empty(
                    "Timing",
                    &[
                        ("domainAbsoluteRelative", txt("absolute")),
                        ("scale", num(1.0)),
                        ("offset", num(0.0)),
                    ],
                );
                x.close("TimeReference");
                x.empty(
                    "TrajectoryFollowingMode",
                    &[("followingMode", txt("position"))],
                );
                x.close("FollowTrajectoryAction");
                x.close("RoutingAction");
                x.close("PrivateAction");
            });
        }
        if leaves {
            let at = (f64::from(a.last_frame) + 1.0) * step;
            event(&mut x, "leaves", at, &|x| visibility(x, false));
        }
        x.close("Maneuver");
        x.close("ManeuverGroup");
    }
    if groups == 0 {
        // An act needs a maneuver group: an empty one for the ego keeps the document valid.
        x.open(
            "ManeuverGroup",
            &[("name", txt("none")), ("maximumExecutionCount", int(1))],
        );
        x.empty("Actors", &[("selectTriggeringEntities", txt("false"))]);
        x.close("ManeuverGroup");
    }
    sim_time_trigger(&mut x, "StartTrigger", "act_start", 0.0);
    x.close("Act");
    x.close("Story");
    sim_time_trigger(&mut x, "StopTrigger", "end_of_scene", info.duration_s);
    x.close("Storyboard");
    x.close("OpenSCENARIO");
    x.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_ends_and_bends_and_drops_straight_runs() {
        // 0..10 s along x at 10 m/s, then 10..20 s along y.
        let mut t = Vec::new();
        let mut p = Vec::new();
        for k in 0..=200 {
            let s = k as f64 * 0.1;
            t.push(s);
            p.push(if s <= 10.0 {
                [10.0 * s, 0.0, 0.0, 0.0]
            } else {
                [100.0, 10.0 * (s - 10.0), 0.0, 1.5]
            });
        }
        let keep = thin(&t, &p);
        assert_eq!(keep.first(), Some(&0));
        assert_eq!(keep.last(), Some(&200));
        assert!(keep.contains(&100), "{keep:?}");
        // Straight runs: a vertex at most every 5 s.
        assert!(keep.len() <= 7, "{keep:?}");
        // Every dropped sample lies within the tolerance of its segment.
        for w in keep.windows(2) {
            let (a, b) = (w[0], w[1]);
            assert!(t[b] - t[a] <= MAX_VERTEX_GAP_S + 1e-9);
            for i in a + 1..b {
                let u = (t[i] - t[a]) / (t[b] - t[a]);
                let ix = p[a][0] + u * (p[b][0] - p[a][0]);
                let iy = p[a][1] + u * (p[b][1] - p[a][1]);
                assert!(((p[i][0] - ix).powi(2) + (p[i][1] - iy).powi(2)).sqrt() <= 0.05);
            }
        }
    }

    use crate::fixture::{self, actor, sample};

    /// An ego driving along +x at 10 m/s for 3 s, a pedestrian there from 1 s to 2 s, and a
    /// parked van.
    fn recording() -> Recording {
        fixture::recording(
            vec![
                actor(1, ActorKind::Car, 4.5, true, 0, u32::MAX),
                actor(7, ActorKind::Pedestrian, 0.5, false, 10, 20),
                actor(9, ActorKind::Van, 5.0, false, 0, u32::MAX),
            ],
            |k| {
                let mut f = vec![sample(0, k as f32, 0.0, 10.0)];
                if (10..=20).contains(&k) {
                    f.push(sample(1, 20.0, -5.0 + 0.1 * (k - 10) as f32, 1.0));
                }
                f
            },
            vec![sample(2, 50.0, 4.0, 0.0)],
        )
    }

    #[test]
    fn every_road_user_is_placed_moved_and_shown_when_it_was_there() {
        let rec = recording();
        let text = to_xosc(
            &rec,
            &XoscInfo {
                name: "t",
                description: "test",
                road_file: "road.xodr",
                environment: Environment::default(),
                duration_s: 3.0,
            },
        );
        let mut reader = quick_xml::Reader::from_str(&text);
        let mut entities = Vec::new();
        let mut teleports = Vec::new();
        let mut vertex_times: Vec<f64> = Vec::new();
        let mut first_ego_vertex_x = None;
        let mut in_vertex = false;
        let mut visibility = Vec::new();
        let mut stop_at = None;
        let mut in_stop = false;
        loop {
            use quick_xml::events::Event;
            let ev = reader.read_event().expect("well-formed XML");
            let (e, start) = match &ev {
                Event::Start(e) => (e.clone(), true),
                Event::Empty(e) => (e.clone(), false),
                Event::End(e) => {
                    if e.name().as_ref() == "StopTrigger" {
                        in_stop = false;
                    }
                    continue;
                }
                Event::Eof => break,
                _ => continue,
            };
            let attr = |k: &str| {
                e.try_get_attribute(k)
                    .ok()
                    .flatten()
                    .map(|a| a.value.to_string())
            };
            match e.name().as_ref() {
                "ScenarioObject" => entities.push(attr("name").unwrap_or_default()),
                "Private" => teleports.push(attr("entityRef").unwrap_or_default()),
                "Vertex" => {
                    let t: f64 = attr("time").and_then(|t| t.parse().ok()).expect("time");
                    vertex_times.push(t);
                    in_vertex = start;
                }
                "WorldPosition" if in_vertex && first_ego_vertex_x.is_none() => {
                    first_ego_vertex_x = attr("x").and_then(|x| x.parse::<f64>().ok());
                }
                "VisibilityAction" => visibility.push(attr("graphics").unwrap_or_default()),
                "StopTrigger" => in_stop = true,
                "SimulationTimeCondition" if in_stop => {
                    stop_at = attr("value").and_then(|v| v.parse::<f64>().ok());
                }
                _ => {}
            }
        }
        assert_eq!(entities, ["ego", "pedestrian_7", "van_9"]);
        assert_eq!(teleports, ["ego", "pedestrian_7", "van_9"]);
        // Hidden at the start, shown at 1 s, hidden after 2 s.
        assert_eq!(visibility, ["false", "true", "false"]);
        // The ego's reference point is its rear axle: 0.3 * 4.5 m behind the box centre.
        assert_eq!(first_ego_vertex_x, Some(-1.35));
        // Two trajectories (ego, pedestrian), each from its first to its last sample, in
        // time order; the parked van does not move.
        assert_eq!(vertex_times.first(), Some(&0.0));
        assert!(vertex_times.contains(&3.0) && vertex_times.contains(&1.0));
        assert!(vertex_times.contains(&2.0));
        assert_eq!(stop_at, Some(3.0));
        assert!(text.contains("<LogicFile filepath=\"road.xodr\"/>"));
    }

    #[test]
    fn dates_come_from_the_day_of_year_and_time_of_day() {
        let env = Environment {
            time_of_day_h: 21.5,
            day_of_year: 60,
            ..Environment::default()
        };
        assert_eq!(date_time(&env), "2025-03-01T21:30:00");
        let env = Environment {
            time_of_day_h: 0.0,
            day_of_year: 365,
            ..Environment::default()
        };
        assert_eq!(date_time(&env), "2025-12-31T00:00:00");
    }
}
