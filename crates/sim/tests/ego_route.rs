//! The ego keeps to its main route.

use roadworld_sim::World;
use std::path::Path;

/// Worlds where the ego drives in a lane that turns off its route at a junction a short road
/// ahead: it claimed that lane's path through the junction before it could change lanes, and
/// the claim kept it in the lane until it turned off (occluded-pedestrian seed 30 at 13 s,
/// urban seed 6 at 128 s). It gives the claim back and changes lanes.
#[test]
fn the_ego_changes_lanes_to_keep_to_its_route_between_close_junctions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    for (name, seed) in [("occluded-pedestrian", 30), ("urban", 6)] {
        let spec = roadworld_spec::load_spec(&dir.join(format!("{name}.ron"))).expect("spec");
        let resolved = roadworld_spec::resolve(&spec, seed);
        let net = roadworld_road::generate(&resolved.road, seed).expect("network");
        let mut w = World::new(net, &resolved, seed).expect("world");
        let e = w.ego.expect("ego") as usize;
        let steps = (resolved.sim.duration_s / w.step_s).round() as usize;
        for _ in 0..steps {
            w.step();
            let ego = &w.actors[e];
            if !ego.alive {
                break;
            }
            let road = w.map.lane(ego.lane).lane.road;
            let on_route = w.net.main_route.iter().any(|st| st.road == road)
                || w.net.road(road).junction.is_some();
            assert!(
                on_route,
                "{name} seed {seed}: the ego is on road {road:?}, off its route, at {:.1} s",
                w.time_s()
            );
        }
    }
}
