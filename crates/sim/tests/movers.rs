//! Events whose road users move outside the lanes: a pedestrian darting out from behind a
//! parked van, a pedestrian and an animal crossing, a cyclist swerving out of the bike lane,
//! a car door opening into the ego's lane.

use roadworld_sim::world::{Motion, Outcome};
use roadworld_sim::{ActorId, World};
use roadworld_spec::{ActorKind, ScenarioSpec};
use std::collections::BTreeSet;

/// What one rollout showed about its single mover event.
struct Seen {
    /// The ego's time to reach the mover's line (or the mover) when it acted, and when it
    /// became visible as a hazard.
    eta_at_action_s: Option<f64>,
    eta_at_seen_s: Option<f64>,
    /// Distance from the ego to the event's actors when they appeared.
    appeared_m: Vec<f64>,
    /// Event actors that moved before the event acted.
    moved_early: bool,
    /// Hardest crossing speed, and the largest lateral speed of a swerve.
    top_speed_mps: f64,
    top_lateral_mps: f64,
    /// How far the door reached out at most, measured from the closed door's line.
    door_reach_m: f64,
    door_shut_at_end: bool,
    outcome: Outcome,
    /// Collisions between an event actor and anyone but the ego.
    bad_collisions: Vec<String>,
    event_ids: BTreeSet<ActorId>,
    ego_id: ActorId,
    collisions: Vec<(ActorId, ActorId)>,
}

fn spec(road: &str, event: &str, extra: &str) -> ScenarioSpec {
    roadworld_spec::parse_spec(
        &format!(
            "(road: {road}, {extra} events: [(kind: {event}, window_s: (min: 20.0, max: 20.0))], \
             sim: (duration_s: 150.0))"
        ),
        "movers.ron",
    )
    .expect("spec")
}

const URBAN: &str = "(length_m: 3000.0, zones: [(class: Urban, share: 1.0)], \
                     blocks: (straight: 1.0, curve: 0.5))";
const RURAL: &str = "(length_m: 4000.0, zones: [(class: Rural, share: 1.0)], \
                     blocks: (straight: 1.0, curve: 1.0))";

/// The ego's time to reach `(x, y)` (less `back_m`) along its heading.
fn eta(w: &World, x: f64, y: f64, back_m: f64) -> f64 {
    let e = &w.actors[w.ego.expect("ego") as usize];
    let (sin, cos) = e.pose.heading_rad.sin_cos();
    let along = (x - e.pose.x_m) * cos + (y - e.pose.y_m) * sin - 0.5 * e.body.length_m - back_m;
    along / e.speed_mps.max(0.1)
}

fn run(spec: &ScenarioSpec, seed: u64) -> Seen {
    let net = roadworld_road::generate(&spec.road, seed).expect("network");
    let mut w = World::new(net, spec, seed).expect("world");
    w.record();
    let ego = w.ego.expect("ego");
    let mut seen = Seen {
        eta_at_action_s: None,
        eta_at_seen_s: None,
        appeared_m: Vec::new(),
        moved_early: false,
        top_speed_mps: 0.0,
        top_lateral_mps: 0.0,
        door_reach_m: 0.0,
        door_shut_at_end: true,
        outcome: Outcome::Pending,
        bad_collisions: Vec::new(),
        event_ids: BTreeSet::new(),
        ego_id: w.actors[ego as usize].id,
        collisions: Vec::new(),
    };
    let mut first_pose: Vec<Option<(f64, f64)>> = Vec::new();
    let mut was_seen = false;
    for _ in 0..1500 {
        w.step();
        let r = w.event_log[0].clone();
        if first_pose.len() < r.actors.len() {
            for &j in &r.actors[first_pose.len()..] {
                let a = &w.actors[j as usize];
                let e = &w.actors[ego as usize];
                seen.appeared_m
                    .push((a.pose.x_m - e.pose.x_m).hypot(a.pose.y_m - e.pose.y_m));
                first_pose.push(Some((a.pose.x_m, a.pose.y_m)));
                seen.event_ids.insert(a.id);
            }
        }
        for m in &w.movers {
            let a = &w.actors[m.actor as usize];
            if !a.alive {
                continue;
            }
            // Its near side, roughly: the ego's way meets its body there.
            let ext = 0.5 * a.body.length_m.max(a.body.width_m);
            let parked = matches!(m.motion, Motion::Parked);
            if !m.motion.started() {
                let k = r
                    .actors
                    .iter()
                    .position(|&j| j == m.actor)
                    .expect("event actor");
                let still = matches!(
                    m.motion,
                    Motion::Cross { .. } | Motion::Door { .. } | Motion::PullOut { .. }
                );
                if let Some((x, y)) = first_pose[k]
                    && (still || parked)
                    && (a.pose.x_m - x).hypot(a.pose.y_m - y) > 1e-6
                {
                    seen.moved_early = true;
                }
            }
            if r.action_s.is_some() && seen.eta_at_action_s.is_none() && !parked {
                seen.eta_at_action_s = Some(eta(&w, a.pose.x_m, a.pose.y_m, ext));
            }
            if !was_seen && m.seen_s.is_some() {
                was_seen = true;
                seen.eta_at_seen_s = Some(eta(&w, a.pose.x_m, a.pose.y_m, ext));
            }
            match m.motion {
                Motion::Cross { v_mps, .. } => seen.top_speed_mps = seen.top_speed_mps.max(v_mps),
                Motion::Ride { .. } => {
                    let st = m.state_at(w.time_s(), w.net.road(m.road).length_m());
                    seen.top_lateral_mps = seen.top_lateral_mps.max(st.vt_mps.abs());
                }
                Motion::Door { hinge_t_m, .. } => {
                    let st = m.state_at(w.time_s(), w.net.road(m.road).length_m());
                    let reach = 2.0 * (st.t_m - hinge_t_m).abs();
                    seen.door_reach_m = seen.door_reach_m.max(reach);
                    seen.door_shut_at_end = reach < 1e-9;
                }
                Motion::PullOut { .. } => {
                    let st = m.state_at(w.time_s(), w.net.road(m.road).length_m());
                    seen.top_speed_mps = seen.top_speed_mps.max(st.vs_mps.abs());
                }
                Motion::Parked => {}
            }
        }
        if matches!(
            w.event_log[0].outcome,
            Outcome::Done { .. } | Outcome::Skipped(_)
        ) {
            break;
        }
    }
    seen.outcome = w.event_log[0].outcome.clone();
    let rec = w.take_recording().expect("recording");
    for v in roadworld_sim::check::collisions(&rec) {
        let a = rec.actors[v.actor as usize].id;
        let b = rec.actors[v.other.expect("a pair") as usize].id;
        seen.collisions.push((a, b));
        let involved = seen.event_ids.contains(&a) || seen.event_ids.contains(&b);
        let with_ego = a == seen.ego_id || b == seen.ego_id;
        if involved && !with_ego {
            seen.bad_collisions.push(v.to_string());
        }
    }
    seen
}

/// Runs seeds until `want` of them saw the event act; checks what every run must hold.
fn acted_runs(spec: &ScenarioSpec, want: usize) -> Vec<Seen> {
    let mut out = Vec::new();
    for seed in 1..30 {
        let s = run(spec, seed);
        assert!(
            s.appeared_m.iter().all(|&d| d > 300.0),
            "seed {seed}: appeared at {:?}",
            s.appeared_m
        );
        assert!(!s.moved_early, "seed {seed}: moved before its event acted");
        assert!(
            s.bad_collisions.is_empty(),
            "seed {seed}: {} collisions, first {:?}",
            s.bad_collisions.len(),
            &s.bad_collisions[..3.min(s.bad_collisions.len())]
        );
        if s.eta_at_action_s.is_some() {
            out.push(s);
            if out.len() == want {
                return out;
            }
        }
    }
    panic!("only {} runs of 29 saw the event act", out.len());
}

#[test]
fn a_pedestrian_steps_out_from_behind_a_parked_van_when_the_ego_is_the_asked_time_away() {
    let spec = spec(
        URBAN,
        "OccludedPedestrian(speed_mps: Fixed(3.0), ttc_s: Fixed(2.0), occluder: ParkedVan)",
        "",
    );
    for s in acted_runs(&spec, 3) {
        // Hidden until it steps out: then the ego is 2 s away from its line.
        let at_out = s.eta_at_seen_s.expect("stepped out");
        assert!(
            (at_out - 2.0).abs() < 0.35,
            "ego {at_out} s away when it stepped out"
        );
        assert!(
            (s.top_speed_mps - 3.0).abs() < 1e-9,
            "ran at {}",
            s.top_speed_mps
        );
        assert_eq!(s.event_ids.len(), 2, "the pedestrian and the van");
    }
}

#[test]
fn a_pedestrian_crosses_an_unlit_road_when_the_ego_is_the_asked_time_away() {
    let spec = spec(
        RURAL,
        "NightPedestrian(speed_mps: Fixed(1.4), ttc_s: Fixed(3.0))",
        "environment: (time_of_day_h: Fixed(23.0)),",
    );
    for s in acted_runs(&spec, 3) {
        // Seen when it sets off towards the lane, 3 s plus its walk to the lane's edge
        // before the ego gets there.
        let at_off = s.eta_at_seen_s.expect("set off");
        assert!(at_off > 3.0 - 0.3, "ego {at_off} s away when it set off");
        assert!((s.top_speed_mps - 1.4).abs() < 1e-9);
    }
}

#[test]
fn a_deer_runs_across_a_country_road_at_its_speed() {
    let spec = spec(
        RURAL,
        "AnimalCrossing(speed_mps: Fixed(6.0), ttc_s: Fixed(2.0), animal: Deer)",
        "",
    );
    for s in acted_runs(&spec, 3) {
        assert!((s.top_speed_mps - 6.0).abs() < 1e-9);
        assert!(s.eta_at_action_s.expect("acted") > 2.0 - 0.3);
    }
}

#[test]
fn a_cyclist_sets_off_from_the_shoulder_and_swerves_in_at_the_asked_time_and_speed() {
    let spec = spec(
        "(length_m: 4000.0, zones: [(class: Rural, share: 1.0)], \
          blocks: (straight: 1.0, curve: 1.0), rural: (shoulder_width_m: (min: 1.5, max: 1.5)))",
        "CyclistSwerve(lateral_mps: Fixed(1.2), ttc_s: Fixed(2.0))",
        "",
    );
    for s in acted_runs(&spec, 3) {
        assert!(
            (s.top_lateral_mps - 1.2).abs() < 1e-9,
            "{}",
            s.top_lateral_mps
        );
        assert_eq!(s.event_ids.len(), 1);
        // Its swerve starts with the ego 2 s from it at their closing speed; at the ego's
        // own speed that is a bit less.
        let at = s.eta_at_action_s.expect("swerved");
        assert!(at > 0.5 && at < 2.05, "ego {at} s away at the swerve");
    }
}

#[test]
fn a_car_pulls_out_of_a_parking_space_and_joins_the_egos_lane() {
    let spec = spec(
        URBAN,
        "PullOut(ttc_s: Fixed(3.0), speed_mps: Fixed(8.0), from: ParkingSpace)",
        "",
    );
    for s in acted_runs(&spec, 3) {
        let at = s.eta_at_action_s.expect("pulled out");
        assert!(
            (at - 3.0).abs() < 0.35,
            "ego {at} s away when it pulled out"
        );
        assert!(s.top_speed_mps > 0.0 && s.top_speed_mps <= 8.0 + 1e-9);
    }
}

#[test]
fn a_parked_cars_door_swings_into_the_lane_and_shuts_again() {
    let spec = spec(
        URBAN,
        "DoorOpening(ttc_s: Fixed(1.5), opening_s: Fixed(1.0))",
        "",
    );
    for s in acted_runs(&spec, 3) {
        let at_open = s.eta_at_seen_s.expect("opened");
        assert!(
            (at_open - 1.5).abs() < 0.35,
            "ego {at_open} s away when it opened"
        );
        // A 1.05 m door at 70 degrees reaches 0.99 m out.
        let want = 1.05 * 70f64.to_radians().sin();
        assert!((s.door_reach_m - want).abs() < 1e-6, "{}", s.door_reach_m);
        assert!(
            s.door_shut_at_end
                || !matches!(
                    s.outcome,
                    Outcome::Done {
                        completed: true,
                        ..
                    }
                ),
            "door left open"
        );
    }
}

#[test]
fn mover_actors_are_recorded_as_their_kind() {
    let spec = spec(
        RURAL,
        "AnimalCrossing(speed_mps: Fixed(6.0), ttc_s: Fixed(2.0), animal: Moose)",
        "",
    );
    let net = roadworld_road::generate(&spec.road, 3).expect("network");
    let mut w = World::new(net, &spec, 3).expect("world");
    w.record();
    for _ in 0..400 {
        w.step();
    }
    let r = w.event_log[0].clone();
    let moose = w.actors[r.actors[0] as usize].clone();
    assert_eq!(moose.body.kind, ActorKind::Animal);
    assert_eq!((moose.body.length_m, moose.body.width_m), (2.8, 0.9));
    let rec = w.take_recording().expect("recording");
    let recorded = rec
        .actors
        .iter()
        .find(|a| a.id == moose.id)
        .expect("recorded");
    assert_eq!(recorded.kind, ActorKind::Animal);
}

#[test]
fn a_mover_is_placed_beside_the_egos_main_route_past_roundabouts_and_turn_lanes() {
    // The example spec's worlds where the ego, when the event starts, has a roundabout ahead
    // (seed 18; the way ahead was once followed round the ring for good) or drives in a
    // lane that turns off its route at the next junction (seed 28; the way ahead once
    // turned off with it, into a dead end): no place was found ahead.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/occluded-pedestrian.ron");
    let spec = roadworld_spec::load_spec(&path).expect("spec");
    for seed in [18, 28] {
        let resolved = roadworld_spec::resolve(&spec, seed);
        let net = roadworld_road::generate(&resolved.road, seed).expect("network");
        let mut w = World::new(net, &resolved, seed).expect("world");
        while matches!(w.event_log[0].outcome, Outcome::Pending) {
            w.step();
        }
        let r = &w.event_log[0];
        assert!(
            !matches!(r.outcome, Outcome::Skipped(_)),
            "seed {seed}: {:?}",
            r.outcome
        );
        for &j in &r.actors {
            let road = w.map.lane(w.actors[j as usize].lane).lane.road;
            assert!(
                w.net.main_route.iter().any(|st| st.road == road),
                "seed {seed}: actor {j} beside road {road:?}, off the main route"
            );
        }
    }
}
