//! The simulator's queries on generated networks: lane at a point, routing along the main
//! route, distances, and conflict areas in junctions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use roadworld_road::query::{LaneGraph, SpatialIndex, conflict_areas, route_distance_m};
use roadworld_road::*;

#[test]
fn lane_at_point_finds_the_lane_whose_centre_it_is() {
    let net = generate(&RoadParams::default(), 4).unwrap();
    let index = SpatialIndex::new(&net);
    let mut checked = 0;
    for road in net.roads.iter().step_by(3) {
        for (i, sec) in road.sections.iter().enumerate() {
            for lane in sec.side_lanes() {
                let s = 0.5 * (sec.s_m + road.section_end_m(i));
                if road.lane_width_m(i, lane.id, s) < 0.5 {
                    continue;
                }
                let p = road.point_at(s, road.lane_center_t(i, lane.id, s));
                let found = index.lanes_at(&net, p);
                let want = LaneRef {
                    road: road.id,
                    section: i as u32,
                    lane: lane.id,
                };
                assert!(
                    found.contains(&want),
                    "{want} not found at {p:?}: {found:?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100);
    // Far from every road: nothing.
    assert!(
        index
            .lanes_at(&net, roadworld_geom::Point2::new(1e6, 1e6))
            .is_empty()
    );
}

#[test]
fn astar_route_follows_the_main_route() {
    for seed in 0..10 {
        let net = generate(&RoadParams::default(), seed).unwrap();
        let graph = LaneGraph::new(&net);
        let first = net.main_route.first().unwrap();
        let last = net.main_route.last().unwrap();
        let lane_of = |road: RoadId, section: usize| {
            let r = net.road(road);
            let l = r.sections[section]
                .right
                .iter()
                .find(|l| l.kind == LaneType::Driving)
                .unwrap();
            LaneRef {
                road,
                section: section as u32,
                lane: l.id,
            }
        };
        let from = lane_of(first.road, 0);
        let last_road = net.road(last.road);
        let to = lane_of(last.road, last_road.sections.len() - 1);
        let (lanes, cost_m) = graph
            .route(&net, from, to)
            .unwrap_or_else(|| panic!("seed {seed}: no route"));
        // A connected path: each lane follows or neighbours the one before.
        for w in lanes.windows(2) {
            assert!(
                graph.successors(w[0]).contains(&w[1]) || graph.neighbours(w[0]).contains(&w[1]),
                "seed {seed}: {} -> {}",
                w[0],
                w[1]
            );
        }
        assert_eq!(lanes.last(), Some(&to));
        // The main route is one path, so the shortest is no longer (give or take lane changes).
        assert!(
            cost_m <= net.main_route_length_m() + 200.0,
            "seed {seed}: {cost_m} > {}",
            net.main_route_length_m()
        );
        let d = route_distance_m(&net, &lanes, 0.0, last_road.length_m());
        assert!(
            d > 0.5 * cost_m && d <= cost_m + 1.0,
            "seed {seed}: distance {d} vs cost {cost_m}"
        );
        assert!(!graph.successors(from).is_empty());
    }
}

#[test]
fn crossing_paths_in_junctions_have_conflict_areas() {
    let params = RoadParams {
        zones: vec![generate::params::Zone {
            class: RoadClass::Urban,
            share: 1.0,
        }],
        ..RoadParams::default()
    };
    let net = generate(&params, 2).unwrap();
    let conflicts = conflict_areas(&net);
    assert!(!conflicts.is_empty());
    let index = SpatialIndex::new(&net);
    for c in conflicts.iter().take(200) {
        let lanes = index.lanes_at(&net, c.point);
        assert!(lanes.iter().any(|l| l.road == c.a.road), "{c:?}");
        assert!(lanes.iter().any(|l| l.road == c.b.road), "{c:?}");
        assert!(c.a_s_m.0 <= c.a_s_m.1 && c.b_s_m.0 <= c.b_s_m.1);
    }
    // In a four-way junction, a straight path crosses the paths from the left.
    let intersections = net
        .junctions
        .iter()
        .filter(|j| j.kind == JunctionKind::Intersection)
        .count();
    assert!(conflicts.iter().filter(|c| !c.merging).count() >= intersections);
}
