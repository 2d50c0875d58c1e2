//! The benchmark workloads, in one place for the criterion benches and `roadworld bench`.

use roadworld_road::RoadClass;
use roadworld_road::generate::params::{BlockWeights, ClassOverrides, RangeU, Zone};
use roadworld_spec::{PerClass, ScenarioSpec};

/// A straight motorway with `lanes` lanes each way, `length_m` long, at `density` vehicles
/// per km per lane (motor vehicles only, default mix).
pub fn straight_motorway(lanes: u32, length_m: f64, density: f64) -> ScenarioSpec {
    let mut spec = ScenarioSpec {
        name: "straight motorway".into(),
        ..ScenarioSpec::default()
    };
    spec.road.length_m = length_m;
    spec.road.zones = vec![Zone {
        class: RoadClass::Motorway,
        share: 1.0,
    }];
    spec.road.blocks = BlockWeights {
        straight: 1.0,
        curve: 0.0,
        s_curve: 0.0,
        hills: 0.0,
        junction_4way: 0.0,
        junction_t: 0.0,
        roundabout: 0.0,
        on_ramp: 0.0,
        off_ramp: 0.0,
        merge: 0.0,
        fork: 0.0,
        lane_add: 0.0,
        lane_drop: 0.0,
        bridge: 0.0,
        urban_grid: 0.0,
    };
    spec.road.motorway = ClassOverrides {
        lanes_per_direction: Some(RangeU::new(lanes, lanes)),
        ..ClassOverrides::default()
    };
    spec.traffic.density_per_km_lane = PerClass {
        motorway: density,
        rural: density,
        urban: density,
    };
    spec
}

/// Workload 1, comparable with SUMO's: a straight 3-lane motorway (3 lanes each way, 5 km)
/// holding 150 vehicles.
pub fn sumo_comparable() -> ScenarioSpec {
    straight_motorway(3, 5000.0, 5.0)
}

/// Workload 2: the default 6 km mixed network (motorway, rural, urban) with densities that
/// give about a hundred actors (vehicles, pedestrians, cyclists and parked cars).
pub fn mixed_6km() -> ScenarioSpec {
    let mut spec = ScenarioSpec {
        name: "mixed 6 km".into(),
        ..ScenarioSpec::default()
    };
    spec.road.length_m = 6000.0;
    spec.road.zones = vec![
        Zone {
            class: RoadClass::Motorway,
            share: 0.4,
        },
        Zone {
            class: RoadClass::Rural,
            share: 0.3,
        },
        Zone {
            class: RoadClass::Urban,
            share: 0.3,
        },
    ];
    spec.traffic.density_per_km_lane = PerClass {
        motorway: 1.5,
        rural: 2.0,
        urban: 2.0,
    };
    // A few of every other kind of road user, not the hundreds of a busy town.
    spec.road.urban = ClassOverrides {
        parked_cars_per_km: Some(2.0),
        ..ClassOverrides::default()
    };
    spec.traffic.pedestrians_per_km = 2.0;
    spec.traffic.cyclists_per_km = 0.5;
    spec
}

/// Workload 3: `n` vehicles on a straight 4+4-lane motorway at 6.25 vehicles per km per lane
/// (the road grows with `n`; 10 vehicles need 200 m, 10 000 need 200 km).
pub fn scaling(n: u32) -> ScenarioSpec {
    straight_motorway(4, (n as f64 / 50.0 * 1000.0).max(200.0), 6.25)
}
