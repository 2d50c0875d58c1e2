//! Left-hand traffic is the right-hand network mirrored: same roads, mirrored geometry, lanes
//! swapped side for side, and every invariant still holds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use roadworld_road::{RoadParams, TrafficSide, generate, invariants::check_invariants};

#[test]
fn left_hand_network_is_the_mirror_and_holds_invariants() {
    for seed in 0..20 {
        let rht = generate(&RoadParams::default(), seed).unwrap();
        let params = RoadParams {
            traffic_side: TrafficSide::Left,
            ..RoadParams::default()
        };
        let lht = generate(&params, seed).unwrap();
        assert_eq!(lht.traffic_side, TrafficSide::Left);
        assert_eq!(rht.roads.len(), lht.roads.len());
        let v = check_invariants(&lht);
        assert!(v.is_empty(), "seed {seed}: {:?}", &v[..v.len().min(3)]);
        for (a, b) in rht.roads.iter().zip(&lht.roads) {
            let (pa, pb) = (a.reference_line.end_pose(), b.reference_line.end_pose());
            assert!((pa.x_m - pb.x_m).abs() < 1e-9 && (pa.y_m + pb.y_m).abs() < 1e-9);
            assert_eq!(a.sections[0].right.len(), b.sections[0].left.len());
        }
    }
}

#[test]
fn generation_is_deterministic() {
    for seed in [0, 7, 99] {
        let a = generate(&RoadParams::default(), seed).unwrap();
        let b = generate(&RoadParams::default(), seed).unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn fifty_kilometre_routes_grow() {
    let params = RoadParams {
        length_m: 50_000.0,
        ..RoadParams::default()
    };
    for seed in 0..5 {
        let net = generate(&params, seed).unwrap();
        assert!(net.main_route_length_m() >= 50_000.0);
        assert!(check_invariants(&net).is_empty(), "seed {seed}");
    }
}
