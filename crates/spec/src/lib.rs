//! Scenario specs: the RON files under `scenarios/`.
//!
//! A spec is parsed with unknown fields rejected, then every range is checked. Whatever is
//! wrong comes back as a [`SpecError`] that names the file, the line and column, the field
//! path and the bad value: `scenarios/x.ron:14:9: road.rural.lane_width_m.max: must be in
//! [2.5, 5], got 9`.
//!
//! A spec has the road network (`road`), background traffic (`traffic`), the subject vehicle
//! (`ego`) and the stepping of the world (`sim`); environment and events join as the engine
//! grows.

#![forbid(unsafe_code)]

mod locate;
pub mod traffic;

use roadworld_road::RoadParams;
use serde::{Deserialize, Serialize};
use std::path::Path;
pub use traffic::{
    ActorKind, Dist, DriverDist, EgoSpec, KindWeight, PerClass, SimSpec, TrafficSpec,
};

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

fn options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// Parses a spec from text; `file` names it in errors.
pub fn parse_spec(text: &str, file: &str) -> Result<ScenarioSpec, SpecError> {
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
    let spec: ScenarioSpec = match serde_path_to_error::deserialize(&mut de) {
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
    validate(&spec).map_err(|(path, message)| {
        let (line, column) = locate::locate(text, &path);
        err(line, column, path, message)
    })?;
    Ok(spec)
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
    spec.sim.validate()
}

/// Reads and parses a spec file.
pub fn load_spec(path: &Path) -> Result<ScenarioSpec, SpecError> {
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
    let text = std::fs::read_to_string(path).map_err(|e| io(format!("cannot read: {e}")))?;
    parse_spec(&text, &file)
}

/// The spec written back as RON (every default filled in).
pub fn to_ron(spec: &ScenarioSpec) -> String {
    ron::ser::to_string_pretty(spec, ron::ser::PrettyConfig::default().struct_names(false))
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
    }

    #[test]
    fn round_trip_through_ron() {
        let s = parse_spec("(name: \"rt\", road: (length_m: 1234.5))", "t.ron").unwrap();
        let back = parse_spec(&to_ron(&s), "back.ron").unwrap();
        assert_eq!(s, back);
    }
}
