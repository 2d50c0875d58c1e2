//! Scenario specs: the RON files under `scenarios/`.
//!
//! A spec is parsed with unknown fields rejected, then every range is checked. Whatever is
//! wrong comes back as a [`SpecError`] that names the file, the line and column, the field
//! path and the bad value: `scenarios/x.ron:14:9: road.rural.lane_width_m.max: must be in
//! [2.5, 5], got 9`.
//!
//! A spec has the road network (`road`), background traffic (`traffic`), the subject vehicle
//! (`ego`), the stepping of the world (`sim`), time of day and weather (`environment`) and the
//! extreme cases to inject (`events`, see [`events`] for the catalog).
//!
//! [`resolve`] fixes every value a scenario draws (environment, event parameters and start
//! times) and records the seed; the resolved spec, written back with [`to_ron`], reproduces
//! the scenario exactly: the road and the background traffic come again from the seed.

#![forbid(unsafe_code)]

pub mod environment;
pub mod events;
pub mod library;
mod locate;
pub mod traffic;

pub use environment::{Environment, EnvironmentSpec, Weather, WeatherSpec};
pub use events::{EventKind, EventSpec, Target};
pub use library::{Library, LibrarySpec, load_library};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use roadworld_road::RoadParams;
use serde::{Deserialize, Serialize};
use std::path::Path;
pub use traffic::{
    ActorKind, Dist, DriverDist, EgoSpec, KindWeight, PerClass, SimSpec, TrafficSpec, Weighted,
};

/// Mixes a seed with a stream label (SplitMix64 finaliser): one independent random stream
/// per scenario, actor or event.
pub fn stream_seed(seed: u64, label: u64) -> u64 {
    let mut z = seed ^ label.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Largest spec file accepted.
pub const MAX_SPEC_BYTES: u64 = 1 << 20;

/// A scenario spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ScenarioSpec {
    /// Short name, used in outputs.
    pub name: String,
    /// What the scenario is for, for people.
    pub description: String,
    /// The road network.
    pub road: RoadParams,
    /// Background traffic.
    pub traffic: TrafficSpec,
    /// The subject vehicle.
    pub ego: EgoSpec,
    /// Stepping and length of the rollout.
    pub sim: SimSpec,
    /// Time of day, weather, friction.
    pub environment: EnvironmentSpec,
    /// Extreme cases to inject.
    pub events: Vec<EventSpec>,
    /// The seed, in resolved specs (a seed given on the command line must agree).
    pub seed: Option<u64>,
}

/// A bad spec: where and what.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {path}{sep}{message}", sep = if path.is_empty() { "" } else { ": " })]
pub struct SpecError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Field path, e.g. `road.zones[1].share` (empty when the file itself is unreadable).
    pub path: String,
    pub message: String,
}

fn extensions() -> ron::extensions::Extensions {
    ron::extensions::Extensions::IMPLICIT_SOME
        | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES
}

fn options() -> ron::Options {
    ron::Options::default().with_default_extension(extensions())
}

/// Parses a spec from text; `file` names it in errors.
pub fn parse_spec(text: &str, file: &str) -> Result<ScenarioSpec, SpecError> {
    parse_checked(text, file, validate)
}

/// Parses RON text into `T` with unknown fields rejected, then runs `check` on it; every
/// error names `file`, the line and column and the field path.
pub(crate) fn parse_checked<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &str,
    check: impl Fn(&T) -> Result<(), (String, String)>,
) -> Result<T, SpecError> {
    let err = |line: usize, column: usize, path: String, message: String| SpecError {
        file: file.to_string(),
        line,
        column,
        path,
        message,
    };
    let mut de = ron::de::Deserializer::from_str_with_options(text, &options()).map_err(|e| {
        err(
            e.span.start.line,
            e.span.start.col,
            String::new(),
            e.code.to_string(),
        )
    })?;
    let value: T = match serde_path_to_error::deserialize(&mut de) {
        Ok(s) => s,
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let spanned = de.span_error(e.into_inner());
            return Err(err(
                spanned.span.start.line,
                spanned.span.start.col,
                path,
                spanned.code.to_string(),
            ));
        }
    };
    if let Err(e) = de.end() {
        let spanned = de.span_error(e);
        return Err(err(
            spanned.span.start.line,
            spanned.span.start.col,
            String::new(),
            spanned.code.to_string(),
        ));
    }
    check(&value).map_err(|(path, message)| {
        let (line, column) = locate::locate(text, &path);
        err(line, column, path, message)
    })?;
    Ok(value)
}

/// Checks every range of a parsed spec; the error is `(field path, message)`.
pub fn validate(spec: &ScenarioSpec) -> Result<(), (String, String)> {
    if spec.name.len() > 200 {
        return Err((
            "name".into(),
            format!("at most 200 characters, got {}", spec.name.len()),
        ));
    }
    spec.road
        .validate()
        .map_err(|e| (format!("road.{}", e.path), e.message))?;
    spec.traffic.validate()?;
    spec.ego.validate()?;
    spec.sim.validate()?;
    spec.environment.validate()?;
    if spec.events.len() > events::MAX_EVENTS {
        return Err((
            "events".into(),
            format!(
                "at most {} events, got {}",
                events::MAX_EVENTS,
                spec.events.len()
            ),
        ));
    }
    for (i, e) in spec.events.iter().enumerate() {
        e.validate(&format!("events[{i}]"), spec.sim.duration_s)?;
        if matches!(e.kind, EventKind::NightPedestrian(_)) && !always_night(&spec.environment) {
            return Err((
                format!("events[{i}].kind"),
                "NightPedestrian needs a night scene: environment.time_of_day_h must only \
                 draw hours when the sun is below civil twilight"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// Whether every hour the environment can draw is night (checked every quarter hour).
fn always_night(env: &EnvironmentSpec) -> bool {
    let hours: Vec<f64> = match &env.time_of_day_h {
        Dist::Choice(options) => options
            .iter()
            .filter(|o| o.weight > 0.0)
            .map(|o| o.value)
            .collect(),
        d => {
            let (lo, hi) = d.bounds();
            let n = ((hi - lo) * 4.0).ceil().max(0.0) as usize;
            (0..=n)
                .map(|k| lo + (hi - lo) * k as f64 / n.max(1) as f64)
                .collect()
        }
    };
    hours.iter().all(|&h| {
        Environment {
            time_of_day_h: h,
            latitude_deg: env.latitude_deg,
            day_of_year: env.day_of_year,
            ..Environment::default()
        }
        .is_night()
    })
}

/// Stream labels of the draws a scenario makes besides the world's own.
const ENVIRONMENT_STREAM: u64 = 0xE4F1_0000_0000;
const EVENT_STREAM: u64 = 0xE7E7_0000_0000;

/// The environment of a scenario: drawn from its own stream of `seed`.
pub fn draw_environment(spec: &ScenarioSpec, seed: u64) -> Environment {
    let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(seed, ENVIRONMENT_STREAM));
    spec.environment.draw(&mut rng)
}

/// The spec with every value a scenario draws fixed and the seed recorded: the environment,
/// and each event instance (its own stream per event and instance) with its start time.
pub fn resolve(spec: &ScenarioSpec, seed: u64) -> ScenarioSpec {
    let mut out = spec.clone();
    out.seed = Some(seed);
    out.environment = draw_environment(spec, seed).to_spec();
    out.events = spec
        .events
        .iter()
        .enumerate()
        .flat_map(|(i, e)| {
            (0..e.count).map(move |k| {
                let label = EVENT_STREAM + ((i as u64) << 16) + k as u64;
                let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(seed, label));
                e.resolve(spec.sim.duration_s, &mut rng, k)
            })
        })
        .collect();
    out
}

/// Reads and parses a spec file.
pub fn load_spec(path: &Path) -> Result<ScenarioSpec, SpecError> {
    let text = read_spec_text(path)?;
    parse_spec(&text, &path.display().to_string())
}

/// A spec file's text, refused when unreadable or larger than [`MAX_SPEC_BYTES`].
pub(crate) fn read_spec_text(path: &Path) -> Result<String, SpecError> {
    let file = path.display().to_string();
    let io = |m: String| SpecError {
        file: file.clone(),
        line: 0,
        column: 0,
        path: String::new(),
        message: m,
    };
    let meta = std::fs::metadata(path).map_err(|e| io(format!("cannot read: {e}")))?;
    if meta.len() > MAX_SPEC_BYTES {
        return Err(io(format!(
            "spec is {} bytes, more than the {} allowed",
            meta.len(),
            MAX_SPEC_BYTES
        )));
    }
    std::fs::read_to_string(path).map_err(|e| io(format!("cannot read: {e}")))
}

/// The spec written back as RON (every default filled in).
pub fn to_ron(spec: &ScenarioSpec) -> String {
    let config = ron::ser::PrettyConfig::default()
        .struct_names(false)
        .extensions(extensions());
    ron::ser::to_string_pretty(spec, config)
        .unwrap_or_else(|e| format!("// could not serialise spec: {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_spec_takes_defaults() {
        let s = parse_spec("(name: \"x\")", "t.ron").unwrap();
        assert_eq!(s.road, RoadParams::default());
    }

    #[test]
    fn unknown_field_is_named_with_position() {
        let e = parse_spec(
            "(\n  name: \"x\",\n  road: (\n    lenght_m: 5000.0,\n  ),\n)",
            "t.ron",
        )
        .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("t.ron", 4));
        assert!(e.message.contains("lenght_m"), "{e}");
        assert_eq!(e.path, "road.lenght_m");
    }

    #[test]
    fn wrong_type_names_field_path() {
        let e = parse_spec("(road: (length_m: \"long\"))", "t.ron").unwrap_err();
        assert_eq!(e.path, "road.length_m");
        assert_eq!(e.line, 1);
    }

    #[test]
    fn out_of_range_value_points_at_the_value() {
        let text = "(\n  road: (\n    rural: (\n      lane_width_m: (min: 3.0, max: 9.0),\n    ),\n  ),\n)";
        let e = parse_spec(text, "t.ron").unwrap_err();
        assert_eq!(e.path, "road.rural.lane_width_m.max");
        assert_eq!((e.line, e.column), (4, 37));
        assert!(e.message.contains("got 9"), "{e}");
        let text = "(road: (zones: [(class: Rural, share: 1.0), (class: Urban, share: -2.0)]))";
        let e = parse_spec(text, "t.ron").unwrap_err();
        assert_eq!(e.path, "road.zones[1].share");
        assert_eq!((e.line, e.column), (1, 67));
    }

    #[test]
    fn an_ego_driver_field_left_out_keeps_the_egos_default() {
        let s = parse_spec("(ego: (driver: (time_headway_s: Fixed(1.2))))", "t.ron").unwrap();
        let want = DriverDist {
            time_headway_s: Dist::Fixed(1.2),
            ..EgoSpec::default().driver
        };
        assert_eq!(s.ego.driver, want);
        // Not the background drivers' distributions.
        assert_ne!(
            s.ego.driver.max_accel_mps2,
            DriverDist::default().max_accel_mps2
        );
        let e = parse_spec("(ego: (driver: (headway_s: Fixed(1.2))))", "t.ron").unwrap_err();
        assert_eq!(e.path, "ego.driver.headway_s");
        let e = parse_spec("(ego: (driver: (time_headway_s: Fixed(9.0))))", "t.ron").unwrap_err();
        assert_eq!(e.path, "ego.driver.time_headway_s");
    }

    #[test]
    fn traffic_errors_point_at_the_value() {
        let text =
            "(\n  traffic: (\n    driver: (time_headway_s: Uniform(min: 1.0, max: 9.0)),\n  ),\n)";
        let e = parse_spec(text, "t.ron").unwrap_err();
        assert_eq!(e.path, "traffic.driver.time_headway_s.max");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("got 9"), "{e}");
        let e = parse_spec("(sim: (step_s: 2.0))", "t.ron").unwrap_err();
        assert_eq!(e.path, "sim.step_s");
        let e = parse_spec(
            "(traffic: (mix: [(kind: Pedestrian, weight: 1.0)]))",
            "t.ron",
        )
        .unwrap_err();
        assert_eq!(e.path, "traffic.mix[0].kind");
        let e = parse_spec("(traffic: (side_within_m: Some(100.0)))", "t.ron").unwrap_err();
        assert_eq!(e.path, "traffic.side_within_m");
        assert!(e.message.contains("got 100"), "{e}");
        let e = parse_spec("(traffic: (vehicles_within_m: Some(400.0)))", "t.ron").unwrap_err();
        assert_eq!(e.path, "traffic.vehicles_within_m");
        assert!(e.message.contains("got 400"), "{e}");
    }

    #[test]
    fn unset_traffic_areas_are_not_written() {
        // Recipes of specs without them keep their bytes (and content hashes).
        let s = parse_spec("(name: \"w\")", "t.ron").unwrap();
        assert!(!to_ron(&s).contains("side_within_m"));
        assert!(!to_ron(&s).contains("vehicles_within_m"));
        let s = parse_spec(
            "(traffic: (side_within_m: Some(400.0), vehicles_within_m: Some(600.0)))",
            "t.ron",
        )
        .unwrap();
        assert_eq!(s.traffic.side_within_m, Some(400.0));
        assert_eq!(s.traffic.vehicles_within_m, Some(600.0));
        assert_eq!(parse_spec(&to_ron(&s), "back.ron").unwrap(), s);
    }

    #[test]
    fn round_trip_through_ron() {
        let s = parse_spec("(name: \"rt\", road: (length_m: 1234.5))", "t.ron").unwrap();
        let back = parse_spec(&to_ron(&s), "back.ron").unwrap();
        assert_eq!(s, back);
    }

    const EVENTFUL: &str = r#"(
    name: "eventful",
    environment: (
        time_of_day_h: Uniform(min: 21.0, max: 23.5),
        weather: [
            (value: Clear, weight: 2.0),
            (value: Rain(intensity: Uniform(min: 0.2, max: 0.8)), weight: 1.0),
        ],
    ),
    events: [
        (
            kind: CutIn(gap_m: Uniform(min: 5.0, max: 9.0), side: Left),
            window_s: (min: 20.0, max: 80.0),
            count: 2,
            target: (min_ttc_s: (min: 1.0, max: 1.5), avoidable: true),
        ),
        (kind: LeadHardBrake(decel_mps2: Choice([(value: 6.0, weight: 1.0), (value: 8.0, weight: 3.0)]))),
        (kind: NightPedestrian()),
        (kind: Debris()),
    ],
)"#;

    #[test]
    fn events_and_environment_parse_with_defaults_for_left_out_parameters() {
        let s = parse_spec(EVENTFUL, "e.ron").unwrap();
        assert_eq!(s.events.len(), 4);
        let EventKind::CutIn(c) = &s.events[0].kind else {
            panic!("{:?}", s.events[0].kind)
        };
        assert_eq!(c.side, events::Side::Left);
        assert_eq!(c.lateral_s, events::CutIn::default().lateral_s);
        assert_eq!(s.events[0].count, 2);
        assert_eq!(s.events[1].count, 1);
        assert_eq!(s.events[0].target.avoidable, Some(true));
        assert!(matches!(s.events[3].kind, EventKind::Debris(_)));
    }

    #[test]
    fn resolved_spec_reads_back_and_resolves_to_itself() {
        let s = parse_spec(EVENTFUL, "e.ron").unwrap();
        let r = resolve(&s, 77);
        assert_eq!(r.seed, Some(77));
        assert_eq!(r.events.len(), 5, "count 2 becomes two instances");
        let text = to_ron(&r);
        let back = parse_spec(&text, "resolved.ron").unwrap();
        assert_eq!(back, r);
        // Everything is fixed: resolving again, with any seed, changes nothing but the seed.
        let mut again = resolve(&back, 77);
        assert_eq!(again, r);
        again = resolve(&back, 5);
        again.seed = Some(77);
        assert_eq!(again, r);
        assert_eq!(draw_environment(&back, 1), draw_environment(&r, 77));
        // Different seeds draw differently.
        assert_ne!(resolve(&s, 78).events, r.events);
    }

    fn err(text: &str) -> SpecError {
        parse_spec(text, "bad.ron").unwrap_err()
    }

    #[test]
    fn malformed_events_are_named_with_position() {
        let e = err("(events: [(kind: CutOut())])");
        assert_eq!((e.path.as_str(), e.line), ("events[0].kind", 1));
        assert!(e.message.contains("CutOut"), "{e}");
        let e = err("(events: [\n  (kind: CutIn(gap_m: Fixed(-2.0))),\n])");
        assert_eq!(e.path, "events[0].kind.CutIn.gap_m");
        assert_eq!((e.line, e.column), (2, 23));
        assert!(e.message.contains("got -2"), "{e}");
        let e = err("(events: [(kind: CutIn(gap_m: Fixed(NaN)))])");
        assert_eq!(e.path, "events[0].kind.CutIn.gap_m");
        assert!(e.message.contains("NaN"), "{e}");
        let e = err("(events: [(count: 2)])");
        assert!(e.message.contains("kind"), "{e}");
        let e = err("(events: [(kind: CutIn(gap_m: \"near\"))])");
        assert_eq!(e.path, "events[0].kind.CutIn.gap_m");
        assert_eq!(e.column, 31);
        let e = err("(events: [(kind: CutIn(), count: 100000)])");
        assert_eq!(e.path, "events[0].count");
        let e = err("(events: [(kind: CutIn(gap: Fixed(3.0)))])");
        assert!(e.message.contains("gap"), "{e}");
        let e = err("(events: [(kind: CutIn(), window_s: (min: 10.0, max: 900.0))])");
        assert_eq!(e.path, "events[0].window_s.max");
        let e = err("(events: [(kind: CutIn(), target: (min_ttc_s: (min: 2.0, max: 1.0)))])");
        assert_eq!(e.path, "events[0].target.min_ttc_s.max");
        let e = err("(events: [(kind: StoppedVehicle(vehicle: Pedestrian))])");
        assert_eq!(e.path, "events[0].kind.StoppedVehicle.vehicle");
        let e = err("(events: [(kind: NightPedestrian())])");
        assert_eq!(e.path, "events[0].kind");
        assert!(e.message.contains("night"), "{e}");
        let many = format!("(events: [{}])", vec!["(kind: Debris())"; 300].join(","));
        assert_eq!(err(&many).path, "events");
    }

    #[test]
    fn malformed_environment_is_named() {
        let e = err("(environment: (weather: []))");
        assert_eq!(e.path, "environment.weather");
        let e =
            err("(environment: (weather: [(value: Fog(visibility_m: Fixed(0.5)), weight: 1.0)]))");
        assert_eq!(e.path, "environment.weather[0].value.visibility_m");
        let e = err("(environment: (weather: [(value: Clear, weight: -1.0)]))");
        assert_eq!(e.path, "environment.weather[0].weight");
        let e = err("(environment: (time_of_day_h: Choice([(value: 25.0, weight: 1.0)])))");
        assert_eq!(e.path, "environment.time_of_day_h[0].value");
        let e = err("(environment: (friction: Fixed(3.0)))");
        assert_eq!(e.path, "environment.friction");
    }
}
