//! Determinism of the world model: the same spec and seed give the same trajectory bytes,
//! on any thread.

use rayon::prelude::*;
use roadworld_spec::ScenarioSpec;
use std::path::PathBuf;

fn spec(name: &str) -> ScenarioSpec {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(format!("{name}.ron"));
    roadworld_spec::load_spec(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn trajectory_bytes(spec: &ScenarioSpec, seed: u64) -> Vec<u8> {
    let net = roadworld_road::generate(&spec.road, seed).expect("network");
    roadworld_sim::rollout(net, spec, seed, 150.0)
        .expect("rollout")
        .to_bytes()
}

#[test]
fn same_spec_and_seed_give_byte_identical_trajectories() {
    let spec = spec("mixed");
    let here = trajectory_bytes(&spec, 7);
    // Again, on other threads, two at a time.
    let again: Vec<Vec<u8>> = (0..2)
        .into_par_iter()
        .map(|_| trajectory_bytes(&spec, 7))
        .collect();
    assert!(here.len() > 1_000_000, "{} bytes", here.len());
    for bytes in &again {
        assert!(
            bytes == &here,
            "a rerun differs ({} against {} bytes)",
            bytes.len(),
            here.len()
        );
    }
    assert_ne!(
        trajectory_bytes(&spec, 8),
        here,
        "another seed gave the same bytes"
    );
}

#[test]
fn a_recording_sized_ahead_holds_the_same_samples_in_about_their_own_room() {
    let spec = spec("urban");
    let steps = 600;
    let run = |sized: bool| {
        let net = roadworld_road::generate(&spec.road, 5).expect("network");
        let mut w = roadworld_sim::World::new(net, &spec, 5).expect("world");
        if sized {
            w.record_for(steps);
        } else {
            w.record();
        }
        for _ in 0..steps {
            w.step();
        }
        w.take_recording().expect("recording")
    };
    let (plain, sized) = (run(false), run(true));
    assert!(
        sized.to_bytes() == plain.to_bytes(),
        "the hint changed what was recorded"
    );
    // Doubling leaves up to twice the samples' room; sized ahead, the room is the rate of
    // the first frames with 10% over (traffic varies a little around it).
    let (len, room) = (sized.samples.len(), sized.samples.capacity());
    assert!(len > 50_000, "{len} samples");
    assert!(room <= len + len / 4, "{room} room for {len} samples");
}
