//! Events staged in front of the ego: a broken-down vehicle and debris in its lane.

use roadworld_sim::world::Outcome;
use roadworld_sim::{World, flags};
use roadworld_spec::{ActorKind, ScenarioSpec};

const SPEC: &str = r#"(
    name: "obstacles",
    road: (length_m: 12000.0, zones: [(class: Motorway, share: 1.0)],
           blocks: (straight: 1.0, curve: 1.0),
           motorway: (lanes_per_direction: (min: 3, max: 3))),
    events: [
        (kind: StoppedVehicle(vehicle: Truck), window_s: (min: 20.0, max: 20.0)),
        (kind: Debris(length_m: Fixed(1.2), width_m: Fixed(0.8), height_m: Fixed(0.4)),
         window_s: (min: 110.0, max: 110.0)),
    ],
)"#;

fn run(spec: &ScenarioSpec, seed: u64) -> World {
    let net = roadworld_road::generate(&spec.road, seed).expect("network");
    let mut w = World::new(net, spec, seed).expect("world");
    w.record();
    for _ in 0..2400 {
        w.step();
    }
    w
}

#[test]
fn obstacles_appear_out_of_sight_in_the_egos_lane_and_stand_still() {
    let spec = roadworld_spec::parse_spec(SPEC, "obstacles.ron").expect("spec");
    for seed in 0..6 {
        let mut w = run(&spec, seed);
        let log = w.event_log.clone();
        assert_eq!(log.len(), 2);
        let rec = w.take_recording().expect("recording");
        for (r, kind) in log
            .iter()
            .zip([ActorKind::Truck, ActorKind::StaticObstacle])
        {
            assert!(
                matches!(
                    r.outcome,
                    Outcome::Done {
                        ego_passed: true,
                        ..
                    }
                ),
                "seed {seed}: {:?}",
                r.outcome
            );
            assert_eq!(r.actors.len(), 1);
            let obstacle = r.actors[0];
            assert_eq!(rec.actors[obstacle as usize].kind, kind);
            let start = (r.start_s.expect("started") / rec.step_s).round() as usize;
            // Out of sight when it appears, then standing still wherever it is recorded.
            let ego = |k: usize| {
                *rec.frame(k)
                    .iter()
                    .find(|s| s.flags & flags::EGO != 0)
                    .expect("ego")
            };
            let mut first = None;
            for k in start..rec.frames() {
                let Some(s) = rec.frame(k).iter().find(|s| s.actor == obstacle) else {
                    continue;
                };
                let e = ego(k);
                let here = (s.x_m, s.y_m);
                let first = *first.get_or_insert_with(|| {
                    let d = (s.x_m - e.x_m).hypot(s.y_m - e.y_m);
                    assert!(d > 300.0, "seed {seed}: appeared {d} m from the ego");
                    here
                });
                assert_eq!(here, first, "seed {seed}: it moved");
                assert_eq!(s.speed_mps, 0.0);
                if kind == ActorKind::Truck {
                    assert!(s.flags & flags::HAZARD != 0);
                }
            }
            assert!(first.is_some(), "seed {seed}: never recorded");
        }
        let collisions = roadworld_sim::check::collisions(&rec);
        assert!(collisions.is_empty(), "seed {seed}: {collisions:?}");
    }
}

#[test]
fn unsupported_events_are_refused_not_ignored() {
    let spec = roadworld_spec::parse_spec("(events: [(kind: CutIn())])", "cut.ron").expect("spec");
    let net = roadworld_road::generate(&spec.road, 1).expect("network");
    let err = World::new(net, &spec, 1).expect_err("refused");
    assert!(err.to_string().contains("CutIn"), "{err}");
}
