//! Every example spec, 200 seeds each: the generated network holds every invariant
//! (links, widths, reachability, no overlaps) and reaches the requested route length.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use roadworld_road::{generate, invariants::check_invariants};
use roadworld_spec::load_spec;
use std::path::Path;

const SEEDS: u64 = 200;

fn check_spec(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(format!("{name}.ron"));
    let spec = load_spec(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    for seed in 0..SEEDS {
        match generate(&spec.road, seed) {
            Ok(net) => {
                let v = check_invariants(&net);
                if !v.is_empty() {
                    failures.push(format!(
                        "seed {seed}: {} violation(s), first: {}",
                        v.len(),
                        v[0]
                    ));
                }
                if net.main_route_length_m() < spec.road.length_m {
                    failures.push(format!(
                        "seed {seed}: route {:.0} m < {:.0} m",
                        net.main_route_length_m(),
                        spec.road.length_m
                    ));
                }
            }
            Err(e) => failures.push(format!("seed {seed}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {SEEDS} seeds fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn motorway_spec_holds_invariants_for_200_seeds() {
    check_spec("motorway");
}

#[test]
fn rural_spec_holds_invariants_for_200_seeds() {
    check_spec("rural");
}

#[test]
fn urban_spec_holds_invariants_for_200_seeds() {
    check_spec("urban");
}

#[test]
fn mixed_spec_holds_invariants_for_200_seeds() {
    check_spec("mixed");
}

#[test]
fn mixed_long_spec_holds_invariants_for_200_seeds() {
    check_spec("mixed-long");
}
