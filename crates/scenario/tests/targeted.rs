//! Targeted generation: events land in the asked criticality, or a clear message says why not.

use roadworld_scenario::{TargetError, TargetOptions, generate, generate_targeted};
use roadworld_spec::ScenarioSpec;

fn spec(cut_in: &str, target: &str) -> ScenarioSpec {
    roadworld_spec::parse_spec(
        &format!(
            r#"(
                name: "targeted cut-in",
                road: (length_m: 6000.0, zones: [(class: Motorway, share: 1.0)],
                       blocks: (straight: 1.0, curve: 1.0),
                       motorway: (lanes_per_direction: (min: 3, max: 3))),
                events: [(kind: {cut_in}, window_s: (min: 20.0, max: 40.0), target: {target})],
                sim: (duration_s: 90.0),
            )"#
        ),
        "targeted.ron",
    )
    .expect("spec")
}

const CUT_IN: &str = "CutIn(gap_m: Uniform(min: 5.0, max: 15.0), rel_speed_mps: Uniform(min: -5.0, max: -1.0), lateral_s: Uniform(min: 1.5, max: 3.0))";

#[test]
fn targeted_cut_ins_land_in_the_asked_ttc_range_and_their_resolved_specs_reproduce_them() {
    let s = spec(CUT_IN, "(min_ttc_s: (min: 1.0, max: 1.5))");
    for seed in 0..3 {
        let t = generate_targeted(&s, seed, TargetOptions::default()).expect("on target");
        let e = &t.generated.summary.events[0];
        let ttc = e.criticality.min_ttc_s.expect("a TTC").value;
        assert!((1.0..=1.5).contains(&ttc), "seed {seed}: {ttc}");
        assert!(e.misses.is_empty() && t.generated.summary.on_target);
        assert!(t.tries >= 1 && t.tries <= 96);
        // The resolved spec (its own seed, the adapted parameters fixed) gives it again.
        let text = roadworld_spec::to_ron(&t.generated.spec);
        let again = roadworld_spec::parse_spec(&text, "resolved.ron").expect("parses");
        let g = generate(&again, 0, true).expect("generated");
        assert_eq!(g.summary, t.generated.summary, "seed {seed}");
        assert_eq!(g.recording.to_bytes(), t.generated.recording.to_bytes());
    }
}

#[test]
fn targeted_generation_is_deterministic() {
    let s = spec(CUT_IN, "(min_ttc_s: (min: 1.5, max: 2.5))");
    let a = generate_targeted(&s, 5, TargetOptions::default()).expect("on target");
    let b = generate_targeted(&s, 5, TargetOptions::default()).expect("on target");
    assert_eq!(a.tries, b.tries);
    assert_eq!(a.generated.summary, b.generated.summary);
    assert_eq!(a.log, b.log);
}

#[test]
fn the_log_holds_every_try_and_only_the_last_met_the_target() {
    let s = spec(CUT_IN, "(min_ttc_s: (min: 1.0, max: 1.2))");
    let t = generate_targeted(&s, 2, TargetOptions::default()).expect("on target");
    assert!(t.tries > 1, "a narrow target takes more than one try");
    assert_eq!(t.log.len(), t.tries as usize);
    let (last, before) = t.log.split_last().unwrap();
    assert!(last.on_target && before.iter().all(|x| !x.on_target));
    assert_eq!(last.seed, t.generated.summary.seed);
    assert_eq!(
        last.events[0].parameters,
        t.generated.summary.events[0].parameters
    );
    for x in &t.log {
        assert!(
            x.simulated_s > 0.0 && x.simulated_s <= 90.0,
            "{}",
            x.simulated_s
        );
        assert_eq!(x.events[0].kind, "cut_in");
    }
    // Each try missed in a way it says, or did not play out.
    assert!(
        before
            .iter()
            .all(|x| !x.events[0].misses.is_empty() || x.events[0].outcome != "done"),
    );
    let opts = TargetOptions {
        max_tries: 4,
        population: 2,
    };
    let s = spec(
        "CutIn(gap_m: Fixed(15.0), rel_speed_mps: Fixed(-1.0), lateral_s: Fixed(3.0))",
        "(min_ttc_s: (min: 0.5, max: 0.6))",
    );
    match generate_targeted(&s, 1, opts) {
        Err(TargetError::Missed { log, .. }) => {
            assert_eq!(log.len(), 4);
            assert!(log.iter().all(|x| !x.on_target));
        }
        other => panic!("expected a miss, got {:?}", other.map(|t| t.tries)),
    }
}

#[test]
fn a_target_no_parameter_reaches_gives_up_naming_the_closest_miss() {
    // 15 m at 1 m/s slower is a TTC near 15 s (or none): never under 0.6 s.
    let s = spec(
        "CutIn(gap_m: Fixed(15.0), rel_speed_mps: Fixed(-1.0), lateral_s: Fixed(3.0))",
        "(min_ttc_s: (min: 0.5, max: 0.6))",
    );
    let opts = TargetOptions {
        max_tries: 6,
        population: 3,
    };
    match generate_targeted(&s, 1, opts) {
        Err(TargetError::Missed { tries, closest, .. }) => {
            assert_eq!(tries, 6);
            assert!(closest.contains("events[0]"), "{closest}");
        }
        other => panic!("expected a miss, got {:?}", other.map(|t| t.tries)),
    }
}

#[test]
fn targets_beyond_what_is_measured_are_refused_before_any_rollout() {
    let s = spec(CUT_IN, "(min_ttc_s: (min: 12.0, max: 20.0))");
    let err = generate_targeted(&s, 1, TargetOptions::default()).expect_err("refused");
    assert!(
        matches!(err, TargetError::Impossible(_)) && err.to_string().contains("min_ttc_s"),
        "{err}"
    );
    let s = spec(
        CUT_IN,
        "(min_distance_m: (min: 1.0, max: 2.0), avoidable: false)",
    );
    let err = generate_targeted(&s, 1, TargetOptions::default()).expect_err("refused");
    assert!(err.to_string().contains("unavoidable"), "{err}");
}
