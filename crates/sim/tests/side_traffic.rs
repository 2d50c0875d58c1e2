//! Pedestrians, cyclists and parked cars on an urban network.

use roadworld_sim::check::Report;
use roadworld_sim::{World, flags};
use roadworld_spec::ActorKind;
use std::path::PathBuf;

mod common;

fn urban_world(seed: u64) -> World {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/urban.ron");
    let spec = roadworld_spec::load_spec(&path).expect("urban spec");
    let net = roadworld_road::generate(&spec.road, seed).expect("network");
    World::new(net, &spec, seed).expect("world")
}

#[test]
fn pedestrians_cross_at_zebras_cyclists_ride_and_parked_cars_stand_without_a_violation() {
    let mut w = urban_world(3);
    w.record();
    for _ in 0..900 {
        w.step();
    }
    let rec = w.take_recording().expect("recording");
    let report = Report::new(&rec, &w.net, &w.density_trace);
    let first: Vec<String> = report.all().take(5).map(|v| v.to_string()).collect();
    assert!(report.is_clean(), "{}", first.join("\n"));

    let count = |k: ActorKind| rec.actors.iter().filter(|a| a.kind == k).count();
    assert!(
        count(ActorKind::Pedestrian) > 50,
        "{} pedestrians",
        count(ActorKind::Pedestrian)
    );
    assert!(
        count(ActorKind::Bicycle) > 5,
        "{} cyclists",
        count(ActorKind::Bicycle)
    );

    // Someone crossed: a pedestrian sample on a driving lane's road position between the
    // two sidewalks (its lane is a sidewalk, its t lies inside the carriageway).
    let crossing_samples = rec
        .samples
        .iter()
        .filter(|s| rec.actors[s.actor as usize].kind == ActorKind::Pedestrian)
        .filter(|s| {
            let l = rec.lanes[s.lane as usize];
            let road = w.net.road(l.road);
            let i = road.section_index(s.s_m as f64);
            let (a, b) = road.lane_borders_t(i, l.lane, s.s_m as f64);
            let (inner, outer) = (a.min(b), a.max(b));
            (s.t_m as f64) < inner - 0.3 || (s.t_m as f64) > outer + 0.3
        })
        .count();
    assert!(
        crossing_samples > 100,
        "{crossing_samples} samples of pedestrians crossing"
    );

    // Parked cars never move and say so: recorded once each, in the static table, and
    // present in every frame of their life.
    assert!(
        !rec.samples.iter().any(|s| s.flags & flags::PARKED != 0),
        "parked cars recorded every step"
    );
    assert!(rec.statics.len() > 20, "{} parked cars", rec.statics.len());
    for s in &rec.statics {
        assert_eq!(s.flags & flags::PARKED, flags::PARKED);
        assert_eq!(s.speed_mps, 0.0);
        assert_eq!(rec.actors[s.actor as usize].kind, ActorKind::Car);
    }
    for k in [0, rec.frames() / 2, rec.frames() - 1] {
        assert_eq!(rec.statics_at(k).count(), rec.statics.len(), "frame {k}");
        assert_eq!(
            rec.frame_all(k).count(),
            rec.frame(k).len() + rec.statics.len()
        );
    }
    let bytes = rec.to_bytes();
    let back = roadworld_sim::Recording::from_bytes(&bytes).expect("read back");
    assert_eq!(
        (&back.actors, back.statics.len()),
        (&rec.actors, rec.statics.len())
    );
    assert_eq!(back.to_bytes(), bytes);
    let n = rec.samples.len() + rec.statics.len();
    assert!(
        bytes.len() < n * 20,
        "{} bytes for {n} samples",
        bytes.len()
    );

    // Motorcycles ride with their lights on, by day too.
    let moto: Vec<_> = rec
        .samples
        .iter()
        .filter(|s| rec.actors[s.actor as usize].kind == ActorKind::Motorcycle)
        .collect();
    assert!(!moto.is_empty());
    assert!(moto.iter().all(|s| s.flags & flags::HEADLIGHTS != 0));
}

#[test]
fn a_snapshot_lists_every_live_road_user_once() {
    let mut w = urban_world(4);
    for _ in 0..50 {
        w.step();
    }
    let snap = w.snapshot();
    let vehicles = w.actors.iter().filter(|a| a.alive).count();
    let others = w.walkers.iter().filter(|a| a.alive).count();
    assert_eq!(snap.actors.len(), vehicles + others);
    let mut ids: Vec<u32> = snap.actors.iter().map(|a| a.id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), snap.actors.len(), "an id repeats");
    assert!((snap.time_s - 5.0).abs() < 1e-9);
    assert!(snap.actors.iter().any(|a| a.kind == ActorKind::Pedestrian));
    assert!(
        snap.actors
            .iter()
            .all(|a| a.x_m.is_finite() && a.y_m.is_finite())
    );
}

/// With `traffic.side_within_m`, pedestrians and cyclists keep to the area round the ego:
/// nobody farther out than the area, the margin they leave at and the last second's moves;
/// nobody new in the ego's sight after the start; and the ego sees about as many of them as
/// on a network walked everywhere (summed over seeds: each seed's crowds are random), while
/// far fewer are simulated.
#[test]
fn walkers_kept_round_the_ego_leave_far_behind_and_come_out_of_its_sight() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/urban.ron");
    let walker = |k: ActorKind| matches!(k, ActorKind::Pedestrian | ActorKind::Bicycle);
    let (mut seen_all, mut seen_area) = (0usize, 0usize);
    let (mut moving_all, mut moving_area) = (0usize, 0usize);
    for seed in [3, 4, 5, 6] {
        for area in [None, Some(400.0)] {
            let mut spec = roadworld_spec::load_spec(&path).expect("urban spec");
            spec.traffic.side_within_m = area;
            let net = roadworld_road::generate(&spec.road, seed).expect("network");
            let mut w = World::new(net, &spec, seed).expect("world");
            w.record();
            for _ in 0..900 {
                w.step();
            }
            let rec = w.take_recording().expect("recording");
            // Looked at once a second: a second's walk and drive past the margin.
            let (seen, moving) = common::area_counts(
                &rec,
                |a| walker(a.kind),
                area.map(|r| (r, 50.0 + 25.0)),
                &format!("seed {seed}"),
            );
            if area.is_some() {
                seen_area += seen;
                moving_area += moving;
            } else {
                seen_all += seen;
                moving_all += moving;
            }
        }
    }
    let ratio = seen_area as f64 / seen_all as f64;
    assert!(
        (0.85..1.15).contains(&ratio),
        "seen {seen_area} vs {seen_all}"
    );
    assert!(
        moving_area * 3 < moving_all,
        "simulated {moving_area} vs {moving_all}"
    );
}
