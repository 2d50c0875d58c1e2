//! Criticality of the ego against a broken-down truck staged in its lane: measured on the
//! recording, finite and consistent.

use roadworld_scenario::criticality::{REQUIRED_DECEL_BELOW_TTC_S, measure, tracks};
use roadworld_sim::World;
use roadworld_sim::world::Outcome;

#[test]
fn ego_approaching_a_stopped_truck_has_finite_consistent_criticality() {
    let spec = roadworld_spec::parse_spec(
        r#"(
            road: (length_m: 8000.0, zones: [(class: Motorway, share: 1.0)],
                   blocks: (straight: 1.0, curve: 1.0),
                   motorway: (lanes_per_direction: (min: 3, max: 3))),
            events: [(kind: StoppedVehicle(vehicle: Truck), window_s: (min: 20.0, max: 20.0))],
        )"#,
        "truck.ron",
    )
    .expect("spec");
    let seed = 2;
    let net = roadworld_road::generate(&spec.road, seed).expect("network");
    let mut w = World::new(net, &spec, seed).expect("world");
    w.record();
    for _ in 0..1200 {
        w.step();
    }
    let event = w.event_log[0].clone();
    let Outcome::Done { end_s, completed } = event.outcome else {
        panic!("{:?}", event.outcome)
    };
    assert!(completed);
    let rec = w.take_recording().expect("recording");
    let ego = w.ego.expect("ego");
    let all = tracks(&rec, &[ego, event.actors[0]]);
    let start = (event.start_s.expect("started") / rec.step_s).round() as usize;
    let end = (end_s / rec.step_s).round() as usize;
    let c = measure(&all[0], &all[1..], start..end, rec.step_s);
    assert!(c.collision.is_none(), "{c:?}");
    let ttc = c.min_ttc_s.expect("the ego closes in on the truck");
    assert!(ttc.value > 0.0 && ttc.value < 10.0, "{ttc:?}");
    let dist = c.min_distance_m.expect("distance").value;
    assert!(dist > 0.0 && dist < 5.0, "passes it at {dist} m");
    // Against a standing truck the deceleration needed to stop short of it is the DRAC
    // (within the search's stepping); it is computed where the TTC is short.
    let drac = c.max_drac_mps2.expect("drac").value;
    assert!(drac > 0.0 && drac < 10.0, "{drac}");
    match c.max_required_decel_mps2 {
        Some(req) => assert!(req.value <= drac + 0.1, "drac {drac}, required {req:?}"),
        None => assert!(ttc.value >= REQUIRED_DECEL_BELOW_TTC_S, "{ttc:?}"),
    }
}
