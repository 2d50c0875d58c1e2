//! Long-run invariants of the world model on the example networks, over many seeds: no
//! collision, wheels on the drivable surface, no NaN, acceleration, jerk and curvature within
//! the vehicle's limits, pedestrians on sidewalks and zebra crossings, cyclists on bike
//! lanes, traffic on the main route flowing, density held within 20%. (Determinism has its
//! own test, `determinism.rs`.)

use rayon::prelude::*;
use roadworld_sim::World;
use roadworld_sim::check::Report;
use roadworld_spec::ScenarioSpec;
use std::path::PathBuf;

fn spec(name: &str) -> ScenarioSpec {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(format!("{name}.ron"));
    roadworld_spec::load_spec(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs one rollout and checks it; the error names the seed and the first violations.
fn check_seed(spec: &ScenarioSpec, seed: u64, seconds: f64) -> Result<(), String> {
    let net =
        roadworld_road::generate(&spec.road, seed).map_err(|e| format!("seed {seed}: {e}"))?;
    let mut w = World::new(net, spec, seed).map_err(|e| format!("seed {seed}: {e}"))?;
    w.record();
    let steps = (seconds / w.step_s).round() as u64;
    for _ in 0..steps {
        w.step();
    }
    let rec = w.take_recording().ok_or("no recording")?;
    // The first frame is the world as built.
    if rec.frames() as u64 != steps + 1 || rec.samples.is_empty() {
        return Err(format!(
            "seed {seed}: {} frames, {} samples",
            rec.frames(),
            rec.samples.len()
        ));
    }
    let report = Report::new(&rec, &w.net, &w.density_trace);
    if report.is_clean() {
        Ok(())
    } else {
        let first: Vec<String> = report.all().take(3).map(|v| v.to_string()).collect();
        Err(format!("seed {seed}: {}", first.join("; ")))
    }
}

fn seeds_hold(name: &str, seeds: std::ops::Range<u64>, seconds: f64) {
    let spec = spec(name);
    let n = seeds.end - seeds.start;
    let failures: Vec<String> = seeds
        .into_par_iter()
        .filter_map(|seed| check_seed(&spec, seed, seconds).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{name}, {seconds} s: {} of {n} seeds broke an invariant:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn motorway_traffic_keeps_every_invariant_for_150_s_on_100_seeds() {
    seeds_hold("motorway", 0..100, 150.0);
}

#[test]
fn rural_traffic_keeps_every_invariant_for_150_s_on_100_seeds() {
    seeds_hold("rural", 0..100, 150.0);
}

#[test]
fn urban_traffic_keeps_every_invariant_for_150_s_on_100_seeds() {
    seeds_hold("urban", 0..100, 150.0);
}

#[test]
fn mixed_traffic_keeps_every_invariant_for_150_s_on_100_seeds() {
    seeds_hold("mixed", 0..100, 150.0);
}

#[test]
fn every_network_class_keeps_every_invariant_for_600_s() {
    for name in ["motorway", "rural", "urban", "mixed"] {
        seeds_hold(name, 100..108, 600.0);
    }
}

#[test]
fn mixed_traffic_keeps_every_invariant_for_1800_s() {
    seeds_hold("mixed", 200..202, 1800.0);
}
