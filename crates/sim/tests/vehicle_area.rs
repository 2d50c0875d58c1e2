//! Vehicles kept round the ego (`traffic.vehicles_within_m`).

use roadworld_sim::World;
use roadworld_sim::check::{Report, ViolationKind};
use std::path::PathBuf;

mod common;

const AREA_M: f64 = 600.0;

/// With `traffic.vehicles_within_m`, vehicles keep to the area round the ego: nobody far
/// beyond it (those left behind leave once a second); nobody new in the ego's sight after the start; no collision, no
/// limit broken, nobody off the road or stalled; the ego has about as many vehicles round it
/// as on a network driven everywhere (summed over networks and seeds: each run's traffic is
/// random; the whole network's traffic runs a little denser than its target round the
/// ego's main route, the area holds the target), while far fewer are simulated.
#[test]
fn vehicles_kept_round_the_ego_leave_far_behind_and_come_out_of_its_sight() {
    let (mut seen_all, mut seen_area) = (0usize, 0usize);
    let (mut moving_all, mut moving_area) = (0usize, 0usize);
    for name in ["motorway", "mixed", "rural"] {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../scenarios/{name}.ron"));
        for seed in [3, 4] {
            for area in [None, Some(AREA_M)] {
                let mut spec = roadworld_spec::load_spec(&path).expect("spec");
                spec.traffic.vehicles_within_m = area;
                let net = roadworld_road::generate(&spec.road, seed).expect("network");
                let mut w = World::new(net, &spec, seed).expect("world");
                w.record();
                for _ in 0..1500 {
                    w.step();
                }
                let rec = w.take_recording().expect("recording");
                let report = Report::new(&rec, &w.net, &w.density_trace);
                // (A small area's count swings with a queue in it: the density is held to
                // its target only on average.)
                let broken: Vec<String> = report
                    .all()
                    .filter(|v| v.kind != ViolationKind::Density)
                    .take(3)
                    .map(|v| v.to_string())
                    .collect();
                assert!(
                    broken.is_empty(),
                    "{name} seed {seed}: {}",
                    broken.join("\n")
                );
                // Looked at once a second: a second of both driving apart (two motorway
                // speeds) past the margin.
                let (seen, moving) = common::area_counts(
                    &rec,
                    |a| a.kind.is_motor_vehicle(),
                    area.map(|r| (r, 50.0 + 80.0)),
                    &format!("{name} seed {seed}"),
                );
                if area.is_some() {
                    seen_area += seen;
                    moving_area += moving;
                } else {
                    seen_all += seen;
                    moving_all += moving;
                }
            }
        }
    }
    eprintln!("seen {seen_area} vs {seen_all}, simulated {moving_area} vs {moving_all}");
    let ratio = seen_area as f64 / seen_all as f64;
    assert!(
        (0.75..1.1).contains(&ratio),
        "seen {seen_area} vs {seen_all}"
    );
    assert!(
        moving_area * 3 < moving_all,
        "simulated {moving_area} vs {moving_all}"
    );
}

/// Same spec and seed, same traffic round the ego: the area's comings and goings are drawn
/// from the world's own streams.
#[test]
fn a_vehicle_area_rolls_out_byte_identically() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/mixed.ron");
    let run = || {
        let mut spec = roadworld_spec::load_spec(&path).expect("spec");
        spec.traffic.vehicles_within_m = Some(AREA_M);
        let net = roadworld_road::generate(&spec.road, 7).expect("network");
        let mut w = World::new(net, &spec, 7).expect("world");
        w.record();
        for _ in 0..900 {
            w.step();
        }
        w.take_recording().expect("recording").to_bytes()
    };
    let (a, b) = (run(), run());
    assert!(a == b, "{} vs {} bytes", a.len(), b.len());
}
