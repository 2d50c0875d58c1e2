//! Property test: for random (valid) generator parameters and seeds, generation succeeds,
//! the route reaches its length, and every invariant holds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use roadworld_road::generate::params::{BlockWeights, ClassOverrides, RangeF, RangeU, Zone};
use roadworld_road::{RoadClass, RoadParams, TrafficSide, generate, invariants::check_invariants};

fn class() -> impl Strategy<Value = RoadClass> {
    prop_oneof![
        Just(RoadClass::Motorway),
        Just(RoadClass::Rural),
        Just(RoadClass::Urban)
    ]
}

fn weights() -> impl Strategy<Value = BlockWeights> {
    prop::collection::vec(0.0f64..2.0, 15).prop_map(|w| BlockWeights {
        straight: w[0] + 0.1,
        curve: w[1],
        s_curve: w[2],
        hills: w[3],
        junction_4way: w[4],
        junction_t: w[5],
        roundabout: w[6],
        on_ramp: w[7],
        off_ramp: w[8],
        merge: w[9],
        fork: w[10],
        lane_add: w[11],
        lane_drop: w[12],
        bridge: w[13],
        urban_grid: w[14],
    })
}

fn overrides() -> impl Strategy<Value = ClassOverrides> {
    (1u32..4, 0u32..2, 2.75f64..3.75, 0.0f64..0.3).prop_map(|(lo, extra, w, dw)| ClassOverrides {
        lanes_per_direction: Some(RangeU::new(lo, lo + extra)),
        lane_width_m: Some(RangeF::new(w, w + dw)),
        ..ClassOverrides::default()
    })
}

fn params() -> impl Strategy<Value = RoadParams> {
    (
        500.0f64..8000.0,
        any::<bool>(),
        prop::collection::vec((class(), 0.1f64..1.0), 1..4),
        weights(),
        overrides(),
        overrides(),
        overrides(),
    )
        .prop_map(
            |(length_m, left, zones, blocks, motorway, rural, urban)| RoadParams {
                length_m,
                traffic_side: if left {
                    TrafficSide::Left
                } else {
                    TrafficSide::Right
                },
                zones: zones
                    .into_iter()
                    .map(|(class, share)| Zone { class, share })
                    .collect(),
                blocks,
                motorway,
                rural,
                urban,
                ..RoadParams::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn random_params_give_sound_networks(p in params(), seed in any::<u64>()) {
        p.validate().unwrap();
        let net = generate(&p, seed).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert!(net.main_route_length_m() >= p.length_m);
        let v = check_invariants(&net);
        prop_assert!(v.is_empty(), "{} violations, first {}", v.len(), v[0]);
    }
}
