//! Solvability on constructed cases with a known answer.

use roadworld_scenario::solvability::{Manoeuvre, escapes, manoeuvres, solve};
use roadworld_sim::World;
use roadworld_spec::ScenarioSpec;

fn cut_in_spec(gap_m: f64, rel_mps: f64, lateral_s: f64, lanes: u32) -> ScenarioSpec {
    roadworld_spec::parse_spec(
        &format!(
            r#"(
                road: (length_m: 8000.0, zones: [(class: Motorway, share: 1.0)],
                       blocks: (straight: 1.0, curve: 1.0),
                       motorway: (lanes_per_direction: (min: {lanes}, max: {lanes}))),
                events: [(kind: CutIn(gap_m: Fixed({gap_m}), rel_speed_mps: Fixed({rel_mps}),
                                      lateral_s: Fixed({lateral_s}), side: Left),
                          window_s: (min: 20.0, max: 20.0))],
                sim: (duration_s: 90.0),
            )"#
        ),
        "cut_in.ron",
    )
    .expect("spec")
}

/// Runs until the cutter leaves its lane; the world then.
fn at_action(spec: &ScenarioSpec, seed: u64) -> Option<World> {
    let net = roadworld_road::generate(&spec.road, seed).expect("network");
    let mut w = World::new(net, spec, seed).expect("world");
    while w.time_s() < 80.0 {
        w.step();
        if w.event_log[0].action_s.is_some() {
            return Some(w);
        }
    }
    None
}

/// A cutter 8 m ahead, 6 m/s slower: holding the speed closes the gap in about 1.3 s, while
/// the ego's relative stopping distance at full braking is 6^2 / (2 * 8) = 2.25 m plus the jerk
/// ramp, well inside 8 m.
#[test]
fn holding_speed_into_a_slow_cutter_collides_and_full_braking_escapes() {
    let spec = cut_in_spec(8.0, -6.0, 2.0, 2);
    let mut cases = 0;
    for seed in 0..4 {
        let Some(mut w) = at_action(&spec, seed) else {
            continue;
        };
        cases += 1;
        let hold = Manoeuvre {
            brake_mps2: 0.0,
            lane_change_left: None,
        };
        let full = Manoeuvre {
            brake_mps2: 8.0,
            lane_change_left: None,
        };
        assert_eq!(escapes(&mut w, hold, 10.0), Some(false), "seed {seed}");
        assert_eq!(escapes(&mut w, full, 10.0), Some(true), "seed {seed}");
        let s = solve(&mut w, true, 10.0);
        assert!(s.avoidable, "seed {seed}: {s:?}");
        let m = s.manoeuvre.expect("the manoeuvre found");
        assert!(
            m.brake_mps2 > 0.0 || m.lane_change_left.is_some(),
            "seed {seed}: {m:?}"
        );
        assert!(
            s.tried >= 2,
            "seed {seed}: holding the speed was tried first: {s:?}"
        );
    }
    assert!(cases >= 2, "only {cases} of 4 seeds had a cut-in");
}

/// A cutter 1 m ahead, 12 m/s slower, across in 1 s: it is in the ego's path within about
/// 0.4 s, when the ego has closed ~4.8 m of a 1 m gap; no braking (relative stopping distance
/// 9 m) or lane change (at least 2 s) gets out of it.
#[test]
fn a_cutter_one_metre_ahead_twelve_metres_per_second_slower_cannot_be_escaped() {
    let spec = cut_in_spec(1.0, -12.0, 1.0, 2);
    let mut cases = 0;
    for seed in 0..4 {
        let Some(mut w) = at_action(&spec, seed) else {
            continue;
        };
        cases += 1;
        for m in manoeuvres(8.0) {
            assert_ne!(escapes(&mut w, m, 10.0), Some(true), "seed {seed}: {m:?}");
        }
        let s = solve(&mut w, true, 10.0);
        assert!(!s.avoidable && s.manoeuvre.is_none(), "seed {seed}: {s:?}");
        assert!(s.tried >= 4, "seed {seed}: {s:?}");
    }
    assert!(cases >= 2, "only {cases} of 4 seeds had a cut-in");
}

#[test]
fn lane_changes_are_not_tried_where_there_is_no_lane() {
    let spec = cut_in_spec(8.0, -6.0, 2.0, 2);
    let mut seen = 0;
    for seed in 0..4 {
        let Some(mut w) = at_action(&spec, seed) else {
            continue;
        };
        let e = w.ego.expect("ego");
        let lane = w.map.lane(w.actors[e as usize].lane);
        for (left, exists) in [(true, lane.left.is_some()), (false, lane.right.is_some())] {
            if !exists && w.actors[e as usize].lane_change.is_none() {
                seen += 1;
                let m = Manoeuvre {
                    brake_mps2: 0.0,
                    lane_change_left: Some(left),
                };
                assert_eq!(escapes(&mut w, m, 5.0), None, "seed {seed}");
            }
        }
    }
    assert!(seen > 0, "no ego next to a missing lane");
}

#[test]
fn the_manoeuvres_go_from_mildest_to_hardest_within_the_limit() {
    let ms = manoeuvres(7.0);
    assert_eq!(ms.len(), 12);
    assert_eq!(ms[0].brake_mps2, 0.0);
    assert!(ms.iter().all(|m| m.brake_mps2 <= 7.0));
    assert_eq!(ms[3].brake_mps2, 7.0);
    assert_eq!(manoeuvres(2.5).len(), 6);
}
